// The run-record changes a BullMQ worker makes besides the task try itself (runTaskTry): a try that
// was interrupted by the executor (SIGTERM hand-off, lost lock) goes back to `queued` without
// counting as a try; a try left `running` by a worker that lost its job is marked so when the job
// comes back; a job that BullMQ failed on its own (stalled too often) fails its task.

import type { DagDefinition } from "./dag.js";
import type { RunRecordStore } from "./run-record-store.js";
import { advanceRun, isTerminal, type DagRun, type TaskInstance } from "./run-records.js";
import { finishRunIfDone, WORKER_ID } from "./task-runner.js";

/** A running try becomes a `failed` history entry that is not counted: `tries` goes back by one. */
function requeue(t: TaskInstance, isInterrupted: (h: TaskInstance["history"][number]) => boolean, error: string, now: number): TaskInstance {
  const next: TaskInstance = {
    ...t,
    state: "queued",
    tries: Math.max(0, t.tries - 1),
    history: t.history.map((h) => (h.state === "running" && isInterrupted(h) ? { ...h, state: "failed" as const, endedAt: now, error } : h)),
  };
  delete next.endedAt;
  delete next.error;
  return next;
}

/**
 * Marks tries the record shows running as lost: BullMQ hands a job to a worker only once the last
 * holder's lock is gone, so whoever was running it (a killed process, a worker that lost its lock)
 * is no longer. Returns whether there was one.
 */
export async function markLostTries(store: RunRecordStore, runKey: string, taskId: string, now: () => number): Promise<boolean> {
  let lost = false;
  await store.update(runKey, (run) => {
    const t = run.tasks[taskId];
    if (t?.state !== "running") return false;
    const holders = [...new Set(t.history.filter((h) => h.state === "running").map((h) => h.worker ?? "?"))].join(", ");
    run.tasks[taskId] = requeue(t, () => true, `worker ${holders} lost the job (killed, or its lock expired); not counted as a try`, now());
    lost = true;
  });
  return lost;
}

/** Fails a task whose job BullMQ failed without a try recording it (e.g. stalled too often). */
export async function recordQueueFailure(dag: DagDefinition, store: RunRecordStore, runKey: string, taskId: string, reason: string, o: { now: () => number; log: (m: string) => void; dataRoot: string }): Promise<boolean> {
  const { now, log } = o;
  let changed = false;
  const after = await store.update(runKey, (run) => {
    const t = run.tasks[taskId];
    if (t === undefined || isTerminal(t.state)) return false;
    const t1 = now();
    const error = `queue: ${reason}`;
    run.tasks[taskId] = { ...t, state: "failed", endedAt: t1, error, history: t.history.map((h) => (h.state === "running" ? { ...h, state: "failed" as const, endedAt: t1, error } : h)) };
    advanceRun(dag, run, t1);
    changed = true;
  });
  if (changed) {
    log(`${runKey} ${taskId}: failed by the queue: ${reason}`);
    await finishRunIfDone(dag, store, after, o);
  }
  return changed;
}

/**
 * The record store one task try writes through. While the executor has not interrupted the try it
 * passes every call on. Once it has (and the handler did not succeed), runTaskTry's closing write
 * (which would record a failure, and could fail the run on its last try) is replaced by a hand-back:
 * the task goes back to `queued`, its try marked as interrupted and not counted, the run untouched.
 * It only hands back its own try: if another worker has taken the task over meanwhile (this one
 * lost its lock), the record is left alone.
 */
export class TryRecordStore implements RunRecordStore {
  private tryStartedAt: number | undefined;
  /** Set once the try was handed back (the record shows the task queued again). */
  handedBack = false;

  constructor(
    private readonly base: RunRecordStore,
    private readonly taskId: string,
    private readonly now: () => number,
    /** Why the executor interrupted the try, if it did and the handler has not succeeded. */
    private readonly interruption: () => string | undefined,
  ) {}

  create(run: DagRun): Promise<{ created: boolean; run: DagRun }> {
    return this.base.create(run);
  }

  get(runKey: string): Promise<DagRun | undefined> {
    return this.base.get(runKey);
  }

  list(dagId?: string): Promise<DagRun[]> {
    return this.base.list(dagId);
  }

  async update(runKey: string, change: (run: DagRun) => boolean | void): Promise<DagRun> {
    const reason = this.tryStartedAt === undefined ? undefined : this.interruption();
    if (reason === undefined) {
      const run = await this.base.update(runKey, change);
      const t = run.tasks[this.taskId];
      if (this.tryStartedAt === undefined && t?.state === "running" && t.worker === WORKER_ID) this.tryStartedAt = t.startedAt;
      return run;
    }
    const started = this.tryStartedAt;
    const ours = (h: TaskInstance["history"][number]): boolean => h.startedAt === started && h.worker === WORKER_ID;
    const run = await this.base.update(runKey, (r) => {
      const t = r.tasks[this.taskId];
      if (t?.state !== "running" || t.startedAt !== started || t.worker !== WORKER_ID) return false;
      r.tasks[this.taskId] = requeue(t, ours, `handed back: ${reason}; not counted as a try`, this.now());
    });
    const t = run.tasks[this.taskId];
    if (t?.state === "queued" && t.history.some((h) => ours(h) && h.state === "failed")) this.handedBack = true;
    return run;
  }

  lastFire(dagId: string): Promise<number | undefined> {
    return this.base.lastFire(dagId);
  }

  advanceLastFire(dagId: string, fireAt: number): Promise<void> {
    return this.base.advanceLastFire(dagId, fireAt);
  }

  /** The store is the worker's, not this try's. */
  async close(): Promise<void> {}
}
