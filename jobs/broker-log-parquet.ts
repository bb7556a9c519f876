// Task handler: the Parquet copies of the broker log of the run the upstream `run_system` task
// wrote (or `conf.runDir`, a local run directory), written after the run rather than inside it: see
// src/oms/broker-log-parquet.ts. When the DAG publishes runs to a store, the success hook uploads
// the run directory with the copies in it.

import { locateBrokerLogDir, writeBrokerLogParquetParallel } from "../src/oms/broker-log-parquet.js";
import { permanentError, type TaskHandler } from "../src/orchestration/task.js";
import { ConfigError } from "../src/system/config.js";
import { upstreamRunDir } from "./upstream-run-dir.js";

export interface BrokerLogParquetTaskOutput {
  brokerLogDir: string;
  files: { stream: string; path: string; rows: number }[];
}

export const brokerLogParquetTask: TaskHandler = async (ctx) => {
  const runDir = upstreamRunDir(ctx, "convert");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(runDir)) throw permanentError(new ConfigError(`dag ${ctx.dagId} task ${ctx.taskId}: ${runDir}: Parquet copies are written into a local run directory, not a store URL`));
  const brokerLogDir = locateBrokerLogDir(runDir);
  const files = await writeBrokerLogParquetParallel(brokerLogDir);
  ctx.log(`broker log Parquet copies: ${files.map((f) => `${f.stream} (${f.rows} rows)`).join(", ") || "none (empty log)"}`);
  const out: BrokerLogParquetTaskOutput = { brokerLogDir, files: files.map((f) => ({ stream: f.stream, path: f.path, rows: f.rows })) };
  return out;
};
