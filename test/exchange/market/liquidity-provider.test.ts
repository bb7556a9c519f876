// The liquidity provider's price grid is anchored to absolute prices (multiples of its level
// spacing), so a quote stays where it is until the model price has moved a whole level, and a move
// of k levels re-prices k quotes a side.

import { createHash } from "node:crypto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../../src/core/clock.js";
import { Rng } from "../../../src/core/rng.js";
import { ExchangeEngine } from "../../../src/exchange/engine.js";
import { LiquidityProvider, type LiquiditySpec } from "../../../src/exchange/market/liquidity-provider.js";
import { SyntheticMarket } from "../../../src/exchange/market/synthetic-market.js";
import { syntheticUniverse } from "../../../src/exchange/market/synthetic-universe.js";
import { BUY, SELL, type Side } from "../../../src/exchange/order-book.js";
import { btcMakerEngine } from "./btc-maker-engine.js";

const START = Date.UTC(2024, 0, 2, 0, 0, 0);
/** Price units per tick of the test instrument. */
const TICK = 0.1;

function maker(spec: LiquiditySpec, seed = 5) {
  const { engine, maker: account, inst } = btcMakerEngine(START);
  const taker = engine.createAccount("taker");
  engine.deposit(taker, "USDT", "10000000");
  engine.deposit(taker, "BTC", "1000");
  const lp = new LiquidityProvider(engine, inst, account, spec, new Rng(seed));
  lp.attach();
  let events = 0;
  engine.subscribe(() => events++);
  const book = engine.book(inst.index);
  return {
    engine, lp, account, taker, book, symbol: inst.index,
    prices: (side: Side): number[] => book.depth(side, 1_000).map((l) => l.price),
    events: (): number => events,
  };
}

describe("liquidity provider grid anchoring", () => {
  // Spacing 10 ticks (1.0 USDT), half spread 1 bp: at 50,000.5 fair - half is 49,995.49995 and
  // fair + half 50,005.50005, both mid-way between grid prices, so moves of up to ±0.3 stay in the
  // same cells.
  const spec: LiquiditySpec = { levels: 5, halfSpreadBps: 1, levelSpacingTicks: 10, medianNotional: 50_000, sizeSigma: 0.5 };

  it("quotes at multiples of the spacing: the highest at or below fair - half, the lowest at or above fair + half", () => {
    const m = maker(spec);
    m.lp.refresh(50_000.5);
    expect(m.prices(BUY)).toEqual([499_950, 499_940, 499_930, 499_920, 499_910]);
    expect(m.prices(SELL)).toEqual([500_060, 500_070, 500_080, 500_090, 500_100]);
    // Just below a grid price the top bid is one spacing lower; just above the one above.
    const n = maker(spec);
    n.lp.refresh(50_004.9); // fair - half = 49,999.899..., fair + half = 50,009.900...
    expect(n.prices(BUY)[0]).toBe(499_990);
    expect(n.prices(SELL)[0]).toBe(500_100);
  });

  it("moves nothing while the price stays within a level", () => {
    const m = maker(spec);
    m.lp.refresh(50_000.5);
    const before = { ...m.lp.stats };
    const events = m.events();
    const handles = m.prices(BUY).concat(m.prices(SELL)).map((p) => m.book.levelHandles(p));
    for (const fair of [50_000.7, 50_000.2, 50_000.79, 50_000.21, 50_000.5]) m.lp.refresh(fair);
    expect(m.lp.stats).toEqual(before);
    expect(m.events()).toBe(events);
    expect(m.prices(BUY).concat(m.prices(SELL)).map((p) => m.book.levelHandles(p))).toEqual(handles);
  });

  for (const k of [1, 2, 3, -1, -4]) {
    it(`a move of ${k} level(s) moves exactly ${Math.abs(k)} quote(s) a side and leaves the others in their queues`, () => {
      const m = maker(spec);
      m.lp.refresh(50_000.5);
      const ids = (): number[] => m.engine.openOrders(m.account).map((o) => o.orderId).sort((a, b) => a - b);
      const first = ids();
      const bids = m.prices(BUY);
      const asks = m.prices(SELL);
      const before = new Map([...bids, ...asks].map((p) => [p, m.book.levelHandles(p)] as const));
      m.lp.refresh(50_000.5 + k);
      expect(m.lp.stats).toEqual({ quotesPlaced: 10, quotesMoved: 2 * Math.abs(k), quotesCanceled: 0, rejected: 0 });
      expect(ids()).toEqual(first);
      expect(m.prices(BUY)).toEqual(bids.map((p) => p + 10 * k));
      expect(m.prices(SELL)).toEqual(asks.map((p) => p + 10 * k));
      // Every level quoted before and after holds the very same order (its queue place kept).
      let same = 0;
      for (const p of [...m.prices(BUY), ...m.prices(SELL)]) {
        const h = before.get(p);
        if (h === undefined) continue;
        expect(m.book.levelHandles(p)).toEqual(h);
        same++;
      }
      expect(same).toBe(2 * (5 - Math.abs(k)));
    });
  }

  it("a move beyond the whole grid moves every quote", () => {
    const m = maker(spec);
    m.lp.refresh(50_000.5);
    m.lp.refresh(50_100.5);
    expect(m.lp.stats).toEqual({ quotesPlaced: 10, quotesMoved: 10, quotesCanceled: 0, rejected: 0 });
    expect(m.prices(BUY)).toEqual([500_950, 500_940, 500_930, 500_920, 500_910]);
    expect(m.prices(SELL)).toEqual([501_060, 501_070, 501_080, 501_090, 501_100]);
  });

  it("a moved quote keeps the size drawn when it was placed, scaled to its new level's depth (a move draws nothing)", () => {
    const growth = 1.15;
    const m = maker({ ...spec, depthGrowth: growth });
    m.lp.refresh(50_000.5);
    // Per order: its notional over its level's depth factor, which is the size drawn at placement.
    const drawn = (): Map<number, number> => {
      const out = new Map<number, number>();
      for (const side of [BUY, SELL] as const) {
        const levels = m.prices(side);
        for (const o of m.engine.openOrders(m.account)) {
          const level = levels.indexOf(Math.round(Number(o.price) / TICK));
          if ((o.side === "buy") === (side === BUY) && level >= 0) out.set(o.orderId, (Number(o.quantity) * Number(o.price)) / growth ** level);
        }
      }
      return out;
    };
    const before = drawn();
    // Beyond the whole grid: every quote moves, and the far ones land nearest the top.
    m.lp.refresh(50_100.5);
    expect(m.lp.stats.quotesMoved).toBe(10);
    const after = drawn();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    // Equal up to the rounding to whole lots (0.001 BTC, ~50 USDT, of sizes of ~50,000 USDT).
    for (const [id, d] of after) expect(Math.abs(d - (before.get(id) as number)) / d, `order ${id}`).toBeLessThan(2e-3);
    // The sizes were drawn independently: they are not all the same.
    expect(new Set([...before.values()].map((d) => Math.round(d))).size).toBe(10);
  });

  it("keeps only grid prices, each once, at most `levels` a side, bids below asks, after any refresh sequence (property)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 12 }),
        fc.double({ min: 0, max: 5, noNaN: true }),
        fc.array(fc.record({ move: fc.double({ min: -0.003, max: 0.003, noNaN: true }), takers: fc.integer({ min: 0, max: 3 }) }), { maxLength: 40 }),
        (spacing, levels, halfSpreadBps, steps) => {
          const m = maker({ levels, halfSpreadBps, levelSpacingTicks: spacing, medianNotional: 5_000, sizeSigma: 0.5 });
          let fair = 50_000;
          const check = (): void => {
            const f = fair / TICK;
            const half = Math.max(1, (f * halfSpreadBps) / 1e4);
            const bidDepth = m.book.depth(BUY, 1_000);
            const askDepth = m.book.depth(SELL, 1_000);
            for (const depth of [bidDepth, askDepth]) {
              expect(depth.length).toBe(levels);
              // Each level holds one quote of ours, on the grid, one spacing from the next.
              depth.forEach((l, i) => {
                expect(l.count).toBe(1);
                expect(l.price % spacing).toBe(0);
                if (i > 0) expect(Math.abs(l.price - (depth[i - 1] as { price: number }).price)).toBe(spacing);
              });
            }
            const bid = (bidDepth[0] as { price: number }).price;
            const ask = (askDepth[0] as { price: number }).price;
            expect(bid).toBeLessThan(ask);
            // The tops are the grid prices next to fair -/+ half.
            expect(bid).toBeLessThanOrEqual(f - half);
            expect(bid + spacing).toBeGreaterThan(f - half);
            expect(ask).toBeGreaterThanOrEqual(f + half);
            if (ask > bid + spacing) expect(ask - spacing).toBeLessThan(f + half);
          };
          m.lp.refresh(fair);
          check();
          for (const s of steps) {
            // Takers eat quotes between refreshes, so refreshes also fill levels left empty.
            for (let t = 0; t < s.takers; t++) m.engine.submitUnits({ account: m.taker, symbol: m.symbol, side: t % 2 === 0 ? BUY : SELL, price: 0, qty: 150, market: true });
            fair *= 1 + s.move;
            m.lp.refresh(fair);
            check();
          }
          expect(m.lp.stats.rejected).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("synthetic universe levels", () => {
  it("spaces each symbol's levels about 1 bp of its price apart (1..10 ticks)", () => {
    const u = syntheticUniverse(40, 7);
    u.symbols.forEach((s, i) => {
      const tick = Number((u.instruments[i] as { tickSize: string }).tickSize);
      const spacing = s.liquidity?.levelSpacingTicks as number;
      expect(Number.isInteger(spacing)).toBe(true);
      expect(spacing).toBeGreaterThanOrEqual(1);
      expect(spacing).toBeLessThanOrEqual(10);
      const bps = (spacing * tick * 1e4) / s.initialPrice;
      expect(bps).toBeGreaterThan(0.5);
      expect(bps).toBeLessThan(1.5);
    });
  });

  it("gives the same event stream for the same seed, byte for byte", () => {
    const run = (seed: number): string => {
      const u = syntheticUniverse(4, seed);
      const clock = new SimulatedClock(START);
      const engine = new ExchangeEngine({ clock, instruments: u.instruments });
      const market = new SyntheticMarket(engine, { seed, symbols: u.symbols });
      const h = createHash("sha256");
      engine.subscribe((e) => h.update(JSON.stringify(e) + "\n"));
      market.start();
      clock.runUntil(START + 2 * 60_000);
      expect(market.stats.quotesMoved).toBeGreaterThan(0);
      return h.digest("hex");
    };
    expect(run(11)).toBe(run(11));
    expect(run(12)).not.toBe(run(11));
  });
});
