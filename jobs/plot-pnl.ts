// Task handler: draws a model's investor PnL charts from its runs under the data root and writes
// them beside the stages (<dataRoot>/pnl_charts/<stage>/<model>/). Conf: model (required), stage,
// year, asOf (ISO time), modes.

import { z } from "zod";
import { defaultPlotDir, plotModelPnl, writePnlCharts, type PlottedPnl } from "../src/analysis/pnl-publish.js";
import { permanentError, type TaskContext, type TaskHandler } from "../src/orchestration/task.js";
import { ConfigError, formatIssues, pathSegment } from "../src/system/config.js";

const pnlConfSchema = z
  .object({
    model: pathSegment,
    stage: pathSegment.default("dev"),
    year: z.number().int().min(1970).max(9999).optional(),
    asOf: z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)).optional(),
    modes: z.array(z.enum(["prod", "paper_trading", "simulation"])).min(1).optional(),
    publishRoot: z.string().min(1).optional(),
  })
  .passthrough();

export type PnlTaskConf = z.output<typeof pnlConfSchema>;

export function pnlTaskConf(ctx: TaskContext): PnlTaskConf {
  const r = pnlConfSchema.safeParse(ctx.conf);
  // A bad conf stays bad on every retry: fail the task at once.
  if (!r.success) throw permanentError(new ConfigError(formatIssues(`dag ${ctx.dagId} task ${ctx.taskId} conf`, r.error)));
  return r.data;
}

export async function plotFromConf(ctx: TaskContext, conf: PnlTaskConf): Promise<PlottedPnl> {
  const p = await plotModelPnl({ root: ctx.dataRoot, stage: conf.stage, model: conf.model, modes: conf.modes, year: conf.year, asOf: conf.asOf, fallbackYear: new Date(ctx.logicalEnd - 1).getUTCFullYear() });
  ctx.log(`${conf.model}: ${p.series.runs.length} runs, ${p.series.bars.length} bars`);
  return p;
}

export interface PlotPnlTaskOutput {
  files: string[];
  bars: number;
}

export const plotPnlTask: TaskHandler = async (ctx) => {
  const conf = pnlTaskConf(ctx);
  const p = await plotFromConf(ctx, conf);
  const out: PlotPnlTaskOutput = { files: writePnlCharts(defaultPlotDir(ctx.dataRoot, conf.stage, conf.model), p.charts), bars: p.series.bars.length };
  return out;
};
