// Task handler of the 5-minute pnl_observer DAG: redraws and republishes only the live windows
// (last 5 minutes, last 24 hours) of a model's PnL while its session runs; the daily windows are
// the daily DAG's job and are not redrawn every 5 minutes.

import { publishPnlCharts } from "../src/analysis/pnl-publish.js";
import type { PnlWindowKind } from "../src/analysis/pnl-series.js";
import type { TaskHandler } from "../src/orchestration/task.js";
import { openStore } from "../src/storage/open-store.js";
import { plotFromConf, pnlTaskConf } from "./plot-pnl.js";

const LIVE: ReadonlySet<PnlWindowKind> = new Set(["last_5minutes", "last_24hours"]);

export const observePnlTask: TaskHandler = async (ctx) => {
  const conf = pnlTaskConf(ctx);
  // The live windows end at the observer's slot, not at the last bar of the newest run.
  const p = await plotFromConf(ctx, { ...conf, asOf: conf.asOf ?? ctx.logicalEnd });
  const live = p.charts.filter((c) => LIVE.has(c.window.kind));
  const publishRoot = conf.publishRoot ?? ctx.dataRoot;
  const published = await publishPnlCharts(openStore(publishRoot), conf.model, live);
  return { publishRoot, published, bars: p.series.bars.length };
};
