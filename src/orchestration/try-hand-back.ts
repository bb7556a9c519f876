// Stopping a running task try without spending it, the same on both executors: the executor
// aborts the try's signal with a TaskInterruptedError, the try's closing record write becomes a
// hand-back (the task queued again, the try marked interrupted and not counted), and the executor
// waits for the handler itself to stop before letting anyone else run the task, so a trading session
// is never resumed while the interrupted one may still write.

import type { DagDefinition } from "./dag.js";
import type { RunRecordStore } from "./run-record-store.js";
import type { DagRun, TaskInstance } from "./run-records.js";
import { WORKER_ID } from "./task-runner.js";

/** The reason a running try's signal is aborted with when the executor interrupts it. */
export class TaskInterruptedError extends Error {
  override readonly name = "TaskInterruptedError";
}

/** A running try becomes a `failed` history entry that is not counted: `tries` goes back by one. */
export function requeue(t: TaskInstance, isInterrupted: (h: TaskInstance["history"][number]) => boolean, error: string, now: number): TaskInstance {
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

  withDagLock<T>(dagId: string, admit: () => Promise<T>): Promise<T> {
    return this.base.withDagLock(dagId, admit);
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

/** The DAG with the one task's handler wrapped, to know when the handler itself has stopped. */
export function trackHandler(dag: DagDefinition, taskId: string): { dag: DagDefinition; succeeded: boolean; settled: () => Promise<void> } {
  let running: Promise<unknown> | undefined;
  const out = {
    succeeded: false,
    settled: (): Promise<void> => (running ?? Promise.resolve()).then(
      () => undefined,
      () => undefined,
    ),
    dag: {
      ...dag,
      tasks: dag.tasks.map((t) =>
        t.id !== taskId
          ? t
          : {
              ...t,
              handler: (ctx: Parameters<typeof t.handler>[0]) => {
                const p = t.handler(ctx);
                running = p;
                p.then(
                  () => {
                    out.succeeded = true;
                  },
                  () => undefined,
                );
                return p;
              },
            },
      ),
    },
  };
  return out;
}

export async function settledWithin(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
