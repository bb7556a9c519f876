// What a task handler sees and returns. Handlers live in jobs/ and call into src/; the orchestration
// core knows nothing of trading, only that a handler is an async function of this context.

export type RunType = "scheduled" | "manual" | "backfill";

export interface TaskContext {
  dagId: string;
  taskId: string;
  /** `<dag_id>.<run_type>.<logical_start>`: the run's identity, and the seed of client order ids. */
  runKey: string;
  runType: RunType;
  /** The data interval [logicalStart, logicalEnd) in UTC ms. */
  logicalStart: number;
  logicalEnd: number;
  /** The DAG's default conf merged with the trigger's conf. */
  conf: Readonly<Record<string, unknown>>;
  /** 1 on the first try. */
  attempt: number;
  /** Local data root (runs, recordings, checkpoints) or an s3:// URL for run storage. */
  dataRoot: string;
  /** Aborted on timeout, on SIGTERM hand-off, or when a BullMQ worker loses the job's lock. */
  signal: AbortSignal;
  /** JSON outputs of the upstream tasks that succeeded, by task id. */
  upstream: Readonly<Record<string, unknown>>;
  log(message: string): void;
  /** Progress of a long task (bars done of total), for a progress bar where someone watches. */
  progress(done: number, total: number, detail: string): void;
}

/** Returns a JSON-serialisable output that downstream tasks read from `upstream`. */
export type TaskHandler = (ctx: TaskContext) => Promise<unknown>;

/**
 * Marks an error that no retry can fix (bad conf, a name that would escape the data root): the
 * task fails at once instead of spending its retries.
 */
export function permanentError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  (e as Error & { retryable?: boolean }).retryable = false;
  return e;
}

export function isPermanent(err: unknown): boolean {
  return err instanceof Error && (err as Error & { retryable?: boolean }).retryable === false;
}
