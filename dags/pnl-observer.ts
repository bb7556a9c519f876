// `pnl_observer.<model>`: every 5 minutes, redraws and republishes the last-5-minutes and
// last-24-hours PnL charts of the model from its runs (a paper-trading session writes its bars as
// it goes). Missed slots are not caught up: only the newest picture matters.

import { defineDag, task, type DagDefinition } from "../src/orchestration/dag.js";
import { observePnlTask } from "../jobs/observe-pnl.js";

export function pnlObserverDag(model: string): DagDefinition {
  return defineDag({
    id: `pnl_observer.${model}`,
    description: `every 5 minutes: live PnL charts (last 5 minutes, last 24 hours) of ${model}`,
    schedule: { cron: "*/5 * * * *", timezone: "UTC" },
    dataInterval: "preceding",
    startDate: Date.UTC(2024, 0, 1),
    catchupLimit: 1,
    maxActiveRuns: 1,
    defaultConf: { model, stage: "dev", modes: ["paper_trading", "prod"] },
    tasks: [task({ id: "publish_live_pnl", handler: observePnlTask, retries: 1, retryBackoffMs: 5_000, timeoutMs: 4 * 60_000 })],
  });
}
