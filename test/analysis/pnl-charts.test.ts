import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_CHART, NO_DATA_NOTE, SERIES_AFTER_FEES, SERIES_BEFORE_FEES, chartData, decimate, pngSize, renderPnlChart, renderPnlCharts, type PnlChartDatum, type RenderedPnlChart } from "../../src/analysis/pnl-charts.js";
import { collectPnlSeries, pnlWindows, type PnlSeries, type PnlWindow, type PnlWindowPoint } from "../../src/analysis/pnl-series.js";
import { MODEL, T, buildPnlFixture } from "./pnl-fixture.js";

/** Looked at by eye (gitignored). */
const OUT = join(process.cwd(), "test-output", "pnl-charts");

let series: PnlSeries;
let windows: PnlWindow[];
let charts: RenderedPnlChart[];

beforeAll(async () => {
  const fx = await buildPnlFixture();
  series = collectPnlSeries(fx.root, { stage: "dev", model: MODEL });
  windows = pnlWindows(series);
  charts = await renderPnlCharts(MODEL, windows);
  mkdirSync(OUT, { recursive: true });
  for (const c of charts) for (const a of c.artifacts) writeFileSync(join(OUT, a.fileName), a.body);
}, 120_000);

function specValues(c: RenderedPnlChart): PnlChartDatum[] {
  const data = (c.spec as { data?: { values?: unknown } }).data;
  return data?.values as PnlChartDatum[];
}

describe("PnL charts", () => {
  it("are named as DOMAIN.md section 12 says", () => {
    expect(charts.flatMap((c) => c.artifacts.map((a) => [a.fileName, a.contentType]))).toEqual([
      ["cumulative_pnl.since_inception.png", "image/png"],
      ["cumulative_pnl.since_inception.svg", "image/svg+xml"],
      ["cumulative_pnl.since_2024.png", "image/png"],
      ["cumulative_pnl.since_2024.svg", "image/svg+xml"],
      ["cumulative_pnl.last_24hours.png", "image/png"],
      ["cumulative_pnl.last_24hours.svg", "image/svg+xml"],
      ["cumulative_pnl.last_5minutes.png", "image/png"],
      ["cumulative_pnl.last_5minutes.svg", "image/svg+xml"],
    ]);
  });

  it("carry the series points in their spec data: two series, each the window's cumulative PnL", () => {
    for (const c of charts) {
      const values = specValues(c);
      const after = values.filter((v) => v.series === SERIES_AFTER_FEES);
      const before = values.filter((v) => v.series === SERIES_BEFORE_FEES);
      expect(after.length + before.length).toBe(values.length);
      expect(before.map((v) => [v.time, v.usd])).toEqual(c.window.points.map((p) => [p.timestamp, p.pnl]));
      expect(after.map((v) => [v.time, v.usd])).toEqual(c.window.points.map((p) => [p.timestamp, p.pnlAfterFees]));
      expect(values).toEqual(chartData(c.window));
    }
    // Since inception: from 0 at the first bar's start to the series' total, one point per bar.
    const inception = specValues(charts[0] as RenderedPnlChart).filter((v) => v.series === SERIES_BEFORE_FEES);
    expect(inception).toHaveLength(series.bars.length + 1);
    expect(inception[0]).toEqual({ time: T("00:00"), series: SERIES_BEFORE_FEES, usd: 0 });
    expect(inception.at(-1)?.usd).toBe(series.bars.at(-1)?.cumulativePnl.toNumber());
    const last = series.bars.at(-1);
    const five = specValues(charts[3] as RenderedPnlChart).filter((v) => v.series === SERIES_AFTER_FEES);
    expect(five).toEqual([
      { time: T("07:55"), series: SERIES_AFTER_FEES, usd: 0 },
      { time: T("08:00"), series: SERIES_AFTER_FEES, usd: last?.pnl.sub(last.fees).toNumber() },
    ]);
  });

  it("are titled with the model and window, with a UTC time axis and a USD y axis", () => {
    for (const c of charts) {
      const spec = c.spec as { title: { text: string }; layer: { encoding: { x?: { scale?: { type?: string } }; y?: { title?: string } } }[] };
      expect(spec.title.text).toBe(`${MODEL}: cumulative PnL ${c.window.label}`);
      const line = spec.layer[1]?.encoding;
      expect(line?.x?.scale?.type).toBe("utc");
      expect(line?.y?.title).toMatch(/USD/);
      expect(c.svg).toContain(`${MODEL}: cumulative PnL ${c.window.label}`);
      expect(c.svg).toContain("time (UTC)");
    }
  });

  it("PNG size read back from the header is the spec size times the pixel ratio", async () => {
    for (const c of charts) {
      expect((c.spec as { width: number }).width).toBe(DEFAULT_CHART.width);
      expect(pngSize(c.png)).toEqual({ width: DEFAULT_CHART.width * DEFAULT_CHART.pixelRatio, height: DEFAULT_CHART.height * DEFAULT_CHART.pixelRatio });
      expect(c.svg).toMatch(new RegExp(`^<svg [^>]*width="${DEFAULT_CHART.width}" height="${DEFAULT_CHART.height}"`));
    }
    const small = await renderPnlChart(MODEL, windows[0] as PnlWindow, { width: 400, height: 250, pixelRatio: 1 });
    expect(pngSize(small.png)).toEqual({ width: 400, height: 250 });
  });

  it("are deterministic: a second render, and one in another process and time zone, are byte-identical", async () => {
    const again = await renderPnlCharts(MODEL, windows);
    again.forEach((c, i) => {
      expect(c.svg).toBe(charts[i]?.svg);
      expect(Buffer.from(c.png).equals(Buffer.from(charts[i]?.png as Uint8Array))).toBe(true);
    });
    const input = join(OUT, "windows.json");
    writeFileSync(input, JSON.stringify(windows));
    const script = `
      import { readFileSync } from "node:fs";
      import { createHash } from "node:crypto";
      import { renderPnlCharts } from "./src/analysis/pnl-charts.ts";
      const w = JSON.parse(readFileSync(${JSON.stringify(input)}, "utf8"));
      const charts = await renderPnlCharts(${JSON.stringify(MODEL)}, w);
      for (const c of charts) console.log(createHash("sha256").update(c.svg).digest("hex"), createHash("sha256").update(c.png).digest("hex"));
    `;
    const p = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, TZ: "Pacific/Chatham", LANG: "de_DE.UTF-8" } });
    expect(p.stderr).toBe("");
    const sha = (b: string | Uint8Array): string => createHash("sha256").update(b).digest("hex");
    expect(p.stdout.trim().split("\n")).toEqual(charts.map((c) => `${sha(c.svg)} ${sha(c.png)}`));
  }, 60_000);

  it("a window with no data renders a chart that says so", async () => {
    const empty = pnlWindows(series, { asOf: Date.UTC(2025, 5, 1), year: 2025 });
    const rendered = await renderPnlCharts(MODEL, empty);
    expect(rendered[0]?.window.points.length).toBeGreaterThan(0);
    for (const c of rendered.slice(1)) {
      expect(specValues(c)).toEqual([{ note: NO_DATA_NOTE }]);
      expect(c.svg).toContain(NO_DATA_NOTE);
      expect(pngSize(c.png)).toEqual({ width: DEFAULT_CHART.width * 2, height: DEFAULT_CHART.height * 2 });
    }
    writeFileSync(join(OUT, "no_data.last_24hours.png"), rendered[2]?.png as Uint8Array);
    // No runs at all: every chart is a "no data" chart.
    const none = await renderPnlCharts(MODEL, pnlWindows({ stage: "dev", model: MODEL, runs: [], bars: [] }, { fallbackYear: 2024 }));
    expect(none.map((c) => c.artifacts[0].fileName)).toEqual(["cumulative_pnl.since_inception.png", "cumulative_pnl.since_2024.png", "cumulative_pnl.last_24hours.png", "cumulative_pnl.last_5minutes.png"]);
    for (const c of none) expect(c.svg).toContain(NO_DATA_NOTE);
  });

  it("a long series is thinned for drawing, keeping first, last and every column's extremes of both series", async () => {
    const points: PnlWindowPoint[] = [];
    let x = 0;
    for (let i = 0; i < 105_120; i++) {
      x += Math.sin(i * 0.37) * 5 + (i % 9973 === 0 ? 400 : 0);
      points.push({ timestamp: Date.UTC(2024, 0, 1) + i * 300_000, pnl: x, pnlAfterFees: x - i * 0.01 });
    }
    const thin = decimate(points, 900);
    expect(thin.length).toBeLessThanOrEqual(5 * 900);
    expect(thin[0]).toEqual(points[0]);
    expect(thin.at(-1)).toEqual(points.at(-1));
    for (const key of ["pnl", "pnlAfterFees"] as const) {
      const values = points.map((p) => p[key]);
      const thinValues = thin.map((p) => p[key]);
      expect(Math.max(...thinValues)).toBe(Math.max(...values));
      expect(Math.min(...thinValues)).toBe(Math.min(...values));
    }
    // Order kept, and only real points.
    expect(thin.map((p) => p.timestamp)).toEqual([...thin.map((p) => p.timestamp)].sort((a, b) => a - b));
    const w: PnlWindow = { kind: "since_inception", name: "since_inception", label: "since inception", fromMs: points[0]?.timestamp, toMs: points.at(-1)?.timestamp, points, bars: points.length - 1, totalPnl: x, totalFees: 0 };
    const t0 = performance.now();
    const c = await renderPnlChart(MODEL, w);
    expect(performance.now() - t0).toBeLessThan(5_000);
    expect(specValues(c)).toHaveLength(2 * thin.length);
    writeFileSync(join(OUT, "year_of_5min_bars.png"), c.png);
  });
});
