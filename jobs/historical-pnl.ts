// Task handler: the historical run of a model (src/system/historical-run.ts): one simulation
// backfill run per UTC day of the DAG run's window [start, end), as every DAG run has one (the
// orchestrator takes it from conf.start / conf.end: `2024-01-01` or `2024-01-01T00:00:00Z`; end
// excluded, a day after start by default), under the data root, skipping days already complete,
// several days at once on worker threads. Conf: model, stage (default of system.stage),
// parallelDays (default: the cores, at most 4), and `system` (the system config of every day,
// without start/end/mode/dagRunMode/outputRoot).

import { z } from "zod";
import { permanentError, type TaskHandler } from "../src/orchestration/task.js";
import { ConfigError, formatIssues, pathSegment } from "../src/system/config.js";
import { HistoricalRunError, runHistorical, type HistoricalDay, type HistoricalRunResult } from "../src/system/historical-run.js";

const DAY_MS = 86_400_000;

const historicalConfSchema = z
  .object({
    model: pathSegment,
    stage: pathSegment.optional(),
    /** Days run at once, each on a worker thread (default: the machine's cores, at most 4). */
    parallelDays: z.number().int().min(1).max(64).optional(),
    system: z.record(z.string(), z.unknown()).default({}),
  })
  .passthrough();

export interface HistoricalPnlTaskOutput {
  ran: number;
  skipped: number;
  days: HistoricalDay[];
}

export const historicalPnlTask: TaskHandler = async (ctx) => {
  const where = `dag ${ctx.dagId} task ${ctx.taskId} conf`;
  const r = historicalConfSchema.safeParse(ctx.conf);
  // A bad conf stays bad on every retry: fail the task at once.
  if (!r.success) throw permanentError(new ConfigError(formatIssues(where, r.error)));
  const { model, system, stage, parallelDays } = r.data;
  const { logicalStart: start, logicalEnd: end } = ctx;
  if (start % DAY_MS !== 0 || end % DAY_MS !== 0) {
    throw permanentError(new ConfigError(`${where}: a historical run covers whole UTC days: start and end must be midnights (as 2024-01-01 or 2024-01-01T00:00:00Z), got ${new Date(start).toISOString()} .. ${new Date(end).toISOString()}`));
  }
  if ("outputRoot" in system) throw permanentError(new ConfigError(`${where}: system.outputRoot is not allowed: runs are written under the executor's data root`));
  const modelConf = system["model"];
  // conf.stage is where the charts look for runs (plot_pnl / publish_pnl): write them there too.
  const base = { ...(stage === undefined ? {} : { stage }), ...system, model: { ...(modelConf !== null && typeof modelConf === "object" ? modelConf : {}), name: model }, outputRoot: ctx.dataRoot };
  let result: HistoricalRunResult;
  try {
    result = await runHistorical({
      base,
      firstDay: new Date(start).toISOString().slice(0, 10),
      // The window's end is excluded: its last day is the one before.
      lastDay: new Date(end - DAY_MS).toISOString().slice(0, 10),
      where: `${where}.system`,
      signal: ctx.signal,
      ...(parallelDays === undefined ? {} : { parallelDays }),
      onProgress: (p) => {
        ctx.progress(p.barsDone, p.barsTotal, `${p.day} (day ${p.dayIndex + 1}/${p.days})`);
        if (p.event !== "bar") ctx.log(`${p.day} ${p.event === "skipped" ? "skipped (already complete)" : "done"} (${p.dayIndex + 1}/${p.days} days, ${p.barsDone}/${p.barsTotal} bars)`);
      },
    });
  } catch (e) {
    // A config or range the historical run refuses is refused again on a retry; an abort is not that.
    if (!ctx.signal.aborted && (e instanceof ConfigError || e instanceof HistoricalRunError)) throw permanentError(e);
    throw e;
  }
  const out: HistoricalPnlTaskOutput = { ran: result.ran, skipped: result.skipped, days: result.days };
  return out;
};
