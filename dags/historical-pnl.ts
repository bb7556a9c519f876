// `historical_pnl.<model>`: manual: a backtest of the model in simulation, day after day over the
// run's window [conf.start, conf.end) (UTC days; end excluded, as every DAG run's window), whose runs
// join the since-inception chart; then the charts are redrawn and published.

import { defineDag, task, type DagDefinition } from "../src/orchestration/dag.js";
import { historicalPnlTask } from "../jobs/historical-pnl.js";
import { publishPnlTask } from "../jobs/publish-pnl.js";

export function historicalPnlDag(model: string): DagDefinition {
  return defineDag({
    id: `historical_pnl.${model}`,
    description: `manual: day-by-day simulation backtest of ${model} over [conf.start, conf.end) (UTC days), then the PnL charts`,
    schedule: null,
    maxActiveRuns: 1,
    defaultConf: { model, stage: "dev", system: { barMinutes: 5 } },
    tasks: [
      task({ id: "historical_run", handler: historicalPnlTask, retries: 1, timeoutMs: 48 * 3_600_000 }),
      task({ id: "publish_pnl", handler: publishPnlTask, upstream: ["historical_run"], retries: 2, timeoutMs: 3_600_000 }),
    ],
  });
}
