// The BullMQ worker: takes task jobs from Redis and runs one try of the task each (runTaskTry, the
// same as the local executor), with the job's lock renewed by BullMQ while it runs. It stops a
// task whose lock it may have lost (so a trading session places no order another worker may also
// place), and on SIGTERM hands its running tasks back to the queue without spending a retry.

import { DelayedError, Queue, UnrecoverableError, WaitingError, Worker, type ConnectionOptions, type Job } from "bullmq";
import { parseTaskJobData, TASK_QUEUE, taskJobId, type TaskJobData } from "./bullmq-flows.js";
import type { RunGenerations } from "./bullmq-generations.js";
import { markLostTries, recordQueueFailure } from "./bullmq-records.js";
import { workerSettings, type WorkerSettings } from "./bullmq-settings.js";
import type { DagDefinition } from "./dag.js";
import type { Orchestrator } from "./orchestrator.js";
import { isTerminal, type DagRun } from "./run-records.js";
import { runTaskTry, type TaskTryResult } from "./task-runner.js";
import { settledWithin, TaskInterruptedError, trackHandler, TryRecordStore } from "./try-hand-back.js";

export type TaskJobOutcome = "success" | "failed" | "retry" | "noop" | "superseded" | "handed_back";

export interface TaskJobResult {
  outcome: TaskJobOutcome;
  state?: string;
  error?: string;
}

export interface TaskEvent {
  kind: "start" | "end";
  jobId: string;
  runKey: string;
  taskId: string;
  attempt: number;
  outcome?: TaskJobOutcome;
  error?: string;
}

export interface TaskWorkerOptions {
  orchestrator: Orchestrator;
  generations: RunGenerations;
  connection: ConnectionOptions;
  prefix: string;
  /** Local data root for run directories, shared by the workers of one machine. */
  dataRoot: string;
  settings?: Partial<WorkerSettings>;
  log?: (message: string) => void;
  onTaskEvent?: (e: TaskEvent) => void;
  onProgress?: (runKey: string, taskId: string, done: number, total: number, detail: string) => void;
  /** Called after a try that finished its run (the executor starts queued runs of the DAG). */
  afterRunFinished?: (run: DagRun) => Promise<void>;
}

/** Thrown into BullMQ for a failed try that will be retried (BullMQ applies the backoff). */
export class TaskTryFailedError extends Error {
  override readonly name = "TaskTryFailedError";
}


interface ActiveTry {
  jobId: string;
  controller: AbortController;
  /** When BullMQ last confirmed the lock (or the try started). */
  lockConfirmedAt: number;
  interruption?: string;
}

export class TaskWorker {
  readonly worker: Worker<TaskJobData, TaskJobResult>;
  readonly settings: WorkerSettings;
  private readonly queue: Queue<TaskJobData, TaskJobResult>;
  private readonly active = new Map<string, ActiveTry>();
  private readonly log: (m: string) => void;
  private readonly watchdog: NodeJS.Timeout;
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: TaskWorkerOptions) {
    this.settings = workerSettings(opts.settings);
    this.log = opts.log ?? (() => undefined);
    const s = this.settings;
    this.queue = new Queue<TaskJobData, TaskJobResult>(TASK_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.worker = new Worker<TaskJobData, TaskJobResult>(TASK_QUEUE, (job, token) => this.process(job, token), {
      connection: opts.connection,
      prefix: opts.prefix,
      concurrency: s.concurrency,
      lockDuration: s.lockDurationMs,
      stalledInterval: s.stalledIntervalMs,
      maxStalledCount: s.maxStalledCount,
      // Jobs are kept by their own options (flows need finished children to stay findable).
      autorun: true,
    });
    this.queue.on("error", (err) => this.log(`task queue: ${err.message}`));
    this.worker.on("error", (err) => this.log(`worker: ${err.message}`));
    // Lock loss, 1: Redis refused to extend a lock (the token no longer holds it: the lock expired
    // and the stalled checker gave the job to someone else). BullMQ's LockManager only emits
    // `lockRenewalFailed` and goes on running the processor, so the try is stopped here.
    this.worker.on("lockRenewalFailed", (jobIds) => {
      for (const id of jobIds) this.interrupt(id, "the job's lock could not be renewed (another worker may have it)");
    });
    this.worker.on("locksRenewed", ({ jobIds }) => {
      const now = Date.now();
      for (const id of jobIds) {
        const a = this.active.get(id);
        if (a !== undefined) a.lockConfirmedAt = now;
      }
    });
    // Lock loss, 2: no renewal confirmed for most of the lock's life (Redis unreachable, or this
    // event loop starved): the lock may have expired, so the try is stopped before it does.
    const limit = Math.floor(s.lockDurationMs * 0.9);
    this.watchdog = setInterval(() => {
      const now = Date.now();
      for (const a of this.active.values()) {
        if (now - a.lockConfirmedAt > limit) this.interrupt(a.jobId, `the job's lock was not renewed for ${now - a.lockConfirmedAt} ms (lock duration ${s.lockDurationMs} ms)`);
      }
    }, Math.max(250, Math.floor(s.lockDurationMs / 8)));
    this.watchdog.unref();
    // A job BullMQ failed for good: if no try recorded it (it stalled too often, or the processor
    // itself crashed), its task is failed in the record, so the run can end.
    this.worker.on("failed", (job, err) => {
      if (job === undefined) return;
      void this.reconcileFailedJob(job, err).catch((e: unknown) => this.log(`job ${job.id ?? "?"}: could not record its failure: ${e instanceof Error ? e.message : String(e)}`));
    });
  }

  /** Resolves once the worker is connected and taking jobs. */
  async waitUntilReady(): Promise<void> {
    await this.worker.waitUntilReady();
  }

  /** Task tries running in this worker now (their job ids). */
  activeJobIds(): string[] {
    return [...this.active.keys()];
  }

  /** Stops a running try: its signal is aborted, and its job goes back to the queue, not counted. */
  interrupt(jobId: string, reason: string): boolean {
    const a = this.active.get(jobId);
    if (a === undefined) return false;
    if (a.interruption === undefined) {
      a.interruption = reason;
      this.log(`job ${jobId}: stopping its task: ${reason}`);
      a.controller.abort(new TaskInterruptedError(reason));
    }
    return true;
  }

  /**
   * Graceful hand-off (SIGTERM): take no new job, stop the running tries (a trading session stops
   * before its next order or bar; its checkpoint is on disk), put their jobs back in the queue
   * without spending a retry, and close.
   */
  stop(reason = "worker shutting down"): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = (async () => {
      // close() marks the worker closing at once (no new job is fetched), then waits for the
      // processors, which return as soon as their tries are handed back.
      const closed = this.worker.close();
      for (const id of this.active.keys()) this.interrupt(id, reason);
      await closed;
      clearInterval(this.watchdog);
      await this.queue.close();
    })();
    return this.stopping;
  }

  close(): Promise<void> {
    return this.stop();
  }

  private async process(job: Job<TaskJobData, TaskJobResult>, token: string | undefined): Promise<TaskJobResult> {
    const jobId = job.id ?? "?";
    let data: TaskJobData;
    try {
      data = parseTaskJobData(job.id, job.data);
    } catch (err) {
      // Not a job this executor added: no retry will make it one.
      throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
    }
    const { store } = this.opts.orchestrator;
    const now = this.opts.orchestrator.now;
    if (this.stopping !== undefined && token !== undefined) {
      // Fetched just as the worker began to stop: straight back to the queue.
      await job.moveToWait(token);
      throw new WaitingError();
    }
    let run = await store.get(data.runKey);
    if (run === undefined) {
      this.log(`job ${jobId}: no run record ${data.runKey}; nothing to do`);
      return { outcome: "noop", state: "no run record" };
    }
    const dag = this.opts.orchestrator.dag(run.dagId);
    let ti = run.tasks[data.taskId];
    if (ti === undefined) throw new Error(`job ${jobId}: run ${data.runKey} has no task ${data.taskId}`);
    if (run.state === "success" || run.state === "failed" || isTerminal(ti.state)) return { outcome: "noop", state: ti.state };

    const current = run.startedAt === undefined ? 0 : await this.opts.generations.of(run.runKey, run.startedAt);
    if ((ti.state === "none" || ti.state === "queued") && (data.generation < current || run.state === "queued")) {
      // The run was cleared (and maybe started again): a job of the new start carries this task.
      return { outcome: "superseded", state: ti.state };
    }
    if (ti.state === "none") {
      // Released before the record shows its upstream tasks done (an upstream job BullMQ failed on
      // its own, or an upstream try from before a clear still running): settle what the queue
      // knows, then look again later without spending an attempt.
      await this.reconcileUpstream(dag, run, data.taskId, current);
      run = (await store.get(data.runKey)) ?? run;
      ti = run.tasks[data.taskId] ?? ti;
      if (isTerminal(ti.state)) return { outcome: "noop", state: ti.state };
      if (ti.state === "none") {
        if (token === undefined) throw new Error(`job ${jobId}: no lock token to delay it with`);
        await job.moveToDelayed(Date.now() + this.settings.upstreamPollMs, token);
        throw new DelayedError();
      }
    }

    // attempt = attemptsMade + 1, not attemptsStarted. attemptsMade counts the tries that failed
    // (BullMQ raises it only when the processor throws), attemptsStarted every start, including
    // the restarts of a stalled job after its worker was killed. A killed or handed-back try is
    // not a failed try (the local executor does not count it either), and BullMQ decides whether
    // to retry by attemptsMade + 1 < attempts: counting the same way keeps runTaskTry's
    // `willRetry` equal to what BullMQ will do, so the record never says up_for_retry for a job
    // BullMQ has failed for good, nor failed for a job it will retry.
    const attempt = job.attemptsMade + 1;
    if (ti.state === "running") {
      const lost = await markLostTries(store, data.runKey, data.taskId, now);
      if (lost) this.log(`${data.runKey} ${data.taskId}: taking over a try whose worker lost the job (stalled count ${job.stalledCounter})`);
    }

    const tracked = trackHandler(dag, data.taskId);
    const entry: ActiveTry = { jobId, controller: new AbortController(), lockConfirmedAt: Date.now() };
    this.active.set(jobId, entry);
    const records = new TryRecordStore(store, data.taskId, now, () => (entry.interruption !== undefined && !tracked.succeeded ? entry.interruption : undefined));
    this.opts.onTaskEvent?.({ kind: "start", jobId, runKey: data.runKey, taskId: data.taskId, attempt });
    let result: TaskTryResult;
    try {
      result = await runTaskTry({
        dag: tracked.dag,
        store: records,
        runKey: data.runKey,
        taskId: data.taskId,
        attempt,
        dataRoot: this.opts.dataRoot,
        now,
        signal: entry.controller.signal,
        log: (m) => this.log(`${data.runKey} ${data.taskId}: ${m}`),
        progress: (done, total, detail) => this.opts.onProgress?.(data.runKey, data.taskId, done, total, detail),
      });
    } finally {
      this.active.delete(jobId);
    }

    if (entry.interruption !== undefined && !tracked.succeeded) {
      if (!records.handedBack) this.log(`${data.runKey} ${data.taskId}: interrupted, but the record shows the task taken over by another try; left as it is`);
      // Wait for the handler to stop for real (runTaskTry returns as soon as the signal aborts) so
      // the next worker never resumes a session this one is still writing.
      const stopped = await settledWithin(tracked.settled(), this.settings.handOffGraceMs);
      this.opts.onTaskEvent?.({ kind: "end", jobId, runKey: data.runKey, taskId: data.taskId, attempt, outcome: "handed_back", error: entry.interruption });
      if (!stopped) {
        // Still running (a real-clock session asleep until its next bar): its job is not handed
        // to anyone while it might write. It stays locked to this worker until the lock expires
        // (this process is about to exit), then the stalled check gives it back.
        this.log(`${data.runKey} ${data.taskId}: the task did not stop within ${this.settings.handOffGraceMs} ms; its job goes back to the queue when its lock expires`);
        throw new WaitingError();
      }
      if (token !== undefined) {
        // Back to `wait` with the lock token, without counting an attempt: BullMQ's manual-retry
        // pattern (job.moveToWait(token), then throw WaitingError so the worker leaves the job
        // alone; docs.bullmq.io/patterns/manual-retrying). With a lost lock this fails (the job is
        // someone else's already), which is fine.
        await job.moveToWait(token).catch((err: unknown) => this.log(`job ${jobId}: not moved back to wait: ${err instanceof Error ? err.message : String(err)}`));
      }
      throw new WaitingError();
    }

    const outcome: TaskJobOutcome = result.kind === "success" ? "success" : result.kind === "noop" ? "noop" : result.willRetry ? "retry" : "failed";
    const error = result.kind === "failed" ? result.error : undefined;
    this.opts.onTaskEvent?.({ kind: "end", jobId, runKey: data.runKey, taskId: data.taskId, attempt, outcome, ...(error !== undefined ? { error } : {}) });
    if (result.kind === "failed" && result.willRetry) throw new TaskTryFailedError(result.error);
    const after = await store.get(data.runKey);
    if (after !== undefined && (after.state === "success" || after.state === "failed")) {
      await this.opts.afterRunFinished?.(after).catch((err: unknown) => this.log(`after run ${after.runKey}: ${err instanceof Error ? err.message : String(err)}`));
    }
    return { outcome, ...(result.kind === "noop" ? { state: result.state } : {}), ...(error !== undefined ? { error } : {}) };
  }

  private recordOpts(): { now: () => number; log: (m: string) => void; dataRoot: string } {
    return { now: this.opts.orchestrator.now, log: this.log, dataRoot: this.opts.dataRoot };
  }

  /** Upstream tasks whose job BullMQ has failed but whose record is not finished get failed. */
  private async reconcileUpstream(dag: DagDefinition, run: DagRun, taskId: string, generation: number): Promise<void> {
    const t = dag.tasks.find((x) => x.id === taskId);
    for (const u of t?.upstream ?? []) {
      const ut = run.tasks[u];
      if (ut === undefined || isTerminal(ut.state)) continue;
      const job = await this.findTaskJob(run.runKey, u, generation);
      if (job !== undefined && (await job.isFailed())) {
        await recordQueueFailure(dag, this.opts.orchestrator.store, run.runKey, u, job.failedReason || "failed", this.recordOpts());
      }
    }
  }

  /** The newest job of a task in this run (its current generation, or the start it ran in). */
  private async findTaskJob(runKey: string, taskId: string, generation: number): Promise<Job<TaskJobData, TaskJobResult> | undefined> {
    for (let g = generation; g >= 0; g--) {
      const job = await this.queue.getJob(taskJobId(runKey, taskId, g));
      if (job !== undefined) return job;
    }
    return undefined;
  }

  private async reconcileFailedJob(job: Job<TaskJobData, TaskJobResult>, err: Error): Promise<void> {
    // `failed` is emitted for retried tries too; only a job failed for good matters here.
    if (!(await job.isFailed())) return;
    const data = parseTaskJobData(job.id, job.data);
    const { store } = this.opts.orchestrator;
    const run = await store.get(data.runKey);
    const ti = run?.tasks[data.taskId];
    if (run === undefined || ti === undefined || isTerminal(ti.state)) return;
    const current = run.startedAt === undefined ? 0 : await this.opts.generations.of(run.runKey, run.startedAt);
    // A pending task of a newer start is carried by a newer job: this old job's fate is not its.
    if ((ti.state === "none" || ti.state === "queued") && data.generation < current) return;
    const dag = this.opts.orchestrator.dag(run.dagId);
    await recordQueueFailure(dag, store, data.runKey, data.taskId, job.failedReason || err.message, this.recordOpts());
    const after = await store.get(data.runKey);
    if (after !== undefined && (after.state === "success" || after.state === "failed")) await this.opts.afterRunFinished?.(after);
  }
}
