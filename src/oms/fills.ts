// Folding what the children of a parent order did on the exchange into one parent fill
// (DOMAIN.md section 5). The portfolio only ever sees parent-level fills.

import { Decimal } from "decimal.js";
import { scaledMul, scaledOf, ScaledTotal } from "../core/scaled-number.js";
import { WideDecimal } from "../core/wide-decimal.js";
import { dec, type CcxtOrder, type CcxtTrade } from "./ccxt-types.js";

/** Exact values are WideDecimals: decimal.js's values to the digit, its text in logs. */
export interface ParentFill {
  parentOrderId: number;
  /** Signed shares: + bought, - sold. */
  numShares: WideDecimal;
  /** VWAP of executed prices: sum(cost) / |num_shares|. */
  price: WideDecimal;
  /** Latest update time of the children, epoch ms. */
  timestamp: number;
  /**
   * The children's trade fees in the quote currency: a fee charged in the base asset (an exchange
   * takes a spot buy's fee from what it bought) is valued at its trade's price, so the portfolio's
   * cash never mixes units.
   */
  fees: WideDecimal;
  /** Every currency a fee was charged in. */
  feeCurrencies: string[];
  /**
   * Fees in a currency that is neither the base nor the quote (e.g. BNB): not in `fees`, there is
   * no price to value them. Absent when there are none.
   */
  unvaluedFees?: { currency: string; cost: Decimal }[];
}

/** The symbol's two currencies, to value its fees in the quote currency. */
export interface FeeCurrencies {
  base: string;
  quote: string;
}

export interface FillCheckIssue {
  childOrderId: string;
  message: string;
}

export class FillFoldError extends Error {
  override readonly name = "FillFoldError";
}

/** What makes a trade the same trade (DOMAIN.md section 5): its time, id and order. */
export function tradeKey(t: CcxtTrade): string {
  return `${t.timestamp}\u0000${t.id}\u0000${t.order ?? ""}`;
}

/** Removes duplicate trades, keyed on tradeKey, keeping the first seen. */
export function dedupeTrades(trades: readonly CcxtTrade[]): CcxtTrade[] {
  // Most waves bring one trade per child: no key to build.
  if (trades.length < 2) return trades.slice();
  const seen = new Set<string>();
  const out: CcxtTrade[] = [];
  for (const t of trades) {
    const key = tradeKey(t);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(t);
  }
  return out;
}

/**
 * Folds children (their final exchange states) and their trades into a parent fill; undefined
 * when nothing filled. All children of a parent must be on one side.
 */
export function foldParentFill(parentOrderId: number, children: readonly CcxtOrder[], trades: readonly CcxtTrade[], currencies: FeeCurrencies): ParentFill | undefined {
  if (children.length === 0) return undefined;
  const side = (children[0] as CcxtOrder).side;
  // Exact sums in scaled integers (WideDecimal once a step would not fit): a parent's fold is a few
  // additions of short decimals, and decimal.js objects were most of its cost.
  const shares = new ScaledTotal();
  const cost = new ScaledTotal();
  let ts = 0;
  for (const c of children) {
    if (c.side !== side) throw new FillFoldError(`parent ${parentOrderId}: child ${c.id} is a ${c.side}, its siblings ${side}s`);
    shares.addNumber(c.filled, side === "buy" ? 1 : -1);
    cost.addNumber(c.cost);
    ts = Math.max(ts, c.lastUpdateTimestamp ?? c.lastTradeTimestamp ?? c.timestamp);
  }
  if (shares.isZero()) return undefined;
  const ids = children.length === 1 ? undefined : new Set(children.map((c) => c.id));
  const onlyId = (children[0] as CcxtOrder).id;
  const numShares = shares.value();
  return withFees({ parentOrderId, numShares, price: cost.value().div(numShares.abs()), timestamp: ts }, trades, (order) => (ids === undefined ? order === onlyId : ids.has(order)), currencies);
}

/** A parent fill with the fees of those of `trades` whose order `ofChild` accepts (deduplicated). */
function withFees(fill: Omit<ParentFill, "fees" | "feeCurrencies">, trades: readonly CcxtTrade[], ofChild: (order: string) => boolean, currencies: FeeCurrencies): ParentFill {
  const fees = new ScaledTotal();
  const feeCurrencies = new Set<string>();
  const unvalued = new Map<string, Decimal>();
  for (const t of dedupeTrades(trades)) {
    if (t.order === undefined || !ofChild(t.order) || t.fee === undefined) continue;
    feeCurrencies.add(t.fee.currency);
    if (!addQuoteFee(fees, t, currencies)) unvalued.set(t.fee.currency, (unvalued.get(t.fee.currency) ?? new Decimal(0)).add(dec(t.fee.cost)));
  }
  const out: ParentFill = { ...fill, fees: fees.value(), feeCurrencies: [...feeCurrencies].sort() };
  if (unvalued.size > 0) out.unvaluedFees = [...unvalued].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([currency, c]) => ({ currency, cost: c }));
  return out;
}

/**
 * What a child left open by its parent filled between two collections, as a fill of that parent:
 * the difference of its exchange state's filled amount and cost (DOMAIN.md section 5 folds child
 * states, not trades), priced at the VWAP of that difference, with the fees of `newTrades` (its
 * trades not collected before). Undefined when the state did not fill more.
 */
export function foldLateFill(parentOrderId: number, before: { filled: number; cost: number }, after: CcxtOrder, newTrades: readonly CcxtTrade[], currencies: FeeCurrencies): ParentFill | undefined {
  const sign = after.side === "buy" ? 1 : -1;
  const shares = new ScaledTotal();
  shares.addNumber(after.filled, sign);
  shares.addNumber(before.filled, sign === 1 ? -1 : 1);
  if (shares.isZero()) return undefined;
  const cost = new ScaledTotal();
  cost.addNumber(after.cost);
  cost.addNumber(before.cost, -1);
  const numShares = shares.value();
  if (numShares.isNegative() !== (sign === -1)) throw new FillFoldError(`parent ${parentOrderId}: child ${after.id} reports filled ${after.filled}, less than the ${before.filled} collected before`);
  const timestamp = after.lastUpdateTimestamp ?? after.lastTradeTimestamp ?? after.timestamp;
  return withFees({ parentOrderId, numShares, price: cost.value().div(numShares.abs()), timestamp }, newTrades, (order) => order === after.id, currencies);
}

/**
 * Adds a trade's fee in the quote currency to `total`: as charged when it is in the quote, at the
 * trade's price when in the base asset, nothing without a fee. False (and nothing added) when the
 * fee is in any other currency: there is nothing to value it by.
 */
export function addQuoteFee(total: ScaledTotal, t: CcxtTrade, currencies: FeeCurrencies): boolean {
  if (t.fee === undefined) return true;
  if (t.fee.currency === currencies.quote) {
    total.addNumber(t.fee.cost);
    return true;
  }
  if (t.fee.currency !== currencies.base) return false;
  const fee = t.fee.cost === 0 ? undefined : scaledOf(t.fee.cost);
  const price = t.price === 0 ? undefined : scaledOf(t.price);
  const product = fee === undefined || price === undefined ? undefined : scaledMul(fee, price);
  if (product !== undefined) total.add(product);
  else total.add(WideDecimal.of(t.fee.cost).mul(WideDecimal.of(t.price)));
  return true;
}

/** Per child: `filled` must equal the sum of its trades' amounts. Returns the mismatches. */
export function crossCheckChildFills(children: readonly CcxtOrder[], trades: readonly CcxtTrade[]): FillCheckIssue[] {
  const byOrder = new Map<string, ScaledTotal>();
  for (const t of dedupeTrades(trades)) {
    if (t.order === undefined) continue;
    let sum = byOrder.get(t.order);
    if (sum === undefined) {
      sum = new ScaledTotal();
      byOrder.set(t.order, sum);
    }
    sum.addNumber(t.amount);
  }
  const issues: FillCheckIssue[] = [];
  for (const c of children) {
    const traded = byOrder.get(c.id) ?? new ScaledTotal();
    if (!traded.equalsNumber(c.filled)) {
      issues.push({ childOrderId: c.id, message: `child ${c.id}: filled ${c.filled} but its trades sum to ${traded.value().toString()}` });
    }
  }
  return issues;
}
