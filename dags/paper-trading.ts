// `paper_trading.<model>`: every day at 00:00 UTC, one ~24-hour paper-trading session of the model
// over the day ahead, on the real clock, against the embedded venue's live market; then the
// reconciliation of the session, its PnL charts, their publication, and the Parquet copies of its
// broker log. The session is retried
// from its last checkpoint if its worker dies.

import { defineDag, task, type DagDefinition } from "../src/orchestration/dag.js";
import { runSystemTask } from "../jobs/run-system.js";
import { brokerLogParquetTask } from "../jobs/broker-log-parquet.js";
import { reconcileTask } from "../jobs/reconcile.js";
import { plotPnlTask } from "../jobs/plot-pnl.js";
import { publishPnlTask } from "../jobs/publish-pnl.js";
import { markRunDirSuccess } from "../jobs/mark-success.js";

const HOUR = 3_600_000;

export function paperTradingDag(model: string): DagDefinition {
  return defineDag({
    id: `paper_trading.${model}`,
    description: `daily paper-trading session of ${model} over the day ahead (real clock, embedded venue), reconciled, charted and published`,
    schedule: { cron: "0 0 * * *", timezone: "UTC" },
    dataInterval: "following",
    startDate: Date.UTC(2024, 0, 1),
    // A session missed during downtime is worth starting late only for the current day.
    catchupLimit: 1,
    maxActiveRuns: 1,
    defaultConf: {
      model,
      stage: "dev",
      system: { model: { name: model }, mode: "paper_trading", clock: { kind: "real" }, data: { source: "venue" }, broker: { kind: "embedded" }, barMinutes: 5, stage: "dev" },
    },
    tasks: [
      task({ id: "run_system", handler: runSystemTask, retries: 3, retryBackoffMs: 30_000, timeoutMs: 26 * HOUR }),
      task({ id: "reconcile", handler: reconcileTask, upstream: ["run_system"], retries: 1, timeoutMs: 2 * HOUR }),
      // Charts are drawn whether or not the reconciliation passed or ran: investors see the PnL.
      task({ id: "plot_pnl", handler: plotPnlTask, upstream: ["reconcile"], triggerRule: "all_done", retries: 1, timeoutMs: HOUR }),
      task({ id: "publish_pnl", handler: publishPnlTask, upstream: ["plot_pnl"], retries: 3, retryBackoffMs: 10_000, timeoutMs: HOUR }),
      // Last, and whatever publishing did: the copies are for later analysis (a task may feed only
      // one downstream task, so they cannot branch off run_system). Without a session there is no
      // broker log: upstream_failed then, not a failure of its own.
      task({ id: "broker_log_parquet", handler: brokerLogParquetTask, upstream: ["publish_pnl"], triggerRule: "all_done", needsOutputOf: ["run_system"], retries: 1, timeoutMs: HOUR }),
    ],
    onRunSuccess: markRunDirSuccess,
  });
}
