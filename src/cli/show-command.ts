// `tradeloop show <run-dir>`: a run at a glance: period, bars, trades, PnL, statistics, warnings.
// Reads the summary the run wrote, or recomputes it from the per-bar log when the run was killed.

import { basename, dirname, join } from "node:path";
import type { Command } from "commander";
import { Decimal } from "decimal.js";
import { z } from "zod";
import { SYSTEM_LOG_DIR } from "../storage/run-layout.js";
import { formatIssues } from "../system/config.js";
import { loadPortfolioTotals, loadSystemLog } from "../system/system-log-loader.js";
import { SYSTEM_LOG_FILES } from "../system/system-log.js";
import { buildRunSummary, type RunSummary } from "../system/run-summary.js";
import { formatTable } from "./table.js";

/** The run directory of a system_log_dir: what `run` prints, so `show` prints the same. */
function runDirOf(systemLogDir: string): string {
  return basename(systemLogDir) === SYSTEM_LOG_DIR ? dirname(systemLogDir) : systemLogDir;
}

const fmt = (x: number, d = 2): string => (Number.isFinite(x) ? x.toFixed(d) : "-");
/** Counts a killed run's log cannot give (they are in its summary) print as "-". */
const count = (x: number): string => (Number.isFinite(x) ? String(x) : "-");

export function formatRunSummary(s: RunSummary, dir: string): string {
  const st = s.statistics;
  return [
    `Run ${s.model} ${s.mode}  ${s.start} .. ${s.end}  (${s.barMinutes}-minute bars)${s.complete ? "" : "  INCOMPLETE"}`,
    `bars ${s.barsDone}/${s.barsPlanned}  parent orders ${s.parentOrders}  parent fills ${s.parentFills}  child orders ${count(s.childOrders)}  exchange trades ${count(s.exchangeTrades)}`,
    // The exact net wealth (many decimals) is in summary.json; the console shows cents, as for PnL.
    `PnL ${fmt(s.totalPnl)}  fees ${fmt(s.totalFees)}  final net wealth ${s.finalNetWealth === undefined ? "-" : new Decimal(s.finalNetWealth).toFixed(2)}`,
    "",
    formatTable(
      ["sharpe", "ann. return %gmv", "ann. vol %gmv", "max drawdown", "mean gmv", "turnover/bar", "pnl/volume bps"],
      [[fmt(st.sharpeRatio), fmt(st.annualizedReturn.pctOfGmv), fmt(st.annualizedVolatility.pctOfGmv), fmt(st.maxDrawdown.dollars), fmt(st.meanGmv), fmt(st.turnoverMean.dollars), fmt(st.pnlPerGrossVolumeBps)]],
    ),
    "",
    s.warnings.length === 0 ? "warnings: none" : `warnings (${s.warnings.length}):\n${s.warnings.slice(0, 20).map((w) => `  ${w}`).join("\n")}${s.warnings.length > 20 ? `\n  ... ${s.warnings.length - 20} more` : ""}`,
    `run directory: ${dir}`,
  ].join("\n");
}

// What formatRunSummary reads of a summary.json: a file of another shape is named, not a TypeError.
const num = z.number().nullable();
const shownSummarySchema = z.object({
  model: z.string(), mode: z.string(), start: z.string(), end: z.string(), barMinutes: z.number(), complete: z.boolean(),
  barsDone: z.number(), barsPlanned: z.number(), parentOrders: z.number(), parentFills: z.number(), childOrders: num, exchangeTrades: num,
  totalPnl: num, totalFees: num, warnings: z.array(z.string()),
  statistics: z.object({
    sharpeRatio: num, annualizedReturn: z.object({ pctOfGmv: num }), annualizedVolatility: z.object({ pctOfGmv: num }),
    maxDrawdown: z.object({ dollars: num }), meanGmv: num, turnoverMean: z.object({ dollars: num }), pnlPerGrossVolumeBps: num,
  }),
});

/** The summary of a run directory: the one the run wrote, or one recomputed from its bars. */
export function summaryOf(path: string): { summary: RunSummary; dir: string } {
  // A finished run's summary is all it takes; a killed run's is rebuilt from its bars' totals.
  const done = loadSystemLog(path, { streams: [] });
  const log = done.summary !== undefined ? done : loadSystemLog(path, { tolerateTruncatedTail: true, streams: ["orders", "fills"] });
  if (log.summary !== undefined) {
    const checked = shownSummarySchema.safeParse(log.summary);
    if (!checked.success) throw new Error(formatIssues(join(log.dir, SYSTEM_LOG_FILES.summary), checked.error));
    return { summary: log.summary as unknown as RunSummary, dir: runDirOf(log.dir) };
  }
  const cfg = log.configResolved as { model?: { name?: string }; mode?: string; start?: string; end?: string; barMinutes?: number };
  const barMinutes = cfg.barMinutes ?? 5;
  const start = Date.parse(cfg.start ?? "");
  const end = Date.parse(cfg.end ?? "");
  const portfolio = loadPortfolioTotals(log.dir, { tolerateTruncatedTail: true });
  const warnings = [...portfolio.truncated, ...log.truncated].map((t) => `${t.file}:${t.line}: torn last record skipped (the run was killed mid-write)`);
  const lines = log.logText.split("\n").filter((l) => l.includes(" WARNING "));
  warnings.push(...lines.map((l) => l.slice(l.indexOf(" WARNING ") + 9)));
  return {
    dir: runDirOf(log.dir),
    summary: buildRunSummary(
      {
        model: cfg.model?.name ?? "?", mode: cfg.mode ?? "?", start: cfg.start ?? "?", end: cfg.end ?? "?", barMinutes,
        barsPlanned: Math.round((end - start) / (barMinutes * 60_000)), barsDone: Math.max(0, portfolio.bars.length - 1),
        parentOrders: log.orders.length, parentFills: log.fills.length, childOrders: NaN, exchangeTrades: NaN, warnings, complete: false,
      },
      portfolio.bars,
    ),
  };
}

export function registerShow(program: Command): void {
  program
    .command("show <run-dir>")
    .description("print a run's period, bars, trades, PnL, statistics and warnings")
    .action((dir: string) => {
      const { summary, dir: logDir } = summaryOf(dir);
      process.stdout.write(formatRunSummary(summary, logDir) + "\n");
    });
}
