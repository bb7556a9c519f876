// Test set-up shared by the liquidity-provider tests: an engine with one spot BTC/USDT instrument
// (tick 0.1, lot 0.001, no fees) and a market-maker account funded on both sides.

import { SimulatedClock } from "../../../src/core/clock.js";
import { ExchangeEngine } from "../../../src/exchange/engine.js";
import type { Instrument } from "../../../src/exchange/instrument.js";

export function btcMakerEngine(start: number): { clock: SimulatedClock; engine: ExchangeEngine; maker: number; inst: Instrument } {
  const clock = new SimulatedClock(start);
  const engine = new ExchangeEngine({
    clock,
    instruments: [{ symbol: "BTC/USDT", kind: "spot", base: "BTC", quote: "USDT", tickSize: "0.1", lotSize: "0.001", makerFee: "0", takerFee: "0" }],
  });
  const maker = engine.createAccount("maker");
  engine.deposit(maker, "USDT", "10000000");
  engine.deposit(maker, "BTC", "1000");
  const inst = engine.instrument("BTC/USDT");
  if (inst === undefined) throw new Error("no instrument");
  return { clock, engine, maker, inst };
}
