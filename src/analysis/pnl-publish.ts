// Plotting a model's investor PnL charts from its runs, writing them to a folder, and publishing
// them under `pnl_for_investors/<model>/` on a Store (DOMAIN.md section 12) with their content type
// and cache headers. Each artifact is one Store put, so each is replaced atomically (a single PUT
// on S3, temporary file + rename on disk): a reader gets the old chart or the new one.

import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { checkSegment } from "../storage/run-layout.js";
import type { Store } from "../storage/store.js";
import { renderPnlCharts, type ChartArtifact, type PnlChartOptions, type RenderedPnlChart } from "./pnl-charts.js";
import { collectPnlSeries, pnlWindows, type PnlSeries, type PnlWindowKind } from "./pnl-series.js";

export const PUBLISH_PREFIX = "pnl_for_investors";

/**
 * The live windows are redrawn every 5 minutes by the pnl_observer DAG: a minute of caching keeps a
 * viewer (or a CDN) at most a minute behind the last redraw. The long windows change once a day,
 * after the daily run: an hour spares the store repeated downloads and is still fresh the same day.
 */
export const CACHE_CONTROL: Record<PnlWindowKind, string> = {
  last_5minutes: "public, max-age=60",
  last_24hours: "public, max-age=60",
  since_year: "public, max-age=3600",
  since_inception: "public, max-age=3600",
};

export interface PlotPnlOptions {
  /** Local data root holding the run layout. */
  root: string;
  stage: string;
  model: string;
  /** Run modes to include; default all. */
  modes?: readonly string[];
  year?: number;
  asOf?: number;
  /** See PnlWindowOptions.fallbackYear. */
  fallbackYear?: number;
  chart?: PnlChartOptions;
}

export interface PlottedPnl {
  series: PnlSeries;
  charts: RenderedPnlChart[];
}

/** Reads every run of the model and draws the four charts. */
export async function plotModelPnl(opts: PlotPnlOptions): Promise<PlottedPnl> {
  const series = collectPnlSeries(opts.root, { stage: opts.stage, model: opts.model, ...(opts.modes === undefined ? {} : { modes: opts.modes }) });
  const windows = pnlWindows(series, { year: opts.year, asOf: opts.asOf, fallbackYear: opts.fallbackYear });
  return { series, charts: await renderPnlCharts(opts.model, windows, opts.chart) };
}

/** Where `pnl plot` writes by default: beside the stages, outside any run folder. */
export function defaultPlotDir(root: string, stage: string, model: string): string {
  return join(root, "pnl_charts", checkSegment("stage", stage), checkSegment("model", model));
}

export function chartArtifacts(charts: readonly RenderedPnlChart[]): ChartArtifact[] {
  return charts.flatMap((c) => c.artifacts);
}

/** Writes the PNG and SVG files into `dir` (each by temporary file + rename); returns their paths. */
export function writePnlCharts(dir: string, charts: readonly RenderedPnlChart[]): string[] {
  mkdirSync(dir, { recursive: true });
  return chartArtifacts(charts).map((a) => {
    const path = join(dir, a.fileName);
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, a.body);
    renameSync(tmp, path);
    return path;
  });
}

export interface PublishedChart {
  key: string;
  /** The headers asked for; stored with the object only where the store keeps headers (headersStored). */
  contentType: string;
  cacheControl: string;
  headersStored: boolean;
  bytes: number;
}

export function publishKey(model: string, fileName: string): string {
  return `${PUBLISH_PREFIX}/${checkSegment("model", model)}/${fileName}`;
}

/** Puts every artifact under `pnl_for_investors/<model>/`, one put each. */
export async function publishPnlCharts(store: Store, model: string, charts: readonly RenderedPnlChart[]): Promise<PublishedChart[]> {
  const out: PublishedChart[] = [];
  for (const a of chartArtifacts(charts)) {
    const key = publishKey(model, a.fileName);
    const cacheControl = CACHE_CONTROL[a.window];
    await store.put(key, a.body, { contentType: a.contentType, cacheControl });
    out.push({ key, contentType: a.contentType, cacheControl, headersStored: store.keepsHeaders, bytes: a.body.length });
  }
  return out;
}
