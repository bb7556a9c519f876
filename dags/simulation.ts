// `simulation.<model>`: every day at 00:00 UTC, the model over the day just past, in simulated time
// against the embedded venue's synthetic market (a day takes seconds).

import { defineDag, task, type DagDefinition } from "../src/orchestration/dag.js";
import { runSystemTask } from "../jobs/run-system.js";
import { brokerLogParquetTask } from "../jobs/broker-log-parquet.js";
import { markRunDirSuccess } from "../jobs/mark-success.js";

export function simulationDag(model: string): DagDefinition {
  return defineDag({
    id: `simulation.${model}`,
    description: `daily simulation of ${model} over the past day (simulated clock, embedded venue)`,
    schedule: { cron: "0 0 * * *", timezone: "UTC" },
    dataInterval: "preceding",
    startDate: Date.UTC(2024, 0, 1),
    catchupLimit: 3,
    maxActiveRuns: 2,
    defaultConf: { system: { model: { name: model }, mode: "simulation", data: { source: "venue" }, broker: { kind: "embedded" }, barMinutes: 5, stage: "dev" } },
    tasks: [
      task({ id: "run_system", handler: runSystemTask, retries: 2, retryBackoffMs: 5_000, timeoutMs: 2 * 3_600_000 }),
      task({ id: "broker_log_parquet", handler: brokerLogParquetTask, upstream: ["run_system"], retries: 1, timeoutMs: 3_600_000 }),
    ],
    onRunSuccess: markRunDirSuccess,
  });
}
