// Limit prices for child orders, from recent bid/ask (DOMAIN.md section 2). Two computers:
// the passivity-factor interpolation between bid and ask, and the volatility-based offset from the
// touch. Both return the price and every input that produced it, for the broker log.

import { Decimal } from "decimal.js";
import { scaledAdd, scaledMul, scaledNeg, scaledOf, scaledRoundHalfEven, scaledText } from "../core/scaled-number.js";
import type { BidAskSeries } from "../marketdata/bid-ask-series.js";

export type OrderSide = "buy" | "sell";

export interface LimitPriceInputs {
  computer: "passivity" | "volatility";
  side: OrderSide;
  latestBid: number;
  latestAsk: number;
  meanBid: number | undefined;
  meanAsk: number | undefined;
  /** Which bid/ask value fed the formula. */
  bidUsed: "latest" | "mean";
  askUsed: "latest" | "mean";
  numDataPoints: number;
  passivityFactor: number | undefined;
  totalVolatility: number | undefined;
  volatilityMultiple: number | undefined;
  waveId: number;
  limitPrice: string;
}

export class LimitPriceError extends Error {
  override readonly name = "LimitPriceError";
}

/** Rounds to `decimals` places, half to even, exactly. */
export function roundPriceHalfEven(value: Decimal.Value, decimals: number): Decimal {
  return new Decimal(value).toDecimalPlaces(decimals, Decimal.ROUND_HALF_EVEN);
}

export interface PassivityParams {
  passivityFactor: number;
  /** Use the window mean instead of the latest value when they differ by more than this (relative). */
  maxDeviation?: number;
  priceDecimals: number;
  waveId?: number;
}

/**
 * buy: bid * pf + ask * (1 - pf); sell: ask * pf + bid * (1 - pf). pf = 1 is fully passive, 0
 * crosses the spread. Each side uses its latest value unless that strays more than `maxDeviation`
 * from the window mean (a spike), in which case the mean is used.
 */
export function passivityLimitPrice(rows: BidAskSeries, side: OrderSide, p: PassivityParams): LimitPriceInputs {
  const n = rows.length;
  if (n === 0) throw new LimitPriceError("no bid/ask data in the lookback window");
  if (!(p.passivityFactor >= 0 && p.passivityFactor <= 1)) throw new LimitPriceError(`passivity factor must be in [0, 1], got ${p.passivityFactor}`);
  const maxDev = p.maxDeviation ?? 0.01;
  const { bids, asks } = rows;
  const lastBid = bids[n - 1] as number;
  const lastAsk = asks[n - 1] as number;
  // Summed oldest first, as the means always were (the order fixes the last bits).
  let sumBid = 0;
  let sumAsk = 0;
  for (let i = 0; i < n; i++) {
    sumBid += bids[i] as number;
    sumAsk += asks[i] as number;
  }
  const meanBid = sumBid / n;
  const meanAsk = sumAsk / n;
  const bidUsed = Math.abs(lastBid - meanBid) / lastBid > maxDev ? "mean" : "latest";
  const askUsed = Math.abs(lastAsk - meanAsk) / lastAsk > maxDev ? "mean" : "latest";
  const bid = bidUsed === "mean" ? meanBid : lastBid;
  const ask = askUsed === "mean" ? meanAsk : lastAsk;
  return {
    computer: "passivity",
    side,
    latestBid: lastBid,
    latestAsk: lastAsk,
    meanBid,
    meanAsk,
    bidUsed,
    askUsed,
    numDataPoints: n,
    passivityFactor: p.passivityFactor,
    totalVolatility: undefined,
    volatilityMultiple: undefined,
    waveId: p.waveId ?? 0,
    limitPrice: passivityPriceText(side === "buy" ? bid : ask, side === "buy" ? ask : bid, p.passivityFactor, p.priceDecimals),
  };
}

/**
 * near x factor + far x (1 - factor), rounded half to even to `decimals`, as decimal text: in
 * scaled integers when every step fits (the usual quotes and factors), else decimal.js, which gives
 * the same digits (core/scaled-number.ts).
 */
export function passivityPriceText(near: number, far: number, factor: number, decimals: number): string {
  const n = scaledOf(near);
  const f = scaledOf(far);
  const w = scaledOf(factor);
  const rest = w === undefined ? undefined : scaledAdd({ m: 1, s: 0 }, scaledNeg(w));
  const a = n === undefined || w === undefined ? undefined : scaledMul(n, w);
  const b = f === undefined || rest === undefined ? undefined : scaledMul(f, rest);
  const raw = a === undefined || b === undefined ? undefined : scaledAdd(a, b);
  if (raw !== undefined && decimals >= 0) return scaledText(scaledRoundHalfEven(raw, decimals));
  const pf = new Decimal(factor);
  return roundPriceHalfEven(new Decimal(near).mul(pf).add(new Decimal(far).mul(new Decimal(1).sub(pf))), decimals).toFixed();
}

export interface VolatilityParams {
  /** One multiple for every wave, or one per wave id. */
  volatilityMultiple: number | readonly number[];
  /** Wave frequency in seconds (scales the 100 ms volatility to the wave length). */
  frequencySeconds: number;
  priceDecimals: number;
  waveId: number;
}

const RESAMPLE_MS = 100;

/** Resamples one side to 100 ms bins (last value, forward-filled) and returns its sum of squared diffs. */
function resampledSquaredDiffs(rows: BidAskSeries, values: ArrayLike<number>): { ssq: number; count: number } {
  const ts = rows.timestamps;
  const n = rows.length;
  const startBin = Math.floor((ts[0] as number) / RESAMPLE_MS);
  const endBin = Math.floor((ts[n - 1] as number) / RESAMPLE_MS);
  let ssq = 0;
  let count = 0;
  let i = 0;
  let prev: number | undefined;
  for (let bin = startBin; bin <= endBin; bin++) {
    let value = prev;
    while (i < n && Math.floor((ts[i] as number) / RESAMPLE_MS) <= bin) value = values[i++] as number;
    if (value !== undefined && prev !== undefined) {
      ssq += (value - prev) ** 2;
      count++;
    }
    prev = value;
  }
  return { ssq, count };
}

/** The total volatility over the window, scaled to the wave length (DOMAIN.md section 2). */
export function totalVolatility(rows: BidAskSeries, frequencySeconds: number): number {
  if (rows.length < 2) return 0;
  const b = resampledSquaredDiffs(rows, rows.bids);
  const a = resampledSquaredDiffs(rows, rows.asks);
  const n = b.count + a.count;
  if (n === 0) return 0;
  return Math.sqrt((b.ssq + a.ssq) / n) * Math.sqrt(frequencySeconds * 10);
}

/** buy: last_ask - total_vol * vm[wave]; sell: last_bid + total_vol * vm[wave]. */
export function volatilityLimitPrice(rows: BidAskSeries, side: OrderSide, p: VolatilityParams, totalVol?: number): LimitPriceInputs {
  const n = rows.length;
  if (n === 0) throw new LimitPriceError("no bid/ask data in the lookback window");
  const vm = typeof p.volatilityMultiple === "number" ? p.volatilityMultiple : p.volatilityMultiple[p.waveId];
  if (vm === undefined) throw new LimitPriceError(`no volatility multiple for wave ${p.waveId} (have ${(p.volatilityMultiple as readonly number[]).length})`);
  const lastBid = rows.bids[n - 1] as number;
  const lastAsk = rows.asks[n - 1] as number;
  const vol = totalVol ?? totalVolatility(rows, p.frequencySeconds);
  const offset = new Decimal(vol).mul(vm);
  const raw = side === "buy" ? new Decimal(lastAsk).sub(offset) : new Decimal(lastBid).add(offset);
  return {
    computer: "volatility",
    side,
    latestBid: lastBid,
    latestAsk: lastAsk,
    meanBid: undefined,
    meanAsk: undefined,
    bidUsed: "latest",
    askUsed: "latest",
    numDataPoints: n,
    passivityFactor: undefined,
    totalVolatility: vol,
    volatilityMultiple: vm,
    waveId: p.waveId,
    limitPrice: roundPriceHalfEven(raw, p.priceDecimals).toFixed(),
  };
}
