// The investor PnL charts (DOMAIN.md section 12): one vega-lite line chart per window, compiled to
// Vega, drawn to SVG by a headless View (renderer "none": no DOM, no canvas) and rasterised to PNG
// by resvg with fonts loaded from fixed files. Same data in, byte-identical SVG and PNG out: no
// clock, no locale, no system font lookup, and Vega's per-process clip ids are renumbered.

import { existsSync } from "node:fs";
import { Resvg } from "@resvg/resvg-js";
import type { TopLevelSpec } from "vega-lite";
import { ChartError, renderVegaLiteSvg, UTC_TIME_LABELS } from "./charts/vega-svg.js";
import type { PnlWindow, PnlWindowKind, PnlWindowPoint } from "./pnl-series.js";

export interface PnlChartOptions {
  /** Size of the whole chart (title, axes and legend inside), in CSS pixels. */
  width?: number;
  height?: number;
  /** PNG pixels per CSS pixel: 2 keeps lines and text sharp on high-density screens. */
  pixelRatio?: number;
}

export const DEFAULT_CHART = { width: 900, height: 450, pixelRatio: 2 } as const;

export type ChartContentType = "image/png" | "image/svg+xml";

/** One rendered file, ready to be written or published. */
export interface ChartArtifact {
  /** `cumulative_pnl.<window>.png` / `.svg` */
  fileName: string;
  contentType: ChartContentType;
  body: Uint8Array;
  window: PnlWindowKind;
}

export interface RenderedPnlChart {
  window: PnlWindow;
  spec: TopLevelSpec;
  svg: string;
  png: Uint8Array;
  artifacts: [ChartArtifact, ChartArtifact];
}

export class PnlChartError extends ChartError {
  override readonly name = "PnlChartError";
}

/**
 * Fonts: DejaVu Sans first because it is the face we rasterise with (Debian fonts-dejavu-core);
 * the rest are for someone opening the SVG on a machine without it.
 */
const FONT_FAMILY = "DejaVu Sans, Verdana, Arial, sans-serif";
const FONT_FILES = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"];

export const SERIES_AFTER_FEES = "PnL after fees";
export const SERIES_BEFORE_FEES = "PnL before fees";

/** One row of a chart's data: long form, one row per series and time. */
export interface PnlChartDatum {
  time: number;
  series: typeof SERIES_AFTER_FEES | typeof SERIES_BEFORE_FEES;
  usd: number;
}

export function chartFileName(window: PnlWindow, ext: "png" | "svg"): string {
  return `cumulative_pnl.${window.name}.${ext}`;
}

const pad = (n: number): string => String(n).padStart(2, "0");

/** `2024-01-02 13:05` in UTC, the same on every machine (no locale, no time zone). */
export function formatUtcMinute(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/** `+1,234.56` / `-0.50`: dollars to the cent with thousands separators, locale-free. */
export function formatUsd(x: number): string {
  const sign = x < 0 ? "-" : "+";
  const [int, frac] = Math.abs(x).toFixed(2).split(".") as [string, string];
  return `${sign}${int.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${frac}`;
}

/**
 * Thins a long series for drawing without changing the picture: the time span is cut into
 * `columns` buckets (about one per pixel column) and each keeps its first and last point and the
 * points where either series is lowest and highest, so every peak, trough and step stays visible.
 * A since-inception chart of a year of 1-minute bars would otherwise hand Vega half a million
 * points to draw on 900 pixels. Series up to 4 points per column are drawn as they are.
 */
export function decimate(points: readonly PnlWindowPoint[], columns: number): PnlWindowPoint[] {
  const first = points[0];
  const last = points.at(-1);
  if (first === undefined || last === undefined || points.length <= 4 * columns) return [...points];
  const span = Math.max(1, last.timestamp - first.timestamp);
  const keep = new Uint8Array(points.length);
  let bucket = -1;
  let lo = 0;
  let hi = 0;
  let loAfter = 0;
  let hiAfter = 0;
  let prev = 0;
  const close = (): void => {
    if (bucket >= 0) for (const i of [lo, hi, loAfter, hiAfter, prev]) keep[i] = 1;
  };
  points.forEach((p, i) => {
    const b = Math.min(columns - 1, Math.floor(((p.timestamp - first.timestamp) / span) * columns));
    if (b !== bucket) {
      close();
      bucket = b;
      lo = hi = loAfter = hiAfter = i;
      keep[i] = 1;
    } else {
      const q = (j: number): PnlWindowPoint => points[j] as PnlWindowPoint;
      if (p.pnl < q(lo).pnl) lo = i;
      if (p.pnl > q(hi).pnl) hi = i;
      if (p.pnlAfterFees < q(loAfter).pnlAfterFees) loAfter = i;
      if (p.pnlAfterFees > q(hiAfter).pnlAfterFees) hiAfter = i;
    }
    prev = i;
  });
  close();
  return points.filter((_, i) => keep[i] === 1);
}

export function chartData(window: PnlWindow, columns: number = DEFAULT_CHART.width): PnlChartDatum[] {
  const points = decimate(window.points, columns);
  const rows: PnlChartDatum[] = [];
  for (const p of points) rows.push({ time: p.timestamp, series: SERIES_AFTER_FEES, usd: p.pnlAfterFees });
  for (const p of points) rows.push({ time: p.timestamp, series: SERIES_BEFORE_FEES, usd: p.pnl });
  return rows;
}

function subtitle(window: PnlWindow): string {
  const span = window.fromMs !== undefined && window.toMs !== undefined ? `${formatUtcMinute(window.fromMs)} to ${formatUtcMinute(window.toMs)} UTC` : "";
  if (window.bars === 0) return span === "" ? "no runs found" : span;
  const after = window.totalPnl - window.totalFees;
  return `${span}  |  after fees ${formatUsd(after)} USD, before fees ${formatUsd(window.totalPnl)} USD, fees ${formatUsd(window.totalFees).slice(1)} USD`;
}


export const NO_DATA_NOTE = "no data: no bar with PnL in this window";

/** The vega-lite spec of one window's chart; its data values are the chart's points. */
export function pnlChartSpec(model: string, window: PnlWindow, opts: PnlChartOptions = {}): TopLevelSpec {
  const width = opts.width ?? DEFAULT_CHART.width;
  const height = opts.height ?? DEFAULT_CHART.height;
  const common = {
    $schema: "https://vega.github.io/schema/vega-lite/v6.json",
    width,
    height,
    // "fit" + "padding": the whole picture (axes, title, legend) is width x height, so the PNG size
    // is known in advance.
    autosize: { type: "fit", contains: "padding" },
    background: "white",
    title: { text: `${model}: cumulative PnL ${window.label}`, subtitle: subtitle(window), anchor: "start", fontSize: 16, subtitleFontSize: 12, subtitleColor: "#444" },
    // No ARIA labels: a PNG cannot carry them, and Vega builds one per mark (time spent per render).
    config: { aria: false, font: FONT_FAMILY, axis: { labelFontSize: 11, titleFontSize: 12, labelColor: "#333", titleColor: "#333" }, legend: { labelFontSize: 11 } },
  } as const;
  if (window.points.length === 0) {
    return {
      ...common,
      data: { values: [{ note: NO_DATA_NOTE }] },
      mark: { type: "text", fontSize: 16, color: "#666" },
      encoding: { text: { field: "note", type: "nominal" }, x: { value: width / 2 }, y: { value: height / 2 - 40 } },
    } as TopLevelSpec;
  }
  const few = window.points.length <= 60;
  return {
    ...common,
    data: { values: chartData(window, width) },
    layer: [
      // Its own one-row data: inheriting the chart's would draw one rule per point.
      { data: { values: [{}] }, mark: { type: "rule", color: "#999", strokeDash: [4, 3] }, encoding: { y: { datum: 0, type: "quantitative" } } },
      {
        mark: { type: "line", strokeWidth: 2, interpolate: "linear", point: few ? { size: 30, filled: true } : false },
        encoding: {
          x: {
            field: "time",
            type: "temporal",
            title: "time (UTC)",
            scale: { type: "utc", ...(window.fromMs !== undefined && window.toMs !== undefined && window.toMs > window.fromMs ? { domain: [window.fromMs, window.toMs] } : {}) },
            axis: { format: UTC_TIME_LABELS, labelOverlap: true, labelFlush: true, tickCount: 8 },
          },
          y: { field: "usd", type: "quantitative", title: "cumulative PnL (USD)", axis: { format: ",.2~f", tickCount: 6 }, scale: { zero: true, nice: true } },
          color: {
            field: "series",
            type: "nominal",
            title: null,
            scale: { domain: [SERIES_AFTER_FEES, SERIES_BEFORE_FEES], range: ["#1f4e9c", "#e08a2c"] },
            legend: { orient: "top", direction: "horizontal" },
          },
          order: { field: "time", type: "temporal" },
        },
      },
    ],
  } as TopLevelSpec;
}

/** The chart as SVG: the shared vega-lite renderer, ids numbered per document so renders match byte for byte. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  return renderVegaLiteSvg(spec, "pnl");
}

let fontFiles: string[] | undefined;

function fonts(): string[] {
  if (fontFiles === undefined) {
    const missing = FONT_FILES.filter((f) => !existsSync(f));
    if (missing.length > 0) throw new PnlChartError(`chart fonts missing: ${missing.join(", ")} (install the Debian package fonts-dejavu-core)`);
    fontFiles = FONT_FILES;
  }
  return fontFiles;
}

export function svgToPng(svg: string, pixelRatio: number = DEFAULT_CHART.pixelRatio): Uint8Array {
  const resvg = new Resvg(svg, {
    // System fonts are never consulted: which ones a machine has must not change the picture.
    font: { loadSystemFonts: false, fontFiles: fonts(), defaultFontFamily: "DejaVu Sans", sansSerifFamily: "DejaVu Sans" },
    fitTo: { mode: "zoom", value: pixelRatio },
    background: "white",
  });
  return new Uint8Array(resvg.render().asPng());
}

/** Width and height from a PNG's IHDR chunk. */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (png.length < 24 || sig.some((b, i) => png[i] !== b)) throw new PnlChartError("not a PNG (bad signature)");
  const dv = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: dv.getUint32(16), height: dv.getUint32(20) };
}

export async function renderPnlChart(model: string, window: PnlWindow, opts: PnlChartOptions = {}): Promise<RenderedPnlChart> {
  const spec = pnlChartSpec(model, window, opts);
  const svg = await renderSvg(spec);
  const png = svgToPng(svg, opts.pixelRatio ?? DEFAULT_CHART.pixelRatio);
  return {
    window,
    spec,
    svg,
    png,
    artifacts: [
      { fileName: chartFileName(window, "png"), contentType: "image/png", body: png, window: window.kind },
      { fileName: chartFileName(window, "svg"), contentType: "image/svg+xml", body: new TextEncoder().encode(svg), window: window.kind },
    ],
  };
}

export async function renderPnlCharts(model: string, windows: readonly PnlWindow[], opts: PnlChartOptions = {}): Promise<RenderedPnlChart[]> {
  const out: RenderedPnlChart[] = [];
  for (const w of windows) out.push(await renderPnlChart(model, w, opts));
  return out;
}
