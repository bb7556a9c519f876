// The BullMQ scheduler: one tick through a BullMQ job scheduler (`upsertJobScheduler`), whose
// processor runs the same scheduling function as the local executor (Orchestrator.scheduleTick:
// runs for due slots, with catchup) and then dispatches. Several scheduler processes may run: they
// share one job scheduler, and even ticks that overlap create each run once (create-if-absent in
// Redis) and each job once (fixed job ids).

import { Queue, Worker, type ConnectionOptions } from "bullmq";
import type { BullmqExecutor } from "./bullmq-executor.js";
import { SCHEDULER_QUEUE } from "./bullmq-flows.js";
import type { TickResult } from "./orchestrator.js";

export const TICK_SCHEDULER_ID = "tick";

export interface BullmqSchedulerOptions {
  connection: ConnectionOptions;
  prefix: string;
  /** Tick period; the slots themselves come from each DAG's cron, not from this. */
  everyMs?: number;
  log?: (message: string) => void;
}

export class BullmqScheduler {
  private readonly queue: Queue;
  private worker: Worker | undefined;
  private readonly log: (m: string) => void;
  /** Ticks this process has run (through the job scheduler or by hand). */
  ticks = 0;
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    readonly executor: BullmqExecutor,
    private readonly opts: BullmqSchedulerOptions,
  ) {
    this.log = opts.log ?? (() => undefined);
    this.queue = new Queue(SCHEDULER_QUEUE, { connection: opts.connection, prefix: opts.prefix });
    this.queue.on("error", (err: Error) => this.log(`scheduler queue: ${err.message}`));
  }

  /** Registers the tick (idempotent: every scheduler upserts the same one), ticks once now, and takes tick jobs. */
  async start(): Promise<void> {
    const every = this.opts.everyMs ?? 60_000;
    await this.queue.upsertJobScheduler(TICK_SCHEDULER_ID, { every }, { name: "tick", data: {}, opts: { removeOnComplete: 100, removeOnFail: 100 } });
    this.worker = new Worker(SCHEDULER_QUEUE, async () => summary(await this.tick()), { connection: this.opts.connection, prefix: this.opts.prefix, concurrency: 1 });
    this.worker.on("error", (err: Error) => this.log(`scheduler worker: ${err.message}`));
    this.worker.on("failed", (_job, err: Error) => this.log(`scheduler tick failed: ${err.message}`));
    await this.worker.waitUntilReady();
    await this.tick();
  }

  /**
   * One scheduling pass: runs for due slots, then dispatch (start queued runs, add their jobs).
   * Ticks of one process run one after the other (overlapping ones would be safe, only noisy).
   */
  tick(): Promise<TickResult> {
    const next = this.last.then(() => this.tickOnce());
    this.last = next.catch(() => undefined);
    return next;
  }

  private async tickOnce(): Promise<TickResult> {
    this.ticks++;
    const r = await this.executor.orchestrator.scheduleTick();
    for (const run of r.created) this.log(`created ${run.runKey} for [${new Date(run.logicalStart).toISOString()}, ${new Date(run.logicalEnd).toISOString()})`);
    for (const [dag, n] of Object.entries(r.skippedSlots)) this.log(`${dag}: ${n} missed slot(s) beyond the catchup limit were not run`);
    await this.executor.dispatch();
    return r;
  }

  /** Stops taking ticks; the job scheduler stays for the other schedulers (and the next start). */
  async close(): Promise<void> {
    await this.worker?.close();
    await this.queue.close();
  }
}

function summary(r: TickResult): { created: string[]; existing: number } {
  return { created: r.created.map((x) => x.runKey), existing: r.existing.length };
}
