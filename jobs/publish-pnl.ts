// Task handler: draws a model's investor PnL charts and publishes them under
// pnl_for_investors/<model>/ on conf.publishRoot (a folder or s3://bucket/prefix; default the data
// root), with content type and cache headers. Same conf as plot-pnl.

import { publishPnlCharts, type PublishedChart } from "../src/analysis/pnl-publish.js";
import type { TaskHandler } from "../src/orchestration/task.js";
import { openStore } from "../src/storage/open-store.js";
import { plotFromConf, pnlTaskConf } from "./plot-pnl.js";

export interface PublishPnlTaskOutput {
  publishRoot: string;
  published: PublishedChart[];
}

export const publishPnlTask: TaskHandler = async (ctx) => {
  const conf = pnlTaskConf(ctx);
  const p = await plotFromConf(ctx, conf);
  const publishRoot = conf.publishRoot ?? ctx.dataRoot;
  const published = await publishPnlCharts(openStore(publishRoot), conf.model, p.charts);
  ctx.log(`published ${published.length} files to ${publishRoot}`);
  const out: PublishPnlTaskOutput = { publishRoot, published };
  return out;
};
