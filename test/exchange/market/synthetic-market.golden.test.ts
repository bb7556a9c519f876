import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../../src/core/clock.js";
import { ExchangeEngine } from "../../../src/exchange/engine.js";
import type { InstrumentSpec } from "../../../src/exchange/instrument.js";
import { DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS } from "../../../src/exchange/market/default-instruments.js";
import { SyntheticMarket, type SyntheticSymbolSpec } from "../../../src/exchange/market/synthetic-market.js";
import { syntheticUniverse } from "../../../src/exchange/market/synthetic-universe.js";

const START = Date.UTC(2024, 0, 2, 0, 0, 0);

function streamHash(instruments: InstrumentSpec[], symbols: SyntheticSymbolSpec[], seed: number, minutes: number): { events: number; hash: string } {
  const clock = new SimulatedClock(START);
  const engine = new ExchangeEngine({ clock, instruments });
  const market = new SyntheticMarket(engine, { seed, symbols });
  const h = createHash("sha256");
  let events = 0;
  engine.subscribe((e) => {
    h.update(JSON.stringify(e) + "\n");
    events++;
  });
  market.start();
  clock.runUntil(START + minutes * 60_000);
  return { events, hash: h.digest("hex") };
}

// Pinned event streams of the synthetic market. The values were computed with the market as it was
// before its speed work (commit f2e1496: Map-based quote book, one event subscription routing every
// event): the faster code must replay the very same stream. Change them only with a deliberate
// change of the market's behaviour, and say so in the commit message.
// Re-pinned once, deliberately: the liquidity provider now moves (amends) an off-grid quote to a
// missing level instead of cancelling it and placing a new order, so its events are "amended"
// where they were "canceled" + "accepted", and order ids are no longer spent on re-quotes.
// Re-pinned a second time, deliberately: the provider's grid is anchored to multiples of its level
// spacing instead of to fair - half spread (a quote stays put until the price moved a whole level),
// and the synthetic universe spaces levels ~1 bp apart instead of one tick: far fewer amends.
// Re-pinned a third time, deliberately: a quote's size is drawn once, when it is placed, and a move
// scales that draw to the new level's depth instead of drawing a new size (same per-level size
// distribution; the random stream is no longer spent on amends).
describe("synthetic market event stream (pinned)", () => {
  it("default instruments, seed 42, 3 minutes (50- and 5-tick level spacing, GBM and mean-reverting)", () => {
    expect(streamHash(DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS, 42, 3)).toEqual({ events: 11983, hash: "f7f808bb650101eca13034f373a22ec620bccd50f503d83ba0c9114f08b7369a" });
  });

  it("synthetic universe of 8 perpetuals, seed 3, 5 minutes", () => {
    const u = syntheticUniverse(8, 3);
    expect(streamHash(u.instruments, u.symbols, 3, 5)).toEqual({ events: 22198, hash: "f706024765ce9f796b64c4c042bc90008baee2235b06255f2ea3eb7781667d82" });
  });
});
