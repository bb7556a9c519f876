// The BullMQ executor's dispatch side: starts queued runs (the Orchestrator's rules, records in
// Redis) and adds each started run to Redis as BullMQ flows with fixed job ids, for `tradeloop
// worker` processes to run. Adding a run's flows again (a second dispatcher, a retry after a crash
// between starting a run and adding its jobs) finds the jobs already there.

import { FlowProducer, Queue, type ConnectionOptions } from "bullmq";
import { flowsForRun, TASK_QUEUE, type TaskJobData } from "./bullmq-flows.js";
import type { RunGenerations } from "./bullmq-generations.js";
import type { Executor } from "./executor.js";
import type { Orchestrator } from "./orchestrator.js";
import type { DagRun } from "./run-records.js";

export interface BullmqExecutorOptions {
  connection: ConnectionOptions;
  prefix: string;
  generations: RunGenerations;
  log?: (message: string) => void;
}

export interface EnqueueResult {
  runKey: string;
  generation: number;
  /** Job ids of the flow roots added now (empty if the run's jobs were all there). */
  added: string[];
}

export class BullmqExecutor implements Executor {
  readonly kind = "bullmq" as const;
  readonly flows: FlowProducer;
  readonly queue: Queue<TaskJobData>;
  private readonly log: (m: string) => void;
  private closed = false;

  constructor(
    readonly orchestrator: Orchestrator,
    readonly options: BullmqExecutorOptions,
  ) {
    this.log = options.log ?? (() => undefined);
    this.flows = new FlowProducer({ connection: options.connection, prefix: options.prefix });
    this.queue = new Queue<TaskJobData>(TASK_QUEUE, { connection: options.connection, prefix: options.prefix });
    this.flows.on("error", (err: Error) => this.log(`flow producer: ${err.message}`));
    this.queue.on("error", (err: Error) => this.log(`task queue: ${err.message}`));
  }

  /**
   * Starts queued runs within maxActiveRuns, then makes sure every running run has jobs for the
   * tasks it has not started yet (just started, restarted after a clear, or started by a
   * dispatcher that died before adding them). Returns at once: workers run the tasks.
   */
  async dispatch(): Promise<void> {
    await this.dispatchRuns();
  }

  /** `dispatch`, telling what it added. */
  async dispatchRuns(): Promise<EnqueueResult[]> {
    const started = await this.orchestrator.startQueuedRuns();
    for (const r of started) this.log(`started ${r.runKey}`);
    const out: EnqueueResult[] = [];
    for (const run of await this.orchestrator.store.list()) {
      if (run.state !== "running") continue;
      const r = await this.enqueue(run);
      if (r.added.length > 0) out.push(r);
    }
    return out;
  }

  /** Adds the flows of a running run's pending tasks unless their root jobs exist already. */
  async enqueue(run: DagRun): Promise<EnqueueResult> {
    if (run.startedAt === undefined) throw new Error(`run ${run.runKey} is ${run.state} but has no start time`);
    const dag = this.orchestrator.dag(run.dagId);
    const generation = await this.options.generations.of(run.runKey, run.startedAt);
    const added: string[] = [];
    for (const flow of flowsForRun(dag, run, generation)) {
      const rootId = flow.opts?.jobId as string;
      // A root that exists means its whole flow does (FlowProducer adds a flow in one
      // transaction). Re-adding it would be harmless for jobs still waiting, but would put a child
      // that already failed back among its parent's dependencies, so it is not re-added.
      if ((await this.queue.getJob(rootId)) !== undefined) continue;
      await this.flows.add(flow);
      added.push(rootId);
      this.log(`queued ${run.runKey}${generation > 0 ? ` (generation ${generation})` : ""}: ${rootId}`);
    }
    return { runKey: run.runKey, generation, added };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.flows.close();
    await this.queue.close();
    await this.orchestrator.store.close();
  }
}
