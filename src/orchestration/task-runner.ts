// One try of one task instance, the same on both executors: mark it running, call its handler with
// the run's context under a timeout, record success or failure (up_for_retry while tries remain),
// then move the run on: trigger-rule skips, newly ready tasks, and the run's final state (after the
// DAG's success hook, so `_SUCCESS` is written before the run reads as succeeded).

import { hostname } from "node:os";
import type { DagDefinition, TaskDefinition } from "./dag.js";
import type { RunRecordStore } from "./run-record-store.js";
import { advanceRun, emptyTask, finishedState, isTerminal, outputsOf, type DagRun, type TaskInstance, type TaskState } from "./run-records.js";
import { isPermanent, type TaskContext } from "./task.js";

export interface TaskTryOptions {
  dag: DagDefinition;
  store: RunRecordStore;
  runKey: string;
  taskId: string;
  /** 1-based; the executor counts tries (BullMQ: attemptsMade + 1). */
  attempt: number;
  dataRoot: string;
  now: () => number;
  /** Aborted by the executor (SIGTERM hand-off, lost lock). */
  signal?: AbortSignal;
  log: (message: string) => void;
  progress?: (done: number, total: number, detail: string) => void;
  /**
   * Takes the try only if the task's record still allows it (checked under the record's lock).
   * The local executor passes "queued or up for retry, with `attempt - 1` tries so far": two
   * processes on one data root that both saw the task due then run it once, not twice.
   */
  claimable?: (task: TaskInstance) => boolean;
}

export type TaskTryResult =
  | { kind: "success"; output: unknown; queued: string[] }
  | { kind: "failed"; error: string; willRetry: boolean; retryAt?: number; queued: string[] }
  /** Nothing to do: the task already finished (a duplicate delivery) or ended without running (skipped, upstream_failed). */
  | { kind: "noop"; state: TaskState };

export const WORKER_ID = `${hostname()}:${process.pid}`;

/** The local executor's claim: try `attempt` is taken only while the task waits for exactly that try. */
export function waitingForTry(attempt: number): (ti: TaskInstance) => boolean {
  return (ti) => (ti.state === "queued" || ti.state === "up_for_retry") && ti.tries === attempt - 1;
}

export class TaskTimeoutError extends Error {
  override readonly name = "TaskTimeoutError";
}

export function retryDelayMs(t: TaskDefinition, attempt: number): number {
  return t.retryBackoff === "fixed" ? t.retryBackoffMs : t.retryBackoffMs * 2 ** (attempt - 1);
}

export async function runTaskTry(o: TaskTryOptions): Promise<TaskTryResult> {
  const task = o.dag.tasks.find((t) => t.id === o.taskId);
  if (task === undefined) throw new Error(`dag ${o.dag.id} has no task "${o.taskId}"`);
  let skipState: TaskState | undefined;
  const started = await o.store.update(o.runKey, (run) => {
    const ti = run.tasks[o.taskId] ?? emptyTask();
    if (isTerminal(ti.state) || run.state === "success" || run.state === "failed") {
      skipState = ti.state;
      return false;
    }
    if (o.claimable !== undefined && !o.claimable(ti)) {
      skipState = ti.state;
      return false;
    }
    const t0 = o.now();
    run.tasks[o.taskId] = {
      ...ti,
      state: "running",
      tries: o.attempt,
      startedAt: t0,
      worker: WORKER_ID,
      history: [...ti.history, { try: o.attempt, state: "running", startedAt: t0, worker: WORKER_ID }],
    };
    delete run.tasks[o.taskId]?.retryAt;
    delete run.tasks[o.taskId]?.error;
  });
  if (skipState !== undefined) return { kind: "noop", state: skipState };

  const timeout = AbortSignal.timeout(task.timeoutMs);
  const signal = o.signal === undefined ? timeout : AbortSignal.any([timeout, o.signal]);
  const ctx: TaskContext = {
    dagId: o.dag.id,
    taskId: o.taskId,
    runKey: o.runKey,
    runType: started.runType,
    logicalStart: started.logicalStart,
    logicalEnd: started.logicalEnd,
    conf: started.conf,
    attempt: o.attempt,
    dataRoot: o.dataRoot,
    signal,
    upstream: outputsOf(started),
    log: o.log,
    progress: o.progress ?? (() => undefined),
  };
  let output: unknown;
  let error: string | undefined;
  let permanent = false;
  try {
    output = await untilAborted(task.handler(ctx), signal, task.timeoutMs);
  } catch (err) {
    error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    permanent = isPermanent(err);
  }

  const willRetry = error !== undefined && !permanent && o.attempt <= task.retries;
  const retryAt = willRetry ? o.now() + retryDelayMs(task, o.attempt) : undefined;
  let queued: string[] = [];
  const after = await o.store.update(o.runKey, (run) => {
    const ti = run.tasks[o.taskId] ?? emptyTask();
    const t1 = o.now();
    const history = ti.history.map((h) => (h.try === o.attempt && h.state === "running" && h.worker === WORKER_ID ? { ...h, state: error === undefined ? ("success" as const) : willRetry ? ("up_for_retry" as const) : ("failed" as const), endedAt: t1, ...(error !== undefined ? { error } : {}) } : h));
    run.tasks[o.taskId] =
      error === undefined
        ? { ...ti, state: "success", endedAt: t1, output: output ?? null, history }
        : { ...ti, state: willRetry ? "up_for_retry" : "failed", endedAt: t1, error, history, ...(retryAt !== undefined ? { retryAt } : {}) };
    queued = advanceRun(o.dag, run, t1);
  });
  await finishRunIfDone(o.dag, o.store, after, o);
  return error === undefined
    ? { kind: "success", output, queued }
    : { kind: "failed", error, willRetry, ...(retryAt !== undefined ? { retryAt } : {}), queued };
}

/** Sets a finished run's final state; a success runs the DAG's hook first (a failing hook fails the run). */
export async function finishRunIfDone(dag: DagDefinition, store: RunRecordStore, run: DagRun, o: { now: () => number; log: (m: string) => void; dataRoot: string }): Promise<void> {
  const { now, log } = o;
  if (run.state === "success" || run.state === "failed") return;
  let state = finishedState(run);
  if (state === undefined) return;
  let hookError: string | undefined;
  if (state === "success" && dag.onRunSuccess !== undefined) {
    try {
      await dag.onRunSuccess({ runKey: run.runKey, outputs: outputsOf(run), conf: run.conf, dataRoot: o.dataRoot });
    } catch (err) {
      hookError = `success hook: ${err instanceof Error ? err.message : String(err)}`;
      log(`${run.runKey}: ${hookError}`);
      state = "failed";
    }
  }
  const final = state;
  await store.update(run.runKey, (r) => {
    if (r.state === "success" || r.state === "failed" || finishedState(r) === undefined) return false;
    r.state = final;
    r.endedAt = now();
    if (hookError !== undefined) r.error = hookError;
  });
}

/** Races a handler against its abort signal: a handler that ignores the signal still fails on time. */
async function untilAborted<T>(p: Promise<T>, signal: AbortSignal, timeoutMs: number): Promise<T> {
  if (signal.aborted) throw abortError(signal, timeoutMs);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(abortError(signal, timeoutMs));
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

function abortError(signal: AbortSignal, timeoutMs: number): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof DOMException && reason.name === "TimeoutError") return new TaskTimeoutError(`timed out after ${timeoutMs} ms`);
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}
