// PnL charts benchmark (issue 6): the four investor charts (since inception, since the year, last
// 24 hours, last 5 minutes; SVG + PNG each) of a model whose runs hold one day of 1-minute bars.
// Target: <= 2 s for the four together, read from the runs to the last PNG. The day is simulated
// first (untimed); the figure is the first, cold pass in the process (modules loaded, nothing warm),
// then warm repeats are printed for information.
// Run: npx tsx bench/pnl-charts.ts   (or npm run bench -- --only=charts)

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CHARTS_TARGET_S = 2;

export interface ChartsBenchResult {
  bars: number;
  assets: number;
  /** Importing vega, vega-lite and resvg (paid once per process). */
  importS: number;
  /** The cold pass: series read + windows + four charts. */
  totalS: number;
  seriesS: number;
  chartsS: number;
  perChartS: number[];
  warmTotalS: number[];
  pngBytes: number;
  targetMet: boolean;
}

export async function benchPnlCharts(opts: { assets?: number; warmRuns?: number } = {}): Promise<ChartsBenchResult> {
  const assets = opts.assets ?? 10;
  const { resolveConfig } = await import("../src/system/config.js");
  const { runSystem } = await import("../src/system/run-system.js");
  const root = mkdtempSync(join(tmpdir(), "tl-bench-charts-"));
  try {
    const cfg = resolveConfig({
      model: { name: "momentum" }, mode: "simulation", start: "2024-01-02T00:00:00Z", end: "2024-01-03T00:00:00Z", barMinutes: 1,
      universe: { kind: "synthetic", assets, seed: 1 }, data: { source: "synthetic", seed: 1 }, broker: { kind: "instant_fill" }, outputRoot: root, seed: 1,
    });
    const run = await runSystem(cfg);

    const i0 = performance.now();
    const series = await import("../src/analysis/pnl-series.js");
    const charts = await import("../src/analysis/pnl-charts.js");
    const importS = (performance.now() - i0) / 1000;

    const pass = async (): Promise<{ totalS: number; seriesS: number; chartsS: number; perChartS: number[]; pngBytes: number }> => {
      const t0 = performance.now();
      const s = series.collectPnlSeries(root, { stage: "dev", model: "momentum" });
      const windows = series.pnlWindows(s);
      const t1 = performance.now();
      const perChartS: number[] = [];
      let pngBytes = 0;
      for (const w of windows) {
        const c0 = performance.now();
        const c = await charts.renderPnlChart("momentum", w);
        perChartS.push((performance.now() - c0) / 1000);
        pngBytes += c.png.length;
      }
      const t2 = performance.now();
      return { totalS: (t2 - t0) / 1000, seriesS: (t1 - t0) / 1000, chartsS: (t2 - t1) / 1000, perChartS, pngBytes };
    };
    const cold = await pass();
    const warmTotalS: number[] = [];
    for (let i = 0; i < (opts.warmRuns ?? 3); i++) warmTotalS.push((await pass()).totalS);
    return { bars: run.summary.barsDone, assets, importS, ...cold, warmTotalS, targetMet: cold.totalS <= CHARTS_TARGET_S };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

export function formatChartsBench(r: ChartsBenchResult): string {
  return (
    `pnl charts: four charts (SVG + PNG) from ${r.bars} one-minute bars x ${r.assets} assets: ${r.totalS.toFixed(2)} s cold ` +
    `(series ${r.seriesS.toFixed(2)} s, charts ${r.chartsS.toFixed(2)} s: ${r.perChartS.map((x) => x.toFixed(2)).join(" / ")} s), ` +
    `warm ${r.warmTotalS.map((x) => x.toFixed(2)).join(" ")} s; module import ${r.importS.toFixed(2)} s; ${r.pngBytes} PNG bytes; ` +
    `target <= ${CHARTS_TARGET_S} s met: ${r.targetMet ? "yes" : "no"}`
  );
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await benchPnlCharts();
  console.log(formatChartsBench(r));
  console.log(JSON.stringify(r));
}
