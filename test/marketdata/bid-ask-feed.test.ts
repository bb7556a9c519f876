// The embedded-venue bid/ask sampler keeps ticks in typed arrays and converts rows when they are
// read. It must answer exactly as the plain row list it replaced: same rows, same numbers, same
// trimming of old rows.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { SyntheticMarket } from "../../src/exchange/market/synthetic-market.js";
import { syntheticUniverse } from "../../src/exchange/market/synthetic-universe.js";
import { NO_PRICE } from "../../src/exchange/order-book.js";
import { readBidAskWindow, VenueBidAskSampler } from "../../src/marketdata/bid-ask-feed.js";
import { BidAskBuffer, type BidAskRow } from "../../src/marketdata/bid-ask-series.js";
import { seriesRows } from "../helpers/bid-ask-series.js";

const START = Date.UTC(2024, 0, 2);

/** The sampler as it was: one row object per sample, formatted on the spot, filtered on read. */
class ReferenceSampler {
  readonly history = new Map<string, BidAskRow[]>();
  constructor(
    private readonly engine: ExchangeEngine,
    private readonly symbols: readonly string[],
    private readonly keepMs: number,
  ) {
    for (const s of symbols) this.history.set(s, []);
  }
  sample(now: number): void {
    for (const s of this.symbols) {
      const inst = this.engine.instrument(s);
      if (inst === undefined) continue;
      const book = this.engine.book(inst.index);
      const bid = book.bestBid();
      const ask = book.bestAsk();
      if (bid === NO_PRICE || ask === NO_PRICE) continue;
      const rows = this.history.get(s) as BidAskRow[];
      rows.push({ timestamp: now, bid: Number(inst.formatPrice(bid)), ask: Number(inst.formatPrice(ask)) });
      if (rows.length > 64 && (rows[0] as BidAskRow).timestamp < now - this.keepMs) {
        const cut = rows.findIndex((r) => r.timestamp >= now - this.keepMs);
        rows.splice(0, cut < 0 ? rows.length : cut);
      }
    }
  }
  rows(symbol: string, fromMs: number, toMs: number): BidAskRow[] {
    return (this.history.get(symbol) ?? []).filter((r) => r.timestamp > fromMs && r.timestamp <= toMs);
  }
}

describe("VenueBidAskSampler", () => {
  it("answers every window as the row list did, over a synthetic market (trimming included)", () => {
    const clock = new SimulatedClock(START);
    const u = syntheticUniverse(6, 9);
    const engine = new ExchangeEngine({ clock, instruments: u.instruments });
    const market = new SyntheticMarket(engine, { seed: 9, symbols: u.symbols });
    const symbols = u.instruments.map((i) => i.symbol);
    const keepMs = 90_000;
    const sampler = new VenueBidAskSampler(engine, clock, symbols, 1_000, keepMs);
    const ref = new ReferenceSampler(engine, symbols, keepMs);
    // The default 10-minute window holds more rows than the arrays start with: they must grow.
    const wide = new VenueBidAskSampler(engine, clock, symbols);
    const wideRef = new ReferenceSampler(engine, symbols, 10 * 60_000);
    market.start();
    sampler.start();
    wide.start();
    ref.sample(clock.now());
    wideRef.sample(clock.now());
    const tick = (): void => {
      ref.sample(clock.now());
      wideRef.sample(clock.now());
      clock.setTimer(clock.now() + 1_000, tick);
    };
    clock.setTimer(clock.now() + 1_000, tick);
    const buf = new BidAskBuffer();
    for (let minute = 1; minute <= 12; minute++) {
      clock.runUntil(START + minute * 60_000);
      const now = clock.now();
      for (const s of symbols) {
        for (const [from, to] of [[now - 60_000, now], [now - 3_000, now - 1_000], [0, now], [now - 500, now - 400], [now, now - 5_000], [now - keepMs - 5_000, now]] as const) {
          expect(sampler.rows(s, from, to)).toEqual(ref.rows(s, from, to));
          expect(wide.rows(s, from, to)).toEqual(wideRef.rows(s, from, to));
          // The broker's read: the same rows as columns, in one buffer refilled window after window.
          expect(seriesRows(sampler.window(s, from, to, buf))).toEqual(ref.rows(s, from, to));
          expect(seriesRows(readBidAskWindow(ref, s, from, to, buf))).toEqual(ref.rows(s, from, to));
        }
      }
    }
    // Long enough that trimming ran (and the arrays slid their live rows down).
    expect(sampler.rows(symbols[0] as string, 0, clock.now()).length).toBeLessThan(12 * 60);
    expect(sampler.rows("NOPE/USDT", 0, clock.now())).toEqual([]);
  });

  it("converts ticks to the number the decimal text parses to, for any tick size", () => {
    for (const tickSize of ["0.5", "0.25", "0.00001", "0.001", "1", "10", "0.0000025"]) {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 4_000_000 }), fc.integer({ min: 1, max: 1000 }), (bidTicks, gap) => {
          // A fresh book per case: one book only quotes within a band of ladder levels.
          const clock = new SimulatedClock(START);
          const engine = new ExchangeEngine({
            clock,
            instruments: [{ symbol: "X/USDT", kind: "spot", base: "X", quote: "USDT", tickSize, lotSize: "1" }],
            assets: [{ name: "X", decimals: 2 }, { name: "USDT", decimals: 8 }],
          });
          const inst = engine.instrument("X/USDT");
          if (inst === undefined) throw new Error("no instrument");
          const a = engine.createAccount("a");
          engine.deposit(a, "USDT", "50000000");
          engine.deposit(a, "X", "10");
          const sampler = new VenueBidAskSampler(engine, clock, ["X/USDT"]);
          const bid = engine.submit({ account: a, symbol: inst.index, side: 0, price: bidTicks, qty: 1 });
          const ask = engine.submit({ account: a, symbol: inst.index, side: 1, price: bidTicks + gap, qty: 1 });
          expect([bid.ok, ask.ok]).toEqual([true, true]);
          clock.runUntil(clock.now() + 1_000);
          sampler.sample();
          const row = sampler.rows("X/USDT", clock.now() - 1, clock.now())[0];
          expect(row).toEqual({ timestamp: clock.now(), bid: Number(inst.formatPrice(bidTicks)), ask: Number(inst.formatPrice(bidTicks + gap)) });
        }),
        { numRuns: 150 },
      );
    }
  });
});
