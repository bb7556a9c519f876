// Predictions to target positions, then to parent orders (DOMAIN.md section 4). Weights are the
// predictions, divided by each asset's volatility when volatility scaling is on, optionally demeaned
// so long and short notionals cancel (dollar neutral), and scaled so their absolute sum spends the
// gross exposure budget. Exchange limits then turn small trades into none; the pre-limit values are
// kept beside the final ones so a reader can see what the limits changed.

import { Decimal } from "decimal.js";
import { z } from "zod";
import { timestampFromMs } from "../core/timestamp.js";
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
  price: Decimal | undefined;
  holdings: Decimal;
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

function targetRow(inp: TargetInputs, weight: number, grossExposure: number): TargetRow {
  const holdings = inp.holdings.toFixed();
  const price = inp.price;
  if (price === undefined || !price.isPositive()) {
    return {
      assetId: inp.assetId, symbol: inp.symbol, prediction: inp.prediction, volatility: inp.volatility, weight, holdingsShares: holdings,
      price: undefined, targetNotionalBeforeLimits: "0", targetHoldingsSharesBeforeLimits: holdings, targetTradesSharesBeforeLimits: "0",
      targetTradesShares: "0", targetHoldingsShares: holdings, targetTradesNotional: "0", limitOutcome: "no_price",
    };
  }
  // 12 significant digits: enough for any exchange step, and stable across platforms.
  const notional = new Decimal(weight * grossExposure).toSignificantDigits(12);
  const targetShares = notional.div(price).toSignificantDigits(12);
  const trade = targetShares.sub(inp.holdings);
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
    targetHoldingsShares: zeroTrade ? holdings : inp.holdings.add(limited.shares).toFixed(),
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
