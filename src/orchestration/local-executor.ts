// The local executor (the default: no Redis): runs task instances in this process, keeps run
// records in files under the data root, retries with backoff, and on start re-queues the tasks a
// dead process left running, so a restart picks up where the last one stopped. `node-cron` wakes
// the scheduler once a minute; the slots themselves come from the shared schedule code.

import cron from "node-cron";
import type { Executor } from "./executor.js";
import type { Orchestrator } from "./orchestrator.js";
import { emptyTask, finishedState, isTerminal, type DagRun } from "./run-records.js";
import { finishRunIfDone, runTaskTry, waitingForTry, WORKER_ID, type TaskTryResult } from "./task-runner.js";
import { settledWithin, TaskInterruptedError, trackHandler, TryRecordStore } from "./try-hand-back.js";

export interface LocalExecutorOptions {
  dataRoot: string;
  /** Task tries running at once. */
  concurrency?: number;
  log?: (message: string) => void;
  /** Called after every task try (progress output, tests). */
  onTaskDone?: (run: DagRun, taskId: string, result: TaskTryResult) => void;
  onProgress?: (runKey: string, taskId: string, done: number, total: number, detail: string) => void;
  /** How long `stop()` waits for an interrupted task's handler to stop before giving up on it. */
  handOffGraceMs?: number;
}

export class LocalExecutor implements Executor {
  readonly kind = "local" as const;
  private readonly concurrency: number;
  private readonly log: (m: string) => void;
  private readonly abort = new AbortController();
  private draining: Promise<void> | undefined;

  constructor(
    readonly orchestrator: Orchestrator,
    private readonly opts: LocalExecutorOptions,
  ) {
    this.concurrency = opts.concurrency ?? 2;
    this.log = opts.log ?? (() => undefined);
  }

  /**
   * Stops starting tasks and interrupts the running ones: they checkpoint and end, and go back to
   * the queue without spending a try (as a BullMQ hand-off), so the next start resumes them.
   */
  stop(reason = "executor stopping"): void {
    this.abort.abort(new TaskInterruptedError(reason));
  }

  /** Why the executor interrupted its tries, once it has. */
  private interruption(): string | undefined {
    const r: unknown = this.abort.signal.reason;
    return !this.abort.signal.aborted ? undefined : r instanceof Error ? r.message : String(r);
  }

  /**
   * Tasks left `running` by a process that is gone go back to the queue (not counted as a failed
   * try: the task did not fail, its process died), and runs that process left unfinished with all
   * their tasks done get their final state (finishAbandonedRun). Returns how many tasks were re-queued.
   */
  async requeueOrphans(): Promise<number> {
    let n = 0;
    for (const run of await this.orchestrator.store.list()) {
      if (run.state !== "running") continue;
      if (await this.finishAbandonedRun(run)) continue;
      const orphans = Object.entries(run.tasks).filter(([, t]) => t.state === "running" && t.worker !== undefined && isDeadLocalWorker(t.worker));
      if (orphans.length === 0) continue;
      await this.orchestrator.store.update(run.runKey, (r) => {
        for (const [id] of orphans) {
          const t = r.tasks[id] ?? emptyTask();
          if (t.state !== "running") continue;
          r.tasks[id] = { ...t, state: "queued", tries: Math.max(0, t.tries - 1), history: t.history.map((h) => (h.state === "running" ? { ...h, state: "failed" as const, error: `worker ${h.worker ?? "?"} died` } : h)) };
          n++;
        }
      });
    }
    if (n > 0) this.log(`re-queued ${n} task(s) left running by a process that is gone`);
    return n;
  }

  /**
   * A run whose tasks are all done but which still reads running: the process that ended its last
   * try sets its final state (after the DAG's success hook), and if it died on the way (killed
   * during the hook) nothing else would, and a DAG allowing one active run would never start
   * another. Finished here once that process is gone; the hook runs again (it is idempotent:
   * `_SUCCESS` and uploads are replaced whole).
   */
  private async finishAbandonedRun(run: DagRun): Promise<boolean> {
    if (finishedState(run) === undefined) return false;
    let last: { endedAt: number; worker: string | undefined } | undefined;
    for (const t of Object.values(run.tasks)) for (const h of t.history) if (h.endedAt !== undefined && (last === undefined || h.endedAt >= last.endedAt)) last = { endedAt: h.endedAt, worker: h.worker };
    if (last?.worker === undefined || !isDeadLocalWorker(last.worker)) return false;
    this.log(`${run.runKey}: all its tasks are done but the process that finished it (${last.worker}) is gone; setting its final state`);
    await finishRunIfDone(this.orchestrator.dag(run.dagId), this.orchestrator.store, run, { now: this.orchestrator.now, log: (m) => this.log(m), dataRoot: this.opts.dataRoot });
    return true;
  }

  dispatch(): Promise<void> {
    return this.drain();
  }

  async close(): Promise<void> {
    this.stop();
    await this.draining;
    await this.orchestrator.store.close();
  }

  /** Runs every runnable task of every active run until none is left (waiting out retry backoffs). */
  async drain(): Promise<void> {
    if (this.draining !== undefined) return this.draining;
    this.draining = this.drainLoop().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drainLoop(): Promise<void> {
    const running = new Map<string, Promise<void>>();
    for (;;) {
      if (this.abort.signal.aborted) break;
      await this.orchestrator.startQueuedRuns();
      const now = this.orchestrator.now();
      let nextRetry = Infinity;
      for (const run of await this.orchestrator.store.list()) {
        if (run.state !== "running") continue;
        const dag = this.orchestrator.dag(run.dagId);
        for (const t of dag.tasks) {
          const ti = run.tasks[t.id];
          const key = `${run.runKey}/${t.id}`;
          if (ti === undefined || running.has(key) || running.size >= this.concurrency) continue;
          const due = ti.state === "queued" || (ti.state === "up_for_retry" && (ti.retryAt ?? 0) <= now);
          if (ti.state === "up_for_retry" && !due) nextRetry = Math.min(nextRetry, ti.retryAt ?? now);
          if (!due) continue;
          const p = this.runTry(run, t.id, ti.tries + 1).finally(() => running.delete(key));
          running.set(key, p);
        }
      }
      if (running.size > 0) {
        await Promise.race(running.values());
        continue;
      }
      if (nextRetry === Infinity) break;
      await sleep(Math.max(0, nextRetry - this.orchestrator.now()), this.abort.signal);
    }
    await Promise.allSettled(running.values());
  }

  private async runTry(run: DagRun, taskId: string, attempt: number): Promise<void> {
    const dag = this.orchestrator.dag(run.dagId);
    const tracked = trackHandler(dag, taskId);
    const interrupted = (): string | undefined => (tracked.succeeded ? undefined : this.interruption());
    const records = new TryRecordStore(this.orchestrator.store, taskId, this.orchestrator.now, interrupted);
    const result = await runTaskTry({
      dag: tracked.dag, store: records, runKey: run.runKey, taskId, attempt, dataRoot: this.opts.dataRoot,
      now: this.orchestrator.now, signal: this.abort.signal, log: (m) => this.log(`${run.runKey} ${taskId}: ${m}`),
      progress: (done, total, detail) => this.opts.onProgress?.(run.runKey, taskId, done, total, detail),
      claimable: waitingForTry(attempt),
    });
    if (result.kind === "noop") {
      // Another process on this data root took the try first (or finished the task).
      if (!isTerminal(result.state)) this.log(`${run.runKey} ${taskId}: try ${attempt} not taken: the task is ${result.state}`);
      return;
    }
    const reason = interrupted();
    if (reason !== undefined && records.handedBack) {
      // runTaskTry returns as soon as the signal aborts; the handler may still be finishing its bar.
      const stopped = await settledWithin(tracked.settled(), this.opts.handOffGraceMs ?? 30_000);
      this.log(`${run.runKey} ${taskId}: interrupted (${reason}); back in the queue, not counted as a try${stopped ? "" : `; it did not stop within ${this.opts.handOffGraceMs ?? 30_000} ms`}`);
      return;
    }
    if (result.kind === "failed") this.log(`${run.runKey} ${taskId} try ${attempt} failed${result.willRetry ? " (will retry)" : ""}: ${result.error}`);
    this.opts.onTaskDone?.(run, taskId, result);
  }

  /** Schedules, then drains, every minute (and once now), until `stop()`. */
  async runScheduler(): Promise<void> {
    await this.requeueOrphans();
    const tick = async (): Promise<void> => {
      const r = await this.orchestrator.scheduleTick();
      for (const run of r.created) this.log(`created ${run.runKey} for [${new Date(run.logicalStart).toISOString()}, ${new Date(run.logicalEnd).toISOString()})`);
      for (const [dag, n] of Object.entries(r.skippedSlots)) this.log(`${dag}: ${n} missed slot(s) beyond the catchup limit were not run`);
      await this.drain();
    };
    // Ticks never overlap: node-cron wakes us, but a tick still running swallows the wake-up.
    let busy: Promise<void> | undefined;
    const wake = (): void => {
      if (busy !== undefined) return;
      busy = tick()
        .catch((err: unknown) => this.log(`scheduler tick failed: ${err instanceof Error ? err.message : String(err)}`))
        .finally(() => {
          busy = undefined;
        });
    };
    const job = cron.schedule("* * * * *", wake, { timezone: "UTC" });
    wake();
    await new Promise<void>((resolve) => this.abort.signal.addEventListener("abort", () => resolve(), { once: true }));
    await job.stop();
    if (busy !== undefined) await busy;
  }
}

function isDeadLocalWorker(worker: string): boolean {
  const [host, pid] = worker.split(":");
  if (host !== WORKER_ID.split(":")[0] || pid === undefined) return false;
  if (Number(pid) === process.pid) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
