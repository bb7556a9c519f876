// Exchange limits applied when targets become orders (DOMAIN.md section 4): too small in amount or
// in cost becomes 0, otherwise round to the amount precision. Pre-limit values are kept.

import { Decimal } from "decimal.js";

export interface MarketLimits {
  /** Minimum amount (base units); 0 for none. */
  minAmount: Decimal.Value;
  /** Minimum cost in quote (10 USDT by default); a trade at or below it is dropped. */
  minCost: Decimal.Value;
  /** Amount step, e.g. 0.001. */
  amountStep: Decimal.Value;
}

export type LimitOutcome = "ok" | "below_min_amount" | "below_min_cost" | "rounded_to_zero";

export interface LimitedTrade {
  shares: Decimal;
  sharesBeforeLimits: Decimal;
  outcome: LimitOutcome;
}

export const DEFAULT_MIN_COST = new Decimal(10);

export function applyExchangeLimits(tradeShares: Decimal.Value, price: Decimal.Value, limits: MarketLimits): LimitedTrade {
  // Decimals are immutable: the ones given are used as they are (this runs for every asset, every bar).
  const before = decimalOf(tradeShares);
  const abs = before.abs();
  if (abs.lt(limits.minAmount)) return { shares: ZERO, sharesBeforeLimits: before, outcome: "below_min_amount" };
  // `<=` on purpose: the exchange rejects an order whose notional equals the minimum.
  if (decimalOf(price).mul(abs).lte(limits.minCost)) return { shares: ZERO, sharesBeforeLimits: before, outcome: "below_min_cost" };
  const step = decimalOf(limits.amountStep);
  const rounded = before.div(step).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).mul(step);
  return { shares: rounded, sharesBeforeLimits: before, outcome: rounded.isZero() ? "rounded_to_zero" : "ok" };
}

const ZERO = new Decimal(0);

function decimalOf(v: Decimal.Value): Decimal {
  return v instanceof Decimal ? v : new Decimal(v);
}
