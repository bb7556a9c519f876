// Predictions to target positions, then to parent orders (DOMAIN.md section 4). Weights are the
// predictions, divided by each asset's volatility when volatility scaling is on, optionally demeaned
// so long and short notionals cancel (dollar neutral), and scaled so their absolute sum spends the
// gross exposure budget. Exchange limits then turn small trades into none; the pre-limit values are
// kept beside the final ones so a reader can see what the limits changed.

import { Decimal } from "decimal.js";
import { WideDecimal } from "../core/wide-decimal.js";
import { z } from "zod";
import { timestampFromMs } from "../core/timestamp.js";
import { scaledAdd, scaledCompare, scaledMul, scaledNeg, scaledOfDoubleSig, scaledOfText, scaledQuotientSig, scaledRoundHalfEven, scaledText, scaledToNumber, scaledToWide, type Scaled } from "../core/scaled-number.js";
import { applyExchangeLimits, type LimitOutcome, type MarketLimits } from "../oms/exchange-limits.js";
import type { ParentOrder } from "../oms/parent-order.js";

export const targetConfigSchema = z
  .object({
    /** Sum of |target notional| over assets, in the quote currency. */
    grossExposure: z.number().positive().default(10_000),
    volatilityScaling: z.boolean().default(true),
    dollarNeutral: z.boolean().default(false),
    /** Cap on one asset's share of the gross exposure. */
    maxWeight: z.number().positive().max(1).default(0.25),
  })
  .strict();

export type TargetConfig = z.output<typeof targetConfigSchema>;

export interface TargetInputs {
  assetId: number;
  symbol: string;
  prediction: number | undefined;
  volatility: number | undefined;
  /** The mark on the price grid; zero or below counts as no price. */
  price: Decimal | WideDecimal | undefined;
  /** A Decimal or the portfolio's WideDecimal: only its text is read. */
  holdings: { toFixed(): string };
  limits: MarketLimits;
}

export interface TargetRow {
  assetId: number;
  symbol: string;
  price: string | undefined;
  prediction: number | undefined;
  volatility: number | undefined;
  weight: number;
  targetNotionalBeforeLimits: string;
  targetHoldingsSharesBeforeLimits: string;
  targetTradesSharesBeforeLimits: string;
  holdingsShares: string;
  targetTradesShares: string;
  targetHoldingsShares: string;
  targetTradesNotional: string;
  limitOutcome: LimitOutcome | "no_price";
}

/** Weights per asset summing to 1 in absolute value (or all 0); pure, floats (these are not money). */
export function targetWeights(inputs: readonly Pick<TargetInputs, "prediction" | "volatility">[], cfg: TargetConfig): number[] {
  let raw = inputs.map((i) => {
    const p = i.prediction;
    if (p === undefined || !Number.isFinite(p)) return 0;
    if (!cfg.volatilityScaling) return p;
    return i.volatility !== undefined && i.volatility > 0 ? p / i.volatility : 0;
  });
  if (cfg.dollarNeutral) {
    const live = raw.filter((_, k) => inputs[k]?.prediction !== undefined);
    const m = live.length === 0 ? 0 : live.reduce((a, b) => a + b, 0) / live.length;
    raw = raw.map((w, k) => (inputs[k]?.prediction !== undefined ? w - m : 0));
  }
  return capWeights(raw, cfg.maxWeight);
}

/**
 * Scales |raw| to sum to 1 with no weight above `cap`, exactly: assets over the cap are pinned at it
 * and the rest share what remains in proportion (water filling). When too few assets are live to
 * reach 1 under the cap, each gets the cap and the sum stays below 1.
 */
export function capWeights(raw: readonly number[], cap: number): number[] {
  const abs = raw.map((x) => (Number.isFinite(x) ? Math.abs(x) : 0));
  const pinned = new Set<number>();
  const out = raw.map(() => 0);
  for (;;) {
    const free = abs.flatMap((a, k) => (a > 0 && !pinned.has(k) ? [k] : []));
    const sumFree = free.reduce((t, k) => t + (abs[k] as number), 0);
    const remaining = Math.max(0, 1 - cap * pinned.size);
    const over = free.filter((k) => ((abs[k] as number) / sumFree) * remaining > cap);
    if (over.length === 0 || sumFree === 0) {
      for (const k of free) out[k] = ((abs[k] as number) / sumFree) * remaining;
      break;
    }
    for (const k of over) pinned.add(k);
  }
  for (const k of pinned) out[k] = cap;
  return out.map((w, k) => Math.sign(raw[k] as number) * w);
}

export function computeTargets(inputs: readonly TargetInputs[], cfg: TargetConfig): TargetRow[] {
  const weights = targetWeights(inputs, cfg);
  const rows: TargetRow[] = new Array<TargetRow>(inputs.length);
  for (let k = 0; k < inputs.length; k++) rows[k] = targetRow(inputs[k] as TargetInputs, weights[k] as number, cfg.grossExposure);
  return rows;
}

export function targetRow(inp: TargetInputs, weight: number, grossExposure: number): TargetRow {
  return scaledTargetRow(inp, weight, grossExposure) ?? decimalTargetRow(inp, weight, grossExposure);
}

/** The limits of a market as scaled integers, when they fit (amount step 10^-k only); null when not. */
interface ScaledLimits {
  minAmount: Scaled;
  minCost: Scaled;
  /** Decimals of the amount step (step = 10^-stepDecimals). */
  stepDecimals: number;
}

const scaledLimitsCache = new WeakMap<MarketLimits, ScaledLimits | null>();

function scaledLimitsOf(limits: MarketLimits): ScaledLimits | null {
  let sl = scaledLimitsCache.get(limits);
  if (sl !== undefined) return sl;
  const minAmount = scaledOfText(new Decimal(limits.minAmount).toFixed());
  const minCost = scaledOfText(new Decimal(limits.minCost).toFixed());
  const step = scaledOfText(new Decimal(limits.amountStep).toFixed());
  sl = minAmount === undefined || minCost === undefined || step === undefined || step.m !== 1 ? null : { minAmount, minCost, stepDecimals: step.s };
  scaledLimitsCache.set(limits, sl);
  return sl;
}

/**
 * Compares price x amount with `minCost` as decimal.js does (its product rounded to 20 digits), or
 * undefined when that takes decimal.js. The exact product seldom fits 2^53 (a 12-digit amount by a
 * 6-digit price); its double is within a few parts in 10^16 of it, so a double clear of minCost by
 * far more than that (and than the 20-digit rounding) decides the comparison.
 */
function compareCost(price: Scaled, amount: Scaled, minCost: Scaled): number | undefined {
  const exact = scaledMul(price, amount);
  if (exact !== undefined) return scaledCompare(exact, minCost);
  const cost = scaledToNumber(price) * scaledToNumber(amount);
  const min = scaledToNumber(minCost);
  if (cost > min * (1 + COST_MARGIN)) return 1;
  if (cost < min * (1 - COST_MARGIN)) return -1;
  return undefined;
}

/** Relative margin of compareCost: the product's double error is ~1e-16 relative, its 20-digit rounding 1e-19. */
const COST_MARGIN = 1e-9;

/**
 * decimalTargetRow's row, text for text, in scaled integers (core/scaled-number.ts), or undefined
 * when a step would not fit in one: decimal.js was most of the cost of a bar's targets. Every step
 * here is exact where decimal.js's is (sums and products under 2^53 have fewer than its 20 digits),
 * and the sizing's two roundings are decimal.js's own (scaledOfDoubleSig, scaledQuotientSig).
 */
export function scaledTargetRow(inp: TargetInputs, weight: number, grossExposure: number): TargetRow | undefined {
  const price = inp.price;
  if (price === undefined || !isPositivePrice(price)) return undefined;
  const limits = scaledLimitsOf(inp.limits);
  if (limits === null) return undefined;
  const priceText = price.toFixed();
  const holdingsText = inp.holdings.toFixed();
  const priceSc = scaledOfText(priceText);
  const held = scaledOfText(holdingsText);
  if (priceSc === undefined || held === undefined) return undefined;
  const sized = scaledSizing(weight, grossExposure, priceSc);
  if (sized === undefined) return undefined;
  const { notional, shares: targetShares } = sized;
  const trade = scaledAdd(targetShares, scaledNeg(held));
  if (trade === undefined) return undefined;
  const abs: Scaled = { m: Math.abs(trade.m), s: trade.s };
  let outcome: LimitOutcome;
  let shares: Scaled = { m: 0, s: 0 };
  const vsMinAmount = scaledCompare(abs, limits.minAmount);
  if (vsMinAmount === undefined) return undefined;
  if (vsMinAmount < 0) outcome = "below_min_amount";
  else {
    const vsMinCost = compareCost(priceSc, abs, limits.minCost);
    if (vsMinCost === undefined) return undefined;
    if (vsMinCost <= 0) outcome = "below_min_cost";
    else {
      shares = scaledRoundHalfEven(trade, limits.stepDecimals);
      outcome = shares.m === 0 ? "rounded_to_zero" : "ok";
    }
  }
  let tradesShares = "0";
  let holdingsAfter = holdingsText;
  let tradesNotional = "0";
  if (shares.m !== 0) {
    // When the limits zero a trade, the target is simply what is held.
    const after = scaledAdd(held, shares);
    const traded = scaledMul(shares, priceSc);
    if (after === undefined || traded === undefined) return undefined;
    tradesShares = scaledText(shares);
    holdingsAfter = scaledText(after);
    tradesNotional = scaledText(traded);
  }
  return {
    assetId: inp.assetId, symbol: inp.symbol, prediction: inp.prediction, volatility: inp.volatility, weight, holdingsShares: holdingsText,
    price: priceText,
    targetNotionalBeforeLimits: scaledText(notional),
    targetHoldingsSharesBeforeLimits: scaledText(targetShares),
    targetTradesSharesBeforeLimits: scaledText(trade),
    targetTradesShares: tradesShares,
    targetHoldingsShares: holdingsAfter,
    targetTradesNotional: tradesNotional,
    limitOutcome: outcome,
  };
}

/**
 * Target holdings of one asset before exchange limits: weight x gross exposure to 12 significant
 * digits, over the price, to 12 significant digits (decimal.js's roundings; in scaled integers when
 * they fit, as scaledTargetRow). For a caller that sizes as the run does without its limits.
 */
export function sizeTargetShares(weight: number, grossExposure: number, price: Decimal | WideDecimal): WideDecimal {
  const priceText = price.toFixed();
  const priceSc = scaledOfText(priceText);
  const sized = priceSc === undefined ? undefined : scaledSizing(weight, grossExposure, priceSc);
  if (sized !== undefined) return scaledToWide(sized.shares);
  return WideDecimal.of(new Decimal(weight * grossExposure).toSignificantDigits(12).div(priceText).toSignificantDigits(12));
}

/** Above zero (decimal.js's isPositive() is true of zero too, which no price can be). */
function isPositivePrice(p: Decimal | WideDecimal): boolean {
  return !p.isZero() && !p.isNegative();
}

/** The sizing of both: notional and shares to 12 significant digits, as decimal.js rounds them; undefined when they do not fit. */
function scaledSizing(weight: number, grossExposure: number, price: Scaled): { notional: Scaled; shares: Scaled } | undefined {
  // 12 significant digits: enough for any exchange step, and stable across platforms.
  const notional = scaledOfDoubleSig(weight * grossExposure, 12);
  const shares = notional === undefined ? undefined : scaledQuotientSig(notional, price, DECIMAL_PRECISION, 12);
  return notional === undefined || shares === undefined ? undefined : { notional, shares };
}

/** decimal.js's default precision (significant digits of a division), which this code never changes. */
const DECIMAL_PRECISION = 20;

/** The row in decimal.js: the definition scaledTargetRow reproduces, and its fallback. */
export function decimalTargetRow(inp: TargetInputs, weight: number, grossExposure: number): TargetRow {
  const holdings = inp.holdings.toFixed();
  const price = inp.price === undefined || !isPositivePrice(inp.price) ? undefined : new Decimal(inp.price.toFixed());
  if (price === undefined) {
    return {
      assetId: inp.assetId, symbol: inp.symbol, prediction: inp.prediction, volatility: inp.volatility, weight, holdingsShares: holdings,
      price: undefined, targetNotionalBeforeLimits: "0", targetHoldingsSharesBeforeLimits: holdings, targetTradesSharesBeforeLimits: "0",
      targetTradesShares: "0", targetHoldingsShares: holdings, targetTradesNotional: "0", limitOutcome: "no_price",
    };
  }
  // 12 significant digits: enough for any exchange step, and stable across platforms.
  const notional = new Decimal(weight * grossExposure).toSignificantDigits(12);
  const targetShares = notional.div(price).toSignificantDigits(12);
  const trade = targetShares.sub(holdings);
  const limited = applyExchangeLimits(trade, price, inp.limits);
  const zeroTrade = limited.shares.isZero();
  return {
    assetId: inp.assetId, symbol: inp.symbol, prediction: inp.prediction, volatility: inp.volatility, weight, holdingsShares: holdings,
    price: price.toFixed(),
    targetNotionalBeforeLimits: notional.toFixed(),
    targetHoldingsSharesBeforeLimits: targetShares.toFixed(),
    targetTradesSharesBeforeLimits: trade.toFixed(),
    targetTradesShares: zeroTrade ? "0" : limited.shares.toFixed(),
    // When the limits zero a trade, the target is simply what is held.
    targetHoldingsShares: zeroTrade ? holdings : limited.shares.add(holdings).toFixed(),
    targetTradesNotional: zeroTrade ? "0" : limited.shares.mul(price).toFixed(),
    limitOutcome: limited.outcome,
  };
}

export type ParentOrderType = ParentOrder["type"];

/** One parent order per asset with a non-zero trade, executed over [startMs, endMs). */
export function parentOrdersFor(rows: readonly TargetRow[], startMs: number, endMs: number, type: ParentOrderType, firstOrderId: number, extraParams: Record<string, unknown> = {}): ParentOrder[] {
  const out: ParentOrder[] = [];
  let id = firstOrderId;
  for (const r of rows) {
    const diff = new Decimal(r.targetTradesShares);
    if (diff.isZero()) continue;
    out.push({
      orderId: id++,
      creationTimestamp: timestampFromMs(startMs),
      assetId: r.assetId,
      type,
      startTimestamp: timestampFromMs(startMs),
      endTimestamp: timestampFromMs(endMs),
      currNumShares: new Decimal(r.holdingsShares),
      diffNumShares: diff,
      tz: "UTC",
      extraParams: { ...extraParams },
    });
  }
  return out;
}
