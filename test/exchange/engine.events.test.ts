// The event stream: order, numbering, contents, and per-symbol book update ids.

import { describe, expect, it } from "vitest";
import type { ExchangeEvent } from "../../src/exchange/events.js";
import { funded, makeMarket, ofType, PERP, SPOT, T0 } from "./helpers.js";

/** A compact view: type, plus the fields that identify what happened. */
function brief(e: ExchangeEvent): unknown[] {
  switch (e.type) {
    case "accepted":
      return [e.type, e.symbol, e.orderId, e.account, e.side, e.orderType, e.tif, e.price, e.qty];
    case "rejected":
      return [e.type, e.reason, e.orderId];
    case "trade":
      return [e.type, e.symbol, e.tradeId, e.price, e.qty, e.takerSide, e.makerOrderId, e.takerOrderId];
    case "partially_filled":
    case "filled":
      return [e.type, e.orderId, e.liquidity, e.tradeId, e.price, e.qty, e.filled, e.remaining, e.fee, e.feeAsset];
    case "canceled":
    case "expired":
      return [e.type, e.orderId, e.remaining, e.reason];
    case "amended":
      return [e.type, e.orderId, e.price, e.qty, e.remaining, e.keptPriority];
    case "book":
      return [e.type, e.symbol, e.updateId, e.side, e.price, e.qty];
  }
}

describe("events", () => {
  it("tell the whole story in order, with a global seq and per-symbol book update ids", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { BTC: "10", USDT: "100000" });
    const bob = funded(m, "bob", { BTC: "10", USDT: "100000" });

    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    m.clock.runUntil(T0 + 1000);
    m.placeOk(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "0.4" });
    m.placeOk(alice, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "0.1" });
    m.clock.runUntil(T0 + 2000);
    m.engine.amendOrder(alice, 1, { quantity: "0.5" });
    m.engine.cancelOrder(alice, 1);
    m.placeOk(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100", quantity: "0.1", timeInForce: "IOC" });
    m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100.01", quantity: "0.1" });
    m.engine.cancelOrder(alice, 3);

    expect(m.events.map(brief)).toEqual([
      ["accepted", SPOT, 1, alice, "buy", "limit", "GTC", 1000, 1000],
      ["book", SPOT, 1, "buy", 1000, 1000],
      ["accepted", SPOT, 2, bob, "sell", "limit", "GTC", 1000, 400],
      ["trade", SPOT, 1, 1000, 400, "sell", 1, 2],
      // Maker fee on 0.4 BTC received: 0.00008 BTC = 8000 units. Taker fee on 40 USDT: 0.016 = 1600000 units.
      ["partially_filled", 1, "maker", 1, 1000, 400, 400, 600, 8000, "BTC"],
      ["filled", 2, "taker", 1, 1000, 400, 400, 0, 1_600_000, "USDT"],
      ["book", SPOT, 2, "buy", 1000, 600],
      ["accepted", PERP, 3, alice, "buy", "limit", "GTC", 200_000, 10],
      ["book", PERP, 1, "buy", 200_000, 10],
      ["amended", 1, 1000, 500, 100, true],
      ["book", SPOT, 3, "buy", 1000, 100],
      ["canceled", 1, 100, "user"],
      ["book", SPOT, 4, "buy", 1000, 0],
      ["accepted", SPOT, 4, bob, "sell", "limit", "IOC", 1000, 100],
      ["expired", 4, 100, "ioc_remainder"],
      ["rejected", "off_tick", undefined],
      ["canceled", 3, 10, "user"],
      ["book", PERP, 2, "buy", 200_000, 0],
    ]);
    expect(m.events.map((e) => e.seq)).toEqual(m.events.map((_, i) => i + 1));
    expect(m.events.map((e) => e.ts - T0)).toEqual([0, 0, ...Array(7).fill(1000), ...Array(9).fill(2000)]);
    expect(m.engine.getOrder(1)).toMatchObject({ createdAt: T0, updatedAt: T0 + 2000 });
    expect(m.engine.getOrder(2)).toMatchObject({ createdAt: T0 + 1000, updatedAt: T0 + 1000 });
  });

  it("a sweep reports every trade before the book levels it changed, trade ids per symbol", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { BTC: "10", USDT: "100000" });
    const bob = funded(m, "bob", { BTC: "10", USDT: "100000" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.1" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.2" });
    m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "102", quantity: "0.3" });
    m.placeOk(alice, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "0.1" });
    m.events.length = 0;
    m.placeOk(bob, { symbol: SPOT, side: "buy", type: "limit", price: "102", quantity: "0.5" });
    m.placeOk(bob, { symbol: PERP, side: "buy", type: "market", quantity: "0.1" });
    expect(m.events.map((e) => e.type)).toEqual([
      "accepted",
      ...["trade", "filled", "partially_filled"],
      ...["trade", "filled", "partially_filled"],
      ...["trade", "partially_filled", "filled"],
      "book",
      "book",
      "accepted",
      "trade",
      "filled",
      "filled",
      "book",
    ]);
    expect(ofType(m.events, "trade").map((t) => [t.symbol, t.tradeId, t.makerOrderId, t.takerOrderId, t.makerAccount, t.takerAccount])).toEqual([
      [SPOT, 1, 1, 5, alice, bob],
      [SPOT, 2, 2, 5, alice, bob],
      [SPOT, 3, 3, 5, alice, bob],
      [PERP, 1, 4, 6, alice, bob],
    ]);
    expect(ofType(m.events, "book").map((b) => [b.symbol, b.updateId, b.side, b.price, b.qty])).toEqual([
      [SPOT, 4, "sell", 1010, 0],
      [SPOT, 5, "sell", 1020, 100],
      [PERP, 2, "sell", 200_000, 0],
    ]);
    const taker = ofType(m.events, "partially_filled").filter((f) => f.liquidity === "taker");
    expect(taker.map((f) => [f.filled, f.remaining])).toEqual([
      [100, 400],
      [300, 200],
    ]);
  });

  it("rejections from operations carry the order id; the STP and reduce-only reasons reach the stream", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { BTC: "10", USDT: "100000" });
    const lp = funded(m, "lp", { USDT: "100000" });
    const mine = m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.1" });
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "0.1", selfTradePrevention: "cancel_maker" });
    expect(ofType(m.events, "canceled").map((e) => [e.orderId, e.reason])).toEqual([[mine, "self_trade_prevention"]]);
    m.placeOk(lp, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "0.1" });
    m.placeOk(alice, { symbol: PERP, side: "buy", type: "market", quantity: "0.1" });
    const ro = m.placeOk(alice, { symbol: PERP, side: "sell", type: "limit", price: "2100", quantity: "0.1", reduceOnly: true });
    m.placeOk(lp, { symbol: PERP, side: "buy", type: "limit", price: "1990", quantity: "0.1" });
    m.placeOk(alice, { symbol: PERP, side: "sell", type: "market", quantity: "0.1" });
    expect(ofType(m.events, "canceled").map((e) => [e.orderId, e.reason])).toEqual([
      [mine, "self_trade_prevention"],
      [ro, "reduce_only"],
    ]);
    const accepted = ofType(m.events, "accepted");
    expect(accepted.find((e) => e.orderId === ro)).toMatchObject({ reduceOnly: true, postOnly: false });
    const orderIds = accepted.map((e) => e.orderId);
    expect(orderIds).toEqual([...orderIds].sort((a, b) => a - b));
    expect(new Set(orderIds).size).toBe(orderIds.length);
  });

  it("every event type is emitted by an ordinary session", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { BTC: "10", USDT: "100000" });
    const bob = funded(m, "bob", { BTC: "10", USDT: "100000" });
    const a = m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    m.engine.amendOrder(alice, a, { price: "100.5" });
    m.place(bob, { symbol: SPOT, side: "sell", type: "market", quantity: "0.5" });
    m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100.5", quantity: "2", timeInForce: "FOK" });
    m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "1", quantity: "0" });
    m.engine.cancelAll(alice);
    const types = new Set(m.events.map((e) => e.type));
    expect([...types].sort()).toEqual(["accepted", "amended", "book", "canceled", "expired", "filled", "partially_filled", "rejected", "trade"]);
  });

  it("unsubscribe stops delivery; the engine works the same with no listener", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { USDT: "1000" });
    const extra: ExchangeEvent[] = [];
    const off = m.engine.subscribe((e) => extra.push(e));
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    off();
    off();
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "99", quantity: "1" });
    expect(extra.map((e) => e.type)).toEqual(["accepted", "book"]);
    expect(m.events).toHaveLength(4);
  });
});
