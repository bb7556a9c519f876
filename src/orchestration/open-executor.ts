// Opens an executor of either kind over the DAGs: local (run records under the data root, tasks in
// this process) or BullMQ (run records and jobs in Redis, tasks in `tradeloop worker` processes).
// The CLI's `--executor` flag comes here.

import type { DagDefinition } from "./dag.js";
import { BullmqExecutor } from "./bullmq-executor.js";
import { RunGenerations } from "./bullmq-generations.js";
import { BullmqScheduler } from "./bullmq-scheduler.js";
import { bullmqConnection, checkRedisReachable, DEFAULT_PREFIX, DEFAULT_REDIS_URL, redisClient, type WorkerSettings } from "./bullmq-settings.js";
import { TaskWorker, type TaskEvent } from "./bullmq-worker.js";
import type { Executor } from "./executor.js";
import { FileRunStore } from "./file-run-store.js";
import { LocalExecutor, type LocalExecutorOptions } from "./local-executor.js";
import { Orchestrator } from "./orchestrator.js";
import { RedisRunStore } from "./redis-run-store.js";

export interface OpenExecutorOptions {
  /** Data root of run directories (and, for local, of run records). */
  root: string;
  /** BullMQ only; default REDIS_URL's default, redis://127.0.0.1:6379. */
  redisUrl?: string;
  /** BullMQ key prefix (default "tradeloop"). */
  prefix?: string;
  log?: (message: string) => void;
  /** The DAGs to run (the CLI loads them from dags/, which sits above orchestration/). */
  dags: readonly DagDefinition[];
  /** Local only: passed on to the LocalExecutor. */
  local?: Omit<LocalExecutorOptions, "dataRoot" | "log">;
  now?: () => number;
  /**
   * BullMQ only: give up when Redis does not answer within this long, instead of waiting for it
   * (one-shot commands; workers and schedulers wait out a Redis that is down).
   */
  redisConnectTimeoutMs?: number;
}

export async function openExecutor(kind: "local", o: OpenExecutorOptions): Promise<LocalExecutor>;
export async function openExecutor(kind: "bullmq", o: OpenExecutorOptions): Promise<BullmqExecutor>;
export async function openExecutor(kind: "local" | "bullmq", o: OpenExecutorOptions): Promise<Executor>;
export async function openExecutor(kind: "local" | "bullmq", o: OpenExecutorOptions): Promise<Executor> {
  const dags = o.dags;
  const log = o.log ?? (() => undefined);
  if (kind === "local") {
    const ex = new LocalExecutor(new Orchestrator(dags, new FileRunStore(o.root), o.now), { ...o.local, dataRoot: o.root, log });
    await ex.requeueOrphans();
    return ex;
  }
  if (kind !== "bullmq") throw new Error(`executor must be local or bullmq, got "${String(kind)}"`);
  if (o.redisConnectTimeoutMs !== undefined) await checkRedisReachable(o.redisUrl ?? DEFAULT_REDIS_URL, o.redisConnectTimeoutMs);
  return openBullmq(o, dags);
}

function openBullmq(o: OpenExecutorOptions, dags: readonly DagDefinition[]): BullmqExecutor {
  const url = o.redisUrl ?? DEFAULT_REDIS_URL;
  const prefix = o.prefix ?? DEFAULT_PREFIX;
  const log = o.log ?? (() => undefined);
  const redis = redisClient(url, log);
  const store = new RedisRunStore(redis, prefix);
  return new BullmqExecutor(new Orchestrator(dags, store, o.now), { connection: bullmqConnection(url), prefix, generations: new RunGenerations(redis, prefix), log });
}

export interface BullmqWorkerProcess {
  worker: TaskWorker;
  executor: BullmqExecutor;
  /** Graceful: hands running tasks back to the queue, then closes every connection. */
  close(reason?: string): Promise<void>;
}

/** A task worker on Redis (with an executor to start the next queued runs when a run ends). */
export async function openBullmqWorker(o: OpenExecutorOptions & { settings?: Partial<WorkerSettings>; onTaskEvent?: (e: TaskEvent) => void; onProgress?: (runKey: string, taskId: string, done: number, total: number, detail: string) => void }): Promise<BullmqWorkerProcess> {
  const executor = openBullmq(o, o.dags);
  const redisOpts = executor.options;
  const worker = new TaskWorker({
    orchestrator: executor.orchestrator,
    generations: redisOpts.generations,
    connection: redisOpts.connection,
    prefix: redisOpts.prefix,
    dataRoot: o.root,
    ...(o.settings !== undefined ? { settings: o.settings } : {}),
    ...(o.log !== undefined ? { log: o.log } : {}),
    ...(o.onTaskEvent !== undefined ? { onTaskEvent: o.onTaskEvent } : {}),
    ...(o.onProgress !== undefined ? { onProgress: o.onProgress } : {}),
    afterRunFinished: () => executor.dispatch(),
  });
  await worker.waitUntilReady();
  return {
    worker,
    executor,
    async close(reason?: string) {
      await worker.stop(reason);
      await executor.close();
    },
  };
}

export interface BullmqSchedulerProcess {
  scheduler: BullmqScheduler;
  executor: BullmqExecutor;
  close(): Promise<void>;
}

/** The BullMQ scheduler (started: the tick is registered and has run once). */
export async function openBullmqScheduler(o: OpenExecutorOptions & { tickEveryMs?: number }): Promise<BullmqSchedulerProcess> {
  const executor = openBullmq(o, o.dags);
  const scheduler = new BullmqScheduler(executor, { connection: executor.options.connection, prefix: executor.options.prefix, ...(o.tickEveryMs !== undefined ? { everyMs: o.tickEveryMs } : {}), ...(o.log !== undefined ? { log: o.log } : {}) });
  await scheduler.start();
  return {
    scheduler,
    executor,
    async close() {
      await scheduler.close();
      await executor.close();
    },
  };
}
