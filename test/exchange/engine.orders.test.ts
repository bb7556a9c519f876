// Order types, cancel, amend and self-trade prevention through ExchangeEngine.placeOrder, on the spot
// market of helpers.ts (tick 0.1, lot 0.001, min notional 5 USDT, maker 0.02 %, taker 0.04 %).

import { describe, expect, it } from "vitest";
import { BUY, SELL } from "../../src/exchange/order-book.js";
import { funded, makeMarket, ofType, PERP, SPOT, type Market } from "./helpers.js";

function twoTraders(m: Market = makeMarket()): { m: Market; alice: number; bob: number } {
  const alice = funded(m, "alice", { BTC: "10", USDT: "100000" });
  const bob = funded(m, "bob", { BTC: "10", USDT: "100000" });
  return { m, alice, bob };
}

describe("limit GTC", () => {
  it("rests when nothing crosses and locks the quote it may spend", () => {
    const { m, alice } = twoTraders();
    const r = m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    expect(r).toEqual({ ok: true, orderId: 1, status: "new" });
    expect(m.bal(alice, "USDT")).toEqual({ free: "99900", locked: "100", total: "100000" });
    expect(m.engine.depth(SPOT)).toEqual({ bids: [["100", "1"]], asks: [] });
    expect(m.engine.bestBidAsk(SPOT)).toEqual({ bid: "100", ask: undefined });
    const o = m.engine.getOrder(1);
    expect(o).toMatchObject({ side: "buy", type: "limit", timeInForce: "GTC", price: "100", quantity: "1", filled: "0", remaining: "1", cost: "0", status: "new" });
    expect(o?.averagePrice).toBeUndefined();
    // A resting sell locks the base instead.
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "110", quantity: "2.5" });
    expect(m.bal(alice, "BTC")).toEqual({ free: "7.5", locked: "2.5", total: "10" });
  });

  it("fills at the maker's price, partially fills the maker, and rests nothing when fully filled", () => {
    const { m, alice, bob } = twoTraders();
    const bid = m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    // Bob sells 0.4 with a limit of 99: trades at 100 (the maker's price), notional 40 USDT.
    const r = m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "99", quantity: "0.4" });
    expect(r).toEqual({ ok: true, orderId: 2, status: "filled" });
    expect(m.engine.getOrder(2)).toMatchObject({ filled: "0.4", remaining: "0", cost: "40", averagePrice: "100", status: "filled" });
    expect(m.engine.getOrder(bid)).toMatchObject({ filled: "0.4", remaining: "0.6", cost: "40", averagePrice: "100", status: "partially_filled" });
    // Alice keeps 60 USDT locked for the 0.6 left; she paid 40 and got 0.4 BTC less the 0.02 % maker fee (0.00008).
    expect(m.bal(alice, "USDT")).toEqual({ free: "99900", locked: "60", total: "99960" });
    expect(m.bal(alice, "BTC")).toEqual({ free: "10.39992", locked: "0", total: "10.39992" });
    // Bob got 40 USDT less the 0.04 % taker fee (0.016).
    expect(m.bal(bob, "USDT")).toEqual({ free: "100039.984", locked: "0", total: "100039.984" });
    expect(m.bal(bob, "BTC").total).toBe("9.6");
    expect(m.engine.depth(SPOT)).toEqual({ bids: [["100", "0.6"]], asks: [] });
    expect(m.engine.openOrders(bob)).toEqual([]);
  });

  it("sweeps several levels best price first and rests the remainder at its limit", () => {
    const { m, alice, bob } = twoTraders();
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.5" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "100.5", quantity: "0.2" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "103", quantity: "1" });
    const id = m.placeOk(bob, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "1" });
    // 0.2 @ 100.5 + 0.5 @ 101 = 20.1 + 50.5 = 70.6 USDT; 0.3 rests at 101 (30.3 locked).
    expect(ofType(m.events, "trade").map((t) => [t.price, t.qty])).toEqual([
      [1005, 200],
      [1010, 500],
    ]);
    expect(m.engine.getOrder(id)).toMatchObject({ filled: "0.7", remaining: "0.3", cost: "70.6", averagePrice: "100.85714285714285714", status: "partially_filled" });
    expect(m.bal(bob, "USDT")).toEqual({ free: "99899.1", locked: "30.3", total: "99929.4" });
    expect(m.engine.bestBidAsk(SPOT)).toEqual({ bid: "101", ask: "103" });
  });
});

describe("IOC", () => {
  it("fills what it can and expires the rest, never resting", () => {
    const { m, alice, bob } = twoTraders();
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "0.6" });
    const r = m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "1", timeInForce: "IOC" });
    expect(r).toEqual({ ok: true, orderId: 2, status: "expired" });
    expect(m.engine.getOrder(2)).toMatchObject({ filled: "0.6", remaining: "0.4", timeInForce: "IOC", status: "expired" });
    const exp = ofType(m.events, "expired");
    expect(exp).toHaveLength(1);
    expect(exp[0]).toMatchObject({ orderId: 2, remaining: 400, reason: "ioc_remainder" });
    expect(m.engine.depth(SPOT)).toEqual({ bids: [], asks: [] });
    expect(m.bal(bob, "BTC")).toEqual({ free: "9.4", locked: "0", total: "9.4" });
  });

  it("expires entirely when nothing crosses", () => {
    const { m, alice, bob } = twoTraders();
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "99", quantity: "1" });
    expect(m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "1", timeInForce: "IOC" })).toMatchObject({ ok: true, status: "expired" });
    expect(m.engine.getOrder(2)).toMatchObject({ filled: "0", remaining: "1" });
    expect(m.engine.openOrders(bob)).toEqual([]);
    expect(m.bal(bob, "BTC")).toEqual({ free: "10", locked: "0", total: "10" });
    expect(ofType(m.events, "trade")).toEqual([]);
  });
});

describe("FOK", () => {
  const book = (): { m: Market; alice: number; bob: number } => {
    const t = twoTraders();
    t.m.placeOk(t.alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.5" });
    t.m.placeOk(t.alice, { symbol: SPOT, side: "sell", type: "limit", price: "102", quantity: "0.5" });
    return t;
  };

  it("expires with no fill when the whole quantity is not there (size or price)", () => {
    const { m, bob } = book();
    const before = m.engine.balances(bob);
    expect(m.place(bob, { symbol: SPOT, side: "buy", type: "limit", price: "102", quantity: "1.5", timeInForce: "FOK" })).toMatchObject({ ok: true, status: "expired" });
    expect(m.place(bob, { symbol: SPOT, side: "buy", type: "limit", price: "101.5", quantity: "1", timeInForce: "FOK" })).toMatchObject({ ok: true, status: "expired" });
    expect(ofType(m.events, "trade")).toEqual([]);
    expect(ofType(m.events, "expired").map((e) => [e.remaining, e.reason])).toEqual([
      [1500, "fok_unfillable"],
      [1000, "fok_unfillable"],
    ]);
    expect(m.engine.balances(bob)).toEqual(before);
    expect(m.engine.depth(SPOT).asks).toEqual([
      ["101", "0.5"],
      ["102", "0.5"],
    ]);
  });

  it("fills fully across levels when it can", () => {
    const { m, bob } = book();
    const r = m.place(bob, { symbol: SPOT, side: "buy", type: "limit", price: "102", quantity: "1", timeInForce: "FOK" });
    expect(r).toMatchObject({ ok: true, status: "filled" });
    // 50.5 + 51 = 101.5 USDT; bob receives 1 BTC less 0.04 % = 0.9996.
    expect(m.engine.getOrder(3)).toMatchObject({ filled: "1", cost: "101.5", averagePrice: "101.5" });
    expect(m.bal(bob, "USDT").total).toBe("99898.5");
    expect(m.bal(bob, "BTC").total).toBe("10.9996");
    expect(m.engine.depth(SPOT).asks).toEqual([]);
  });

  it("counts only what self-trade prevention lets it take", () => {
    const { m, alice, bob } = book();
    // Bob's own ask sits first at 100.5: under cancel_taker nothing is fillable, under cancel_maker it is skipped.
    m.placeOk(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100.5", quantity: "0.5" });
    expect(m.place(bob, { symbol: SPOT, side: "buy", type: "limit", price: "102", quantity: "1", timeInForce: "FOK" })).toMatchObject({ status: "expired" });
    expect(m.engine.openOrders(bob)).toHaveLength(1);
    expect(m.place(bob, { symbol: SPOT, side: "buy", type: "limit", price: "102", quantity: "1", timeInForce: "FOK", selfTradePrevention: "cancel_maker" })).toMatchObject({ status: "filled" });
    expect(m.engine.openOrders(bob)).toEqual([]);
    expect(m.engine.openOrders(alice)).toEqual([]);
  });
});

describe("post-only", () => {
  it("rests when it would not cross", () => {
    const { m, alice, bob } = twoTraders();
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "1" });
    const id = m.placeOk(bob, { symbol: SPOT, side: "buy", type: "limit", price: "100.9", quantity: "1", postOnly: true });
    expect(m.engine.getOrder(id)).toMatchObject({ postOnly: true, status: "new" });
    expect(m.engine.bestBidAsk(SPOT)).toEqual({ bid: "100.9", ask: "101" });
  });

  it("is rejected post_only_would_cross when it would take, on either side", () => {
    const { m, alice, bob } = twoTraders();
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "1" });
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "99", quantity: "1" });
    expect(m.place(bob, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "1", postOnly: true })).toMatchObject({ ok: false, reason: "post_only_would_cross" });
    expect(m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "98", quantity: "1", postOnly: true })).toMatchObject({ ok: false, reason: "post_only_would_cross" });
    expect(ofType(m.events, "trade")).toEqual([]);
    expect(m.bal(bob, "USDT").locked).toBe("0");
  });

  it("must be a GTC limit order", () => {
    const { m, bob } = twoTraders();
    expect(m.place(bob, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1", postOnly: true, timeInForce: "IOC" })).toMatchObject({ ok: false, reason: "invalid_request" });
    expect(m.place(bob, { symbol: SPOT, side: "buy", type: "market", quantity: "1", postOnly: true })).toMatchObject({ ok: false, reason: "invalid_request" });
  });
});

describe("market", () => {
  it("buys through the levels and pays only the fill cost", () => {
    const { m, alice, bob } = twoTraders();
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.5" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "102", quantity: "0.5" });
    const r = m.place(bob, { symbol: SPOT, side: "buy", type: "market", quantity: "0.7" });
    expect(r).toEqual({ ok: true, orderId: 3, status: "filled" });
    // 0.5 @ 101 + 0.2 @ 102 = 50.5 + 20.4 = 70.9.
    expect(m.engine.getOrder(3)).toMatchObject({ type: "market", price: "0", filled: "0.7", cost: "70.9", averagePrice: "101.28571428571428571" });
    expect(m.bal(bob, "USDT")).toEqual({ free: "99929.1", locked: "0", total: "99929.1" });
    expect(m.engine.depth(SPOT).asks).toEqual([["102", "0.3"]]);
  });

  it("expires the remainder it cannot fill", () => {
    const { m, alice, bob } = twoTraders();
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "0.3" });
    const r = m.place(bob, { symbol: SPOT, side: "sell", type: "market", quantity: "1" });
    expect(r).toMatchObject({ ok: true, status: "expired" });
    expect(m.engine.getOrder(2)).toMatchObject({ filled: "0.3", remaining: "0.7", timeInForce: "IOC" });
    expect(ofType(m.events, "expired")[0]).toMatchObject({ remaining: 700, reason: "market_remainder" });
    expect(m.engine.openOrders(bob)).toEqual([]);
    // Into an empty book: accepted, nothing filled, expired.
    expect(m.place(bob, { symbol: SPOT, side: "sell", type: "market", quantity: "1" })).toMatchObject({ ok: true, status: "expired" });
  });

  it("checks funds and minimum notional against what it would fill", () => {
    const { m, alice } = twoTraders();
    const poor = funded(m, "poor", { USDT: "50" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "1" });
    // 0.6 @ 100 = 60 > 50.
    expect(m.place(poor, { symbol: SPOT, side: "buy", type: "market", quantity: "0.6" })).toMatchObject({ ok: false, reason: "insufficient_balance" });
    // 0.04 @ 100 = 4 < 5.
    expect(m.place(poor, { symbol: SPOT, side: "buy", type: "market", quantity: "0.04" })).toMatchObject({ ok: false, reason: "below_min_notional" });
    expect(m.place(poor, { symbol: SPOT, side: "buy", type: "market", quantity: "0.5" })).toMatchObject({ ok: true, status: "filled" });
    expect(m.bal(poor, "USDT").total).toBe("0");
  });
});

describe("cancel", () => {
  it("cancels an open order, releases its lock, and a second cancel changes nothing", () => {
    const { m, alice } = twoTraders();
    const id = m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    expect(m.engine.cancelOrder(alice, id)).toEqual({ ok: true });
    expect(m.engine.getOrder(id)).toMatchObject({ status: "canceled", remaining: "1" });
    expect(m.bal(alice, "USDT")).toEqual({ free: "100000", locked: "0", total: "100000" });
    expect(m.engine.depth(SPOT).bids).toEqual([]);
    const balances = JSON.stringify(m.engine.balances(alice));
    const nEvents = m.events.length;
    const again = m.engine.cancelOrder(alice, id);
    expect(again).toMatchObject({ ok: false, reason: "unknown_order" });
    expect(JSON.stringify(m.engine.balances(alice))).toBe(balances);
    expect(m.engine.getOrder(id)).toMatchObject({ status: "canceled" });
    expect(m.events.slice(nEvents).map((e) => e.type)).toEqual(["rejected"]);
    expect(ofType(m.events, "canceled")).toHaveLength(1);
  });

  it("cannot cancel another account's order, a filled order or an unknown id", () => {
    const { m, alice, bob } = twoTraders();
    const id = m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "1" });
    expect(m.engine.cancelOrder(bob, id)).toMatchObject({ ok: false, reason: "unknown_order" });
    m.placeOk(bob, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    expect(m.engine.getOrder(id)?.status).toBe("filled");
    expect(m.engine.cancelOrder(alice, id)).toMatchObject({ ok: false, reason: "unknown_order" });
    expect(m.engine.cancelOrder(alice, 12345)).toMatchObject({ ok: false, reason: "unknown_order" });
    expect(m.engine.getOrder(id)?.status).toBe("filled");
  });

  it("cancelByClientId cancels by the account's own client id, once", () => {
    const { m, alice, bob } = twoTraders();
    const id = m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1", clientOrderId: "run1.bar3.p0.w1.a0" });
    expect(m.engine.getOrderByClientId(alice, "run1.bar3.p0.w1.a0")?.orderId).toBe(id);
    expect(m.engine.cancelByClientId(bob, "run1.bar3.p0.w1.a0")).toMatchObject({ ok: false, reason: "unknown_order" });
    expect(m.engine.cancelByClientId(alice, "run1.bar3.p0.w1.a0")).toEqual({ ok: true });
    expect(m.engine.getOrder(id)?.status).toBe("canceled");
    expect(m.engine.cancelByClientId(alice, "run1.bar3.p0.w1.a0")).toMatchObject({ ok: false, reason: "unknown_order" });
    // Still found by client id after it closed; and the id may be reused once closed.
    expect(m.engine.getOrderByClientId(alice, "run1.bar3.p0.w1.a0")?.status).toBe("canceled");
    const again = m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1", clientOrderId: "run1.bar3.p0.w1.a0" });
    expect(m.engine.getOrderByClientId(alice, "run1.bar3.p0.w1.a0")?.orderId).toBe(again);
  });

  it("remembers closed orders by client id per account, and forgets them oldest first", () => {
    const { m, alice, bob } = twoTraders(makeMarket({ closedOrderHistory: 2 }));
    const order = (clientOrderId: string) => ({ symbol: SPOT, side: "buy" as const, type: "limit" as const, price: "100", quantity: "1", clientOrderId });
    const first = m.placeOk(alice, order("a"));
    m.engine.cancelOrder(alice, first);
    // Bob's order with the same client id is his own, open or closed.
    const bobs = m.placeOk(bob, order("a"));
    expect(m.engine.getOrderByClientId(alice, "a")?.orderId).toBe(first);
    expect(m.engine.getOrderByClientId(bob, "a")?.orderId).toBe(bobs);
    m.engine.cancelOrder(bob, bobs);
    expect(m.engine.getOrderByClientId(alice, "a")?.orderId).toBe(first);
    expect(m.engine.getOrderByClientId(bob, "a")?.orderId).toBe(bobs);
    // Alice reuses "a"; when her first "a" is forgotten, the second stays found.
    const second = m.placeOk(alice, order("a"));
    m.engine.cancelOrder(alice, second);
    expect(m.engine.getOrderByClientId(alice, "a")?.orderId).toBe(second);
    expect(m.engine.getOrder(first)).toBeUndefined();
    expect(m.engine.getOrderByClientId(bob, "a")?.orderId).toBe(bobs);
    const third = m.placeOk(alice, order("b"));
    m.engine.cancelOrder(alice, third);
    // Two remembered: alice's second "a" and "b"; bob's "a" is forgotten.
    expect(m.engine.getOrderByClientId(bob, "a")).toBeUndefined();
    expect(m.engine.getOrderByClientId(alice, "a")?.orderId).toBe(second);
    expect(m.engine.getOrderByClientId(alice, "b")?.orderId).toBe(third);
    expect(m.engine.getOrderByClientId(99, "a")).toBeUndefined();
    // Forgetting an order whose client id a newer closed order reused keeps the newer one found.
    const fresh = twoTraders(makeMarket({ closedOrderHistory: 2 }));
    const ids = ["a", "a", "b"].map((c) => {
      const id = fresh.m.placeOk(fresh.alice, order(c));
      fresh.m.engine.cancelOrder(fresh.alice, id);
      return id;
    });
    expect(fresh.m.engine.getOrder(ids[0] as number)).toBeUndefined();
    expect(fresh.m.engine.getOrderByClientId(fresh.alice, "a")?.orderId).toBe(ids[1]);
  });

  it("cancelAll cancels the account's open orders on one symbol or on all", () => {
    const { m, alice, bob } = twoTraders();
    for (const p of ["99", "98", "97"]) m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: p, quantity: "0.1" });
    m.placeOk(alice, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "0.1" });
    const bobs = m.placeOk(bob, { symbol: SPOT, side: "buy", type: "limit", price: "96", quantity: "0.1" });
    expect(m.engine.cancelAll(alice, SPOT)).toBe(3);
    expect(m.engine.openOrders(alice).map((o) => o.symbol)).toEqual([PERP]);
    expect(m.engine.cancelAll(alice)).toBe(1);
    expect(m.engine.cancelAll(alice)).toBe(0);
    expect(m.engine.openOrders(alice)).toEqual([]);
    expect(m.engine.getOrder(bobs)?.status).toBe("new");
    expect(m.bal(alice, "USDT")).toEqual({ free: "100000", locked: "0", total: "100000" });
  });
});

describe("amend", () => {
  const setup = (): { m: Market; alice: number; bob: number; carol: number; a: number; b: number } => {
    const t = twoTraders();
    const carol = funded(t.m, "carol", { BTC: "10", USDT: "100000" });
    const a = t.m.placeOk(t.alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    const b = t.m.placeOk(t.bob, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    return { ...t, carol, a, b };
  };
  const level = (m: Market, price: number): number[] => {
    const book = m.engine.book(m.engine.symbolIndex(SPOT) as number);
    return book.levelHandles(price).map((h) => book.tagOf(h));
  };

  it("a size decrease keeps time priority and releases funds", () => {
    const { m, alice, carol, a, b } = setup();
    expect(m.engine.amendOrder(alice, a, { quantity: "0.5" })).toEqual({ ok: true });
    expect(level(m, 1000)).toEqual([a, b]);
    expect(ofType(m.events, "amended")[0]).toMatchObject({ orderId: a, qty: 500, remaining: 500, price: 1000, keptPriority: true });
    expect(m.bal(alice, "USDT")).toEqual({ free: "99950", locked: "50", total: "100000" });
    m.placeOk(carol, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "0.5" });
    expect(m.engine.getOrder(a)?.status).toBe("filled");
    expect(m.engine.getOrder(b)?.status).toBe("new");
  });

  it("an amend below the minimum notional is refused, as the placement would be", () => {
    const { m, alice, a } = setup();
    // 0.049 at 100 is 4.9 USDT, under the 5 USDT minimum a new order of that size is refused for.
    expect(m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "0.049" })).toMatchObject({ ok: false, reason: "below_min_notional" });
    expect(m.engine.amendOrder(alice, a, { quantity: "0.049" })).toMatchObject({ ok: false, reason: "below_min_notional" });
    expect(m.engine.getOrder(a)?.remaining).toBe("1");
    expect(m.engine.amendOrder(alice, a, { quantity: "0.05" })).toEqual({ ok: true });
  });

  it("a size increase loses time priority and locks more", () => {
    const { m, alice, carol, a, b } = setup();
    expect(m.engine.amendOrder(alice, a, { quantity: "1.5" })).toEqual({ ok: true });
    expect(level(m, 1000)).toEqual([b, a]);
    expect(ofType(m.events, "amended")[0]?.keptPriority).toBe(false);
    expect(m.bal(alice, "USDT").locked).toBe("150");
    m.placeOk(carol, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "1" });
    expect(m.engine.getOrder(b)?.status).toBe("filled");
    expect(m.engine.getOrder(a)?.status).toBe("new");
  });

  it("a price change loses time priority, moves the order and re-prices its lock", () => {
    const { m, alice, a, b } = setup();
    expect(m.engine.amendOrder(alice, a, { price: "99.5" })).toEqual({ ok: true });
    expect(level(m, 1000)).toEqual([b]);
    expect(level(m, 995)).toEqual([a]);
    expect(m.bal(alice, "USDT").locked).toBe("99.5");
    expect(m.engine.amendOrder(alice, a, { price: "100" })).toEqual({ ok: true });
    expect(level(m, 1000)).toEqual([b, a]);
    expect(m.engine.getOrder(a)).toMatchObject({ price: "100", quantity: "1", remaining: "1" });
  });

  it("an amend that would cross is rejected and leaves the order as it was", () => {
    const { m, alice, carol, a, b } = setup();
    m.placeOk(carol, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "1" });
    expect(m.engine.amendOrder(alice, a, { price: "101" })).toMatchObject({ ok: false, reason: "amend_would_cross" });
    expect(m.engine.amendOrder(alice, a, { price: "102", quantity: "0.5" })).toMatchObject({ ok: false, reason: "amend_would_cross" });
    expect(level(m, 1000)).toEqual([a, b]);
    expect(m.engine.getOrder(a)).toMatchObject({ price: "100", quantity: "1" });
    expect(m.bal(alice, "USDT").locked).toBe("100");
    expect(ofType(m.events, "trade")).toEqual([]);
  });

  it("works on a partially filled order and checks the new remainder", () => {
    const { m, alice, carol, a } = setup();
    m.placeOk(carol, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "0.4" });
    expect(m.engine.getOrder(a)).toMatchObject({ filled: "0.4", remaining: "0.6" });
    expect(m.engine.amendOrder(alice, a, { quantity: "0.4" })).toMatchObject({ ok: false, reason: "invalid_quantity" });
    expect(m.engine.amendOrder(alice, a, { quantity: "0.7" })).toEqual({ ok: true });
    expect(m.engine.getOrder(a)).toMatchObject({ quantity: "0.7", filled: "0.4", remaining: "0.3" });
    expect(m.bal(alice, "USDT").locked).toBe("30");
  });

  it("rejects bad amends with the right reason", () => {
    const { m, alice, bob, a } = setup();
    const poor = funded(m, "poor", { USDT: "10" });
    const p = m.placeOk(poor, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "0.1" });
    const cases: [number, number, { price?: string; quantity?: string }, string][] = [
      [bob, a, { quantity: "0.5" }, "unknown_order"],
      [alice, 999, { quantity: "0.5" }, "unknown_order"],
      [alice, a, { price: "100.05" }, "off_tick"],
      [alice, a, { price: "abc" }, "invalid_price"],
      [alice, a, { price: "0" }, "invalid_price"],
      [alice, a, { quantity: "0.0001" }, "off_lot"],
      [alice, a, { quantity: "x" }, "invalid_quantity"],
      [alice, a, { quantity: "0" }, "invalid_quantity"],
      [alice, a, { price: "5000000" }, "price_out_of_band"], // 5e7 ticks: wider than the ladder may grow
      [poor, p, { quantity: "0.2" }, "insufficient_balance"],
    ];
    for (const [acc, id, change, reason] of cases) expect(m.engine.amendOrder(acc, id, change), JSON.stringify(change)).toMatchObject({ ok: false, reason });
    expect(m.engine.getOrder(a)).toMatchObject({ price: "100", quantity: "1" });
    // A closed order cannot be amended.
    m.engine.cancelOrder(alice, a);
    expect(m.engine.amendOrder(alice, a, { quantity: "0.5" })).toMatchObject({ ok: false, reason: "unknown_order" });
  });
});

describe("self-trade prevention", () => {
  // Bob's ask is first in the queue at 101, alice's own ask second.
  const setup = (m: Market = makeMarket()): { m: Market; alice: number; bob: number; mine: number; other: number } => {
    const { alice, bob } = twoTraders(m);
    const other = m.placeOk(bob, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.5" });
    const mine = m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.5" });
    return { m, alice, bob, mine, other };
  };

  it("cancel_taker (the default): trades ahead of the own order, then cancels the taker", () => {
    const { m, alice, mine, other } = setup();
    const r = m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "1" });
    expect(r).toMatchObject({ ok: true, status: "canceled" });
    expect(m.engine.getOrder(other)?.status).toBe("filled");
    expect(m.engine.getOrder(mine)?.status).toBe("new");
    const ok = r.ok ? r.orderId : -1;
    expect(m.engine.getOrder(ok)).toMatchObject({ filled: "0.5", remaining: "0.5" });
    expect(ofType(m.events, "canceled").map((e) => [e.orderId, e.reason, e.remaining])).toEqual([[ok, "self_trade_prevention", 500]]);
    expect(m.bal(alice, "USDT").locked).toBe("0");
  });

  it("cancel_maker: cancels the own resting order and keeps going", () => {
    const { m, alice, mine, other } = setup();
    const r = m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "1", selfTradePrevention: "cancel_maker" });
    expect(r).toMatchObject({ ok: true, status: "partially_filled" });
    expect(m.engine.getOrder(other)?.status).toBe("filled");
    expect(m.engine.getOrder(mine)?.status).toBe("canceled");
    expect(ofType(m.events, "canceled")[0]).toMatchObject({ orderId: mine, reason: "self_trade_prevention", remaining: 500 });
    // The rest of the taker rests at 101, now that the ask is gone; alice's BTC lock is released.
    expect(m.engine.bestBidAsk(SPOT)).toEqual({ bid: "101", ask: undefined });
    expect(m.bal(alice, "BTC").locked).toBe("0");
    expect(m.bal(alice, "USDT").locked).toBe("50.5");
  });

  it("cancel_both: cancels the own order and the taker", () => {
    const { m, alice, mine } = setup();
    const r = m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "1", selfTradePrevention: "cancel_both" });
    expect(r).toMatchObject({ ok: true, status: "canceled" });
    expect(m.engine.getOrder(mine)?.status).toBe("canceled");
    expect(ofType(m.events, "canceled").map((e) => e.reason)).toEqual(["self_trade_prevention", "self_trade_prevention"]);
    expect(m.engine.depth(SPOT)).toEqual({ bids: [], asks: [] });
    // Alice got bob's 0.5 BTC less the 0.04 % taker fee; her own ask's lock is released.
    expect(m.bal(alice, "BTC")).toEqual({ free: "10.4998", locked: "0", total: "10.4998" });
  });

  it("none: trades with itself and pays both fees", () => {
    const { m, alice, bob, mine } = setup();
    m.engine.cancelAll(bob);
    const r = m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "0.5", selfTradePrevention: "none" });
    expect(r).toMatchObject({ ok: true, status: "filled" });
    expect(m.engine.getOrder(mine)?.status).toBe("filled");
    // Maker sell fee 50.5 * 0.0002 = 0.0101 USDT; taker buy fee 0.5 * 0.0004 = 0.0002 BTC.
    expect(m.bal(alice, "USDT").total).toBe("99999.9899");
    expect(m.bal(alice, "BTC").total).toBe("9.9998");
  });

  it("an engine-wide default applies to orders that do not set their own", () => {
    const { m, alice, bob, mine, other } = setup(makeMarket({ selfTradePrevention: "cancel_maker" }));
    m.engine.cancelOrder(bob, other);
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "0.5" });
    expect(m.engine.getOrder(mine)?.status).toBe("canceled");
    expect(m.engine.bestBidAsk(SPOT)).toEqual({ bid: "101", ask: undefined });
  });
});

describe("integer entry point", () => {
  it("submit takes ticks and lots", () => {
    const { m, alice } = twoTraders();
    const sym = m.engine.symbolIndex(SPOT) as number;
    const r = m.engine.submit({ account: alice, symbol: sym, side: SELL, price: 1015, qty: 250 });
    expect(r).toMatchObject({ ok: true, status: "new" });
    expect(m.engine.depth(SPOT).asks).toEqual([["101.5", "0.25"]]);
    expect(m.engine.submit({ account: alice, symbol: sym, side: BUY, price: 1000, qty: 0 })).toMatchObject({ ok: false, reason: "invalid_quantity" });
    expect(m.engine.submit({ account: alice, symbol: sym, side: BUY, price: 1000, qty: 1.5 })).toMatchObject({ ok: false, reason: "invalid_quantity" });
    expect(m.engine.submit({ account: alice, symbol: sym, side: 7 as typeof BUY, price: 1000, qty: 100 })).toMatchObject({ ok: false, reason: "invalid_request" });
    expect(m.engine.submit({ account: alice, symbol: 42, side: BUY, price: 1000, qty: 100 })).toMatchObject({ ok: false, reason: "unknown_instrument" });
  });
});

describe("requote (integer amend for market makers)", () => {
  const setup = (): { m: Market; alice: number; bob: number; a: number; b: number; sym: number } => {
    const t = twoTraders();
    const a = t.m.placeOk(t.alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    const b = t.m.placeOk(t.bob, { symbol: SPOT, side: "buy", type: "limit", price: "99", quantity: "1" });
    return { ...t, a, b, sym: t.m.engine.symbolIndex(SPOT) as number };
  };
  const level = (m: Market, price: number): number[] => {
    const book = m.engine.book(m.engine.symbolIndex(SPOT) as number);
    return book.levelHandles(price).map((h) => book.tagOf(h));
  };

  it("moves the order (same id) to the back of the new level with the new size, re-pricing its lock", () => {
    const { m, alice, a, b } = setup();
    expect(m.engine.requote(alice, a, 990, 2000)).toBe(true);
    expect(level(m, 1000)).toEqual([]);
    expect(level(m, 990)).toEqual([b, a]);
    expect(m.engine.getOrder(a)).toMatchObject({ price: "99", quantity: "2", remaining: "2", status: "new" });
    expect(m.bal(alice, "USDT")).toEqual({ free: "99802", locked: "198", total: "100000" });
    expect(ofType(m.events, "amended").at(-1)).toMatchObject({ orderId: a, price: 990, qty: 2000, remaining: 2000, keptPriority: false });
  });

  it("refuses, changing nothing, what an order could not do: cross, someone else's order, too small, unaffordable", () => {
    const { m, alice, bob, a } = setup();
    m.placeOk(bob, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "1" });
    const before = m.engine.getOrder(a);
    expect(m.engine.requote(alice, a, 1010, 1000)).toBe(false);
    expect(m.engine.requote(bob, a, 990, 1000)).toBe(false);
    expect(m.engine.requote(alice, a, 990, 1)).toBe(false);
    expect(m.engine.requote(alice, a, 990, 10_000_000)).toBe(false);
    expect(m.engine.requote(alice, 999_999, 990, 1000)).toBe(false);
    expect(m.engine.getOrder(a)).toEqual(before);
    expect(level(m, 1000)).toEqual([a]);
  });
});
