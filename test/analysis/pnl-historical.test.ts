// The historical run: one simulation backfill run per UTC day, idempotent, joining the PnL series.

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { collectPnlSeries } from "../../src/analysis/pnl-series.js";
import { SUCCESS_MARKER } from "../../src/storage/run-layout.js";
import { MEASURED_FILES } from "../../src/system/system-log.js";
import { daySeed, HistoricalDayError, runHistorical, utcDayStart, type HistoricalProgress } from "../../src/system/historical-run.js";
import { historicalPnlTask } from "../../jobs/historical-pnl.js";
import { isPermanent, type TaskContext } from "../../src/orchestration/task.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { LocalExecutor } from "../../src/orchestration/local-executor.js";
import { Orchestrator } from "../../src/orchestration/orchestrator.js";
import { loadDags } from "../../dags/index.js";
import { MODEL, tmp } from "./pnl-fixture.js";

const base = (root: string): Record<string, unknown> => ({
  model: { name: MODEL, params: { lookbackBars: 2, volatilityBars: 4 } },
  barMinutes: 15,
  universe: { kind: "synthetic", assets: 3, seed: 3 },
  data: { source: "synthetic", seed: 3 },
  broker: { kind: "instant_fill" },
  seed: 3,
  targets: { grossExposure: 20_000 },
  outputRoot: root,
});

const backfillDir = (root: string): string => join(root, "dev", MODEL, "simulation", "backfill");

/** Files under a folder, relative, in name order. */
function filesUnder(dir: string, rel = ""): string[] {
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(dir, join(rel, e.name)) : [join(rel, e.name)]))
    .sort();
}

describe("historical run", () => {
  it("over 2 days creates 2 backfill runs with _SUCCESS; a second call creates none; a day left incomplete is run again", async () => {
    const root = tmp("tl-hist-");
    const events: HistoricalProgress[] = [];
    const r = await runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02", parallelDays: 1, onProgress: (p) => events.push(p) });
    expect(r.ran).toBe(2);
    expect(r.skipped).toBe(0);
    const dirs = readdirSync(backfillDir(root)).sort();
    expect(dirs).toEqual(["20240101_000000.20240102_000000", "20240102_000000.20240103_000000"]);
    for (const d of dirs) expect(statSync(join(backfillDir(root), d, SUCCESS_MARKER)).isFile()).toBe(true);
    // Progress: bars over the whole range, ending at 2 x 96.
    expect(events.at(-1)).toMatchObject({ event: "day_done", barsDone: 192, barsTotal: 192, dayIndex: 1, days: 2 });
    const bars = events.filter((e) => e.event === "bar").map((e) => e.barsDone);
    expect(bars).toEqual([...bars].sort((a, b) => a - b));
    // Each day has its own market (seeded from the date), so its own PnL.
    expect(r.days[0]?.totalPnl).not.toBe(r.days[1]?.totalPnl);

    const mtime = statSync(join(backfillDir(root), dirs[0] as string, "system_log_dir", "portfolio.jsonl")).mtimeMs;
    const again = await runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02" });
    expect(again.ran).toBe(0);
    expect(again.skipped).toBe(2);
    expect(readdirSync(backfillDir(root)).sort()).toEqual(dirs);
    expect(statSync(join(backfillDir(root), dirs[0] as string, "system_log_dir", "portfolio.jsonl")).mtimeMs).toBe(mtime);

    // The runs join the model's PnL series: 2 days of 15-minute bars.
    const series = collectPnlSeries(root, { stage: "dev", model: MODEL });
    expect(series.runs.map((x) => x.status)).toEqual(["success", "success"]);
    expect(series.bars).toHaveLength(192);
    expect(series.bars.at(-1)?.cumulativePnl.toNumber()).toBeCloseTo((r.days[0]?.totalPnl ?? 0) + (r.days[1]?.totalPnl ?? 0), 6);

    // A day without its marker (killed after the summary, say) is taken up again, the other skipped.
    rmSync(join(backfillDir(root), dirs[1] as string, SUCCESS_MARKER));
    const third = await runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02" });
    expect(third.days.map((d) => d.outcome)).toEqual(["skipped", "ran"]);
    expect(statSync(join(backfillDir(root), dirs[1] as string, SUCCESS_MARKER)).isFile()).toBe(true);

    // Asked again with other model parameters, a done day is not skipped as if it matched (its
    // charts would show the old parameters under the new): refused, naming the setting.
    const other = { ...base(root), model: { name: MODEL, params: { lookbackBars: 3, volatilityBars: 4 } } };
    await expect(runHistorical({ base: other, firstDay: "2024-01-01", lastDay: "2024-01-02" })).rejects.toThrow(/2024-01-01 was already run with another config \(model\.params\.lookbackBars: 3 here, 2 there; see .*config\.resolved\.json\)/);
    // The same parameters with the model's defaults spelled out still match.
    const spelled = { ...base(root), model: { name: MODEL, params: { lookbackBars: 2, volatilityBars: 4, direction: 1, clip: 3 } } };
    expect((await runHistorical({ base: spelled, firstDay: "2024-01-01", lastDay: "2024-01-02" })).skipped).toBe(2);
    // A day run by an earlier version, whose saved config lacks a setting added since, is done too.
    const saved = join(backfillDir(root), dirs[0] as string, "system_log_dir", "config.resolved.json");
    const older = JSON.parse(readFileSync(saved, "utf8")) as Record<string, unknown>;
    delete older["targets"];
    writeFileSync(saved, JSON.stringify(older));
    expect((await runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02" })).skipped).toBe(2);
  }, 120_000);

  it("a day killed midway is resumed by the next call and ends as an uninterrupted day would", async () => {
    const root = tmp("tl-hist-kill-");
    const stop = new AbortController();
    await expect(
      runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02", parallelDays: 1, signal: stop.signal, onProgress: (p) => p.barsDone >= 130 && stop.abort() }),
    ).rejects.toThrow();
    const day2 = join(backfillDir(root), "20240102_000000.20240103_000000");
    expect(existsSync(join(day2, SUCCESS_MARKER))).toBe(false);
    const partial = collectPnlSeries(root, { stage: "dev", model: MODEL });
    expect(partial.runs.map((x) => x.status).sort()).toEqual(["incomplete", "success"]);
    expect(partial.bars.length).toBeGreaterThan(96);
    expect(partial.bars.length).toBeLessThan(192);

    const resumed = await runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02" });
    expect(resumed.days.map((d) => d.outcome)).toEqual(["skipped", "ran"]);
    const clean = tmp("tl-hist-clean-");
    await runHistorical({ base: base(clean), firstDay: "2024-01-02", lastDay: "2024-01-02" });
    const portfolio = (r: string): string => readFileSync(join(r, "dev", MODEL, "simulation", "backfill", "20240102_000000.20240103_000000", "system_log_dir", "portfolio.jsonl"), "utf8");
    expect(portfolio(root)).toBe(portfolio(clean));
    expect(collectPnlSeries(root, { stage: "dev", model: MODEL }).bars).toHaveLength(192);
  }, 120_000);

  it("runs days at once on worker threads, each writing exactly the files it writes alone", async () => {
    const serial = tmp("tl-hist-serial-");
    const parallel = tmp("tl-hist-par-");
    const events: HistoricalProgress[] = [];
    const a = await runHistorical({ base: base(serial), firstDay: "2024-01-01", lastDay: "2024-01-03", parallelDays: 1 });
    const b = await runHistorical({ base: base(parallel), firstDay: "2024-01-01", lastDay: "2024-01-03", parallelDays: 2, onProgress: (p) => events.push(p) });
    expect(b.days.map((d) => [d.day, d.outcome, d.totalPnl])).toEqual(a.days.map((d) => [d.day, d.outcome, d.totalPnl]));
    expect(b.days.map((d) => d.runDir.slice(parallel.length))).toEqual(a.days.map((d) => d.runDir.slice(serial.length)));
    const files = (root: string): string[] => filesUnder(backfillDir(root)).filter((f) => !(MEASURED_FILES as readonly string[]).includes(f.split("/").at(-1) as string));
    const names = files(serial);
    expect(files(parallel)).toEqual(names);
    expect(names.filter((f) => f.endsWith(SUCCESS_MARKER))).toHaveLength(3);
    for (const f of names) expect(readFileSync(join(backfillDir(parallel), f)).equals(readFileSync(join(backfillDir(serial), f))), f).toBe(true);
    // Progress from two days at once still sums to the range, never going back.
    const done = events.map((e) => e.barsDone);
    expect(done).toEqual([...done].sort((x, y) => x - y));
    expect(events.at(-1)).toMatchObject({ event: "day_done", barsDone: 288, barsTotal: 288 });
    expect(new Set(events.filter((e) => e.event === "bar").map((e) => e.dayIndex))).toEqual(new Set([0, 1, 2]));
  }, 180_000);

  it("a day failing on a worker fails the historical run naming the day; the other days finish", async () => {
    const root = tmp("tl-hist-fail-");
    // A file where day 2's run folder goes: that run cannot be written.
    mkdirSync(backfillDir(root), { recursive: true });
    writeFileSync(join(backfillDir(root), "20240102_000000.20240103_000000"), "in the way");
    const err = await runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-03", parallelDays: 2 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(HistoricalDayError);
    expect((err as Error).message).toMatch(/^historical run: 2024-01-02 failed: /);
    expect(existsSync(join(backfillDir(root), "20240101_000000.20240102_000000", SUCCESS_MARKER))).toBe(true);
  }, 180_000);

  it("an abort stops the days running on workers; running the range again resumes them to the same files", async () => {
    const root = tmp("tl-hist-par-kill-");
    const stop = new AbortController();
    // Abort below one day's 96 bars: whichever worker runs ahead, no day can have finished.
    await expect(
      runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02", parallelDays: 2, signal: stop.signal, onProgress: (p) => p.barsDone >= 40 && stop.abort() }),
    ).rejects.toThrow(/historical run aborted/);
    const dayDirs = readdirSync(backfillDir(root)).sort();
    expect(dayDirs.filter((d) => existsSync(join(backfillDir(root), d, SUCCESS_MARKER)))).toEqual([]);
    const resumed = await runHistorical({ base: base(root), firstDay: "2024-01-01", lastDay: "2024-01-02", parallelDays: 2 });
    expect(resumed.days.map((d) => d.outcome)).toEqual(["ran", "ran"]);
    const clean = tmp("tl-hist-par-clean-");
    await runHistorical({ base: base(clean), firstDay: "2024-01-01", lastDay: "2024-01-02", parallelDays: 1 });
    const portfolio = (r: string, d: string): string => readFileSync(join(backfillDir(r), d, "system_log_dir", "portfolio.jsonl"), "utf8");
    for (const d of ["20240101_000000.20240102_000000", "20240102_000000.20240103_000000"]) expect(portfolio(root, d)).toBe(portfolio(clean, d));
  }, 180_000);

  it("tradeloop pnl history runs the days with a progress bar and prints one line per day", () => {
    const root = tmp("tl-hist-cli-");
    const args = ["pnl", "history", "--model", MODEL, "--start", "2024-01-01", "--end", "2024-01-02", "--root", root, "--bar-minutes", "60", "--assets", "3", "--data", "synthetic", "--broker", "instant_fill"];
    const run = () => spawnSync(process.execPath, ["--import", "tsx", join(process.cwd(), "src", "cli", "main.ts"), ...args], { encoding: "utf8", timeout: 60_000 });
    const first = run();
    expect(first.status, first.stderr).toBe(0);
    const lines = first.stdout.trim().split("\n").map((l) => l.split("\t"));
    expect(lines.map((l) => [l[0], l[1]])).toEqual([["2024-01-01", "ran"], ["2024-01-02", "ran"]]);
    expect(lines[0]?.[2]).toBe(join(backfillDir(root), "20240101_000000.20240102_000000"));
    expect(first.stderr).toMatch(/48\/48 bars/);
    const second = run();
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout.trim().split("\n").map((l) => l.split("\t")[1])).toEqual(["skipped", "skipped"]);
    expect(second.stderr).toMatch(/0 days run, 2 skipped/);
  }, 120_000);

  it("refuses a config that sets the window or mode, and a reversed range", async () => {
    const root = tmp("tl-hist-bad-");
    await expect(runHistorical({ base: { ...base(root), mode: "paper_trading" }, firstDay: "2024-01-01", lastDay: "2024-01-01", where: "h.json" })).rejects.toThrow(/h\.json: mode is set by the historical run/);
    await expect(runHistorical({ base: base(root), firstDay: "2024-01-03", lastDay: "2024-01-01" })).rejects.toThrow(/before the first day/);
    await expect(runHistorical({ base: base(root), firstDay: "2024-02-30", lastDay: "2024-03-01" })).rejects.toThrow(/not a calendar day/);
    await expect(runHistorical({ base: { ...base(root), barMinutes: 7 }, firstDay: "2024-01-01", lastDay: "2024-01-01" })).rejects.toThrow(/start must be on a 7-minute bar boundary|end must be on a 7-minute/);
  });

  it("day seeds depend on the date, not the range", () => {
    expect(daySeed(3, utcDayStart("2024-01-02"))).toBe(daySeed(3, utcDayStart(Date.UTC(2024, 0, 2, 13))));
    const seeds = new Set(Array.from({ length: 366 }, (_, i) => daySeed(3, Date.UTC(2024, 0, 1) + i * 86_400_000)));
    expect(seeds.size).toBe(366);
    for (const s of seeds) expect(Number.isInteger(s) && s >= 0).toBe(true);
  });

  it("the historical_pnl DAG, triggered for one day (end excluded, as any DAG run's window), runs it and publishes the charts", async () => {
    const root = tmp("tl-hist-dag-");
    const orch = new Orchestrator(await loadDags(), new FileRunStore(root));
    const ex = new LocalExecutor(orch, { dataRoot: root });
    const { outputRoot: _o, model: _m, ...system } = base(root);
    const { run } = await orch.trigger(`historical_pnl.${MODEL}`, { start: "2024-01-01", end: "2024-01-02", system });
    await ex.dispatch();
    const done = await orch.store.get(run.runKey);
    expect(done?.state, JSON.stringify(done?.tasks)).toBe("success");
    expect(done?.tasks["historical_run"]?.output).toMatchObject({ ran: 1, skipped: 0 });
    expect(readdirSync(join(root, "dev", MODEL, "simulation", "backfill"))).toEqual(["20240101_000000.20240102_000000"]);
    expect(readdirSync(join(root, "pnl_for_investors", MODEL)).filter((f) => f.endsWith(".png")).length).toBe(4);
  }, 120_000);

  it("runs as a task handler with the DAG conf, honouring the abort signal between days", async () => {
    const root = tmp("tl-hist-task-");
    const logs: string[] = [];
    const progress: [number, number][] = [];
    // The run's window [start, end) as the orchestrator derives it from conf.start / conf.end.
    const ctx = (conf: Record<string, unknown> & { start: string; end: string }, signal = new AbortController().signal): TaskContext => ({
      dagId: `historical_pnl.${MODEL}`, taskId: "historical_run", runKey: `historical_pnl.${MODEL}.manual.${conf.start}`, runType: "manual",
      logicalStart: Date.parse(conf.start), logicalEnd: Date.parse(conf.end), conf, attempt: 1, dataRoot: root, signal, upstream: {}, log: (m) => logs.push(m),
      progress: (done, total) => progress.push([done, total]),
    });
    const { outputRoot: _o, model: _m, ...system } = base(root);
    const out = (await historicalPnlTask(ctx({ model: MODEL, start: "2024-01-01", end: "2024-01-02", system }))) as { ran: number; skipped: number };
    expect(out).toMatchObject({ ran: 1, skipped: 0 });
    expect(logs.some((l) => l.startsWith("2024-01-01 done"))).toBe(true);
    expect(progress.at(-1)).toEqual([96, 96]);
    const aborted = new AbortController();
    aborted.abort();
    await expect(historicalPnlTask(ctx({ model: MODEL, start: "2024-01-02", end: "2024-01-03", system }, aborted.signal))).rejects.toThrow(/aborted before 2024-01-02 finished/);
    await expect(historicalPnlTask(ctx({ model: MODEL, start: "2024-01-02T06:00:00Z", end: "2024-01-03T00:00:00Z", system }))).rejects.toThrow(/a historical run covers whole UTC days: start and end must be midnights/);
    // Bad conf is permanent (no retry can fix it); an abort is not.
    const permanent = async (p: Promise<unknown>): Promise<boolean> => p.then(() => false, (e: unknown) => isPermanent(e));
    expect(await permanent(historicalPnlTask(ctx({ model: MODEL, start: "2024-01-02T06:00:00Z", end: "2024-01-03T00:00:00Z", system })))).toBe(true);
    expect(await permanent(historicalPnlTask(ctx({ model: "../x", start: "2024-01-02", end: "2024-01-03", system })))).toBe(true);
    expect(await permanent(historicalPnlTask(ctx({ model: MODEL, start: "2024-01-01", end: "2024-01-02", system: { ...system, mode: "prod" } })))).toBe(true);
    expect(await permanent(historicalPnlTask(ctx({ model: MODEL, start: "2024-01-02", end: "2024-01-03", system }, aborted.signal)))).toBe(false);
    // conf.stage places the runs where the chart tasks look.
    const staged = (await historicalPnlTask(ctx({ model: MODEL, stage: "preprod", start: "2024-01-01", end: "2024-01-02", system }))) as { days: { runDir: string }[] };
    expect(staged.days[0]?.runDir).toBe(join(root, "preprod", MODEL, "simulation", "backfill", "20240101_000000.20240102_000000"));
  }, 120_000);
});
