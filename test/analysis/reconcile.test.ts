// Reconciliation end to end on real runs: a simulation with instant fills reconciled against itself
// (a pass with zero differences), a copy with injected faults (a dropped fill, shifted prices) whose
// differences are named, an embedded-venue TWAP run (prod and sim differ by execution), statistics
// against an independent computation from the raw log lines, determinism, the HTML report in headless
// Debian chromium, the job handler, the CLI, and bad input.

import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { Decimal } from "decimal.js";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcileTask } from "../../jobs/reconcile.js";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { summarizeExecution } from "../../src/analysis/execution-quality.js";
import { reconcileRunAt } from "../../src/analysis/reconcile-at.js";
import { reconcileRun, type ReconciliationResult, type ReconciliationSummary } from "../../src/analysis/reconcile.js";
import { barMarksFromRecording, buildResearchPortfolio } from "../../src/analysis/research-portfolio.js";
import { parentOutcomes, runExecution, waveFills } from "../../src/analysis/run-execution.js";
import { isPermanent, type TaskContext } from "../../src/orchestration/task.js";
import { uploadRunDir } from "../../src/storage/run-store.js";
import { S3Store } from "../../src/storage/s3-store.js";
import { resolveConfig, type SystemConfigInput } from "../../src/system/config.js";
import { runSystem, type RunSystemResult } from "../../src/system/run-system.js";
import { loadSystemLog } from "../../src/system/system-log-loader.js";
import { S3RVER_CREDENTIALS, startS3rver } from "../helpers/s3rver.js";
import { SMALL_RUN } from "../helpers/small-run.js";

const base: SystemConfigInput = { ...SMALL_RUN, end: "2024-01-02T04:00:00Z" };
const PERIOD = "20240102_000000.20240102_040000";
const TS = "20240103_000000";
const REPO = join(dirname(new URL(import.meta.url).pathname), "..", "..");

const made: string[] = [];

function tmp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}

afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

function lines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter((l) => l !== "");
}

function listed(r: ReconciliationResult): string[] {
  return r.summary.differences.listed.map((d) => d.message);
}

/** A copy of a run's system_log_dir in a fresh root, in the same layout (its identity still reads). */
function copyRun(run: RunSystemResult): string {
  const dir = join(tmp("tl-rec-copy-"), "dev", "momentum", "simulation", "manual", PERIOD);
  mkdirSync(dir, { recursive: true });
  cpSync(run.systemLogDir, join(dir, "system_log_dir"), { recursive: true });
  return dir;
}

let instant: RunSystemResult;
let venue: RunSystemResult;
let self: ReconciliationResult;
let venueRec: ReconciliationResult;

beforeAll(async () => {
  instant = await runSystem(resolveConfig({ ...base, data: { source: "synthetic", seed: 3 }, broker: { kind: "instant_fill" }, outputRoot: tmp("tl-rec-instant-") }));
  venue = await runSystem(resolveConfig({ ...base, end: "2024-01-02T03:00:00Z", universe: { kind: "synthetic", assets: 3, seed: 3 }, outputRoot: tmp("tl-rec-venue-") }));
  self = await reconcileRun(instant.runDir, { runTimestamp: TS });
  venueRec = await reconcileRun(venue.runDir, { runTimestamp: TS });
}, 120_000);

describe("a simulation reconciled against itself", () => {
  it("passes with zero differences", () => {
    const s = self.summary;
    expect(s.verdict).toEqual({ pass: true, reasons: [] });
    expect(s.differences.total).toBe(0);
    expect(s.differences.listed).toEqual([]);
    expect(s.sim.replaysRunBroker).toBe(true);
    const prodSim = s.portfolio.find((p) => p.pair === "prod_vs_sim");
    expect(prodSim?.barsCompared).toBe(49);
    for (const c of prodSim?.columns ?? []) {
      expect(c.maxAbsPctDiff, c.column).toBe(0);
      expect(c.cells, c.column).toBeGreaterThan(0);
    }
    for (const n of s.modelOutputs) expect(n.maxPctChange, n.node).toBe(0);
    expect(s.modelOutputs.map((n) => n.node)).toEqual(["last_return", "momentum", "prediction", "volatility"]);
    expect(s.fills.matched).toBe(s.fills.fills.prod);
    expect(s.fills.matched).toBeGreaterThan(0);
    expect(s.pnlCorrelation.prod_vs_sim).toBe(1);
    expect(s.statistics.prod).toEqual(s.statistics.sim);
    expect(s.logConsistency.issues).toBe(0);
    expect(s.checks.every((c) => c.gated && c.pass)).toBe(true);
    // The research portfolio trades without limits or fees: it differs, but tracks the run.
    expect(s.statistics.research.totalFees).toBe("0");
    expect(s.pnlCorrelation.prod_vs_research).toBeGreaterThan(0.9);
  });

  it("writes summary.json and report.html beside system_log_dir, and the sim apart from the run layout", () => {
    expect(self.dir).toBe(join(instant.runDir, "reconciliation", TS));
    expect(JSON.parse(readFileSync(self.summaryPath, "utf8"))).toMatchObject({ schema: "tradeloop.reconciliation/1", runTimestamp: TS, verdict: { pass: true } });
    expect(readFileSync(self.reportPath, "utf8")).toMatch(/^<!DOCTYPE html>/);
    expect(self.simRunDir?.startsWith(join(self.dir, "sim") + "/")).toBe(true);
    expect(self.summary.files.sim).toBe(`sim/dev/momentum/simulation/manual/${PERIOD}`);
    // The kept sim run holds the market data it saw: the run's recording, file for file.
    const prodMd = join(instant.systemLogDir, "market_data");
    const simMd = join(self.simRunDir as string, "system_log_dir", "market_data");
    const files = readdirSync(prodMd, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => relative(prodMd, join(e.path, e.name))).sort();
    expect(files).toContain("markets.json");
    expect(files.some((f) => f.startsWith("ohlcv/"))).toBe(true);
    for (const f of files) expect(readFileSync(join(simMd, f)).equals(readFileSync(join(prodMd, f))), f).toBe(true);
    expect(self.summary.run.path).toBe(`dev/momentum/simulation/manual/${PERIOD}`);
  });

  it("is deterministic: the same run and options give byte-identical summary.json and report.html", async () => {
    const summary = readFileSync(self.summaryPath);
    const report = readFileSync(self.reportPath);
    const again = await reconcileRun(instant.runDir, { runTimestamp: TS, replaceExisting: true });
    expect(readFileSync(again.summaryPath).equals(summary)).toBe(true);
    expect(readFileSync(again.reportPath).equals(report)).toBe(true);
    // A copy of the run elsewhere reconciles to the same bytes too: no absolute path inside.
    const copy = await reconcileRun(copyRun(instant), { runTimestamp: TS });
    expect(readFileSync(copy.summaryPath).equals(summary)).toBe(true);
    expect(readFileSync(copy.reportPath).equals(report)).toBe(true);
  }, 60_000);
});

describe("a run with injected differences", () => {
  let rec: ReconciliationResult;
  let dropped: { parentOrderId: number; bar: number; symbol: string };
  let shifted: { bar: number; symbol: string; from: string; to: string };
  let fillShift: { parentOrderId: number; bar: number; symbol: string; to: string };
  let copyDir: string;

  beforeAll(async () => {
    copyDir = copyRun(instant);
    const logDir = join(copyDir, "system_log_dir");
    const symbolOf = new Map<number, string>();
    for (const l of lines(join(logDir, "targets.jsonl"))) for (const r of (JSON.parse(l) as { rows: { assetId: number; symbol: string }[] }).rows) symbolOf.set(r.assetId, r.symbol);
    // Drop one fill line, and shift the price of another.
    const fills = lines(join(logDir, "fills.jsonl"));
    const f = JSON.parse(fills[9] as string) as { bar: number; assetId: number; parentOrderId: number };
    dropped = { parentOrderId: f.parentOrderId, bar: f.bar, symbol: symbolOf.get(f.assetId) as string };
    const g = JSON.parse(fills[20] as string) as { bar: number; assetId: number; parentOrderId: number; price: string };
    g.price = new Decimal(g.price).mul("1.002").toFixed();
    fillShift = { parentOrderId: g.parentOrderId, bar: g.bar, symbol: symbolOf.get(g.assetId) as string, to: g.price };
    fills[20] = JSON.stringify(g);
    writeFileSync(join(logDir, "fills.jsonl"), fills.filter((_, i) => i !== 9).join("\n") + "\n");
    // Shift one mark price in the portfolio (bar 30, the first asset held there).
    const port = lines(join(logDir, "portfolio.jsonl"));
    const bar = JSON.parse(port[30] as string) as { bar: number; assets: { symbol: string; price: string; holdingsShares: string }[] };
    const a = bar.assets.find((x) => x.holdingsShares !== "0") as { symbol: string; price: string };
    shifted = { bar: bar.bar, symbol: a.symbol, from: a.price, to: new Decimal(a.price).mul("1.01").toFixed() };
    a.price = shifted.to;
    port[30] = JSON.stringify(bar);
    writeFileSync(join(logDir, "portfolio.jsonl"), port.join("\n") + "\n");
    rec = await reconcileRun(copyDir, { runTimestamp: TS });
  }, 60_000);

  it("fails, and the reasons name the checks that caught them", () => {
    expect(rec.summary.verdict.pass).toBe(false);
    const failed = rec.summary.checks.filter((c) => !c.pass).map((c) => c.name);
    expect(failed).toEqual(expect.arrayContaining(["log_consistency", "fills_vs_sim", "portfolio_vs_sim"]));
    expect(rec.summary.verdict.reasons.some((r) => r.startsWith("fills_vs_sim: 1 dropped, 0 extra and 1 differing fills"))).toBe(true);
    // The model saw the same data: its outputs still match.
    expect(failed).not.toContain("model_outputs");
  });

  it("names the dropped fill in summary.json, against the broker log and against the sim", () => {
    const written = JSON.parse(readFileSync(rec.summaryPath, "utf8")) as ReconciliationSummary;
    const messages = written.differences.listed.map((d) => d.message);
    const p = dropped;
    expect(messages.some((m) => m.startsWith(`fill dropped: parent ${p.parentOrderId} (bar ${p.bar} ${p.symbol}) is in broker_log/oms_fills.jsonl (`) && m.endsWith("but not in prod's fills.jsonl"))).toBe(true);
    expect(messages.some((m) => m.startsWith(`fill dropped: parent ${p.parentOrderId} (bar ${p.bar} ${p.symbol}): sim filled `) && m.endsWith("prod has no fill"))).toBe(true);
    expect(messages.some((m) => m.startsWith(`bar ${p.bar + 1} ${p.symbol}: portfolio executed_trades_shares `) && m.includes(`but the fills of bar ${p.bar} in fills.jsonl sum to 0`))).toBe(true);
    const d = written.differences.listed.find((x) => x.kind === "fill_dropped");
    expect(d).toMatchObject({ kind: "fill_dropped", gated: true, bar: p.bar, symbol: p.symbol, parentOrderId: p.parentOrderId });
  });

  it("names the shifted prices, with both values", () => {
    const messages = listed(rec);
    const s = shifted;
    expect(messages.some((m) => m.startsWith(`bar ${s.bar} ${s.symbol}: price ${s.to} vs sim ${s.from} (`))).toBe(true);
    expect(messages.some((m) => m.startsWith(`bar ${s.bar} ${s.symbol}: holdings_notional `) && m.includes(`x price ${s.to} = `))).toBe(true);
    const f = fillShift;
    expect(messages.some((m) => m.startsWith(`bar ${f.bar} ${f.symbol} (parent ${f.parentOrderId}): executed `) && m.includes(`at ${f.to}, fees`))).toBe(true);
    expect(messages.some((m) => m.startsWith(`fill differs from the broker log: parent ${f.parentOrderId} (bar ${f.bar} ${f.symbol}): fills.jsonl `))).toBe(true);
    const portfolio = rec.summary.portfolio.find((p) => p.pair === "prod_vs_sim");
    const price = portfolio?.columns.find((c) => c.column === "price");
    expect(price?.differing).toBe(1);
    expect(price?.at).toBe(`bar ${s.bar} ${s.symbol}`);
    expect(price?.maxAbsPctDiff).toBeCloseTo((100 * 0.01) / 1.01, 9);
  });

  it("the CLI prints the verdict, the differences and the paths, and exits 2", () => {
    const p = spawnSync(process.execPath, ["--import", "tsx", join(REPO, "src/cli/main.ts"), "reconcile", copyDir, "--run-timestamp", "20240104_000000", "--differences", "3"], { cwd: REPO, encoding: "utf8" });
    expect(p.stderr).toContain("simulating momentum");
    expect(p.status, p.stderr).toBe(2);
    expect(p.stdout).toMatch(/^Reconciliation FAIL: momentum simulation \(instant_fill broker\)/);
    expect(p.stdout).toContain("  - log_consistency: ");
    expect(p.stdout).toContain(`fill dropped: parent ${dropped.parentOrderId}`);
    expect(p.stdout).toContain(`report:  ${join(copyDir, "reconciliation", "20240104_000000", "report.html")}`);
    expect(p.stdout).toContain(`summary: ${join(copyDir, "reconciliation", "20240104_000000", "summary.json")}`);
    expect(p.stdout).toContain(`execution per bar and asset: ${join(copyDir, "reconciliation", "20240104_000000", "execution_by_bar_asset.csv")}`);
  }, 60_000);
});

describe("a resumed run that missed bars", () => {
  it("feeds the research portfolio each bar's own predictions, by bar number, not by position", async () => {
    // A live run down for bars 5..7 logs none of them: its portfolio goes from bar 4 to bar 8.
    const copyDir = copyRun(instant);
    const logDir = join(copyDir, "system_log_dir");
    const missed = (l: string): boolean => [5, 6, 7].includes((JSON.parse(l) as { bar: number }).bar);
    for (const f of ["portfolio", "targets", "orders", "fills", "timing", "dag_profiling", ...readdirSync(join(logDir, "dag")).map((d) => `dag/${d.replace(/\.jsonl$/, "")}`)]) {
      const file = join(logDir, `${f}.jsonl`);
      writeFileSync(file, lines(file).filter((l) => !missed(l)).join("\n") + "\n");
    }
    const rec = await reconcileRun(copyDir, { runTimestamp: TS });

    // The research portfolio by hand from the raw lines, each bar's inputs looked up by its number.
    const port = lines(join(logDir, "portfolio.jsonl")).map((l) => JSON.parse(l) as { bar: number; timestamp: number });
    expect(port.map((b) => b.bar).slice(3, 7)).toEqual([3, 4, 8, 9]);
    const targets = lines(join(logDir, "targets.jsonl")).map((l) => JSON.parse(l) as { bar: number; rows: { assetId: number; symbol: string; volatility?: number }[] });
    const preds = new Map(lines(join(logDir, "dag", "prediction.jsonl")).map((l) => JSON.parse(l) as { bar: number; values: Record<string, number | null> }).map((r) => [r.bar, r.values]));
    const vols = new Map(targets.map((t) => [t.bar, new Map(t.rows.flatMap((r) => (typeof r.volatility === "number" ? [[r.symbol, r.volatility] as const] : [])))]));
    const universe = (targets[0] as (typeof targets)[number]).rows.map((r) => ({ assetId: r.assetId, symbol: r.symbol }));
    const markets = JSON.parse(readFileSync(join(logDir, "market_data", "markets.json"), "utf8")) as Record<string, { precision: { price: number } }>;
    const timestamps = port.map((b) => b.timestamp);
    const marks = await barMarksFromRecording(join(logDir, "market_data"), universe.map((a) => ({ ...a, priceStep: new Decimal((markets[a.symbol] as { precision: { price: number } }).precision.price) })), timestamps);
    const cfg = resolveConfig({ ...base, data: { source: "synthetic", seed: 3 }, broker: { kind: "instant_fill" }, outputRoot: "unused" });
    const research = buildResearchPortfolio({
      timestamps, universe, marks, targets: cfg.targets, initialCash: cfg.initialCash,
      predictions: port.slice(0, -1).map((b) => preds.get(b.bar)),
      volatility: port.slice(0, -1).map((b) => vols.get(b.bar)),
    });
    const total = research.bars.reduce((a, b) => (b.pnl === undefined ? a : a.add(b.pnl.toString())), new Decimal(0));
    expect(rec.summary.statistics.research.totalPnl).toBe(total.toFixed());
  }, 60_000);
});

describe("a run on the venue's live feed with instant fills", () => {
  // The sim re-runs the run on what it recorded: it reproduces the run only if each wave read the
  // quote the recording keeps for the wave's instant (not the one of a second before, served while
  // the feed's sampling timer had not yet fired at that instant).
  it.each(["market", "price@twap"] as const)("reconciles with no difference (%s orders)", async (type) => {
    const run = await runSystem(resolveConfig({ ...base, end: "2024-01-02T02:00:00Z", data: { source: "venue" }, broker: { kind: "instant_fill" }, order: { type }, outputRoot: tmp("tl-rec-feed-") }));
    const rec = await reconcileRun(run.runDir, { runTimestamp: TS });
    // A TWAP parent leaves part of its target to its reserved last wave: prod and sim alike.
    const kinds = Object.keys(rec.summary.differences.byKind).filter((k) => k !== "underfill");
    expect(kinds, listed(rec).slice(0, 3).join("\n")).toEqual([]);
    expect(rec.summary.checks.find((c) => c.name === "fills_vs_sim")?.pass).toBe(true);
    expect(rec.summary.checks.find((c) => c.name === "portfolio_vs_sim")?.pass).toBe(true);
    expect(rec.summary.fills.matched).toBeGreaterThan(0);
    expect(rec.summary.verdict.pass).toBe(true);
  }, 60_000);
});

describe("an embedded-venue TWAP run", () => {
  it("is replayed with instant fills, and execution differences inform without failing the verdict", () => {
    const s = venueRec.summary;
    expect(s.run.broker).toBe("embedded");
    expect(s.sim.replaysRunBroker).toBe(false);
    expect(s.sim.note).toMatch(/cannot be replayed/);
    expect(s.differences.total).toBeGreaterThan(0);
    expect(s.differences.gated).toBe(0);
    expect(s.checks.find((c) => c.name === "fills_vs_sim")).toMatchObject({ gated: false });
    expect(s.checks.find((c) => c.name === "portfolio_vs_sim")).toMatchObject({ gated: false, pass: false });
    expect(s.checks.find((c) => c.name === "model_outputs")).toMatchObject({ gated: true, pass: true });
    expect(s.verdict).toEqual({ pass: true, reasons: [] });
    // TWAP: per-wave execution quality from the broker log.
    expect(s.execution.prod.perWave.length).toBeGreaterThan(1);
    expect(s.execution.prod.makerShare).not.toBeNull();
  });

  it("gates execution differences when asked, and names them", async () => {
    const r = await reconcileRun(venue.runDir, { runTimestamp: "20240103_000001", gateExecutionDifferences: true, keepSimRun: false });
    expect(r.summary.verdict.pass).toBe(false);
    expect(r.summary.verdict.reasons.some((m) => m.startsWith("portfolio_vs_sim: "))).toBe(true);
    expect(r.summary.differences.listed[0]?.gated).toBe(true);
    expect(r.simRunDir).toBeUndefined();
    expect(existsSync(join(r.dir, "sim"))).toBe(false);
  }, 60_000);

  it("per-wave fill rates count every child of the wave (the rejected ones too: test/oms/broker.cases)", () => {
    // By hand from the raw broker log: each child (parent, bar, wave) once, its size, and its fill at
    // wave end (ccxt_fills); a child the exchange never took has no fill.
    const logDir = join(venue.systemLogDir, "broker_log");
    const children = new Map<string, { wave: number; amount: number }>();
    for (const l of lines(join(logDir, "oms_child_orders.jsonl"))) {
      const c = JSON.parse(l) as { parentOrderId?: number; bar?: number; wave?: number; amount?: string; event?: string };
      if (c.wave === undefined || c.event === "skipped") continue;
      children.set(`${c.parentOrderId}:${c.bar}:${c.wave}`, { wave: c.wave, amount: Number(c.amount) });
    }
    const filledByWave = new Map<number, number>();
    for (const l of lines(join(logDir, "ccxt_fills.jsonl"))) {
      const f = JSON.parse(l) as { wave: number; order: { filled: number } };
      filledByWave.set(f.wave, (filledByWave.get(f.wave) ?? 0) + f.order.filled);
    }
    const waves = [...new Set([...children.values()].map((c) => c.wave))].sort((a, b) => a - b);
    expect(venueRec.summary.execution.prod.perWave.map((w) => w.wave)).toEqual(waves);
    for (const w of venueRec.summary.execution.prod.perWave) {
      const kids = [...children.values()].filter((c) => c.wave === w.wave);
      expect(w.children, `wave ${w.wave}`).toBe(kids.length);
      expect(w.fillRate, `wave ${w.wave}`).toBeCloseTo((filledByWave.get(w.wave) ?? 0) / kids.reduce((a, c) => a + c.amount, 0), 12);
    }
  });

  it("writes execution per bar and asset (underfill, opportunity cost, tracking error) that a by-hand reading of the log gives", () => {
    const csv = lines(join(venueRec.dir, venueRec.summary.files.execution)).map((l) => l.split(","));
    const header = csv[0] as string[];
    const col = (row: string[], name: string): string => row[header.indexOf(name)] as string;
    const orders = lines(join(venue.systemLogDir, "orders.jsonl")).map((l) => JSON.parse(l) as { bar: number; orderId: number; text: string });
    expect(csv.length - 1).toBe(orders.length);
    // Prices per bar and asset from targets.jsonl; fills per parent; net wealth per bar.
    const price = new Map<string, number>();
    for (const l of lines(join(venue.systemLogDir, "targets.jsonl"))) {
      const t = JSON.parse(l) as { bar: number; rows: { assetId: number; price?: string }[] };
      for (const r of t.rows) if (r.price !== undefined) price.set(`${t.bar}:${r.assetId}`, Number(r.price));
    }
    const filled = new Map(lines(join(venue.systemLogDir, "fills.jsonl")).map((l) => JSON.parse(l) as { parentOrderId: number; numShares: string }).map((f) => [f.parentOrderId, Number(f.numShares)]));
    const wealth = new Map(lines(join(venue.systemLogDir, "portfolio.jsonl")).map((l) => JSON.parse(l) as { bar: number; netWealth: string }).map((b) => [b.bar, Number(b.netWealth)]));
    let underfilled = 0;
    for (const o of orders.filter((x) => x.bar < 30)) {
      const row = csv.find((r) => col(r, "parent_order_id") === String(o.orderId)) as string[];
      const assetId = Number(/asset_id=(\d+)/.exec(o.text)?.[1]);
      const target = Number(/diff_num_shares=(\S+)/.exec(o.text)?.[1]);
      const done = filled.get(o.orderId) ?? 0;
      const arrival = price.get(`${o.bar}:${assetId}`) as number;
      const next = price.get(`${o.bar + 1}:${assetId}`) as number;
      const underfill = Math.max(0, Math.abs(target) - Math.abs(done));
      if (underfill > 0) underfilled++;
      expect(Number(col(row, "bar"))).toBe(o.bar);
      expect(Number(col(row, "underfill_shares"))).toBeCloseTo(underfill, 9);
      expect(Number(col(row, "opportunity_cost"))).toBeCloseTo(Math.sign(target) * underfill * (next - arrival), 6);
      expect(Number(col(row, "tracking_error_notional"))).toBeCloseTo((done - target) * arrival, 6);
      expect(Number(col(row, "tracking_error_bps"))).toBeCloseTo((1e4 * Math.abs((done - target) * arrival)) / (wealth.get(o.bar) as number), 6);
    }
    expect(underfilled).toBeGreaterThan(0);
    // The summary's totals are the rows' sums.
    const sum = (name: string, abs = false): number => csv.slice(1).reduce((a, r) => a + (abs ? Math.abs(Number(col(r, name))) : Number(col(r, name))), 0);
    expect(venueRec.summary.execution.prod.opportunityCost).toBeCloseTo(sum("opportunity_cost"), 6);
    expect(venueRec.summary.execution.prod.trackingErrorNotional).toBeCloseTo(sum("tracking_error_notional", true), 6);
  });

  it("statistics match an independent computation from the raw log lines", () => {
    const s = venueRec.summary;
    const pnlOf = (file: string): (string | null)[] => lines(file).map((l) => (JSON.parse(l) as { pnl: string | null }).pnl);
    const prodPnl = pnlOf(join(venue.systemLogDir, "portfolio.jsonl"));
    const simPnl = pnlOf(join(venueRec.dir, s.files.sim as string, "system_log_dir", "portfolio.jsonl"));
    const total = prodPnl.reduce((a, p) => a.add(p ?? 0), new Decimal(0));
    expect(s.statistics.prod.totalPnl).toBe(total.toFixed());
    // Pearson correlation by hand over the bars with a PnL.
    const xs = prodPnl.flatMap((p, i) => (p === null || simPnl[i] === null ? [] : [Number(p)]));
    const ys = simPnl.flatMap((p, i) => (p === null || prodPnl[i] === null ? [] : [Number(p)]));
    const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
    const my = ys.reduce((a, b) => a + b, 0) / ys.length;
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    xs.forEach((x, i) => {
      sxy += (x - mx) * ((ys[i] as number) - my);
      sxx += (x - mx) ** 2;
      syy += ((ys[i] as number) - my) ** 2;
    });
    expect(s.pnlCorrelation.prod_vs_sim).toBeCloseTo(sxy / Math.sqrt(sxx * syy), 10);
    expect(Math.abs(s.pnlCorrelation.prod_vs_sim as number)).toBeLessThan(1);
    // Fill rate: |filled| / |target| over the parent orders, from orders.jsonl text and fills.jsonl.
    const target = lines(join(venue.systemLogDir, "orders.jsonl")).reduce((a, l) => a.add(new Decimal(/diff_num_shares=(\S+)/.exec(l)?.[1] as string).abs()), new Decimal(0));
    const fills = lines(join(venue.systemLogDir, "fills.jsonl")).map((l) => JSON.parse(l) as { numShares: string; fees: string });
    const filled = fills.reduce((a, f) => a.add(new Decimal(f.numShares).abs()), new Decimal(0));
    expect(s.execution.prod.fillRate).toBeCloseTo(filled.div(target).toNumber(), 12);
    expect(s.statistics.prod.totalFees).toBe(fills.reduce((a, f) => a.add(f.fees), new Decimal(0)).toFixed());
  });
});

describe("execution quality", () => {
  it("the run's float summary agrees with execution-quality.ts summarizeExecution (exact decimals) on a TWAP run", () => {
    const log = loadSystemLog(venue.runDir);
    const symbolOf = new Map(log.targets.flatMap((t) => t.rows.map((r) => [r.assetId, r.symbol] as const)));
    const parents = parentOutcomes(log, symbolOf);
    const waves = waveFills(log.brokerLogDir);
    const fast = runExecution(parents, waves).summary;
    const exact = summarizeExecution(parents, waves.map((w) => ({ wave: w.wave, childAmount: new Decimal(w.amount), filled: new Decimal(w.filled), makerAmount: new Decimal(w.makerAmount), takerAmount: new Decimal(w.takerAmount) })));
    expect(fast.parents).toBe(exact.parents);
    expect(fast.fillRate).toBeCloseTo(exact.fillRate, 12);
    expect(fast.slippageBps).toBeCloseTo(exact.slippageBps, 9);
    expect(fast.feesBps).toBeCloseTo(exact.feesBps, 9);
    expect(fast.makerShare).toBeCloseTo(exact.makerShare, 12);
    expect(fast.filledNotional).toBeCloseTo(exact.filledNotional, 6);
    expect(fast.opportunityCost).toBeCloseTo(exact.opportunityCost, 6);
    expect(fast.trackingErrorNotional).toBeCloseTo(exact.trackingErrorNotional, 6);
    // A TWAP run on the venue underfills: there is something to measure.
    expect(exact.trackingErrorNotional).toBeGreaterThan(0);
    expect(parents.filter((p) => p.nextMark === undefined).map((p) => p.bar)).toEqual([]);
    expect(fast.perWave.map((w) => [w.wave, w.children])).toEqual(exact.perWave.map((w) => [w.wave, w.children]));
    fast.perWave.forEach((w, i) => {
      expect(w.fillRate).toBeCloseTo(exact.perWave[i]?.fillRate as number, 12);
      expect(w.makerShare).toBeCloseTo(exact.perWave[i]?.makerShare as number, 12);
    });
    expect(exact.perWave.length).toBeGreaterThan(1);
  });
});

describe("the HTML report in headless chromium", () => {
  it("opens with no console error, every chart drawn, the verdict on top; screenshot in test-output/", async () => {
    const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"] });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("request", (r) => requests.push(r.url()));
      await page.goto(pathToFileURL(venueRec.reportPath).href);
      const charts: { id: string; svgs: number; marks: number; lines: number; width: number; height: number }[] = [];
      const figures = page.locator("figure.chart");
      for (let i = 0; i < (await figures.count()); i++) {
        const f = figures.nth(i);
        const svg = f.locator(":scope > svg");
        const box = await svg.first().boundingBox();
        charts.push({
          id: (await f.getAttribute("id")) ?? "?", svgs: await svg.count(), marks: await svg.locator("g.role-mark > *").count(),
          lines: await svg.locator("g.mark-line > path").count(), width: box?.width ?? 0, height: box?.height ?? 0,
        });
      }
      expect(errors).toEqual([]);
      // Self-contained: nothing but the page itself is fetched.
      expect(requests.filter((u) => !u.startsWith("file://") && !u.startsWith("data:"))).toEqual([]);
      expect(charts.map((c) => c.id)).toEqual(["cumulative-pnl", "holdings", "trades", "execution", "timing"]);
      for (const c of charts) {
        expect(c.svgs, c.id).toBe(1);
        expect(c.marks, c.id).toBeGreaterThan(0);
        expect(c.width, c.id).toBeGreaterThan(300);
        expect(c.height, c.id).toBeGreaterThan(100);
      }
      // prod, sim and research lines.
      expect(charts[0]?.lines).toBe(3);
      const verdictTop = await page.locator("#verdict").boundingBox();
      const firstChart = await page.locator("figure.chart").first().boundingBox();
      expect(verdictTop?.y).toBeLessThan(firstChart?.y ?? 0);
      expect(await page.locator("#verdict .word").textContent()).toBe("PASS");
      const out = join(REPO, "test-output", "reconciliation-report.png");
      mkdirSync(dirname(out), { recursive: true });
      await page.screenshot({ path: out, fullPage: true });
      expect(readFileSync(out).subarray(1, 4).toString()).toBe("PNG");

      // A failed reconciliation says so on top.
      const failing = join(dirname(venueRec.dir), "20240103_000001", "report.html");
      if (existsSync(failing)) {
        await page.goto(pathToFileURL(failing).href);
        expect(await page.locator("#verdict .word").textContent()).toBe("FAIL");
        expect(await page.locator("#verdict li").count()).toBeGreaterThan(0);
        expect(errors).toEqual([]);
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe("a run on S3", () => {
  it("is fetched by its s3:// URL, reconciled, and its summary and report are put beside it with their content types", async () => {
    const server = await startS3rver(["tl-runs"]);
    const s3Options = { endpoint: server.endpoint, region: "us-east-1", credentials: S3RVER_CREDENTIALS };
    const store = new S3Store({ bucket: "tl-runs", prefix: "runs", ...s3Options });
    try {
      const prefix = `dev/momentum/simulation/manual/${PERIOD}`;
      await uploadRunDir(instant.systemLogDir, store, `${prefix}/system_log_dir`);
      const r = await reconcileRunAt(`s3://tl-runs/runs/${prefix}`, { runTimestamp: "20240106_000000", keepSimRun: false }, { s3: s3Options, cacheRoot: tmp("tl-rec-cache-") });
      expect(r.summary.verdict.pass).toBe(true);
      expect(r.summary.differences.total).toBe(0);
      expect(r.published).toEqual(["summary.json", "report.html", "execution_by_bar_asset.csv"].map((f) => `s3://tl-runs/runs/${prefix}/reconciliation/20240106_000000/${f}`));
      expect(Buffer.from(await store.get(`${prefix}/reconciliation/20240106_000000/summary.json`)).equals(readFileSync(r.summaryPath))).toBe(true);
      const raw = new S3Client({ ...s3Options, forcePathStyle: true });
      try {
        const head = await raw.send(new HeadObjectCommand({ Bucket: "tl-runs", Key: `runs/${prefix}/reconciliation/20240106_000000/report.html` }));
        expect(head.ContentType).toBe("text/html; charset=utf-8");
      } finally {
        raw.destroy();
      }
    } finally {
      store.close();
      await server.stop();
    }
  }, 60_000);
});

describe("the reconcile job", () => {
  const ctx = (over: Partial<TaskContext>): TaskContext => ({
    dagId: "paper_trading.momentum", taskId: "reconcile", runKey: "paper_trading.momentum.manual.20240102T000000", runType: "manual",
    logicalStart: Date.UTC(2024, 0, 2), logicalEnd: Date.UTC(2024, 0, 3), conf: {}, attempt: 1, dataRoot: tmp("tl-rec-job-"),
    signal: new AbortController().signal, upstream: {}, log: () => undefined, progress: () => undefined, ...over,
  });

  it("reconciles the upstream run_system's run and returns the verdict and paths", async () => {
    const logged: string[] = [];
    const out = (await reconcileTask(ctx({ upstream: { run_system: { runDir: instant.runDir, bars: 48 } }, conf: { runTimestamp: "20240105_000000" }, log: (m) => logged.push(m) }))) as Record<string, unknown>;
    expect(out).toMatchObject({ verdict: "pass", reasons: [], published: [] });
    expect(out["summaryPath"]).toBe(join(instant.runDir, "reconciliation", "20240105_000000", "summary.json"));
    expect(out["reportPath"]).toBe(join(instant.runDir, "reconciliation", "20240105_000000", "report.html"));
    expect(logged.at(-1)).toMatch(/^reconcile PASS: 0 differences \(0 counted by the verdict\); report /);
    // A scheduled reconciliation keeps its summary and report, not the simulation's run, unless asked.
    expect(readdirSync(join(instant.runDir, "reconciliation", "20240105_000000")).sort()).toEqual(["execution_by_bar_asset.csv", "report.html", "summary.json"]);
    await reconcileTask(ctx({ upstream: { run_system: { runDir: instant.runDir, bars: 48 } }, conf: { runTimestamp: "20240106_000000", reconcile: { keepSimRun: true } } }));
    expect(readdirSync(join(instant.runDir, "reconciliation", "20240106_000000")).sort()).toEqual(["execution_by_bar_asset.csv", "report.html", "sim", "summary.json"]);
  }, 90_000);

  it("says where informational differences come from when the sim cannot replay the run's broker", async () => {
    const logged: string[] = [];
    await reconcileTask(ctx({ upstream: { run_system: { runDir: venue.runDir, bars: 36 } }, conf: { runTimestamp: "20240105_000000" }, log: (m) => logged.push(m) }));
    expect(logged.at(-1)).toMatch(/^reconcile PASS: \d+ differences \(0 counted by the verdict; the sim fills at once where the run traded through its embedded broker, so the others measure execution\); report /);
  }, 90_000);

  it("without an upstream run it takes conf.runDir, and says what is missing otherwise (not retried: a retry sees the same)", async () => {
    await expect(reconcileTask(ctx({}))).rejects.toThrow(/no run to reconcile: no succeeded run_system task in this run, and conf.runDir is not set/);
    await expect(reconcileTask(ctx({}))).rejects.toSatisfy(isPermanent);
    await expect(reconcileTask(ctx({ upstream: { run_system: { bars: 3 } } }))).rejects.toThrow(/upstream run_system output: runDir/);
    await expect(reconcileTask(ctx({ upstream: { run_system: { bars: 3 } } }))).rejects.toSatisfy(isPermanent);
    await expect(reconcileTask(ctx({ conf: { runDir: instant.runDir, runTimestamp: "yesterday" } }))).rejects.toThrow(/conf: runTimestamp: a UTC time as YYYYMMDD_HHMMSS/);
  });
});

describe("bad input", () => {
  it("names what is wrong", async () => {
    const notRun = tmp("tl-rec-bad-");
    await expect(reconcileRun(notRun, { runTimestamp: TS })).rejects.toThrow(`${notRun}: not a system log directory`);
    await expect(reconcileRun(instant.runDir, { runTimestamp: TS })).rejects.toThrow(/already exists: a reconciliation with run timestamp 20240103_000000 was written/);
    await expect(reconcileRun(instant.runDir, { runTimestamp: "2024-01-03" })).rejects.toThrow(/reconcile options: runTimestamp: a UTC time as YYYYMMDD_HHMMSS/);
    await expect(reconcileRun(instant.runDir, { runTimestamp: TS, thresholds: { minFillRate: 2 } })).rejects.toThrow(/reconcile options: thresholds\.minFillRate: /);
    await expect(reconcileRun(instant.runDir, { runTimestamp: TS, thresholds: { minFillRat: 0.5 } } as never)).rejects.toThrow(/reconcile options: thresholds: .*minFillRat/);
    await expect(reconcileRun(instant.runDir)).rejects.toThrow(/no run timestamp: pass options.runTimestamp/);
  });

  it("a corrupt log line is named with its file and line", async () => {
    const dir = copyRun(instant);
    const file = join(dir, "system_log_dir", "fills.jsonl");
    const ls = lines(file);
    ls[2] = (ls[2] as string).replace(/"price":"[^"]+"/, '"price":"abc"');
    writeFileSync(file, ls.join("\n") + "\n");
    await expect(reconcileRun(dir, { runTimestamp: TS })).rejects.toThrow(new RegExp(`${relative("/", file).replace(/\//g, "\\/")}:3: field "price": "abc" is not a number`));
  });

  it("a simulation that fails on its worker thread is named, with the recorded file and line at fault", async () => {
    const dir = copyRun(instant);
    // Bid/ask quotes are read by the simulation only (the research portfolio marks on bars).
    const file = join(dir, "system_log_dir", "market_data", "bid_ask", "bid_ask_20240102.csv");
    const ls = lines(file);
    ls[5] = (ls[5] as string).replace(/,[^,]+$/, ",lots");
    writeFileSync(file, ls.join("\n") + "\n");
    const err = await reconcileRun(dir, { runTimestamp: TS }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).toMatch(new RegExp(`the simulation on .*market_data failed: .*bid_ask_20240102\\.csv:6: `));
  });

  it("a failed reconciliation writes nothing, and the one it was to replace stays as it was", async () => {
    const dir = copyRun(instant);
    const first = await reconcileRun(dir, { runTimestamp: TS });
    const before = readFileSync(first.summaryPath, "utf8");
    // The simulation fails on its worker thread, after the run's log has been read.
    const csv = join(dir, "system_log_dir", "market_data", "bid_ask", "bid_ask_20240102.csv");
    const ls = lines(csv);
    ls[5] = (ls[5] as string).replace(/,[^,]+$/, ",lots");
    writeFileSync(csv, ls.join("\n") + "\n");
    await expect(reconcileRun(dir, { runTimestamp: TS, replaceExisting: true })).rejects.toThrow(/bid_ask_20240102\.csv:6: /);
    expect(readFileSync(first.summaryPath, "utf8")).toBe(before);
    expect(existsSync(first.reportPath)).toBe(true);
    expect(readdirSync(join(dir, "reconciliation"))).toEqual([TS]);
    // A first reconciliation that fails leaves no folder behind (a retry then needs no replace).
    await expect(reconcileRun(dir, { runTimestamp: "20240104_000000" })).rejects.toThrow(/bid_ask_20240102\.csv:6: /);
    expect(readdirSync(join(dir, "reconciliation"))).toEqual([TS]);
  });

  it("a run without its recorded market data cannot be replayed, and says so", async () => {
    const dir = copyRun(instant);
    writeFileSync(join(dir, "system_log_dir", "market_data", "markets.json"), "{not json");
    await expect(reconcileRun(dir, { runTimestamp: TS })).rejects.toThrow(/markets\.json:1:2: not valid JSON: a property name takes double quotes$/);
  });
});
