// `demo`: the main job behind `npm start`: one simulated day (2024-01-02, 5-minute bars, ten
// synthetic perpetuals) of the default model against the embedded venue, end to end: the run, its
// reconciliation report, the model's PnL charts, and the Parquet copies of the broker log.

import { defineDag, task } from "../src/orchestration/dag.js";
import { DEFAULT_MODEL } from "../src/system/model-registry.js";
import { runSystemTask } from "../jobs/run-system.js";
import { brokerLogParquetTask } from "../jobs/broker-log-parquet.js";
import { reconcileTask } from "../jobs/reconcile.js";
import { plotPnlTask } from "../jobs/plot-pnl.js";
import { markRunDirSuccess } from "../jobs/mark-success.js";

export const DEMO_SYSTEM = {
  model: { name: DEFAULT_MODEL },
  mode: "simulation",
  stage: "dev",
  barMinutes: 5,
  universe: { kind: "synthetic", assets: 10, seed: 1 },
  seed: 1,
} as const;

export const demoDag = defineDag({
  id: "demo",
  description: "one simulated trading day of the default model against the embedded venue",
  schedule: null,
  defaultConf: { start: "2024-01-02T00:00:00Z", end: "2024-01-03T00:00:00Z", model: DEFAULT_MODEL, stage: "dev", system: DEMO_SYSTEM },
  tasks: [
    task({ id: "run_system", handler: runSystemTask, retries: 1, retryBackoffMs: 1000, timeoutMs: 3_600_000 }),
    task({ id: "reconcile", handler: reconcileTask, upstream: ["run_system"], timeoutMs: 3_600_000 }),
    task({ id: "plot_pnl", handler: plotPnlTask, upstream: ["reconcile"], triggerRule: "all_done", timeoutMs: 600_000 }),
    task({ id: "broker_log_parquet", handler: brokerLogParquetTask, upstream: ["plot_pnl"], triggerRule: "all_done", needsOutputOf: ["run_system"], timeoutMs: 3_600_000 }),
  ],
  onRunSuccess: markRunDirSuccess,
});
