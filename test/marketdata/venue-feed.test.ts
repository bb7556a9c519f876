// The embedded venue's feed on a SimulatedClock with a SyntheticMarket: bars match the trades that
// happened, empty minutes repeat the close, bars appear at their minute's end and not before,
// snapshots are taken every second and match the book, and a recorder gets the same rows.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS } from "../../src/exchange/market/default-instruments.js";
import { SyntheticMarket } from "../../src/exchange/market/synthetic-market.js";
import { aggregateBars } from "../../src/marketdata/bar-aggregation.js";
import { MarketDataStore } from "../../src/marketdata/market-data-store.js";
import { checkMarketDataQuality } from "../../src/marketdata/quality-checks.js";
import { loadRecordedMarketData, RecordedMarketDataWriter } from "../../src/marketdata/recorded-files.js";
import { MINUTE_MS, type Bar } from "../../src/marketdata/types.js";
import { VenueMarketFeed, type VenueMarketFeedOptions } from "../../src/marketdata/venue-feed.js";

const T0 = Date.UTC(2024, 0, 2);
const SYMBOLS = DEFAULT_INSTRUMENTS.map((i) => i.symbol as string);
const root = mkdtempSync(join(tmpdir(), "tradeloop-venue-feed-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Trade {
  ts: number;
  symbol: string;
  price: number;
  qty: number;
}

function setup(opts: VenueMarketFeedOptions = {}, seed = 7, startAt = T0) {
  const clock = new SimulatedClock(startAt);
  const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
  const market = new SyntheticMarket(engine, { seed, symbols: DEFAULT_SYNTHETIC_SYMBOLS });
  const trades: Trade[] = [];
  engine.subscribe((e) => {
    if (e.type !== "trade") return;
    const inst = engine.instrument(e.symbol);
    if (inst === undefined) throw new Error("no instrument");
    trades.push({ ts: e.ts, symbol: e.symbol, price: Number(inst.formatPrice(e.price)), qty: e.qty });
  });
  const store = new MarketDataStore();
  const feed = new VenueMarketFeed(engine, clock, SYMBOLS, store, opts);
  return { clock, engine, market, store, feed, trades };
}

/** The bars the trades make, minute by minute, with empty minutes repeating the last close. */
function expectedBars(engine: ExchangeEngine, trades: Trade[], symbol: string, from: number, to: number): Bar[] {
  const inst = engine.instrument(symbol);
  if (inst === undefined) throw new Error("no instrument");
  const out: Bar[] = [];
  let last: number | undefined;
  for (let start = from; start + MINUTE_MS <= to; start += MINUTE_MS) {
    const mine = trades.filter((t) => t.symbol === symbol && t.ts >= start && t.ts < start + MINUTE_MS);
    if (mine.length === 0 && last === undefined) continue;
    const prices = mine.map((t) => t.price);
    const close = mine.length > 0 ? (prices.at(-1) as number) : (last as number);
    out.push({
      symbol, intervalMs: MINUTE_MS, start, end: start + MINUTE_MS, knowledgeTime: start + MINUTE_MS,
      open: mine.length > 0 ? (prices[0] as number) : close, high: mine.length > 0 ? Math.max(...prices) : close, low: mine.length > 0 ? Math.min(...prices) : close, close,
      volume: Number(inst.formatQty(mine.reduce((a, t) => a + t.qty, 0))),
    });
    last = close;
  }
  return out;
}

describe("VenueMarketFeed", () => {
  it("builds 1-minute bars that match the trades, and repeats the close through minutes without trades", () => {
    const { clock, engine, market, store, feed, trades } = setup();
    market.start();
    feed.start();
    clock.runUntil(T0 + 6 * MINUTE_MS);
    // Quiet market for three minutes: no takers, no trades.
    market.stop();
    clock.runUntil(T0 + 9 * MINUTE_MS + 30_000);
    expect(trades.length).toBeGreaterThan(100);
    expect(feed.trades).toBe(trades.length);
    for (const s of SYMBOLS) {
      const bars = store.allBars(s, MINUTE_MS);
      expect(bars).toHaveLength(9);
      expect(bars).toEqual(expectedBars(engine, trades, s, T0, T0 + 9 * MINUTE_MS));
      const quiet = bars.slice(6);
      for (const b of quiet) expect([b.open, b.high, b.low, b.close, b.volume]).toEqual([bars[5]?.close, bars[5]?.close, bars[5]?.close, bars[5]?.close, 0]);
    }
    expect(checkMarketDataQuality(store).filter((i) => i.type === "ohlcv")).toEqual([]);
  });

  it("publishes a bar at its minute's end, known at its end, and not a moment before", () => {
    const { clock, market, store, feed } = setup({ latencyMs: 0 });
    market.start();
    feed.start();
    clock.runUntil(T0 + 3 * MINUTE_MS - 1);
    expect(store.allBars(SYMBOLS[0] as string, MINUTE_MS)).toHaveLength(2);
    clock.runUntil(T0 + 3 * MINUTE_MS);
    const bars = store.allBars(SYMBOLS[0] as string, MINUTE_MS);
    expect(bars).toHaveLength(3);
    expect(bars.map((b) => b.knowledgeTime)).toEqual([1, 2, 3].map((m) => T0 + m * MINUTE_MS));
  });

  it("flush(t) lets a bar loop waking at the boundary read the bar that just closed", () => {
    const { clock, market, store, feed } = setup();
    const s = SYMBOLS[0] as string;
    let seen: Bar[] = [];
    // Set before the feed's own minute timer, so it fires first at the same instant.
    clock.setTimer(T0 + 2 * MINUTE_MS, () => {
      feed.flush(clock.now());
      seen = store.knownAt(clock).lastBars(s, MINUTE_MS, 5);
    });
    market.start();
    feed.start();
    clock.runUntil(T0 + 2 * MINUTE_MS + 1);
    expect(seen.map((b) => b.end)).toEqual([T0 + MINUTE_MS, T0 + 2 * MINUTE_MS]);
    // The timer's own flush afterwards publishes nothing twice.
    expect(store.allBars(s, MINUTE_MS)).toHaveLength(2);
  });

  it("samples bid/ask and L2 every second, on whole seconds, matching the book", () => {
    const { clock, engine, market, store, feed } = setup({}, 7, T0 + 250);
    market.start();
    feed.start();
    clock.runUntil(T0 + 120_000);
    for (const s of SYMBOLS) {
      const quotes = store.allBidAsk(s);
      expect(quotes.map((q) => q.exchangeTime)).toEqual(Array.from({ length: 120 }, (_, i) => T0 + (i + 1) * 1000));
      const l2 = store.allL2(s);
      expect(l2).toHaveLength(120);
      l2.forEach((snap, i) => {
        const q = quotes[i];
        expect(snap.bids).toHaveLength(5);
        expect(snap.asks).toHaveLength(5);
        expect([q?.bid, q?.bidSize, q?.ask, q?.askSize]).toEqual([...(snap.bids[0] as [number, number]), ...(snap.asks[0] as [number, number])]);
        expect(q?.knowledgeTime).toBe(q?.exchangeTime);
      });
    }
    expect(checkMarketDataQuality(store)).toEqual([]);
    // A sample taken now is the engine's own depth, number for number.
    const probe = new MarketDataStore();
    new VenueMarketFeed(engine, clock, SYMBOLS, probe).sample();
    for (const s of SYMBOLS) {
      const depth = engine.depth(s, 5);
      const snap = probe.latestL2(s, Infinity);
      expect(snap?.bids).toEqual(depth.bids.map(([p, q]) => [Number(p), Number(q)]));
      expect(snap?.asks).toEqual(depth.asks.map(([p, q]) => [Number(p), Number(q)]));
    }
  });

  it("with l2: false samples the same bid/ask and no L2, into a store or a sink and its recorder", () => {
    const full = setup({}, 7);
    const lean = setup({ l2: false }, 7);
    for (const r of [full, lean]) {
      r.market.start();
      r.feed.start();
      r.clock.runUntil(T0 + 90_000);
    }
    const sunk = new MarketDataStore();
    const recorded = new MarketDataStore();
    const viaSink = new VenueMarketFeed(lean.engine, lean.clock, SYMBOLS, { addBar: (b) => sunk.addBar(b), addBidAsk: (q) => sunk.addBidAsk(q), addL2: (x) => sunk.addL2(x) }, { l2: false, recorder: recorded });
    viaSink.sample();
    for (const s of SYMBOLS) {
      expect(full.store.allL2(s)).toHaveLength(91);
      expect(lean.store.allL2(s)).toEqual([]);
      expect(lean.store.allBidAsk(s)).toEqual(full.store.allBidAsk(s));
      expect(sunk.allBidAsk(s)).toEqual([lean.store.latestBidAsk(s, Infinity)]);
      expect(recorded.allBidAsk(s)).toEqual(sunk.allBidAsk(s));
      expect([sunk.allL2(s), recorded.allL2(s)]).toEqual([[], []]);
    }
  });

  it("adds latency to knowledge times, so a view sees rows only once they have arrived", () => {
    const { clock, market, store, feed } = setup({ latencyMs: 300 });
    market.start();
    feed.start();
    clock.runUntil(T0 + 2 * MINUTE_MS + 100);
    const s = SYMBOLS[0] as string;
    const view = store.knownAt(clock);
    expect(view.latestBidAsk(s)?.exchangeTime).toBe(T0 + 2 * MINUTE_MS - 1000);
    expect(view.lastBars(s, MINUTE_MS, 10)).toHaveLength(1);
    clock.runUntil(T0 + 2 * MINUTE_MS + 300);
    expect(view.latestBidAsk(s)?.exchangeTime).toBe(T0 + 2 * MINUTE_MS);
    expect(view.lastBars(s, MINUTE_MS, 10).map((b) => b.knowledgeTime)).toEqual([T0 + MINUTE_MS + 300, T0 + 2 * MINUTE_MS + 300]);
  });

  it("aggregates 5-minute bars, and a recorder gets exactly what the store gets", async () => {
    const dir = join(root, "recorded");
    const writer = new RecordedMarketDataWriter(dir, { format: "csv.gz" });
    const { clock, market, store, feed } = setup({ barIntervalsMs: [MINUTE_MS, 5 * MINUTE_MS], recorder: writer });
    market.start();
    feed.start();
    clock.runUntil(T0 + 12 * MINUTE_MS);
    feed.stop();
    writer.close();
    for (const s of SYMBOLS) expect(store.allBars(s, 5 * MINUTE_MS)).toEqual(aggregateBars(store.allBars(s, MINUTE_MS), 5 * MINUTE_MS));
    const loaded = await loadRecordedMarketData(dir, { fromMs: T0, toMs: T0 + 12 * MINUTE_MS + 1 });
    for (const s of SYMBOLS) {
      expect(loaded.allBars(s, MINUTE_MS)).toEqual(store.allBars(s, MINUTE_MS));
      expect(loaded.allBars(s, 5 * MINUTE_MS)).toEqual(store.allBars(s, 5 * MINUTE_MS));
      expect(loaded.allBidAsk(s)).toEqual(store.allBidAsk(s));
      expect(loaded.allL2(s)).toEqual(store.allL2(s));
    }
  });

  it("is deterministic for a seed, stops cleanly, and rejects unknown symbols", () => {
    const dump = (): string => {
      const { clock, market, store, feed } = setup({}, 3);
      market.start();
      feed.start();
      clock.runUntil(T0 + 3 * MINUTE_MS);
      feed.stop();
      const n = store.counts();
      clock.runUntil(T0 + 5 * MINUTE_MS);
      expect(store.counts()).toEqual(n);
      return JSON.stringify(SYMBOLS.map((s) => [store.allBars(s, MINUTE_MS), store.allBidAsk(s), store.allL2(s)]));
    };
    expect(dump()).toBe(dump());
    const { engine, clock, store } = setup();
    expect(() => new VenueMarketFeed(engine, clock, ["DOGE/USDT"], store)).toThrow(/unknown symbol DOGE\/USDT/);
  });
});
