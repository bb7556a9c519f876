import { describe, expect, it } from "vitest";
import type { CcxtOrder, CcxtTrade } from "../../src/oms/ccxt-types.js";
import { crossCheckChildFills, dedupeTrades, FillFoldError, foldLateFill, foldParentFill } from "../../src/oms/fills.js";
import { applyExchangeLimits } from "../../src/oms/exchange-limits.js";

function child(id: string, side: "buy" | "sell", filled: number, cost: number, ts: number): CcxtOrder {
  return {
    id, clientOrderId: undefined, timestamp: ts - 1000, datetime: "", lastTradeTimestamp: ts, symbol: "X/USDT", type: "limit",
    timeInForce: "GTC", side, price: 1, average: undefined, amount: 10, filled, remaining: 10 - filled, cost,
    status: "canceled", fee: undefined, reduceOnly: false, postOnly: false, trades: [], info: {},
  };
}

function trade(id: string, order: string, amount: number, price: number, fee: number, ts = 1, feeCurrency = "USDT"): CcxtTrade {
  return {
    id, order, timestamp: ts, datetime: "", symbol: "X/USDT", type: "limit", side: "buy", takerOrMaker: "maker",
    price, amount, cost: amount * price, fee: { cost: fee, currency: feeCurrency }, info: {},
  };
}

const X_USDT = { base: "X", quote: "USDT" };

describe("folding child fills into a parent fill", () => {
  it("a late fill is what the child filled since it was last booked: the difference of its state, the fees of its new trades", () => {
    // Booked 1.5 for 15.15 with the parent; 0.75 more since, at 10.4, in one new trade.
    const now: CcxtOrder = { ...child("a", "sell", 2.25, 22.95, 7000), status: "open" };
    const f = foldLateFill(3, { filled: 1.5, cost: 15.15 }, now, [trade("2", "a", 0.75, 10.4, 0.0078), trade("1", "b", 1, 1, 1)], X_USDT);
    expect([f?.parentOrderId, f?.numShares.toString(), f?.price.toString(), f?.fees.toString(), f?.timestamp]).toEqual([3, "-0.75", "10.4", "0.0078", 7000]);
    // Nothing more filled: no fill, whatever its state.
    expect(foldLateFill(3, { filled: 2.25, cost: 22.95 }, { ...now, status: "canceled" as const }, [], X_USDT)).toBeUndefined();
    // An exchange that reports less than was booked is named, not booked as a reversal.
    expect(() => foldLateFill(3, { filled: 3, cost: 30 }, now, [], X_USDT)).toThrow(FillFoldError);
  });

  it("sums signed shares, takes the VWAP of executed cost, the latest time and the trade fees", () => {
    const children = [child("a", "sell", 3, 30.3, 1000), child("b", "sell", 1.2, 12.24, 5000), child("c", "sell", 0, 0, 9000)];
    const trades = [trade("1", "a", 1, 10.1, 0.01), trade("2", "a", 2, 10.1, 0.02), trade("3", "b", 1.2, 10.2, 0.0122), trade("3", "b", 1.2, 10.2, 0.0122)];
    const f = foldParentFill(7, children, trades, X_USDT);
    expect(f?.numShares.toString()).toBe("-4.2");
    // (30.3 + 12.24) / 4.2
    expect(f?.price.toString()).toBe("10.128571428571428571");
    expect(f?.timestamp).toBe(9000);
    expect(f?.fees.toString()).toBe("0.0422");
    expect(f?.feeCurrencies).toEqual(["USDT"]);
    expect(f?.unvaluedFees).toBeUndefined();
  });

  it("values fees in the quote currency: a base-asset fee at its trade's price; others are left out and listed", () => {
    // A spot buy whose fee the exchange takes from the bought asset, one in USDT, one in BNB.
    const children = [child("a", "buy", 3, 30.3, 1000)];
    const trades = [trade("1", "a", 1, 10.1, 0.001, 1, "X"), trade("2", "a", 2, 10.1, 0.02), trade("3", "a", 0, 10.1, 0.5, 1, "BNB")];
    const f = foldParentFill(7, children, trades, X_USDT);
    // 0.001 X * 10.1 + 0.02 USDT
    expect(f?.fees.toString()).toBe("0.0301");
    expect(f?.feeCurrencies).toEqual(["BNB", "USDT", "X"]);
    expect(f?.unvaluedFees?.map((u) => [u.currency, u.cost.toString()])).toEqual([["BNB", "0.5"]]);
  });

  it("gives no fill when nothing filled", () => {
    expect(foldParentFill(1, [child("a", "buy", 0, 0, 1)], [], X_USDT)).toBeUndefined();
    expect(foldParentFill(1, [], [], X_USDT)).toBeUndefined();
  });

  it("refuses children on both sides", () => {
    expect(() => foldParentFill(1, [child("a", "buy", 1, 1, 1), child("b", "sell", 1, 1, 1)], [], X_USDT)).toThrow(FillFoldError);
  });

  it("de-duplicates trades on (timestamp, id, order) and cross-checks filled against trades", () => {
    const ts = [trade("1", "a", 1, 1, 0), trade("1", "a", 1, 1, 0), trade("1", "a", 1, 1, 0, 2)];
    expect(dedupeTrades(ts)).toHaveLength(2);
    const issues = crossCheckChildFills([child("a", "buy", 2, 2, 1), child("b", "buy", 1, 1, 1)], ts);
    expect(issues.map((i) => i.childOrderId)).toEqual(["b"]);
    expect(issues[0]?.message).toMatch(/filled 1 but its trades sum to 0/);
  });
});

describe("exchange limits (DOMAIN section 4)", () => {
  const limits = { minAmount: "0.001", minCost: "10", amountStep: "0.001" };
  it("drops trades below the minimum amount", () => {
    const r = applyExchangeLimits("0.0004", "30000", limits);
    expect(r.outcome).toBe("below_min_amount");
    expect(r.shares.toString()).toBe("0");
    expect(r.sharesBeforeLimits.toString()).toBe("0.0004");
  });
  it("drops trades whose notional is at or below min cost (note <=)", () => {
    expect(applyExchangeLimits("-1", "10", limits).outcome).toBe("below_min_cost");
    expect(applyExchangeLimits("1.001", "10", limits).outcome).toBe("ok");
  });
  it("rounds to the amount precision otherwise", () => {
    expect(applyExchangeLimits("-0.12345", "30000", limits).shares.toString()).toBe("-0.123");
    expect(applyExchangeLimits("0.1235", "30000", limits).shares.toString()).toBe("0.124");
  });
});
