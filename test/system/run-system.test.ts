import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { Decimal } from "decimal.js";
import { beforeAll, describe, expect, it } from "vitest";
import { collectPnlSeries, pnlWindows } from "../../src/analysis/pnl-series.js";
import { mean, std } from "../../src/analysis/statistics.js";
import { keyVariables } from "../../src/exchanges/ccxt-client.js";
import { isPermanent } from "../../src/orchestration/task.js";
import { readBrokerLog } from "../../src/oms/broker-log-reader.js";
import { resolveConfig, type SystemConfigInput } from "../../src/system/config.js";
import { runSystem, type RunSystemResult } from "../../src/system/run-system.js";
import { loadSystemLog } from "../../src/system/system-log-loader.js";
import { MEASURED_FILES } from "../../src/system/system-log.js";
import { SMALL_RUN } from "../helpers/small-run.js";

const base: SystemConfigInput = SMALL_RUN;

function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out;
}

async function run(over: Partial<SystemConfigInput> = {}, root = tmp("tl-sys-")): Promise<RunSystemResult> {
  return runSystem(resolveConfig({ ...base, ...over, outputRoot: root }), { given: { ...base, ...over } });
}

describe("system run (simulation against the embedded venue)", () => {
  let r: RunSystemResult;
  beforeAll(async () => {
    r = await run();
  }, 60_000);

  it("writes the system log directory in the run layout", () => {
    expect(r.runDir.endsWith(join("dev", "momentum", "simulation", "manual", "20240102_000000.20240102_020000"))).toBe(true);
    const files = filesUnder(r.systemLogDir);
    for (const f of ["config.given.json", "config.resolved.json", "portfolio.jsonl", "targets.jsonl", "orders.jsonl", "fills.jsonl", "dag_profiling.jsonl", "log.txt", "summary.json", "dag/prediction.jsonl", "dag/momentum.jsonl", "dag/volatility.jsonl", "broker_log/oms_child_orders.jsonl", "broker_log/ccxt_trades.jsonl", "broker_log/broker_config.json", "market_data/markets.json"]) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => /^market_data\/ohlcv\/ohlcv_20240102\.csv$/.test(f))).toBe(true);
    // The broker log's Parquet copies are not written inside the run (a DAG task writes them after).
    expect(files.filter((f) => f.startsWith("broker_log/") && f.endsWith(".parquet"))).toEqual([]);
    const log = loadSystemLog(r.runDir);
    expect(log.portfolio).toHaveLength(25);
    expect(log.targets).toHaveLength(24);
    expect(r.summary.parentFills).toBeGreaterThan(0);
  });

  it("per-bar portfolio and statistics match an independent recomputation from the logged fills", () => {
    const log = loadSystemLog(r.runDir);
    const initialCash = new Decimal(log.configResolved["initialCash"] as string);
    const holdings = new Map<number, Decimal>();
    const lastNotional = new Map<number, Decimal>();
    let cash = initialCash;
    const pnls: number[] = [];
    const gross: number[] = [];
    for (const bar of log.portfolio) {
      // Fills of the submission made at the previous bar arrive by this bar.
      const fills = log.fills.filter((f) => f.bar === bar.bar - 1);
      const exec = new Map<number, Decimal>();
      let fees = new Decimal(0);
      for (const f of fills) {
        holdings.set(f.assetId, (holdings.get(f.assetId) ?? new Decimal(0)).add(f.numShares));
        const n = f.numShares.mul(f.price);
        exec.set(f.assetId, (exec.get(f.assetId) ?? new Decimal(0)).add(n));
        cash = cash.sub(n).sub(f.fees);
        fees = fees.add(f.fees);
      }
      expect(bar.cash.toFixed()).toBe(cash.toFixed());
      expect(bar.fees.toFixed()).toBe(fees.toFixed());
      let pnl = new Decimal(0);
      let g = new Decimal(0);
      for (const a of bar.assets) {
        const shares = holdings.get(a.assetId) ?? new Decimal(0);
        expect(a.holdingsShares.toFixed()).toBe(shares.toFixed());
        const notional = shares.mul(a.price);
        expect(a.holdingsNotional.toFixed()).toBe(notional.toFixed());
        const e = exec.get(a.assetId) ?? new Decimal(0);
        pnl = pnl.add(notional.sub(lastNotional.get(a.assetId) ?? 0).sub(e));
        g = g.add(e.abs());
        lastNotional.set(a.assetId, notional);
      }
      if (bar.bar === 0) expect(bar.pnl).toBeUndefined();
      else {
        expect(bar.pnl?.toFixed()).toBe(pnl.toFixed());
        pnls.push(pnl.toNumber());
        gross.push(g.toNumber());
      }
    }
    const s = r.summary.statistics;
    expect(r.summary.totalPnl).toBeCloseTo(pnls.reduce((a, b) => a + b, 0), 6);
    const barsPerYear = (365 * 24 * 60) / 5;
    expect(s.sharpeRatio).toBeCloseTo((mean(pnls) / std(pnls)) * Math.sqrt(barsPerYear), 6);
    expect(s.turnoverMean.dollars).toBeCloseTo(gross.reduce((a, b) => a + b, 0) / gross.length, 6);
    // Wealth identity: the change in net wealth is the PnL less the fees (to rounding: a parent's
    // fill price is a VWAP, a quotient carried to 20 significant digits).
    const last = log.portfolio.at(-1);
    const allFees = log.portfolio.reduce((a, b) => a.add(b.fees), new Decimal(0));
    const exactPnl = log.portfolio.reduce((a, b) => a.add(b.pnl ?? 0), new Decimal(0));
    expect(last?.netWealth.sub(initialCash).sub(exactPnl.sub(allFees)).abs().lt(1e-9)).toBe(true);
  });

  it("the system's fills are the broker log's parent fills", () => {
    const log = loadSystemLog(r.runDir);
    const broker = readBrokerLog(log.brokerLogDir);
    expect(broker.parentFills.map((f) => [f.parentOrderId, f.numShares.toFixed(), f.price.toFixed()])).toEqual(log.fills.map((f) => [f.parentOrderId, f.numShares.toFixed(), f.price.toFixed()]));
  });

  it("is deterministic: the same config and seed give byte-identical files (measured durations aside)", async () => {
    const again = await run();
    const a = filesUnder(r.systemLogDir);
    expect(filesUnder(again.systemLogDir)).toEqual(a);
    for (const f of a) {
      if ((MEASURED_FILES as readonly string[]).includes(f)) continue;
      expect(readFileSync(join(again.systemLogDir, f)).equals(readFileSync(join(r.systemLogDir, f))), f).toBe(true);
    }
  }, 60_000);

  it("with the synthetic history made on a worker thread while it trades, writes the same files byte for byte", async () => {
    // 5-minute bars: the TWAP waves of a bar read bid/ask up to the next bar, which the worker must have made by then.
    const cfg = { ...base, data: { source: "synthetic" as const, seed: 4 }, broker: { kind: "instant_fill" as const } };
    const [inline, streamed] = await Promise.all(
      [false, true].map((inWorker) => runSystem(resolveConfig({ ...cfg, outputRoot: tmp("tl-sys-hist-") }), { given: cfg, syntheticHistoryInWorker: inWorker })),
    );
    if (inline === undefined || streamed === undefined) throw new Error("two runs expected");
    const files = filesUnder(inline.systemLogDir);
    expect(files).toContain("market_data/bid_ask/bid_ask_20240102.csv");
    expect(inline.summary.parentFills).toBeGreaterThan(20);
    expect(filesUnder(streamed.systemLogDir)).toEqual(files);
    for (const f of files) {
      if ((MEASURED_FILES as readonly string[]).includes(f)) continue;
      expect(readFileSync(join(streamed.systemLogDir, f)).equals(readFileSync(join(inline.systemLogDir, f))), f).toBe(true);
    }
  }, 60_000);

  it("without recordMarketData writes everything but market_data/, byte for byte the same", async () => {
    const root = tmp("tl-sys-norec-");
    const lean = await runSystem(resolveConfig({ ...base, outputRoot: root }), { given: base, recordMarketData: false });
    const full = filesUnder(r.systemLogDir);
    expect(full.some((f) => f.startsWith("market_data/"))).toBe(true);
    const kept = full.filter((f) => !f.startsWith("market_data/") && f !== "checkpoint.json");
    expect(filesUnder(lean.systemLogDir).filter((f) => f !== "checkpoint.json")).toEqual(kept);
    for (const f of kept) {
      if ((MEASURED_FILES as readonly string[]).includes(f)) continue;
      expect(readFileSync(join(lean.systemLogDir, f)).equals(readFileSync(join(r.systemLogDir, f))), f).toBe(true);
    }
  }, 60_000);

  it("refuses to overwrite a run", async () => {
    const root = join(r.runDir, "..", "..", "..", "..", "..");
    await expect(run({}, root)).rejects.toThrow(/already holds a run/);
  });

  it("records the bid/ask every wave priced from: one row stamped at each wave start, bar boundaries included", () => {
    const resolved = JSON.parse(readFileSync(join(r.systemLogDir, "config.resolved.json"), "utf8")) as { order: { executionFrequencySeconds: number } };
    const waveMs = resolved.order.executionFrequencySeconds * 1000;
    const start = Date.parse(base.start as string);
    const end = Date.parse(base.end as string);
    const expected: number[] = [];
    for (let t = start; t < end; t += waveMs) expected.push(t);
    const csv = readFileSync(join(r.systemLogDir, "market_data", "bid_ask", "bid_ask_20240102.csv"), "utf8").trim().split("\n").slice(1);
    const bySymbol = new Map<string, number[]>();
    for (const line of csv) {
      const [ts, symbol] = line.split(",") as [string, string];
      const t = Date.parse(ts);
      if (t < end) bySymbol.set(symbol, [...(bySymbol.get(symbol) ?? []), t]);
    }
    expect(bySymbol.size).toBe(4);
    for (const times of bySymbol.values()) expect(times).toEqual(expected);
  });

  it("order.flattenAtEnd: the closing trades are fills of the last bar, the final portfolio is flat, and PnL and fees include them", async () => {
    const flat = await run({ order: { flattenAtEnd: true } });
    const plain = loadSystemLog(r.runDir);
    const log = loadSystemLog(flat.runDir);
    const last = log.portfolio.at(-1);
    const before = log.portfolio.at(-2);
    if (last === undefined || before === undefined) throw new Error("no portfolio");
    // The same run up to its last trading bar, which closes what was held.
    expect(log.portfolio.slice(0, -1)).toEqual(plain.portfolio.slice(0, -1));
    const held = before.assets.filter((a) => !a.holdingsShares.isZero());
    expect(held.length).toBeGreaterThan(0);
    for (const a of last.assets) expect(a.holdingsShares.toFixed()).toBe("0");
    expect(last.nmv.toFixed()).toBe("0");
    // One closing fill per position held, under the last trading bar, after the bar's own fills.
    const closing = log.fills.slice(plain.fills.length);
    expect(log.fills.slice(0, plain.fills.length)).toEqual(plain.fills);
    expect(closing.map((f) => f.bar)).toEqual(held.map(() => 23));
    expect(new Set(closing.map((f) => f.assetId))).toEqual(new Set(held.map((a) => a.assetId)));
    const closingFees = closing.reduce((a, f) => a.add(f.fees), new Decimal(0));
    expect(closingFees.isPositive()).toBe(true);
    // The last bar's cash, fees and PnL move by the closing trades too (DOMAIN.md section 6).
    const lastBarFills = log.fills.filter((f) => f.bar === 23);
    const traded = lastBarFills.reduce((a, f) => a.add(f.numShares.mul(f.price)), new Decimal(0));
    const fees = lastBarFills.reduce((a, f) => a.add(f.fees), new Decimal(0));
    expect(last.cash.toFixed()).toBe(before.cash.sub(traded).sub(fees).toFixed());
    expect(last.fees.toFixed()).toBe(fees.toFixed());
    expect(flat.summary.totalFees).toBeCloseTo(r.summary.totalFees + closingFees.toNumber(), 8);
    expect(flat.summary.finalNetWealth).toBe(last.cash.toFixed());
    expect(flat.summary.totalPnl).not.toBeCloseTo(r.summary.totalPnl, 6);
    expect(flat.summary.parentFills).toBe(r.summary.parentFills + closing.length);
    // The broker log has every fill the portfolio applied.
    const broker = readBrokerLog(log.brokerLogDir);
    expect(broker.parentFills.map((f) => [f.parentOrderId, f.numShares.toFixed(), f.price.toFixed()])).toEqual(log.fills.map((f) => [f.parentOrderId, f.numShares.toFixed(), f.price.toFixed()]));
  }, 60_000);

  it("replays the recorded market data as a simulation with instant fills", async () => {
    const replay = await run({ data: { source: "files", dir: join(r.systemLogDir, "market_data") }, broker: { kind: "instant_fill" } });
    const log = loadSystemLog(replay.runDir);
    expect(log.portfolio).toHaveLength(25);
    expect(replay.summary.parentFills).toBeGreaterThan(0);
    // The model saw the same data, so it predicted the same.
    const orig = loadSystemLog(r.runDir).dag.get("prediction");
    expect(log.dag.get("prediction")).toEqual(orig);
  }, 60_000);
});

describe("limit prices from the volatility computer (order.limitPrice)", () => {
  it("prices every TWAP child as last touch -/+ total volatility x the multiple, rounded to the tick", async () => {
    const r = await run({ end: "2024-01-02T00:30:00Z", order: { limitPrice: "volatility", volatilityMultiple: [0.5, 1, 1.5, 2] } });
    const sends = readBrokerLog(join(r.systemLogDir, "broker_log")).childOrders.filter((c) => c.event === "sending");
    expect(sends.length).toBeGreaterThan(0);
    const markets = JSON.parse(readFileSync(join(r.systemLogDir, "market_data", "markets.json"), "utf8")) as Record<string, { precision: { price: number } }>;
    for (const c of sends) {
      const i = c.limitInputs as { computer: string; side: string; latestBid: number; latestAsk: number; totalVolatility: number; volatilityMultiple: number; waveId: number };
      expect(i.computer).toBe("volatility");
      expect(i.volatilityMultiple).toBe([0.5, 1, 1.5, 2][i.waveId]);
      // DOMAIN.md section 2: buy at last ask - vol x vm, sell at last bid + vol x vm.
      const raw = i.side === "buy" ? i.latestAsk - i.totalVolatility * i.volatilityMultiple : i.latestBid + i.totalVolatility * i.volatilityMultiple;
      const tick = (markets[c.symbol] as { precision: { price: number } }).precision.price;
      expect(Math.abs(Number(c.limitPrice) - raw)).toBeLessThanOrEqual(tick / 2 + 1e-9);
      expect(Math.abs(Number(c.limitPrice) / tick - Math.round(Number(c.limitPrice) / tick))).toBeLessThan(1e-6);
    }
  }, 60_000);
});

const MINUTE = 60_000;

describe("paper trading on the embedded venue (scaled clock)", () => {
  it("starts with the model's warm-up history, so it predicts and trades from the first bar", async () => {
    const r = await run({ model: { name: "momentum" }, mode: "paper_trading", clock: { kind: "scaled", speed: 400 }, end: "2024-01-02T00:30:00Z", universe: { kind: "synthetic", assets: 3, seed: 1 } });
    const log = loadSystemLog(r.runDir);
    // momentum needs 25 bars of history: without a warm-up, a live session predicted nothing for two hours.
    expect(log.dag.get("prediction")?.map((p) => Object.keys(p.values).length)).toEqual([3, 3, 3, 3, 3, 3]);
    expect(log.orders.filter((o) => o.bar === 0).length).toBeGreaterThan(0);
    // The recorded history joins the live market: per symbol, the last warm-up close and the first
    // live one are a normal minute's move apart, not two unrelated price paths.
    const dir = join(r.systemLogDir, "market_data", "ohlcv");
    const rows = readdirSync(dir).flatMap((f) => readFileSync(join(dir, f), "utf8").trim().split("\n").slice(1).map((l) => l.split(",")));
    const start = Date.parse("2024-01-02T00:00:00Z");
    for (const symbol of new Set(rows.map((x) => x[1] as string))) {
      const bars = rows.filter((x) => x[1] === symbol).map((x) => ({ t: Date.parse(x[0] as string), close: Number(x[6]) })).sort((a, b) => a.t - b.t);
      const before = bars.filter((b) => b.t < start);
      const after = bars.find((b) => b.t >= start);
      expect(before.length, symbol).toBeGreaterThanOrEqual(25 * 5);
      // No hole where the live feed takes over: a bar every minute across the session start, but for
      // at most the one minute in progress at the handover (the scaled clock runs on while the live
      // market starts, and a minute the live feed did not see from its start is not published).
      const around = bars.filter((b) => b.t >= start - 10 * MINUTE && b.t < start + 10 * MINUTE).map((b) => b.t);
      const steps = around.slice(1).map((t, k) => t - (around[k] as number));
      expect(steps.filter((d) => d !== MINUTE).every((d) => d === 2 * MINUTE), `${symbol}: ${steps.join(",")}`).toBe(true);
      expect(steps.filter((d) => d !== MINUTE).length, symbol).toBeLessThanOrEqual(1);
      expect(Math.abs(Math.log((after?.close ?? NaN) / (before.at(-1)?.close ?? NaN))), symbol).toBeLessThan(0.01);
    }
  }, 60_000);

  it("has each bar's portfolio on disk while the bar's TWAP waves still work, so a PnL observer draws it at its slot", async () => {
    const root = tmp("tl-live-");
    const over: Partial<SystemConfigInput> = { mode: "paper_trading", clock: { kind: "scaled", speed: 300 }, data: { source: "venue" }, broker: { kind: "embedded" }, end: "2024-01-02T00:25:00Z", universe: { kind: "synthetic", assets: 3, seed: 1 } };
    const logDir = join(root, "dev", "momentum", "paper_trading", "manual", "20240102_000000.20240102_002500", "system_log_dir");
    const completeLines = (file: string): string[] => {
      if (!existsSync(file)) return [];
      const text = readFileSync(file, "utf8");
      return text.slice(0, text.lastIndexOf("\n") + 1).split("\n").filter((l) => l !== "");
    };
    const midBar: { bar: number; onDisk: boolean; last5: number }[] = [];
    // Polls the run the way the pnl_observer DAG does: which bar has started (log.txt), whether it is
    // done (its timing record is written at its end), and what the portfolio and the windows show.
    const poll = setInterval(() => {
      const started = [...completeLines(join(logDir, "log.txt")).join("\n").matchAll(/^(\S+) bar (\d+): /gm)].at(-1);
      if (started === undefined) return;
      const bar = Number(started[2]);
      const ended = completeLines(join(logDir, "timing.jsonl")).some((l) => (JSON.parse(l) as { bar: number }).bar === bar);
      if (ended) return;
      const onDisk = completeLines(join(logDir, "portfolio.jsonl")).some((l) => (JSON.parse(l) as { bar: number }).bar === bar);
      const last5 = pnlWindows(collectPnlSeries(root, { stage: "dev", model: "momentum" }), { asOf: Date.parse(started[1] as string) })[3]?.bars ?? 0;
      midBar.push({ bar, onDisk, last5 });
    }, 25);
    try {
      await run(over, root);
    } finally {
      clearInterval(poll);
    }
    // Seen mid-bar in several bars (a 5-minute bar lasts 1 s of wall time at this speed).
    expect(new Set(midBar.map((m) => m.bar)).size).toBeGreaterThanOrEqual(3);
    expect(midBar.filter((m) => !m.onDisk)).toEqual([]);
    // Bar 0 is the starting mark, with no PnL interval before it: the windows begin with bar 1.
    expect(midBar.filter((m) => m.bar > 0 && m.last5 === 0)).toEqual([]);
  }, 60_000);

  it("fills every order in full at the live mid with the instant-fill broker (DOMAIN.md section 9)", async () => {
    const r = await run({ model: { name: "momentum" }, mode: "paper_trading", clock: { kind: "scaled", speed: 1000 }, end: "2024-01-02T00:20:00Z", universe: { kind: "synthetic", assets: 3, seed: 1 }, data: { source: "venue" }, broker: { kind: "instant_fill" } });
    const log = loadSystemLog(r.runDir);
    expect(log.orders.length).toBeGreaterThan(0);
    expect(r.summary.parentFills).toBe(log.orders.length);
    // Each parent's fill is its whole target, at the mid of the venue's bid/ask the broker logged.
    const target = new Map(log.orders.map((o) => [o.orderId, new Decimal(/diff_num_shares=(\S+)/.exec(o.text)?.[1] as string)]));
    for (const f of log.fills) expect(f.numShares.equals(target.get(f.parentOrderId) as Decimal)).toBe(true);
    const book = readBrokerLog(join(r.systemLogDir, "broker_log"));
    expect(book.childOrders.filter((c) => c.event === "sending").length).toBe(log.orders.length);
  }, 60_000);
});

describe("a live session started late (real clock)", () => {
  const liveConfig = (startMs: number, endMs: number): Partial<SystemConfigInput> => ({
    mode: "paper_trading", clock: { kind: "real" }, data: { source: "venue" }, broker: { kind: "instant_fill" }, barMinutes: 1,
    start: new Date(startMs).toISOString(), end: new Date(endMs).toISOString(), universe: { kind: "synthetic", assets: 3, seed: 1 },
  });

  it("does not trade the bars whose time has passed: it starts at the next bar and says so", async () => {
    // The session's last bar is the current minute, reached less than half a bar ago.
    if (Date.now() % MINUTE >= 20_000) await new Promise((r) => setTimeout(r, MINUTE - (Date.now() % MINUTE) + 50));
    const end = Math.floor(Date.now() / MINUTE) * MINUTE;
    const r = await run(liveConfig(end - 10 * MINUTE, end));
    const log = loadSystemLog(r.runDir);
    expect(log.portfolio.map((b) => b.bar)).toEqual([10]);
    expect(log.orders).toEqual([]);
    expect(r.summary.barsDone).toBe(0);
    expect(r.summary.warnings.join("\n")).toMatch(/bars 0\.\.9 are past and not traded; trading starts at bar 10/);
  }, 90_000);

  it("refuses a session that is over", async () => {
    const end = Math.floor(Date.now() / MINUTE) * MINUTE - 5 * MINUTE;
    const err = await run(liveConfig(end - 10 * MINUTE, end)).catch((e: unknown) => e);
    expect(String(err)).toMatch(/is over \(now .*\): nothing left to trade/);
    // A DAG task does not spend its retries on it.
    expect(isPermanent(err)).toBe(true);
  }, 30_000);

  it("refuses a session over for days before simulating its warm-up", async () => {
    // Its warm-up would simulate the venue from the session's day up to now: minutes of work.
    const root = tmp("tl-over-");
    const err = await run({ ...liveConfig(Date.UTC(2024, 0, 5), Date.UTC(2024, 0, 6)), barMinutes: 1, universe: { kind: "synthetic", assets: 20, seed: 1 } }, root).catch((e: unknown) => e);
    expect(String(err)).toMatch(/session 2024-01-05T00:00:00.000Z .. 2024-01-06T00:00:00.000Z is over/);
    expect(readdirSync(root)).toEqual([]);
  }, 20_000);
});

describe("bad input", () => {
  it("a bad config names every bad field", () => {
    expect(() => resolveConfig({ ...base, barMinutes: 0, start: "not a time", model: { name: "../x" } }, "my.json")).toThrow(/my\.json: model\.name: .*\n.*barMinutes|my\.json: .*start/s);
    expect(() => resolveConfig({ ...base, mode: "prod" }, "c.json")).toThrow(/confirmProd: prod trades real money/);
    expect(() => resolveConfig({ ...base, start: "2024-01-02T00:01:00Z" }, "c.json")).toThrow(/c\.json: start: start must be on a 5-minute bar boundary/);
    expect(() => resolveConfig({ ...base, extra: 1 }, "c.json")).toThrow(/c\.json: \(root\): .*extra/);
    // 5-minute bars at 1-minute waves send in 4 waves: a per-wave list must cover them.
    expect(() => resolveConfig({ ...base, order: { limitPrice: "volatility", volatilityMultiple: [0.5, 1] } }, "c.json")).toThrow(/c\.json: order\.volatilityMultiple: 2 multiples for 4 sending waves a bar/);
    expect(resolveConfig({ ...base, order: { limitPrice: "volatility", volatilityMultiple: [0.5, 1, 1.5, 2] } }, "c.json").order.volatilityMultiple).toEqual([0.5, 1, 1.5, 2]);
  });

  it("a bad model parameter names it", async () => {
    await expect(run({ model: { name: "momentum", params: { lookbackBars: -1 } } })).rejects.toThrow(/model\.params\.lookbackBars/);
  });

  it("a corrupt market data file is named with its line", async () => {
    const dir = tmp("tl-baddata-");
    mkdirSync(join(dir, "ohlcv"), { recursive: true });
    writeFileSync(join(dir, "markets.json"), "{}");
    writeFileSync(join(dir, "ohlcv", "ohlcv_20240102.csv"), "timestamp,symbol,interval,open,high,low,close,volume,knowledge_timestamp\n2024-01-02T00:00:00.000Z,S01/USDT:USDT,1m,1,1,1,abc,0,2024-01-02T00:01:00.000Z\n");
    const root = tmp("tl-baddata-run-");
    await expect(run({ data: { source: "files", dir }, broker: { kind: "instant_fill" } }, root)).rejects.toThrow(/ohlcv_20240102\.csv:2/);
    // Nothing is left that would make the next try refuse to start: it fails for the same reason.
    expect(existsSync(join(root, "dev"))).toBe(false);
    await expect(run({ data: { source: "files", dir }, broker: { kind: "instant_fill" } }, root)).rejects.toThrow(/ohlcv_20240102\.csv:2/);
  });

  it("a prod run without API keys is refused, and leaves nothing that blocks the run once the keys are set", async () => {
    const vars = keyVariables("binanceusdm");
    const saved = [process.env[vars.apiKey], process.env[vars.secret]];
    delete process.env[vars.apiKey];
    delete process.env[vars.secret];
    try {
      const root = tmp("tl-prod-nokeys-");
      const prod: Partial<SystemConfigInput> = { mode: "prod", confirmProd: true, clock: { kind: "real" }, data: { source: "exchange" }, broker: { kind: "ccxt", exchangeId: "binanceusdm" }, universe: { kind: "symbols", symbols: ["BTC/USDT:USDT"] } };
      for (let attempt = 0; attempt < 2; attempt++) {
        await expect(run(prod, root)).rejects.toThrow(new RegExp(`prod: no API keys for binanceusdm: set ${vars.apiKey} and ${vars.secret}`));
      }
      expect(readdirSync(root)).toEqual([]);
    } finally {
      if (saved[0] !== undefined) process.env[vars.apiKey] = saved[0];
      if (saved[1] !== undefined) process.env[vars.secret] = saved[1];
    }
  });
});
