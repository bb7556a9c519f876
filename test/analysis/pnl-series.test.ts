import { cpSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { beforeAll, describe, expect, it } from "vitest";
import { collectPnlSeries, findModelRuns, pnlWindows, stitchPnl, type ModelRun, type PnlSeries } from "../../src/analysis/pnl-series.js";
import { MODEL, T, buildPnlFixture, rawBars, tmp, type PnlFixture } from "./pnl-fixture.js";

let fx: PnlFixture;
let series: PnlSeries;

beforeAll(async () => {
  fx = await buildPnlFixture();
  series = collectPnlSeries(fx.root, { stage: "dev", model: MODEL });
}, 120_000);

const runDir = (name: "A" | "B" | "C"): string => fx.runs.find((r) => r.name === name)?.runDir as string;

describe("stitched PnL series", () => {
  it("finds the three runs with their status", () => {
    const runs = findModelRuns(fx.root, { stage: "dev", model: MODEL });
    const byDir = new Map(runs.map((r) => [r.runDir, r.status]));
    expect(byDir.get(runDir("A"))).toBe("finished");
    expect(byDir.get(runDir("B"))).toBe("success");
    expect(byDir.get(runDir("C"))).toBe("finished");
    expect(findModelRuns(fx.root, { stage: "dev", model: MODEL, modes: ["prod"] })).toEqual([]);
    expect(findModelRuns(fx.root, { stage: "dev", model: "other" })).toEqual([]);
  });

  it("equals an independent sum of the per-bar PnL in the logs, with B winning its overlap with C", () => {
    // Independent: A whole, B whole, C only after 06:00 (B, with _SUCCESS, covers 05:00-06:00).
    const expected = [
      ...rawBars(runDir("A")).filter((b) => b.pnl !== undefined),
      ...rawBars(runDir("B")).filter((b) => b.pnl !== undefined),
      ...rawBars(runDir("C")).filter((b) => b.pnl !== undefined && b.timestamp > T("06:00")),
    ].sort((a, b) => a.timestamp - b.timestamp);
    expect(expected).toHaveLength(36 + 36 + 24);
    expect(series.bars.map((b) => b.timestamp)).toEqual(expected.map((b) => b.timestamp));
    let cum = new Decimal(0);
    let fees = new Decimal(0);
    series.bars.forEach((b, i) => {
      const e = expected[i] as (typeof expected)[number];
      cum = cum.add(e.pnl as Decimal);
      fees = fees.add(e.fees);
      expect(b.pnl.toFixed()).toBe((e.pnl as Decimal).toFixed());
      expect(b.cumulativePnl.toFixed()).toBe(cum.toFixed());
      expect(b.cumulativeFees.toFixed()).toBe(fees.toFixed());
    });
    // Every bar's interval starts where the one before ended: no overlap, no gap.
    series.bars.forEach((b, i) => expect(b.fromMs).toBe(i === 0 ? T("00:00") : series.bars[i - 1]?.timestamp));
    const used = new Map(series.runs.map((r) => [r.runDir, [r.barsLogged, r.barsUsed]]));
    expect(used.get(runDir("A"))).toEqual([36, 36]);
    expect(used.get(runDir("B"))).toEqual([36, 36]);
    expect(used.get(runDir("C"))).toEqual([36, 24]);
  });

  it("for the same window, a run with _SUCCESS wins over one without; between equals the earlier start keeps its bars", () => {
    const load = (bars: [number, number][]) => () => ({ bars: bars.map(([from, to]) => ({ fromMs: from, timestamp: to, pnl: new Decimal(to - from), fees: new Decimal(0) })), truncated: false });
    const run = (dir: string, status: ModelRun["status"], startMs: number): ModelRun => ({ runDir: dir, status, identity: { stage: "dev", model: "m", mode: "simulation", dagRunMode: "manual", startMs, endMs: startMs } });
    const loads: Record<string, ReturnType<typeof load>> = {
      early: load([[0, 10], [10, 20], [20, 30]]),
      late: load([[20, 30], [30, 40]]),
      done: load([[10, 20]]),
      straddle: load([[5, 15], [40, 50]]),
    };
    const s = stitchPnl("dev", "m", [run("late", "finished", 20), run("early", "incomplete", 0), run("done", "success", 10), run("straddle", "finished", 5)], (d) => loads[d]!());
    // done (success) takes 10-20; late (finished) takes 20-40; straddle's 5-15 straddles 10 and is
    // skipped whole, its 40-50 is free; early (incomplete) fills 0-10 only.
    expect(s.bars.map((b) => [b.fromMs, b.timestamp, s.runs[b.run]?.runDir])).toEqual([
      [0, 10, "early"], [10, 20, "done"], [20, 30, "late"], [30, 40, "late"], [40, 50, "straddle"],
    ]);
    expect(s.bars.at(-1)?.cumulativePnl.toNumber()).toBe(50);
  });

  it("what traded outranks a simulation of the same window, finished or not: paper trading keeps its bars, the simulation fills only the time it left", () => {
    const load = (bars: [number, number][], pnl: number) => () => ({ bars: bars.map(([from, to]) => ({ fromMs: from, timestamp: to, pnl: new Decimal(pnl), fees: new Decimal(0) })), truncated: false });
    const run = (dir: string, mode: string, status: ModelRun["status"]): ModelRun => ({ runDir: dir, status, identity: { stage: "dev", model: "m", mode, dagRunMode: "scheduled", startMs: 0, endMs: 40 } });
    const loads: Record<string, ReturnType<typeof load>> = {
      // A paper session whose charts are drawn before its _SUCCESS (finished), one killed at 20 (incomplete), and a simulation of the whole window.
      paper: load([[0, 10], [10, 20]], 10),
      sim: load([[0, 10], [10, 20], [20, 30], [30, 40]], -3),
      prod: load([[10, 20]], 7),
    };
    for (const status of ["finished", "incomplete"] as const) {
      const s = stitchPnl("dev", "m", [run("sim", "simulation", "success"), run("paper", "paper_trading", status)], (d) => loads[d]!());
      expect(s.bars.map((b) => [b.fromMs, s.runs[b.run]?.runDir])).toEqual([[0, "paper"], [10, "paper"], [20, "sim"], [30, "sim"]]);
      expect(s.bars.at(-1)?.cumulativePnl.toNumber()).toBe(14);
    }
    const s = stitchPnl("dev", "m", [run("paper", "paper_trading", "success"), run("prod", "prod", "incomplete")], (d) => loads[d]!());
    expect(s.bars.map((b) => [b.fromMs, s.runs[b.run]?.runDir])).toEqual([[0, "paper"], [10, "prod"]]);
  });

  it("a killed run (torn last line, no summary) contributes every bar it finished", () => {
    const root = tmp("tl-pnl-killed-");
    const dest = join(root, "dev", MODEL, "simulation", "manual", "20240102_000000.20240102_030000");
    cpSync(runDir("A"), dest, { recursive: true });
    rmSync(join(dest, "system_log_dir", "summary.json"));
    const file = join(dest, "system_log_dir", "portfolio.jsonl");
    const text = readFileSync(file, "utf8");
    const lines = text.split("\n").filter((l) => l !== "");
    // Keep 20 whole bars and half of the 21st.
    const keep = lines.slice(0, 20).join("\n") + "\n" + (lines[20] as string).slice(0, 40);
    writeFileSync(file, keep);
    const s = collectPnlSeries(root, { stage: "dev", model: MODEL });
    expect(s.runs[0]?.status).toBe("incomplete");
    expect(s.runs[0]?.truncated).toBe(true);
    expect(s.bars).toHaveLength(19);
    const expected = rawBars(runDir("A")).slice(1, 20).reduce((a, b) => a.add(b.pnl as Decimal), new Decimal(0));
    expect(s.bars.at(-1)?.cumulativePnl.toFixed()).toBe(expected.toFixed());
    truncateSync(file, 0);
    expect(collectPnlSeries(root, { stage: "dev", model: MODEL }).bars).toHaveLength(0);
  });

  it("a corrupt line in the middle of a log fails naming the file and line", () => {
    const root = tmp("tl-pnl-corrupt-");
    const dest = join(root, "dev", MODEL, "simulation", "manual", "20240102_000000.20240102_030000");
    cpSync(runDir("A"), dest, { recursive: true });
    const file = join(dest, "system_log_dir", "portfolio.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    lines[5] = "{not json";
    writeFileSync(file, lines.join("\n"));
    expect(() => collectPnlSeries(root, { stage: "dev", model: MODEL })).toThrow(/portfolio\.jsonl:6/);
    expect(() => collectPnlSeries(join(root, "nope"), { stage: "dev", model: MODEL })).toThrow(/is not a folder/);
    expect(() => collectPnlSeries("s3://bucket/x", { stage: "dev", model: MODEL })).toThrow(/local data root/);
  });
});

describe("windows", () => {
  it("since inception, since a year, last 24 hours and last 5 minutes, rebased at the window start", () => {
    const [inception, year, day, five] = pnlWindows(series);
    const total = series.bars.at(-1)?.cumulativePnl.toNumber();
    expect(inception?.name).toBe("since_inception");
    expect(inception?.points[0]).toEqual({ timestamp: T("00:00"), pnl: 0, pnlAfterFees: 0 });
    expect(inception?.points).toHaveLength(series.bars.length + 1);
    expect(inception?.points.at(-1)?.pnl).toBe(total);
    expect(year?.name).toBe("since_2024");
    expect(year?.fromMs).toBe(Date.UTC(2024, 0, 1));
    expect(year?.points.at(-1)?.pnl).toBe(total);
    expect(day?.name).toBe("last_24hours");
    expect(day?.toMs).toBe(T("08:00"));
    expect(five?.name).toBe("last_5minutes");
    const last = series.bars.at(-1);
    expect(five?.points).toEqual([
      { timestamp: T("07:55"), pnl: 0, pnlAfterFees: 0 },
      { timestamp: T("08:00"), pnl: last?.pnl.toNumber(), pnlAfterFees: last?.pnl.sub(last.fees).toNumber() },
    ]);
  });

  it("an explicit asOf and year cut and rebase the windows", () => {
    const asOf = T("04:00");
    const [inception, year, day, five] = pnlWindows(series, { asOf, year: 2023 });
    const upTo = series.bars.filter((b) => b.timestamp <= asOf);
    expect(inception?.points.at(-1)?.timestamp).toBe(asOf);
    expect(inception?.totalPnl).toBe(upTo.at(-1)?.cumulativePnl.toNumber());
    expect(year?.name).toBe("since_2023");
    expect(day?.bars).toBe(upTo.length);
    // The last 5 minutes: one bar, rebased to start at 0.
    const bar = upTo.at(-1);
    expect(five?.totalPnl).toBe(bar?.pnl.toNumber());
    // A window after the data is empty but still a window.
    const [, nextYear, later] = pnlWindows(series, { asOf: Date.UTC(2025, 5, 1), year: 2025 });
    expect(nextYear?.points).toEqual([]);
    expect(later?.points).toEqual([]);
    expect(later?.fromMs).toBe(Date.UTC(2025, 5, 1) - 24 * 3_600_000);
  });

  it("the default year is the one the last bar ends: a 31 December session stamped at midnight draws its own year", () => {
    const day = 86_400_000;
    const dec31 = Date.UTC(2024, 11, 31);
    const s = stitchPnl("dev", "m", [{ runDir: "x", status: "success", identity: { stage: "dev", model: "m", mode: "paper_trading", dagRunMode: "scheduled", startMs: dec31, endMs: dec31 + day } }], () => ({
      bars: [
        { fromMs: dec31, timestamp: dec31 + day / 2, pnl: new Decimal(5), fees: new Decimal(0) },
        { fromMs: dec31 + day / 2, timestamp: dec31 + day, pnl: new Decimal(2), fees: new Decimal(0) },
      ],
      truncated: false,
    }));
    const [, year] = pnlWindows(s);
    expect(year?.name).toBe("since_2024");
    expect(year?.totalPnl).toBe(7);
    // Five minutes into the new year, the new year's chart.
    expect(pnlWindows(s, { asOf: dec31 + day + 300_000 })[1]?.name).toBe("since_2025");
  });

  it("a gap between runs is a flat stretch", () => {
    const s = stitchPnl("dev", "m", [{ runDir: "x", status: "success", identity: { stage: "dev", model: "m", mode: "simulation", dagRunMode: "manual", startMs: 0, endMs: 0 } }], () => ({
      bars: [
        { fromMs: 0, timestamp: 10, pnl: new Decimal(5), fees: new Decimal(1) },
        { fromMs: 30, timestamp: 40, pnl: new Decimal(2), fees: new Decimal(0) },
      ],
      truncated: false,
    }));
    const [w] = pnlWindows(s);
    expect(w?.points).toEqual([
      { timestamp: 0, pnl: 0, pnlAfterFees: 0 },
      { timestamp: 10, pnl: 5, pnlAfterFees: 4 },
      { timestamp: 30, pnl: 5, pnlAfterFees: 4 },
      { timestamp: 40, pnl: 7, pnlAfterFees: 6 },
    ]);
  });
});
