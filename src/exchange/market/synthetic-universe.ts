// A seeded universe of N synthetic USD-M perpetuals (S01/USDT:USDT ...) with prices spread over
// several orders of magnitude and Binance-like ticks (5 significant digits), lots and minimums,
// plus matching synthetic-market settings. For experiments and benchmarks that need many assets.

import { Rng } from "../../core/rng.js";
import type { InstrumentSpec } from "../instrument.js";
import type { SyntheticSymbolSpec } from "./synthetic-market.js";

export interface SyntheticUniverse {
  instruments: InstrumentSpec[];
  symbols: SyntheticSymbolSpec[];
}

function pow10Text(exp: number): string {
  return exp >= 0 ? "1" + "0".repeat(exp) : "0." + "0".repeat(-exp - 1) + "1";
}

export function syntheticUniverse(n: number, seed: number, opts: { ordersPerMinute?: number; refreshMs?: number } = {}): SyntheticUniverse {
  if (!Number.isInteger(n) || n < 1 || n > 999) throw new RangeError(`universe size must be 1..999, got ${n}`);
  const rng = new Rng(seed);
  const instruments: InstrumentSpec[] = [];
  const symbols: SyntheticSymbolSpec[] = [];
  for (let i = 1; i <= n; i++) {
    const name = `S${String(i).padStart(n >= 100 ? 3 : 2, "0")}`;
    const price = Math.exp(rng.uniform(Math.log(0.5), Math.log(5_000)));
    const mag = Math.floor(Math.log10(price));
    const tickExp = mag - 4;
    // A lot worth roughly 0.001..0.01 USDT keeps rounding of small orders negligible.
    const lotExp = Math.min(3, Math.max(-6, Math.floor(Math.log10(0.01 / price))));
    const initialPrice = Number((Math.round(price / 10 ** tickExp) * 10 ** tickExp).toPrecision(6));
    // Levels about 1 bp apart (1..10 ticks, as ticks are 0.1..1 bp): ten levels make a book ~10 bps
    // deep, the shape of a liquid perpetual's. One-tick levels made the whole book 1..10 bps deep,
    // so a usual second's move of 1-2 bps re-priced most of it every second.
    const levelSpacingTicks = Math.max(1, Math.round((1e-4 * initialPrice) / 10 ** tickExp));
    instruments.push({
      symbol: `${name}/USDT:USDT`, kind: "perpetual", base: name, quote: "USDT",
      tickSize: pow10Text(tickExp), lotSize: pow10Text(lotExp), minNotional: "5",
      makerFee: "0.0002", takerFee: "0.0005", maxLeverage: 50, defaultLeverage: 10,
    });
    symbols.push({
      symbol: `${name}/USDT:USDT`, initialPrice,
      model: { kind: "gbm", volatility: rng.uniform(0.4, 1.0) },
      liquidity: { levels: 10, halfSpreadBps: rng.uniform(0.5, 3), levelSpacingTicks, medianNotional: 3_000, refreshMs: opts.refreshMs ?? 1_000 },
      flow: { ordersPerMinute: opts.ordersPerMinute ?? 20, medianNotional: 1_500 },
    });
  }
  return { instruments, symbols };
}
