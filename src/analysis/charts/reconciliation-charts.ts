// The vega-lite specs of the reconciliation report: cumulative PnL of prod, sim and research;
// holdings per asset; traded notional per asset; fill rate and slippage per bar; timing per bar.
// Each takes plain long-form rows (floats: these are pictures, the tables carry exact values) and
// returns a spec whose data values are exactly the chart's points.

import { CHART_FONT, UTC_TIME_LABELS, type TopLevelSpec } from "./vega-svg.js";

export const SIDE_COLORS: Record<string, string> = { prod: "#1f4e9c", sim: "#e08a2c", research: "#3a9a5b" };
const SIDES = ["prod", "sim", "research"];

export interface TimePoint {
  time: number;
  side: string;
  value: number;
}

export interface AssetTimePoint extends TimePoint {
  symbol: string;
}

export interface MetricTimePoint extends TimePoint {
  metric: string;
}

export interface AssetTotal {
  symbol: string;
  side: string;
  value: number;
}

const base = (title: string, subtitle: string) =>
  ({
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    background: "white",
    padding: 8,
    title: { text: title, subtitle, anchor: "start", fontSize: 15, subtitleFontSize: 11, subtitleColor: "#555" },
    config: { font: CHART_FONT, axis: { labelFontSize: 10, titleFontSize: 11, labelColor: "#333", titleColor: "#333" }, legend: { labelFontSize: 11, orient: "top", direction: "horizontal" }, header: { labelFontSize: 11 } },
  }) as const;

const timeX = (title = "time (UTC)") => ({ field: "time", type: "temporal", title, scale: { type: "utc" }, axis: { format: UTC_TIME_LABELS, labelOverlap: true, tickCount: 6 } }) as const;

function sideColor(sides: readonly string[]) {
  const domain = SIDES.filter((s) => sides.includes(s));
  return { field: "side", type: "nominal", title: null, scale: { domain, range: domain.map((s) => SIDE_COLORS[s] as string) } } as const;
}

/** Dashes for the sim: where it follows prod exactly (a faithful replay) both lines stay visible. */
function sideDash(sides: readonly string[]) {
  const domain = SIDES.filter((s) => sides.includes(s));
  return { field: "side", type: "nominal", title: null, scale: { domain, range: domain.map((s) => (s === "sim" ? [5, 3] : [1, 0])) } } as const;
}

function present(rows: readonly { side: string }[]): string[] {
  return [...new Set(rows.map((r) => r.side))];
}

export function cumulativePnlSpec(points: readonly TimePoint[], subtitle: string): TopLevelSpec {
  return {
    ...base("Cumulative PnL: prod, sim and research", subtitle),
    width: 860,
    height: 300,
    data: { values: points },
    layer: [
      { mark: { type: "rule", color: "#999", strokeDash: [4, 3] }, encoding: { y: { datum: 0, type: "quantitative" } } },
      {
        mark: { type: "line", strokeWidth: 2 },
        encoding: { x: timeX(), y: { field: "value", type: "quantitative", title: "cumulative PnL (USD)", axis: { format: ",.2~f" } }, color: sideColor(present(points)), strokeDash: sideDash(present(points)) },
      },
    ],
  } as TopLevelSpec;
}

export function holdingsPerAssetSpec(points: readonly AssetTimePoint[], symbols: readonly string[], subtitle: string): TopLevelSpec {
  return {
    ...base("Holdings per asset (notional)", subtitle),
    data: { values: points },
    facet: { field: "symbol", type: "nominal", title: null, sort: [...symbols] },
    columns: Math.min(4, Math.max(1, symbols.length)),
    spec: {
      width: 190,
      height: 110,
      mark: { type: "line", strokeWidth: 1.5 },
      encoding: { x: timeX(""), y: { field: "value", type: "quantitative", title: "USD", axis: { format: "~s" } }, color: sideColor(present(points)), strokeDash: sideDash(present(points)) },
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}

export function tradesPerAssetSpec(rows: readonly AssetTotal[], symbols: readonly string[], subtitle: string): TopLevelSpec {
  return {
    ...base("Traded notional per asset (sum of |executed trades|)", subtitle),
    width: { step: 14 },
    height: 220,
    data: { values: rows },
    mark: { type: "bar" },
    encoding: {
      x: { field: "symbol", type: "nominal", title: null, sort: [...symbols], axis: { labelAngle: -40 } },
      xOffset: { field: "side", type: "nominal", sort: SIDES },
      y: { field: "value", type: "quantitative", title: "USD", axis: { format: "~s" } },
      color: sideColor(present(rows)),
    },
  } as TopLevelSpec;
}

/** Small multiples of per-bar metrics (one row per metric, each with its own scale). */
export function metricsSpec(title: string, points: readonly MetricTimePoint[], metrics: readonly string[], subtitle: string): TopLevelSpec {
  return {
    ...base(title, subtitle),
    data: { values: points },
    facet: { row: { field: "metric", type: "nominal", title: null, sort: [...metrics], header: { labelAngle: 0, labelAlign: "left", labelAnchor: "start", labelOrient: "top" } } },
    spec: {
      width: 860,
      height: 130,
      mark: { type: "line", strokeWidth: 1.5, point: points.length <= 200 ? { size: 14, filled: true } : false },
      encoding: { x: timeX(), y: { field: "value", type: "quantitative", title: null }, color: sideColor(present(points)), strokeDash: sideDash(present(points)) },
    },
    resolve: { scale: { y: "independent" } },
  } as TopLevelSpec;
}

/** A chart that says there is nothing to draw (no fills, no timing), so every section has one. */
export function noteSpec(title: string, note: string): TopLevelSpec {
  return {
    ...base(title, ""),
    width: 860,
    height: 60,
    data: { values: [{ note }] },
    mark: { type: "text", fontSize: 13, color: "#666", align: "left" },
    encoding: { text: { field: "note", type: "nominal" }, x: { value: 10 }, y: { value: 30 } },
  } as TopLevelSpec;
}
