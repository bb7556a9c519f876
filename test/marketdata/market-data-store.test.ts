// The in-memory store: query windows, append-order checks, bounded memory, the clock-bound view,
// and the no-look-ahead property (no query returns a row known after its asOf).

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { MarketDataOrderError, MarketDataStore } from "../../src/marketdata/market-data-store.js";
import { MINUTE_MS, type Bar, type BidAskQuote, type L2Snapshot } from "../../src/marketdata/types.js";
import { readBidAskWindow } from "../../src/marketdata/bid-ask-feed.js";
import { BidAskBuffer } from "../../src/marketdata/bid-ask-series.js";
import { seriesRows } from "../helpers/bid-ask-series.js";

const T0 = Date.UTC(2024, 0, 30);
const S = "BTC/USDT";

function bar(i: number, opts: Partial<Bar> = {}): Bar {
  const start = T0 + i * MINUTE_MS;
  return { symbol: S, intervalMs: MINUTE_MS, start, end: start + MINUTE_MS, knowledgeTime: start + MINUTE_MS, open: 100 + i, high: 101 + i, low: 99 + i, close: 100.5 + i, volume: 2 + i, ...opts };
}

function quote(sec: number, latencyMs = 0): BidAskQuote {
  const t = T0 + sec * 1000;
  return { symbol: S, exchangeTime: t, knowledgeTime: t + latencyMs, bid: 100 + sec, bidSize: 1, ask: 100.5 + sec, askSize: 2 };
}

function snap(sec: number, levels = 5): L2Snapshot {
  const t = T0 + sec * 1000;
  return {
    symbol: S, exchangeTime: t, knowledgeTime: t,
    bids: Array.from({ length: levels }, (_, i) => [100 - i, 1 + i] as [number, number]),
    asks: Array.from({ length: levels }, (_, i) => [101 + i, 2 + i] as [number, number]),
  };
}

describe("MarketDataStore", () => {
  it("never returns a bar before its end, even one whose knowledge time says it was known at its open", () => {
    const store = new MarketDataStore();
    // Bar 1 is stamped known at its open (T0 + 1 min), a minute before it ends.
    for (let i = 0; i < 3; i++) store.addBar(bar(i, i === 1 ? { knowledgeTime: T0 + MINUTE_MS } : {}));
    const asOf = T0 + MINUTE_MS;
    expect(store.lastBarClose(S, MINUTE_MS, T0 - 60 * MINUTE_MS, asOf)).toBe(100.5);
    expect(store.bars(S, MINUTE_MS, T0, asOf).map((b) => b.start)).toEqual([T0]);
    expect(store.lastBars(S, MINUTE_MS, 5, asOf).map((b) => b.start)).toEqual([T0]);
    const ends: number[] = [];
    store.eachBarClose(S, MINUTE_MS, T0, asOf, (end) => ends.push(end));
    expect(ends).toEqual([T0 + MINUTE_MS]);
    expect(store.knownAt({ now: () => asOf }).lastBars(S, MINUTE_MS, 5).map((b) => b.close)).toEqual([100.5]);
    // Once it has ended it is there.
    expect(store.lastBarClose(S, MINUTE_MS, T0 - 60 * MINUTE_MS, T0 + 2 * MINUTE_MS)).toBe(101.5);
    expect(store.lastBars(S, MINUTE_MS, 2, T0 + 3 * MINUTE_MS).map((b) => b.close)).toEqual([101.5, 102.5]);
  });

  it("returns bars by start and knowledge time, and the last N", () => {
    const store = new MarketDataStore();
    for (let i = 0; i < 10; i++) store.addBar(bar(i));
    expect(store.symbols).toEqual([S]);
    // Bar i ends (and is known) at T0 + (i+1) minutes.
    const known = store.bars(S, MINUTE_MS, T0 + 2 * MINUTE_MS, T0 + 5 * MINUTE_MS);
    expect(known.map((b) => b.start)).toEqual([2, 3, 4].map((i) => T0 + i * MINUTE_MS));
    expect(known[0]).toEqual(bar(2));
    expect(store.bars(S, MINUTE_MS, T0, T0 + 5 * MINUTE_MS - 1)).toHaveLength(4);
    expect(store.lastBars(S, MINUTE_MS, 3, T0 + 5 * MINUTE_MS).map((b) => b.start)).toEqual([2, 3, 4].map((i) => T0 + i * MINUTE_MS));
    expect(store.lastBars(S, MINUTE_MS, 100, T0 + 2 * MINUTE_MS)).toHaveLength(2);
    expect(store.bars(S, 5 * MINUTE_MS, T0, Infinity)).toEqual([]);
    expect(store.bars("ETH/USDT", MINUTE_MS, T0, Infinity)).toEqual([]);
    expect(store.barIntervals(S)).toEqual([MINUTE_MS]);
  });

  it("returns bid/ask with exchange time in (from, asOf] and knowledge time <= asOf", () => {
    const store = new MarketDataStore();
    for (let s = 0; s < 10; s++) store.addBidAsk(quote(s, 500));
    const rows = store.bidAsk(S, T0 + 2_000, T0 + 6_000);
    // Exchange 3..6 s, but the 6 s row arrives at 6.5 s.
    expect(rows.map((q) => q.exchangeTime - T0)).toEqual([3_000, 4_000, 5_000]);
    expect(rows[0]).toEqual(quote(3, 500));
    expect(store.latestBidAsk(S, T0 + 6_499)?.exchangeTime).toBe(T0 + 5_000);
    expect(store.latestBidAsk(S, T0 + 6_500)?.exchangeTime).toBe(T0 + 6_000);
    expect(store.latestBidAsk(S, T0)).toBeUndefined();
  });

  it("serves the broker's BidAskFeed rows with the knowledge time as timestamp", () => {
    const store = new MarketDataStore();
    for (let s = 0; s < 5; s++) store.addBidAsk(quote(s, 200));
    expect(store.rows(S, T0 + 1_000, T0 + 4_000)).toEqual([
      { timestamp: T0 + 2_200, bid: 102, ask: 102.5 },
      { timestamp: T0 + 3_200, bid: 103, ask: 103.5 },
    ]);
    expect(store.rows("nope", 0, Infinity)).toEqual([]);
    // The broker's read: the same rows as columns, in one buffer refilled window after window.
    const buf = new BidAskBuffer();
    const view = store.knownAt({ now: () => T0 + 3_000 });
    expect(view.window).toBeDefined();
    for (const [from, to] of [[T0 + 1_000, T0 + 4_000], [0, Infinity], [T0 + 3_000, T0 + 3_100], [T0 + 2_200, T0 + 3_200]] as const) {
      expect(seriesRows(store.window(S, from, to, buf))).toEqual(store.rows(S, from, to));
      expect(seriesRows(readBidAskWindow(view, S, from, to, buf))).toEqual(view.rows(S, from, to));
    }
    expect(store.window("nope", 0, Infinity, buf).length).toBe(0);
  });

  it("keeps L2 snapshots with fewer levels than the store holds, and rejects deeper ones", () => {
    const store = new MarketDataStore();
    store.addL2(snap(0, 5));
    const thin: L2Snapshot = { symbol: S, exchangeTime: T0 + 1_000, knowledgeTime: T0 + 1_000, bids: [[99, 1]], asks: [] };
    store.addL2(thin);
    expect(store.latestL2(S, T0 + 1_000)).toEqual(thin);
    expect(store.latestL2(S, T0 + 999)).toEqual(snap(0, 5));
    expect(store.l2(S, T0 - 1, T0 + 1_000)).toEqual([snap(0, 5), thin]);
    expect(() => store.addL2(snap(2, 6))).toThrow(/keeps 5/);
    const deep = new MarketDataStore({ l2Levels: 10 });
    deep.addL2(snap(0, 10));
    expect(deep.latestL2(S, T0)).toEqual(snap(0, 10));
  });

  it("throws a clear error on out-of-order appends and bad times", () => {
    const store = new MarketDataStore();
    store.addBidAsk(quote(5));
    expect(() => store.addBidAsk(quote(4))).toThrow(MarketDataOrderError);
    expect(() => store.addBidAsk(quote(4))).toThrow(/BTC\/USDT bid\/ask: knowledge time 2024-01-30T00:00:04.000Z is before the previous row's 2024-01-30T00:00:05.000Z/);
    // Same knowledge time, earlier exchange time.
    expect(() => store.addBidAsk({ ...quote(4), knowledgeTime: T0 + 5_000 })).toThrow(/exchange time .* is before/);
    expect(() => store.addBidAsk({ ...quote(6), exchangeTime: NaN })).toThrow(/finite/);
    store.addBidAsk(quote(5));
    store.addBar(bar(3));
    expect(() => store.addBar(bar(2))).toThrow(MarketDataOrderError);
    // Series are independent: another interval or another symbol may be earlier.
    store.addBar(bar(0, { intervalMs: 5 * MINUTE_MS, end: T0 + 5 * MINUTE_MS, knowledgeTime: T0 + 5 * MINUTE_MS }));
    store.addBidAsk({ ...quote(0), symbol: "ETH/USDT" });
    expect(store.symbols).toEqual([S, "ETH/USDT"]);
  });

  it("keeps at least the last keepMs of rows, in bounded memory, and keeps answering from them", () => {
    const store = new MarketDataStore({ keepMs: 100_000 });
    for (let s = 0; s < 100_000; s++) {
      store.addBidAsk(quote(s));
      const held = store.counts().bid_ask;
      expect(held).toBeGreaterThanOrEqual(Math.min(s + 1, 101));
      expect(held).toBeLessThanOrEqual(512);
    }
    const rows = store.bidAsk(S, -Infinity, Infinity);
    expect(rows.at(-1)).toEqual(quote(99_999));
    rows.forEach((q, i) => i > 0 && expect(q.exchangeTime - (rows[i - 1] as BidAskQuote).exchangeTime).toBe(1000));
    expect(store.bidAsk(S, T0 + 99_899_000, Infinity)).toHaveLength(100);
    expect(() => new MarketDataStore({ keepMs: 0 })).toThrow(/keepMs/);
  });

  it("knownAt(clock) answers as of the clock and caps the broker's window at now", () => {
    const store = new MarketDataStore();
    for (let i = 0; i < 10; i++) store.addBar(bar(i));
    for (let s = 0; s < 600; s++) {
      store.addBidAsk(quote(s));
      store.addL2(snap(s));
    }
    const clock = new SimulatedClock(T0 + 3 * MINUTE_MS + 30_000);
    const view = store.knownAt(clock);
    expect(view.now()).toBe(clock.now());
    expect(view.lastBars(S, MINUTE_MS, 10).map((b) => b.end)).toEqual([1, 2, 3].map((i) => T0 + i * MINUTE_MS));
    expect(view.bars(S, MINUTE_MS, 2 * MINUTE_MS + 30_000).map((b) => b.start)).toEqual([T0 + MINUTE_MS, T0 + 2 * MINUTE_MS]);
    expect(view.bidAsk(S, 3_000).map((q) => q.exchangeTime - T0)).toEqual([208_000, 209_000, 210_000]);
    expect(view.latestBidAsk(S)?.exchangeTime).toBe(T0 + 210_000);
    expect(view.latestL2(S)?.exchangeTime).toBe(T0 + 210_000);
    expect(view.l2(S, 2_000)).toHaveLength(2);
    expect(view.rows(S, clock.now() - 2_000, clock.now() + 60_000).map((r) => r.timestamp - T0)).toEqual([209_000, 210_000]);
    clock.runUntil(T0 + 10 * MINUTE_MS);
    expect(view.latestBidAsk(S)?.exchangeTime).toBe(T0 + 599_000);
    expect(view.lastBars(S, MINUTE_MS, 1)[0]?.end).toBe(T0 + 10 * MINUTE_MS);
  });
});

describe("no look-ahead (property)", () => {
  // Rows with random exchange times and random non-negative latencies, appended in knowledge order
  // (exchange order kept too, as the store requires), then random queries.
  const rowsArb = fc.array(fc.record({ gap: fc.integer({ min: 0, max: 3_000 }), latency: fc.integer({ min: 0, max: 5_000 }) }), { minLength: 1, maxLength: 80 });
  const queryArb = fc.array(fc.record({ from: fc.integer({ min: -2_000, max: 200_000 }), asOf: fc.integer({ min: -2_000, max: 250_000 }), n: fc.integer({ min: 0, max: 10 }) }), { minLength: 1, maxLength: 20 });

  function build(spec: { gap: number; latency: number }[]): { store: MarketDataStore; kts: number[] } {
    const store = new MarketDataStore({ l2Levels: 1 });
    let et = 0;
    let kt = 0;
    const kts: number[] = [];
    for (const { gap, latency } of spec) {
      et += gap;
      // Knowledge never runs backwards: a late row holds later ones back behind it.
      kt = Math.max(kt, et + latency);
      kts.push(kt);
      store.addBidAsk({ symbol: S, exchangeTime: et, knowledgeTime: kt, bid: 1, bidSize: 1, ask: 2, askSize: 1 });
      store.addL2({ symbol: S, exchangeTime: et, knowledgeTime: kt, bids: [[1, 1]], asks: [[2, 1]] });
      store.addBar({ symbol: S, intervalMs: 1, start: et, end: et + 1, knowledgeTime: kt, open: 1, high: 1, low: 1, close: 1, volume: 0 });
    }
    return { store, kts };
  }

  it("never returns a row whose knowledge time is after asOf, and misses none that qualifies", () => {
    fc.assert(
      fc.property(rowsArb, queryArb, (spec, queries) => {
        const { store, kts } = build(spec);
        const all = store.allBidAsk(S);
        for (const { from, asOf, n } of queries) {
          for (const q of store.bidAsk(S, from, asOf)) expect(q.knowledgeTime).toBeLessThanOrEqual(asOf);
          for (const s of store.l2(S, from, asOf)) expect(s.knowledgeTime).toBeLessThanOrEqual(asOf);
          for (const b of store.bars(S, 1, from, asOf)) expect(b.knowledgeTime).toBeLessThanOrEqual(asOf);
          for (const b of store.lastBars(S, 1, n, asOf)) expect(b.knowledgeTime).toBeLessThanOrEqual(asOf);
          for (const r of store.rows(S, from, asOf)) expect(r.timestamp).toBeLessThanOrEqual(asOf);
          const latest = store.latestL2(S, asOf);
          if (latest !== undefined) expect(latest.knowledgeTime).toBeLessThanOrEqual(asOf);
          // Completeness against a brute-force filter.
          const expected = all.filter((q) => q.exchangeTime > from && q.exchangeTime <= asOf && q.knowledgeTime <= asOf);
          expect(store.bidAsk(S, from, asOf)).toEqual(expected);
          expect(store.latestBidAsk(S, asOf)?.knowledgeTime).toBe(kts.filter((k) => k <= asOf).pop());
        }
      }),
      { numRuns: 300 },
    );
  });

  it("a clock-bound view sees only what is known at the clock, as the clock moves", () => {
    fc.assert(
      fc.property(rowsArb, fc.array(fc.integer({ min: 0, max: 20_000 }), { minLength: 1, maxLength: 15 }), (spec, steps) => {
        const { store } = build(spec);
        const clock = new SimulatedClock(0);
        const view = store.knownAt(clock);
        for (const dt of steps) {
          clock.runUntil(clock.now() + dt);
          const now = clock.now();
          for (const q of view.bidAsk(S, 1e9)) expect(q.knowledgeTime).toBeLessThanOrEqual(now);
          for (const b of view.lastBars(S, 1, 1e9)) expect(b.knowledgeTime).toBeLessThanOrEqual(now);
          for (const b of view.bars(S, 1, 1e9)) expect(b.knowledgeTime).toBeLessThanOrEqual(now);
          for (const s of view.l2(S, 1e9)) expect(s.knowledgeTime).toBeLessThanOrEqual(now);
          // Asking the broker's feed about the future still returns only the past.
          for (const r of view.rows(S, -1, now + 1e9)) expect(r.timestamp).toBeLessThanOrEqual(now);
          const l = view.latestL2(S);
          if (l !== undefined) expect(l.knowledgeTime).toBeLessThanOrEqual(now);
        }
      }),
      { numRuns: 200 },
    );
  });
});

describe("column reads agree with the row reads they stand for", () => {
  const lateBars = fc.array(fc.tuple(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 0, max: 3 * MINUTE_MS }), fc.boolean()), { minLength: 1, maxLength: 50 });

  it("property: eachBarClose and lastBarClose match bars() for any window", () => {
    fc.assert(
      fc.property(lateBars, fc.integer({ min: -5, max: 60 }), fc.integer({ min: 0, max: 70 * 60 }), (rows, fromMin, atSec) => {
        const store = new MarketDataStore();
        let known = -Infinity;
        rows.forEach(([close, lateMs, gap], i) => {
          if (gap) return; // a missing minute
          const b = bar(i, { close });
          known = Math.max(known, b.end + lateMs);
          store.addBar({ ...b, knowledgeTime: known });
        });
        const from = T0 + fromMin * MINUTE_MS;
        const asOf = T0 + atSec * 1000;
        const expected = store.bars(S, MINUTE_MS, from, asOf);
        const seen: [number, number][] = [];
        store.eachBarClose(S, MINUTE_MS, from, asOf, (end, c) => seen.push([end, c]));
        expect(seen).toEqual(expected.map((b) => [b.end, b.close]));
        expect(store.lastBarClose(S, MINUTE_MS, from, asOf)).toBe(expected[expected.length - 1]?.close);
      }),
    );
  });

  it("property: bidAskFirstPerBucket keeps the first known row of each bucket from an exchange time on", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 2500 })), { minLength: 1, maxLength: 80 }),
        fc.integer({ min: -1, max: 80 }), fc.integer({ min: 0, max: 250 }), fc.constantFrom(1000, 5000, 60_000),
        (steps, fromIdx, toSec, everyMs) => {
          const store = new MarketDataStore();
          let sec = 0;
          let known = -Infinity;
          for (const [dt, lat] of steps) {
            sec += dt + 1;
            const q = quote(sec);
            known = Math.max(known, q.exchangeTime + lat);
            store.addBidAsk({ ...q, knowledgeTime: known });
          }
          const all = store.bidAsk(S, -Infinity, Infinity);
          // The recorder starts at a bucket boundary or exactly at a row's exchange time.
          const from = fromIdx < 0 ? T0 : (all[fromIdx % all.length] as BidAskQuote).exchangeTime;
          const asOf = T0 + toSec * 1000;
          const expected: BidAskQuote[] = [];
          let next = from;
          for (const q of all) {
            if (q.knowledgeTime > asOf || q.exchangeTime < next) continue;
            expected.push(q);
            next = Math.floor(q.exchangeTime / everyMs) * everyMs + everyMs;
          }
          expect(store.bidAskFirstPerBucket(S, from, asOf, everyMs)).toEqual(expected);
        },
      ),
    );
  });
});
