// The run-record changes a BullMQ worker makes besides the task try itself (runTaskTry) and its
// hand-back (try-hand-back.ts): a try left `running` by a worker that lost its job is marked so
// when the job comes back; a job that BullMQ failed on its own (stalled too often) fails its task.

import type { DagDefinition } from "./dag.js";
import type { RunRecordStore } from "./run-record-store.js";
import { advanceRun, isTerminal } from "./run-records.js";
import { finishRunIfDone } from "./task-runner.js";
import { requeue } from "./try-hand-back.js";

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
