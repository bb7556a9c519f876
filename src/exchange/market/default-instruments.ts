// The instruments and synthetic-market settings the demo and defaults use: a Binance-like BTC spot
// pair and an ETH USD-M perpetual, with realistic ticks, lots, minimums and fees.

import type { InstrumentSpec } from "../instrument.js";
import type { SyntheticSymbolSpec } from "./synthetic-market.js";

export const DEFAULT_INSTRUMENTS: InstrumentSpec[] = [
  {
    symbol: "BTC/USDT", kind: "spot", base: "BTC", quote: "USDT",
    tickSize: "0.01", lotSize: "0.00001", minQty: "0.00001", minNotional: "5",
    makerFee: "0.001", takerFee: "0.001",
  },
  {
    symbol: "ETH/USDT:USDT", kind: "perpetual", base: "ETH", quote: "USDT",
    tickSize: "0.01", lotSize: "0.001", minQty: "0.001", minNotional: "20",
    makerFee: "0.0002", takerFee: "0.0005", maxLeverage: 100, defaultLeverage: 20,
  },
];

export const DEFAULT_SYNTHETIC_SYMBOLS: SyntheticSymbolSpec[] = [
  {
    symbol: "BTC/USDT", initialPrice: 43_000,
    model: { kind: "gbm", volatility: 0.5 },
    liquidity: { levels: 15, halfSpreadBps: 0.5, levelSpacingTicks: 50, medianNotional: 20_000 },
    flow: { ordersPerMinute: 40, medianNotional: 8_000 },
  },
  {
    symbol: "ETH/USDT:USDT", initialPrice: 2_300,
    model: { kind: "mean_reverting", volatility: 0.6, reversionPerDay: 12 },
    liquidity: { levels: 15, halfSpreadBps: 1, levelSpacingTicks: 5, medianNotional: 10_000 },
    flow: { ordersPerMinute: 30, medianNotional: 5_000 },
  },
];
