// The reconciliation report: one self-contained HTML page (no script, no network: every chart is an
// SVG drawn here from a vega-lite spec and inlined) with the verdict at the top, then the charts
// drawn from the data and the tables of summary.json. Deterministic: same summary and series, same
// bytes.

import { Decimal } from "decimal.js";
import {
  cumulativePnlSpec,
  holdingsPerAssetSpec,
  metricsSpec,
  noteSpec,
  tradesPerAssetSpec,
  type AssetTimePoint,
  type AssetTotal,
  type MetricTimePoint,
  type TimePoint,
} from "./charts/reconciliation-charts.js";
import { renderVegaLiteSvg, thinSeries, type TopLevelSpec } from "./charts/vega-svg.js";
import { ExactSum, toDec, toNum } from "./exact-num.js";
import type { ReconciliationSummary, SideStatistics } from "./reconcile.js";
import type { SideName, SidePortfolioBar } from "./reconcile-compare.js";
import { EXECUTION_CSV } from "./execution-csv.js";
import type { BarExecution, BarTiming, Distribution } from "./run-execution.js";

export interface ReportSeries {
  portfolios: { side: SideName; bars: readonly SidePortfolioBar[] }[];
  execution: { side: SideName; perBar: readonly BarExecution[] }[];
  timing: { side: SideName; perBar: readonly BarTiming[] }[];
  symbolOf: ReadonlyMap<number, string>;
}

export interface ReportChartOptions {
  maxAssets: number;
  maxPoints: number;
}

export interface ReportChart {
  id: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

const ZERO = new Decimal(0);

/** Differences shown on the page; summary.json keeps the longer list. */
const REPORT_DIFFERENCES = 40;

/** The charts of a report, as specs (tests check their data; the page inlines their SVG). */
export function reportCharts(summary: ReconciliationSummary, series: ReportSeries, opts: ReportChartOptions): ReportChart[] {
  const period = `${summary.run.model} ${summary.run.mode}, ${summary.run.start} .. ${summary.run.end}`;
  const charts: ReportChart[] = [];

  // Cumulative PnL, summed exactly and drawn as floats.
  const pnl: TimePoint[] = [];
  for (const { side, bars } of series.portfolios) {
    let cum = ZERO;
    const pts: TimePoint[] = [];
    for (const b of bars) {
      if (b.pnl !== undefined) cum = cum.add(toDec(b.pnl));
      pts.push({ time: b.timestamp, side, value: cum.toNumber() });
    }
    pnl.push(...thinSeries(pts, opts.maxPoints));
  }
  charts.push({ id: "cumulative-pnl", title: "Cumulative PnL", caption: "Per-bar portfolio PnL (before fees) summed over the run, for the run (prod), its simulation on the recorded data (sim) and the research portfolio.", spec: cumulativePnlSpec(pnl, period) });

  // Assets with the most traded notional in prod (then sim, then research), ties by symbol.
  const traded = new Map<string, Map<string, Decimal>>();
  for (const { side, bars } of series.portfolios) {
    // Summed per asset id (exactly, exact-num.ts), then named: one lookup per asset, not per row.
    const byId = new Map<number, ExactSum>();
    for (const b of bars) for (const a of b.assets) {
      let sum = byId.get(a.assetId);
      if (sum === undefined) {
        sum = new ExactSum();
        byId.set(a.assetId, sum);
      }
      sum.addAbs(a.executedTradesNotional);
    }
    const m = new Map<string, Decimal>();
    for (const [id, sum] of byId) {
      const s = series.symbolOf.get(id) ?? String(id);
      const prev = m.get(s);
      m.set(s, prev === undefined ? sum.value() : prev.add(sum.value()));
    }
    traded.set(side, m);
  }
  const rank = (s: string): Decimal[] => ["prod", "sim", "research"].map((side) => traded.get(side)?.get(s) ?? ZERO);
  const allSymbols = [...new Set([...traded.values()].flatMap((m) => [...m.keys()]))];
  const ranked = allSymbols.sort((x, y) => {
    const [a, b] = [rank(x), rank(y)];
    for (let k = 0; k < a.length; k++) {
      const c = (b[k] as Decimal).cmp(a[k] as Decimal);
      if (c !== 0) return c;
    }
    return x < y ? -1 : x > y ? 1 : 0;
  });
  const top = ranked.slice(0, opts.maxAssets);
  const shown = `${top.length} of ${allSymbols.length} assets with the most traded notional${top.length < allSymbols.length ? " (the tables list every asset)" : ""}`;
  if (top.length === 0) {
    charts.push({ id: "holdings", title: "Holdings per asset", caption: "No asset was held.", spec: noteSpec("Holdings per asset", "no holdings in any portfolio") });
    charts.push({ id: "trades", title: "Trades per asset", caption: "No trade was executed.", spec: noteSpec("Trades per asset", "no executed trades in any portfolio") });
  } else {
    const wanted = new Set(top);
    const holdings: AssetTimePoint[] = [];
    for (const { side, bars } of series.portfolios) {
      const per = new Map<string, AssetTimePoint[]>(top.map((s) => [s, []]));
      const row = new Map<string, number>();
      for (const b of bars) {
        row.clear();
        for (const a of b.assets) {
          const s = series.symbolOf.get(a.assetId) ?? String(a.assetId);
          if (wanted.has(s)) row.set(s, toNum(a.holdingsNotional));
        }
        for (const s of wanted) per.get(s)?.push({ time: b.timestamp, side, symbol: s, value: row.get(s) ?? 0 });
      }
      for (const s of top) holdings.push(...thinSeries(per.get(s) ?? [], opts.maxPoints));
    }
    charts.push({ id: "holdings", title: "Holdings per asset", caption: `Holdings notional per bar: ${shown}.`, spec: holdingsPerAssetSpec(holdings, top, period) });
    const totals: AssetTotal[] = [];
    for (const s of top) for (const side of ["prod", "sim", "research"]) {
      const v = traded.get(side)?.get(s);
      if (v !== undefined) totals.push({ symbol: s, side, value: v.toNumber() });
    }
    charts.push({ id: "trades", title: "Trades per asset", caption: `Sum over the run of |executed trade notional|: ${shown}.`, spec: tradesPerAssetSpec(totals, top, period) });
  }

  // Execution: fill rate and slippage per bar.
  const exec: MetricTimePoint[] = [];
  for (const { side, perBar } of series.execution) {
    const fill: MetricTimePoint[] = [];
    const slip: MetricTimePoint[] = [];
    const track: MetricTimePoint[] = [];
    for (const b of perBar) {
      if (b.fillRate !== null) fill.push({ time: b.timestamp, side, metric: "fill rate (%)", value: 100 * b.fillRate });
      if (b.slippageBps !== null) slip.push({ time: b.timestamp, side, metric: "slippage vs arrival (bps)", value: b.slippageBps });
      if (b.trackingErrorBps !== null) track.push({ time: b.timestamp, side, metric: "tracking error (bps of net wealth)", value: b.trackingErrorBps });
    }
    exec.push(...thinSeries(fill, opts.maxPoints), ...thinSeries(slip, opts.maxPoints), ...thinSeries(track, opts.maxPoints));
  }
  charts.push(
    exec.length === 0
      ? { id: "execution", title: "Execution", caption: "No parent order was sent.", spec: noteSpec("Fill rate and slippage per bar", "no parent orders") }
      : { id: "execution", title: "Execution", caption: "Per bar, over the parent orders sent at that bar: |filled| / |target| and notional-weighted slippage of the fill price against the arrival price (the mark when the target was set; positive is worse); and the tracking error, sum of |executed - target shares| x arrival price in bps of the bar's net wealth.", spec: metricsSpec("Fill rate, slippage and tracking error per bar", exec, ["fill rate (%)", "slippage vs arrival (bps)", "tracking error (bps of net wealth)"], period) },
  );

  // Timing: measured model time (prod) and order delay after the bar (both, on their clocks).
  const timing: MetricTimePoint[] = [];
  for (const { side, perBar } of series.timing) {
    const model: MetricTimePoint[] = [];
    const delay: MetricTimePoint[] = [];
    for (const b of perBar) {
      if (b.measuredModelMs !== undefined) model.push({ time: b.timestamp, side, metric: "model time, measured (ms)", value: b.measuredModelMs });
      if (b.orderDelayMs !== undefined) delay.push({ time: b.timestamp, side, metric: "first order after the bar (ms)", value: b.orderDelayMs });
    }
    timing.push(...thinSeries(model, opts.maxPoints), ...thinSeries(delay, opts.maxPoints));
  }
  charts.push(
    timing.length === 0
      ? { id: "timing", title: "Timing", caption: "No timing was logged.", spec: noteSpec("Timing per bar", "no timing logged") }
      : { id: "timing", title: "Timing", caption: "Model time per bar as the run measured it (timing.jsonl), and the delay from the bar to its first child order on each run's own clock.", spec: metricsSpec("Timing per bar", timing, ["model time, measured (ms)", "first order after the bar (ms)"], period) },
  );
  return charts;
}

export async function renderReconciliationReport(summary: ReconciliationSummary, series: ReportSeries, opts: ReportChartOptions): Promise<string> {
  const charts = reportCharts(summary, series, opts);
  const svgs: string[] = [];
  for (const c of charts) svgs.push(await renderVegaLiteSvg(c.spec, `chart-${c.id}`));
  return page(summary, charts, svgs);
}

// ---- HTML ----

export function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

const num = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? "-" : x.toFixed(d));
const pct = (x: number | null | undefined, d = 2): string => (x === null || x === undefined || !Number.isFinite(x) ? "-" : `${(100 * x).toFixed(d)} %`);
const dist = (x: Distribution, d = 1): string => (x.count === 0 ? "-" : `mean ${num(x.mean, d)}, p95 ${num(x.p95, d)}, max ${num(x.max, d)} (${x.count} bars)`);

function table(headers: readonly string[], rows: readonly (readonly string[])[], numericFrom = 1): string {
  const th = headers.map((h, i) => `<th${i >= numericFrom ? ' class="n"' : ""}>${esc(h)}</th>`).join("");
  const body = rows.map((r) => `<tr>${r.map((c, i) => `<td${i >= numericFrom ? ' class="n"' : ""}>${esc(c)}</td>`).join("")}</tr>`).join("\n");
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function statsRows(s: Record<SideName, SideStatistics>): string[][] {
  const sides: SideName[] = ["prod", "sim", "research"];
  const row = (label: string, f: (x: SideStatistics) => string): string[] => [label, ...sides.map((k) => f(s[k]))];
  const money = (t: string): string => new Decimal(t).toFixed(2);
  return [
    row("total PnL (USD)", (x) => money(x.totalPnl)),
    row("fees (USD)", (x) => money(x.totalFees)),
    row("PnL after fees (USD)", (x) => money(x.pnlAfterFees)),
    row("final net wealth (USD)", (x) => (x.finalNetWealth === null ? "-" : money(x.finalNetWealth))),
    row("Sharpe ratio (annualized)", (x) => num(x.statistics.sharpeRatio)),
    row("annualized return (% of mean GMV)", (x) => num(x.statistics.annualizedReturn.pctOfGmv)),
    row("annualized volatility (% of mean GMV)", (x) => num(x.statistics.annualizedVolatility.pctOfGmv)),
    row("max drawdown (USD)", (x) => num(x.statistics.maxDrawdown.dollars)),
    row("mean PnL per bar (USD)", (x) => num(x.statistics.meanPnl.dollars, 4)),
    row("std PnL per bar (USD)", (x) => num(x.statistics.stdPnl.dollars, 4)),
    row("turnover per bar, mean (USD)", (x) => num(x.statistics.turnoverMean.dollars)),
    row("market bias, mean NMV (USD)", (x) => num(x.statistics.marketBiasMean.dollars)),
    row("mean GMV (USD)", (x) => num(x.statistics.meanGmv)),
    row("PnL per gross volume (bps)", (x) => num(x.statistics.pnlPerGrossVolumeBps)),
  ];
}

const CSS = `
body { font-family: "DejaVu Sans", Verdana, Arial, sans-serif; margin: 24px auto; max-width: 1100px; color: #222; font-size: 14px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.sub { color: #555; margin-top: 0; }
.verdict { padding: 12px 16px; border-radius: 6px; margin: 16px 0; }
.verdict.pass { background: #e6f4ea; border: 1px solid #3a9a5b; } .verdict.fail { background: #fdecea; border: 1px solid #c0392b; }
.verdict .word { font-size: 20px; font-weight: bold; } .verdict.pass .word { color: #1e7b3c; } .verdict.fail .word { color: #b03a2e; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; text-align: left; vertical-align: top; } th { background: #f4f4f4; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.bad td { background: #fdecea; }
figure { margin: 16px 0 24px; } figcaption { color: #555; font-size: 12.5px; margin-top: 4px; max-width: 880px; }
.chart svg { max-width: 100%; height: auto; }
code { background: #f4f4f4; padding: 0 3px; }
.note { color: #555; font-size: 12.5px; }
`;

function page(s: ReconciliationSummary, charts: readonly ReportChart[], svgs: readonly string[]): string {
  const v = s.verdict;
  const gatedFailed = s.checks.filter((c) => c.gated && !c.pass);
  const parts: string[] = [];
  parts.push(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>Reconciliation ${esc(s.run.model)} ${esc(s.run.mode)} ${esc(s.run.start)} .. ${esc(s.run.end)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>Reconciliation: ${esc(s.run.model)} (${esc(s.run.mode)}, ${esc(s.run.broker)} broker)</h1>
<p class="sub">${esc(s.run.start)} .. ${esc(s.run.end)}, ${s.run.barMinutes}-minute bars, ${s.run.portfolioBars} portfolio bars${s.run.complete ? "" : " (INCOMPLETE run)"} &middot; run <code>${esc(s.run.path)}</code> &middot; reconciled ${esc(s.runTimestamp)}</p>
<div class="verdict ${v.pass ? "pass" : "fail"}" id="verdict"><span class="word">${v.pass ? "PASS" : "FAIL"}</span>
${v.pass ? `<p>All ${s.checks.filter((c) => c.gated).length} gated checks passed.</p>` : `<p>${gatedFailed.length} gated check${gatedFailed.length === 1 ? "" : "s"} failed:</p><ul>${v.reasons.map((r) => `<li>${esc(r)}</li>`).join("")}</ul>`}
<p class="note">${s.differences.total} differences found (${s.differences.gated} counted by the verdict). PnL correlation prod/sim ${num(s.pnlCorrelation.prod_vs_sim, 4)}, prod/research ${num(s.pnlCorrelation.prod_vs_research, 4)}, sim/research ${num(s.pnlCorrelation.sim_vs_research, 4)}.</p>
</div>
<p class="note">sim: ${esc(s.sim.broker)}${s.sim.note === null ? ", the run's own broker replayed on its recorded data" : ` &mdash; ${esc(s.sim.note)}`}. research: ${esc(s.research.note)}.</p>`);

  parts.push(`<h2>Statistics side by side</h2>\n${table(["", "prod", "sim", "research"], statsRows(s.statistics))}`);

  parts.push(`<h2>Checks</h2>\n${table(
    ["check", "result", "counts", "value", "threshold", "detail"],
    s.checks.map((c) => [c.name, c.pass ? "pass" : c.gated ? "FAIL" : "differs", c.gated ? "yes" : "no (informative)", c.value === null ? "-" : typeof c.value === "number" ? String(Number(c.value.toPrecision(6))) : c.value, c.threshold === null ? "-" : String(c.threshold), c.message]),
    9,
  ).replace(/<tr><td>([a-z_]+)<\/td><td>FAIL<\/td><td>yes/g, '<tr class="bad"><td>$1</td><td>FAIL</td><td>yes')}`);

  parts.push(`<h2>Charts</h2>`);
  charts.forEach((c, i) => {
    parts.push(`<figure class="chart" id="${esc(c.id)}">\n${svgs[i] ?? ""}\n<figcaption>${esc(c.caption)}</figcaption>\n</figure>`);
  });

  const shownDiffs = s.differences.listed.slice(0, REPORT_DIFFERENCES);
  const kinds = Object.entries(s.differences.byKind).map(([k, c]) => `${k} ${c.total}${c.gated > 0 ? ` (${c.gated} counted)` : ""}`).join(", ");
  parts.push(`<h2>Differences</h2>
<p>${s.differences.total === 0 ? "None: prod, sim and the run's own log agree everywhere they are compared name by name." : `${s.differences.total} in all: ${esc(kinds)}. The first ${shownDiffs.length} are listed here (those the verdict counts first); summary.json lists ${s.differences.listed.length}.`}</p>
${shownDiffs.length === 0 ? "" : table(["kind", "counts", "difference"], shownDiffs.map((d) => [d.kind, d.gated ? "yes" : "no", d.message]), 9)}`);

  parts.push(`<h2>Portfolios compared</h2>
<p class="note">Per bar and asset; an asset a side does not list counts as zero. Percent difference is 100 &times; |a &minus; b| / max(|a|, |b|); a cell differs when it exceeds ${s.thresholds.portfolioPct} %.</p>`);
  for (const p of s.portfolio) {
    const only = Object.entries(p.barsOnlyIn).map(([k, n]) => `${n} bars in ${k} only`).join(", ");
    parts.push(`<h3>${esc(p.pair.replaceAll("_", " "))}</h3><p class="note">${p.barsCompared} bars compared${only === "" ? "" : `; ${esc(only)}`}.</p>
${table(["column", "cells", "differing", "max |% diff|", "max |diff|", "at"], p.columns.map((c) => [c.column, String(c.cells), String(c.differing), num(c.maxAbsPctDiff, 6), c.maxAbsDiff, c.at ?? "-"]), 1)}`);
  }

  parts.push(`<h2>Model outputs, prod vs sim</h2>
${table(["node", "bars", "values", "differing", "max |diff|", "max % change", "at"], s.modelOutputs.map((n) => [n.node, String(n.barsCompared), String(n.values), String(n.differing), String(n.maxAbsDiff), num(n.maxPctChange, 6), n.at ?? "-"]))}`);

  const f = s.fills;
  parts.push(`<h2>Fills, prod vs sim</h2>
${table(["prod fills", "sim fills", "matched", "dropped", "extra", "differing"], [[String(f.fills.prod ?? 0), String(f.fills.sim ?? 0), String(f.matched), String(f.dropped), String(f.extra), String(f.differing)]], 0)}`);

  parts.push(`<h2>Target vs executed shares per asset</h2>
<p class="note">Sums over the run of |target trade| and |executed| shares (parent orders); research trades its whole target at each bar.</p>
${table(
    ["asset", "prod target", "prod executed", "prod fill rate", "prod underfill", "prod opportunity cost (USD)", "sim target", "sim executed", "sim fill rate", "research traded"],
    s.targetVsExecuted.map((a) => [a.symbol, a.prod.target, a.prod.executed, pct(a.prod.fillRate), num(a.prod.underfill, 6), num(a.prod.opportunityCost), a.sim.target, a.sim.executed, pct(a.sim.fillRate), a.research.executed]),
  )}`);

  const e = s.execution;
  parts.push(`<h2>Execution quality</h2>
${table(
    ["", "parents", "fill rate", "slippage vs arrival (bps)", "fees (bps)", "maker share", "filled notional (USD)", "underfill opportunity cost (USD)", "tracking error (USD)"],
    (["prod", "sim"] as const).map((k) => [k, String(e[k].parents), pct(e[k].fillRate), num(e[k].slippageBps, 3), num(e[k].feesBps, 3), pct(e[k].makerShare), num(e[k].filledNotional), num(e[k].opportunityCost), num(e[k].trackingErrorNotional)]),
  )}
<p class="note">Underfill opportunity cost: per parent order, side x unfilled shares x (the next bar's mark - the arrival price), summed; positive is a gain missed. Tracking error: sum of |executed - target shares| x arrival price. Per bar and asset in ${esc(EXECUTION_CSV)}.</p>
<p class="note">research: ${esc(e.research.note)}.</p>
${e.prod.perWave.length === 0 ? "" : `<h3>Per TWAP wave (prod)</h3>${table(["wave", "children", "fill rate", "maker share"], e.prod.perWave.map((w) => [String(w.wave), String(w.children), pct(w.fillRate), pct(w.makerShare)]))}`}`);

  const t = s.timing;
  parts.push(`<h2>Timing</h2>
${table(["", "model time per bar, measured (ms)", "first order after the bar (ms)", "last first-wave order after the bar (ms)"], [["prod", dist(t.prod.measuredModelMsPerBar, 3), dist(t.prod.orderDelayMs), dist(t.prod.lastOrderDelayMs)], ["sim", "not reported", dist(t.sim.orderDelayMs), dist(t.sim.lastOrderDelayMs)]], 9)}
<p class="note">${esc(t.note)}.</p>`);

  parts.push(`<h2>The run's own log</h2>
${table(["check", "checked", "issues"], s.logConsistency.checks.map((c) => [c.name, String(c.checked), String(c.issues)]))}`);

  parts.push(`<h2>Thresholds</h2>
${table(["threshold", "value"], Object.entries(s.thresholds).map(([k, x]) => [k, String(x)]))}
<p class="note">Files: <code>${esc(s.files.summary)}</code>, <code>${esc(s.files.report)}</code>${s.files.sim === null ? "" : `, the simulation's run directory <code>${esc(s.files.sim)}</code>`} (relative to this report).</p>
</body>
</html>
`);
  return parts.join("\n");
}
