import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MarketDataStore } from "../../src/marketdata/market-data-store.js";
import { barCloses, knownDataAt } from "../../src/system/known-data.js";

const MIN = 60_000;
const T0 = Date.UTC(2024, 0, 2);

function store(bars: { minute: number; close: number; lateMs: number }[]): MarketDataStore {
  const s = new MarketDataStore({ symbols: ["X"] });
  let known = -Infinity;
  for (const b of bars) {
    const start = T0 + b.minute * MIN;
    // Knowledge times never go backwards in a feed: a late bar delays the ones after it.
    known = Math.max(known, start + MIN + b.lateMs);
    s.addBar({ symbol: "X", intervalMs: MIN, start, end: start + MIN, knowledgeTime: known, open: b.close, high: b.close, low: b.close, close: b.close, volume: 1 });
  }
  return s;
}

describe("no look-ahead", () => {
  it("a bar that arrives late is invisible until it arrives", () => {
    const s = store([{ minute: 0, close: 100, lateMs: 0 }, { minute: 1, close: 101, lateMs: 0 }, { minute: 2, close: 999, lateMs: 30_000 }]);
    // At 00:03 the third bar has ended but is known only at 00:03:30.
    expect(knownDataAt(s, T0 + 3 * MIN).closes("X", MIN, 3)).toEqual([100, 101, 101]);
    expect(knownDataAt(s, T0 + 3 * MIN + 30_000).closes("X", MIN, 3)).toEqual([100, 101, 999]);
  });

  it("property: no close returned at time t comes from a bar known after t", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 5 * MIN })), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 0, max: 70 * MIN }),
        fc.integer({ min: 1, max: 5 }),
        (rows, at, barMinutes) => {
          const bars = rows.map(([close, lateMs], minute) => ({ minute, close, lateMs }));
          const s = store(bars);
          const t = T0 + at;
          const knownCloses = new Set(s.bars("X", MIN, 0, t).map((b) => b.close));
          for (const c of barCloses(s, "X", barMinutes * MIN, 10, t)) if (!Number.isNaN(c)) expect(knownCloses.has(c)).toBe(true);
          expect(s.bars("X", MIN, 0, t).every((b) => b.knowledgeTime <= t)).toBe(true);
        },
      ),
    );
  });
});

describe("a model that declares it reads no L2", () => {
  it("fails with the declaration to change when it reads L2, and reads it when it declares usesL2", () => {
    const s = new MarketDataStore({ symbols: ["X"] });
    s.addL2({ symbol: "X", exchangeTime: T0, knowledgeTime: T0, bids: [[99, 1]], asks: [[101, 1]] });
    expect(() => knownDataAt(s, T0 + MIN, "my_model").latestL2("X")).toThrow(/model my_model reads L2 snapshots but declares usesL2: false .*set usesL2: true/);
    expect(knownDataAt(s, T0 + MIN).latestL2("X")?.bids).toEqual([[99, 1]]);
  });
});
