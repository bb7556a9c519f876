// `paper_trading.<model>`: every day at 00:00 UTC, one ~24-hour paper-trading session of the model
// over the day ahead, on the real clock, against the embedded venue's live market. Retried from its
// last checkpoint if its worker dies.

import { defineDag, task, type DagDefinition } from "../src/orchestration/dag.js";
import { runSystemTask } from "../jobs/run-system.js";
import { markRunDirSuccess } from "../jobs/mark-success.js";

const HOUR = 3_600_000;

export function paperTradingDag(model: string): DagDefinition {
  return defineDag({
    id: `paper_trading.${model}`,
    description: `daily paper-trading session of ${model} over the day ahead (real clock, embedded venue)`,
    schedule: { cron: "0 0 * * *", timezone: "UTC" },
    dataInterval: "following",
    startDate: Date.UTC(2024, 0, 1),
    // A session missed during downtime is worth starting late only for the current day.
    catchupLimit: 1,
    maxActiveRuns: 1,
    defaultConf: {
      system: { model: { name: model }, mode: "paper_trading", clock: { kind: "real" }, data: { source: "venue" }, broker: { kind: "embedded" }, barMinutes: 5, stage: "dev" },
    },
    tasks: [task({ id: "run_system", handler: runSystemTask, retries: 3, retryBackoffMs: 30_000, timeoutMs: 26 * HOUR })],
    onRunSuccess: markRunDirSuccess,
  });
}
