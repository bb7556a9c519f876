// Task handler: a broker-only experiment with the arguments given as the DAG run's conf.

import { runBrokerExperiment, type BrokerExperimentArgs } from "../src/oms/broker-experiment.js";
import type { TaskHandler } from "../src/orchestration/task.js";
import { join } from "node:path";
import { compactUtc } from "../src/core/timestamp.js";

export const brokerExperimentTask: TaskHandler = async (ctx) => {
  const { outDir: _ignored, ...args } = ctx.conf as BrokerExperimentArgs & { outDir?: unknown };
  const outDir = join(ctx.dataRoot, "broker_experiment", compactUtc(ctx.logicalStart));
  // A DAG experiment is read later, column-wise: its Parquet copies are written with it.
  const r = await runBrokerExperiment({ ...args, outDir } as BrokerExperimentArgs, undefined, { parquet: true });
  return { logDir: r.logDir, parentOrders: r.parentOrders, childOrders: r.childOrders, fillRate: r.summary.fillRate, slippageBps: r.summary.slippageBps };
};
