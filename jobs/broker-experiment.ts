// Task handler: a broker-only experiment with the arguments given as the DAG run's conf. The
// experiment starts at the run's logical start (the conf's `start`, an ISO time, as for every DAG).

import { join } from "node:path";
import { compactUtc } from "../src/core/timestamp.js";
import { brokerExperimentSchema, runBrokerExperiment } from "../src/oms/broker-experiment.js";
import { permanentError, type TaskHandler } from "../src/orchestration/task.js";
import { formatIssues } from "../src/system/config.js";

export const brokerExperimentTask: TaskHandler = async (ctx) => {
  const { outDir: _outDir, start: _start, end: _end, ...given } = ctx.conf;
  const outDir = join(ctx.dataRoot, "broker_experiment", compactUtc(ctx.logicalStart));
  const parsed = brokerExperimentSchema.safeParse({ ...given, start: ctx.logicalStart, outDir });
  // A bad conf fails at once (no retry fixes it), naming the fields.
  if (!parsed.success) throw permanentError(new Error(formatIssues(`dag ${ctx.dagId} conf`, parsed.error)));
  // A DAG experiment is read later, column-wise: its Parquet copies are written with it.
  const r = await runBrokerExperiment(parsed.data, undefined, { parquet: true });
  return { logDir: r.logDir, parentOrders: r.parentOrders, childOrders: r.childOrders, fillRate: r.summary.fillRate, slippageBps: r.summary.slippageBps };
};
