// Fees, perpetual positions, margin, leverage and reduce-only, with every expected number worked
// out by hand in the comments. Spot: maker 0.02 %, taker 0.04 %. Perp (ETH/USDT:USDT): tick 0.01,
// lot 0.01, maker 0.02 %, taker 0.05 %, leverage 10 by default, 20 at most.

import { describe, expect, it } from "vitest";
import { FEE_ACCOUNT } from "../../src/exchange/engine.js";
import { funded, makeMarket, ofType, PERP, SPOT, type Market } from "./helpers.js";

const pos = (m: Market, account: number): Record<string, unknown> | undefined => m.engine.positions(account).find((p) => p.symbol === PERP) as Record<string, unknown> | undefined;

describe("spot fees", () => {
  it("maker sells, taker buys: each pays from what it receives, the fee account collects", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { BTC: "1" });
    const bob = funded(m, "bob", { USDT: "1000" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "0.5" });
    m.placeOk(bob, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "0.5" });
    // Notional 50 USDT. Maker (sell) fee 50 * 0.0002 = 0.01 USDT; taker (buy) fee 0.5 * 0.0004 = 0.0002 BTC.
    expect(m.bal(alice, "USDT").total).toBe("49.99");
    expect(m.bal(alice, "BTC").total).toBe("0.5");
    expect(m.bal(bob, "USDT").total).toBe("950");
    expect(m.bal(bob, "BTC").total).toBe("0.4998");
    expect(m.bal(FEE_ACCOUNT, "USDT").total).toBe("0.01");
    expect(m.bal(FEE_ACCOUNT, "BTC").total).toBe("0.0002");
    const fills = ofType(m.events, "filled");
    expect(fills.map((f) => [f.account, f.liquidity, f.fee, f.feeAsset])).toEqual([
      [alice, "maker", 1_000_000, "USDT"],
      [bob, "taker", 20_000, "BTC"],
    ]);
  });

  it("maker buys, taker sells", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { USDT: "1000" });
    const bob = funded(m, "bob", { BTC: "1" });
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "0.5" });
    m.placeOk(bob, { symbol: SPOT, side: "sell", type: "market", quantity: "0.5" });
    // Maker (buy) fee 0.5 * 0.0002 = 0.0001 BTC; taker (sell) fee 50 * 0.0004 = 0.02 USDT.
    expect(m.bal(alice, "BTC").total).toBe("0.4999");
    expect(m.bal(alice, "USDT")).toEqual({ free: "950", locked: "0", total: "950" });
    expect(m.bal(bob, "USDT").total).toBe("49.98");
    expect(m.bal(bob, "BTC").total).toBe("0.5");
    expect(m.bal(FEE_ACCOUNT, "USDT").total).toBe("0.02");
    expect(m.bal(FEE_ACCOUNT, "BTC").total).toBe("0.0001");
  });

  it("rounds a fraction of a unit half up", () => {
    // Fee rates chosen so that one lot (0.001 BTC = 100000 units) gives 12.5 and 12.345 units.
    const m = makeMarket({ instruments: [{ symbol: SPOT, kind: "spot", base: "BTC", quote: "USDT", tickSize: "0.1", lotSize: "0.001", makerFee: "0.000125", takerFee: "0.00012345" }] });
    const alice = funded(m, "alice", { USDT: "1000" });
    const bob = funded(m, "bob", { USDT: "1000" });
    const carol = funded(m, "carol", { BTC: "1" });
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "0.001" });
    m.placeOk(carol, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.001" });
    m.placeOk(carol, { symbol: SPOT, side: "sell", type: "market", quantity: "0.001" });
    m.placeOk(bob, { symbol: SPOT, side: "buy", type: "market", quantity: "0.001" });
    const fees = ofType(m.events, "filled").map((f) => [f.account, f.liquidity, f.fee]);
    expect(fees).toEqual([
      [alice, "maker", 13], // 12.5 -> 13 BTC units
      [carol, "taker", 1235], // 0.1 USDT * 0.00012345 = 1234.5 units -> 1235
      [carol, "maker", 1263], // 0.101 USDT * 0.000125 = 1262.5 units -> 1263
      [bob, "taker", 12], // 12.345 -> 12
    ]);
    expect(m.bal(alice, "BTC").total).toBe("0.00099987");
  });
});

describe("perpetual positions", () => {
  it("opens, marks, reduces and flips with exact PnL, margin and fees", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { USDT: "10000" });
    const bob = funded(m, "bob", { USDT: "10000" });
    const lp = funded(m, "lp", { USDT: "10000" });

    // Alice rests a sell of 1 @ 2000: 200 USDT of initial margin locked at 10x.
    m.placeOk(alice, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "1" });
    expect(m.bal(alice, "USDT")).toEqual({ free: "9800", locked: "200", total: "10000" });
    // Bob takes it: notional 2000; bob pays 2000 * 0.0005 = 1, alice 2000 * 0.0002 = 0.4, both in USDT.
    m.placeOk(bob, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "1" });
    expect(m.bal(bob, "USDT")).toEqual({ free: "9799", locked: "200", total: "9999" });
    expect(m.bal(alice, "USDT")).toEqual({ free: "9799.6", locked: "200", total: "9999.6" });
    expect(m.bal(FEE_ACCOUNT, "USDT").total).toBe("1.4");
    expect(ofType(m.events, "filled").map((f) => [f.fee, f.feeAsset])).toEqual([
      [40_000_000, "USDT"],
      [100_000_000, "USDT"],
    ]);
    // The book is empty: the mark is the last trade.
    expect(pos(m, bob)).toEqual({ symbol: PERP, size: "1", entryPrice: "2000", realizedPnl: "0", unrealizedPnl: "0", markPrice: "2000", leverage: 10, initialMargin: "200" });
    expect(pos(m, alice)).toMatchObject({ size: "-1", entryPrice: "2000" });

    // The LP quotes 2090 / 2110: the mark is the mid, 2100. Its locks: 104.5 + 105.5.
    m.placeOk(lp, { symbol: PERP, side: "buy", type: "limit", price: "2090", quantity: "0.5" });
    m.placeOk(lp, { symbol: PERP, side: "sell", type: "limit", price: "2110", quantity: "0.5" });
    expect(m.bal(lp, "USDT")).toEqual({ free: "9790", locked: "210", total: "10000" });
    expect(pos(m, bob)).toMatchObject({ markPrice: "2100", unrealizedPnl: "100" });
    expect(pos(m, alice)).toMatchObject({ markPrice: "2100", unrealizedPnl: "-100" });

    // Bob sells 0.4 at market into the 2090 bid: closes 0.4 bought at 2000, realizes 0.4 * 90 = 36,
    // fee 836 * 0.0005 = 0.418. Margin on the 0.6 left: 1200 / 10 = 120.
    m.placeOk(bob, { symbol: PERP, side: "sell", type: "market", quantity: "0.4" });
    expect(pos(m, bob)).toEqual({ symbol: PERP, size: "0.6", entryPrice: "2000", realizedPnl: "36", unrealizedPnl: "60", markPrice: "2100", leverage: 10, initialMargin: "120" });
    expect(m.bal(bob, "USDT")).toEqual({ free: "9914.582", locked: "120", total: "10034.582" });
    // The LP bought 0.4 @ 2090 as maker (fee 0.1672); its bid lock falls to 2090 * 0.1 / 10 = 20.9,
    // and the new position holds 836 / 10 = 83.6: locked 20.9 + 105.5 + 83.6 = 210.
    expect(m.bal(lp, "USDT")).toEqual({ free: "9789.8328", locked: "210", total: "9999.8328" });

    // Bob sells 1 @ 2090: takes the LP's last 0.1 (realizes 0.1 * 90 = 9, fee 0.1045), rests 0.9.
    m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2090", quantity: "1" });
    expect(pos(m, bob)).toMatchObject({ size: "0.5", realizedPnl: "45", initialMargin: "100" });
    // Resting 0.9 @ 2090 locks 188.1 more.
    expect(m.bal(bob, "USDT")).toEqual({ free: "9755.3775", locked: "288.1", total: "10043.4775" });

    // Alice buys 0.9 @ 2090 against it. Bob (maker) closes his 0.5 long (+45) and opens a 0.4 short
    // at 2090 (fee 1881 * 0.0002 = 0.3762). Alice closes 0.9 of her short: 1800 - 1881 = -81 (fee 0.9405).
    m.placeOk(alice, { symbol: PERP, side: "buy", type: "limit", price: "2090", quantity: "0.9" });
    expect(pos(m, bob)).toMatchObject({ size: "-0.4", entryPrice: "2090", realizedPnl: "90", initialMargin: "83.6" });
    expect(m.bal(bob, "USDT")).toEqual({ free: "10004.5013", locked: "83.6", total: "10088.1013" });
    expect(pos(m, alice)).toMatchObject({ size: "-0.1", entryPrice: "2000", realizedPnl: "-81", initialMargin: "20" });
    expect(m.bal(alice, "USDT")).toEqual({ free: "9897.6595", locked: "20", total: "9917.6595" });
    // LP: long 0.5 (basis 836 + 209 = 1045), paid 0.0418 more in fees.
    expect(pos(m, lp)).toMatchObject({ size: "0.5", entryPrice: "2090", initialMargin: "104.5" });
    expect(m.bal(lp, "USDT").total).toBe("9999.791");
    expect(m.bal(FEE_ACCOUNT, "USDT").total).toBe("3.4482");
    // Money is conserved: totals + fees (30009) minus the open positions' basis (-836 - 200 + 1045 = 9).
    const q = m.engine.assetList().find((a) => a.name === "USDT")?.index as number;
    let sum = 0;
    for (let i = 0; i < m.engine.accountCount(); i++) sum += m.engine.account(i)?.total[q] as number;
    expect(sum - (m.engine.positionBasisByAsset()[q] as number)).toBe(m.engine.netDeposited(q));
    expect(m.engine.netDeposited(q)).toBe(30000 * 1e8);
  });

  it("averages the entry price of added lots and closes to flat", () => {
    const m = makeMarket();
    const bob = funded(m, "bob", { USDT: "10000" });
    const lp = funded(m, "lp", { USDT: "100000" });
    m.placeOk(lp, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "1" });
    m.placeOk(lp, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "2" });
    m.placeOk(bob, { symbol: PERP, side: "buy", type: "market", quantity: "3" });
    // (2000 + 2 * 2100) / 3 = 2066.666...
    expect(pos(m, bob)).toMatchObject({ size: "3", entryPrice: "2066.6666666666666667", initialMargin: "620" });
    m.placeOk(lp, { symbol: PERP, side: "buy", type: "limit", price: "2200", quantity: "3" });
    m.placeOk(bob, { symbol: PERP, side: "sell", type: "market", quantity: "3" });
    // Sold for 6600, bought for 6200: +400. Fees as taker: 6200 * 0.0005 + 6600 * 0.0005 = 3.1 + 3.3.
    expect(pos(m, bob)).toMatchObject({ size: "0", entryPrice: undefined, realizedPnl: "400", initialMargin: "0" });
    expect(m.bal(bob, "USDT")).toEqual({ free: "10393.6", locked: "0", total: "10393.6" });
  });

  it("checks initial margin at the order's leverage, and prices a sell's margin at the bids it takes", () => {
    const m = makeMarket();
    const dave = funded(m, "dave", { USDT: "100" });
    const lp = funded(m, "lp", { USDT: "100000" });
    // 1 @ 1990 at 10x needs 199.
    expect(m.place(dave, { symbol: PERP, side: "buy", type: "limit", price: "1990", quantity: "1" })).toMatchObject({ ok: false, reason: "insufficient_margin" });
    expect(m.engine.setLeverage(dave, PERP, 20)).toEqual({ ok: true });
    // At 20x: 99.5.
    const id = m.placeOk(dave, { symbol: PERP, side: "buy", type: "limit", price: "1990", quantity: "1" });
    expect(m.bal(dave, "USDT")).toEqual({ free: "0.5", locked: "99.5", total: "100" });
    m.engine.cancelOrder(dave, id);
    m.engine.setLeverage(dave, PERP, 10);
    // A sell limit of 1000 would need 90 at its limit, but it fills at the 2000 bid: 180 > 100.
    m.placeOk(lp, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "1" });
    expect(m.place(dave, { symbol: PERP, side: "sell", type: "limit", price: "1000", quantity: "0.9" })).toMatchObject({ ok: false, reason: "insufficient_margin" });
    expect(m.place(dave, { symbol: PERP, side: "sell", type: "market", quantity: "0.9" })).toMatchObject({ ok: false, reason: "insufficient_margin" });
    // 0.4 fills at 2000: margin 80 <= 100.
    expect(m.place(dave, { symbol: PERP, side: "sell", type: "limit", price: "1000", quantity: "0.4" })).toMatchObject({ ok: true, status: "filled" });
    expect(pos(m, dave)).toMatchObject({ size: "-0.4", initialMargin: "80" });
    // Spot quote held by spot orders is not available as margin either.
    const erin = funded(m, "erin", { USDT: "100" });
    m.placeOk(erin, { symbol: SPOT, side: "buy", type: "limit", price: "90", quantity: "1" });
    expect(m.place(erin, { symbol: PERP, side: "buy", type: "limit", price: "1990", quantity: "0.1" })).toMatchObject({ ok: false, reason: "insufficient_margin" });
  });

  it("changes leverage: re-margins an open position, checks free funds, validates the value", () => {
    const m = makeMarket();
    const bob = funded(m, "bob", { USDT: "300" });
    const lp = funded(m, "lp", { USDT: "100000" });
    m.placeOk(lp, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "1" });
    m.placeOk(bob, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "1" });
    // Margin 200 at 10x, fee 1: free 99.
    expect(m.bal(bob, "USDT")).toEqual({ free: "99", locked: "200", total: "299" });
    expect(m.engine.setLeverage(bob, PERP, 5)).toMatchObject({ ok: false, reason: "insufficient_margin" }); // needs 400
    expect(m.engine.setLeverage(bob, PERP, 20)).toEqual({ ok: true });
    expect(pos(m, bob)).toMatchObject({ leverage: 20, initialMargin: "100" });
    expect(m.bal(bob, "USDT")).toEqual({ free: "199", locked: "100", total: "299" });
    expect(m.engine.setLeverage(bob, PERP, 7)).toEqual({ ok: true });
    // 2000 / 7 = 285.714285714..., rounded up to the unit.
    expect(pos(m, bob)).toMatchObject({ leverage: 7, initialMargin: "285.71428572" });
    for (const bad of [0, 21, 2.5, Number.NaN]) expect(m.engine.setLeverage(bob, PERP, bad)).toMatchObject({ ok: false, reason: "invalid_leverage" });
    expect(m.engine.setLeverage(bob, SPOT, 2)).toMatchObject({ ok: false, reason: "invalid_leverage" });
    expect(m.engine.setLeverage(bob, "NOPE/USDT", 2)).toMatchObject({ ok: false, reason: "unknown_instrument" });
    expect(m.engine.setLeverage(FEE_ACCOUNT, PERP, 2)).toMatchObject({ ok: false, reason: "unknown_account" });
    expect(pos(m, bob)).toMatchObject({ leverage: 7 });
  });

  it("a leverage set before any position applies to the next one", () => {
    const m = makeMarket();
    const bob = funded(m, "bob", { USDT: "1000" });
    const lp = funded(m, "lp", { USDT: "100000" });
    expect(m.engine.setLeverage(bob, PERP, 4)).toEqual({ ok: true });
    m.placeOk(lp, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "1" });
    m.placeOk(bob, { symbol: PERP, side: "buy", type: "market", quantity: "1" });
    expect(pos(m, bob)).toMatchObject({ leverage: 4, initialMargin: "500" });
  });
});

describe("reduce-only", () => {
  /** Bob is long 1 ETH @ 2000 from the LP; the LP also bids 0.5 @ 1990 and 1 @ 1980. */
  const longBob = (): { m: Market; bob: number; lp: number; carol: number } => {
    const m = makeMarket();
    const bob = funded(m, "bob", { USDT: "10000" });
    const lp = funded(m, "lp", { USDT: "100000" });
    const carol = funded(m, "carol", { USDT: "100000" });
    m.placeOk(lp, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "1" });
    m.placeOk(bob, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "1" });
    m.placeOk(lp, { symbol: PERP, side: "buy", type: "limit", price: "1990", quantity: "0.5" });
    m.placeOk(lp, { symbol: PERP, side: "buy", type: "limit", price: "1980", quantity: "1" });
    return { m, bob, lp, carol };
  };

  it("is rejected when it would open or increase a position, and is only for perpetuals", () => {
    const { m, bob, carol } = longBob();
    expect(m.place(carol, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "0.1", reduceOnly: true })).toMatchObject({ ok: false, reason: "reduce_only_would_increase" });
    expect(m.place(bob, { symbol: PERP, side: "buy", type: "limit", price: "1900", quantity: "0.1", reduceOnly: true })).toMatchObject({ ok: false, reason: "reduce_only_would_increase" });
    expect(m.place(bob, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "1.01", reduceOnly: true })).toMatchObject({ ok: false, reason: "reduce_only_would_increase" });
    expect(m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "0.1", reduceOnly: true })).toMatchObject({ ok: false, reason: "reduce_only_not_supported" });
    // The full position is fine, needs no margin and may be below the minimum notional.
    const id = m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "1", reduceOnly: true });
    expect(m.engine.getOrder(id)).toMatchObject({ reduceOnly: true, status: "new" });
    expect(m.bal(bob, "USDT").locked).toBe("200");
    expect(m.engine.amendOrder(bob, id, { quantity: "1.5" })).toMatchObject({ ok: false, reason: "reduce_only_would_increase" });
  });

  it("a resting reduce-only order is trimmed when the position shrinks and cancelled when it is flat", () => {
    const { m, bob } = longBob();
    const ro = m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "1", reduceOnly: true });
    // Bob sells 0.5 elsewhere: position 0.5, the reduce-only order shrinks to 0.5 and keeps its place.
    m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "1990", quantity: "0.5" });
    expect(pos(m, bob)).toMatchObject({ size: "0.5" });
    expect(m.engine.getOrder(ro)).toMatchObject({ quantity: "0.5", remaining: "0.5", status: "new" });
    expect(m.engine.depth(PERP).asks).toEqual([["2100", "0.5"]]);
    // Its owner is told, as of an amend that kept the order's place.
    expect(ofType(m.events, "amended").filter((e) => e.orderId === ro).map((e) => [e.qty, e.remaining, e.keptPriority])).toEqual([[50, 50, true]]);
    // Bob sells the rest: flat, the reduce-only order is cancelled.
    m.placeOk(bob, { symbol: PERP, side: "sell", type: "market", quantity: "0.5" });
    expect(pos(m, bob)).toMatchObject({ size: "0" });
    expect(m.engine.getOrder(ro)?.status).toBe("canceled");
    expect(ofType(m.events, "canceled").map((e) => [e.orderId, e.reason, e.remaining])).toEqual([[ro, "reduce_only", 50]]);
    expect(m.engine.depth(PERP).asks).toEqual([]);
  });

  it("a sweep never fills resting reduce-only orders past flat", () => {
    const { m, bob, carol } = longBob();
    // Two reduce-only sells of the whole position: each is valid alone, together they are 2.
    const a = m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "1", reduceOnly: true });
    const b = m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2101", quantity: "1", reduceOnly: true });
    // A FOK for 2 cannot be filled: only 1 is really there.
    expect(m.place(carol, { symbol: PERP, side: "buy", type: "limit", price: "2101", quantity: "2", timeInForce: "FOK" })).toMatchObject({ ok: true, status: "expired" });
    expect(m.engine.getOrder(b)).toMatchObject({ status: "new", remaining: "1" });
    // A GTC for 2 takes the first and rests the rest; the second is cancelled, bob ends flat.
    const r = m.place(carol, { symbol: PERP, side: "buy", type: "limit", price: "2101", quantity: "2" });
    expect(r).toMatchObject({ ok: true, status: "partially_filled" });
    expect(m.engine.getOrder(a)?.status).toBe("filled");
    expect(m.engine.getOrder(b)?.status).toBe("canceled");
    expect(pos(m, bob)).toMatchObject({ size: "0", realizedPnl: "100" });
    expect(m.engine.bestBidAsk(PERP)).toEqual({ bid: "2101", ask: undefined });
  });

  it("a plain order of the same account ahead in the queue shrinks the reduce-only order first", () => {
    const { m, bob, carol } = longBob();
    m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "0.6" });
    const ro = m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "1", reduceOnly: true });
    m.placeOk(carol, { symbol: PERP, side: "buy", type: "limit", price: "2100", quantity: "2" });
    // 0.6 plain + 0.4 reduce-only (trimmed from 1): bob is flat, carol bought 1 and bids 1.
    expect(pos(m, bob)).toMatchObject({ size: "0" });
    expect(m.engine.getOrder(ro)).toMatchObject({ status: "filled", quantity: "0.4", filled: "0.4" });
    expect(pos(m, carol)).toMatchObject({ size: "1" });
  });
});
