// Every RejectReason the engine can produce: the result, the `rejected` event, and no change of state.

import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import type { PlaceOrderRequest } from "../../src/exchange/engine.js";
import type { RejectReason } from "../../src/exchange/events.js";
import { funded, makeMarket, ofType, PERP, PERP_SPEC, SPOT, SPOT_SPEC, type Market } from "./helpers.js";

const SOL = "SOL/USDT";

/** Spot with a reference price of 100 (band 20 .. 500), the perp, and SOL with a 0.1 minimum quantity. */
function market(): { m: Market; alice: number; bob: number } {
  const m = makeMarket({
    instruments: [
      { ...SPOT_SPEC, referencePrice: "100" },
      PERP_SPEC,
      { symbol: SOL, kind: "spot", base: "SOL", quote: "USDT", tickSize: "0.01", lotSize: "0.01", minQty: "0.1" },
    ],
  });
  const alice = funded(m, "alice", { BTC: "1", USDT: "1000", SOL: "10" });
  const bob = funded(m, "bob", { BTC: "1", USDT: "1000" });
  return { m, alice, bob };
}

type Req = Omit<PlaceOrderRequest, "account">;
const lim = (side: "buy" | "sell", price: string, quantity: string, extra: Partial<Req> = {}): Req => ({ symbol: SPOT, side, type: "limit", price, quantity, ...extra });

describe("placeOrder rejections", () => {
  const cases: [string, RejectReason, (t: { m: Market; alice: number; bob: number }) => [number, Req]][] = [
    ["unknown symbol", "unknown_instrument", ({ alice }) => [alice, { ...lim("buy", "100", "0.1"), symbol: "DOGE/USDT" }]],
    ["unknown account", "unknown_account", () => [999, lim("buy", "100", "0.1")]],
    ["the fee account", "unknown_account", () => [0, lim("buy", "100", "0.1")]],
    ["negative account", "unknown_account", () => [-1, lim("buy", "100", "0.1")]],
    ["fractional account", "unknown_account", () => [1.5, lim("buy", "100", "0.1")]],
    ["account id as a string", "unknown_account", () => ["1" as unknown as number, lim("buy", "100", "0.1")]],
    ["bad side", "invalid_request", ({ alice }) => [alice, lim("hold" as "buy", "100", "0.1")]],
    ["bad type", "invalid_request", ({ alice }) => [alice, { ...lim("buy", "100", "0.1"), type: "stop" as "limit" }]],
    ["bad time in force", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { timeInForce: "GTD" as "GTC" })]],
    ["bad STP mode", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { selfTradePrevention: "sometimes" as "none" })]],
    ["STP mode from the prototype", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { selfTradePrevention: "toString" as "none" })]],
    ["client id with a space", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { clientOrderId: "a b" })]],
    ["empty client id", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { clientOrderId: "" })]],
    ["client id of 37 characters", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { clientOrderId: "x".repeat(37) })]],
    ["post-only IOC", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { postOnly: true, timeInForce: "IOC" })]],
    ["post-only FOK", "invalid_request", ({ alice }) => [alice, lim("buy", "100", "0.1", { postOnly: true, timeInForce: "FOK" })]],
    ["post-only market", "invalid_request", ({ alice }) => [alice, { symbol: SPOT, side: "buy", type: "market", quantity: "0.1", postOnly: true }]],
    ["limit without a price", "invalid_price", ({ alice }) => [alice, { symbol: SPOT, side: "buy", type: "limit", quantity: "0.1" }]],
    ["price not a number", "invalid_price", ({ alice }) => [alice, lim("buy", "abc", "0.1")]],
    ["price in exponent form", "invalid_price", ({ alice }) => [alice, lim("buy", "1e2", "0.1")]],
    ["price as a JS number", "invalid_price", ({ alice }) => [alice, lim("buy", 100 as unknown as string, "0.1")]],
    ["zero price", "invalid_price", ({ alice }) => [alice, lim("buy", "0", "0.1")]],
    ["negative price", "invalid_price", ({ alice }) => [alice, lim("buy", "-100", "0.1")]],
    ["quantity not a number", "invalid_quantity", ({ alice }) => [alice, lim("buy", "100", "lots")]],
    ["NaN quantity", "invalid_quantity", ({ alice }) => [alice, lim("buy", "100", new Decimal(Number.NaN) as unknown as string)]],
    ["zero quantity", "invalid_quantity", ({ alice }) => [alice, lim("buy", "100", "0")]],
    ["negative quantity", "invalid_quantity", ({ alice }) => [alice, lim("buy", "100", "-0.1")]],
    ["notional beyond exact integers", "invalid_quantity", ({ alice }) => [alice, lim("buy", "100", "90000000000")]],
    ["off tick", "off_tick", ({ alice }) => [alice, lim("buy", "100.05", "0.1")]],
    ["off lot", "off_lot", ({ alice }) => [alice, lim("buy", "100", "0.0005")]],
    ["below minimum quantity", "below_min_quantity", ({ alice }) => [alice, { symbol: SOL, side: "sell", type: "limit", price: "20", quantity: "0.09" }]],
    ["below minimum notional", "below_min_notional", ({ alice }) => [alice, lim("buy", "100", "0.049")]],
    ["above the band", "price_out_of_band", ({ alice }) => [alice, lim("buy", "500.1", "0.1")]],
    ["below the band", "price_out_of_band", ({ alice }) => [alice, lim("sell", "19.9", "0.1")]],
    ["spot buy without the quote", "insufficient_balance", ({ alice }) => [alice, lim("buy", "100", "10.001")]],
    ["spot sell without the base", "insufficient_balance", ({ alice }) => [alice, lim("sell", "100", "1.001")]],
    ["perp without the margin", "insufficient_margin", ({ alice }) => [alice, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "5.01" }]],
    ["reduce-only with no position", "reduce_only_would_increase", ({ alice }) => [alice, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "0.1", reduceOnly: true }]],
    ["reduce-only on spot", "reduce_only_not_supported", ({ alice }) => [alice, lim("sell", "100", "0.1", { reduceOnly: true })]],
  ];

  for (const [name, reason, make] of cases) {
    it(`${name} -> ${reason}`, () => {
      const t = market();
      const [account, req] = make(t);
      const before = JSON.stringify([t.m.engine.balances(t.alice), t.m.engine.balances(t.bob)]);
      const r = t.m.engine.placeOrder({ ...req, account });
      expect(r).toMatchObject({ ok: false, reason });
      expect(r.ok ? "" : r.message.length > 0).toBe(true);
      expect(t.m.events).toHaveLength(1);
      expect(t.m.events[0]).toMatchObject({ type: "rejected", reason, account, clientOrderId: req.clientOrderId, orderId: undefined, seq: 1 });
      expect(t.m.engine.openOrderCount).toBe(0);
      expect(JSON.stringify([t.m.engine.balances(t.alice), t.m.engine.balances(t.bob)])).toBe(before);
    });
  }

  it("post_only_would_cross", () => {
    const { m, alice, bob } = market();
    m.placeOk(bob, lim("sell", "101", "0.1"));
    expect(m.place(alice, lim("buy", "101", "0.1", { postOnly: true }))).toMatchObject({ ok: false, reason: "post_only_would_cross" });
    expect(ofType(m.events, "rejected").map((e) => e.reason)).toEqual(["post_only_would_cross"]);
  });

  it("duplicate_client_order_id while the first is open, per account", () => {
    const { m, alice, bob } = market();
    m.placeOk(alice, lim("buy", "99", "0.1", { clientOrderId: "c-1" }));
    expect(m.place(alice, lim("buy", "98", "0.1", { clientOrderId: "c-1" }))).toMatchObject({ ok: false, reason: "duplicate_client_order_id" });
    expect(ofType(m.events, "rejected")[0]).toMatchObject({ reason: "duplicate_client_order_id", clientOrderId: "c-1", account: alice });
    // Another account may use the same id.
    m.placeOk(bob, lim("buy", "98", "0.1", { clientOrderId: "c-1" }));
  });

  it("price_out_of_band follows the last trade once there is one", () => {
    const { m, alice, bob } = market();
    m.placeOk(bob, lim("sell", "50", "0.1"));
    m.placeOk(alice, lim("buy", "50", "0.1"));
    // Reference 50 now: band 10 .. 250.
    expect(m.place(alice, lim("buy", "251", "0.1"))).toMatchObject({ ok: false, reason: "price_out_of_band" });
    m.placeOk(alice, lim("buy", "11", "0.5"));
    expect(m.place(bob, lim("sell", "9.9", "1"))).toMatchObject({ ok: false, reason: "price_out_of_band" });
  });

  it("price_out_of_band against a mid between two ticks names that mid (it threw on formatting it)", () => {
    const { m, alice, bob } = market();
    // No trade on SOL yet: its reference is the mid of 10.00 and 10.01, half a tick.
    m.placeOk(alice, { symbol: SOL, side: "sell", type: "limit", price: "10.01", quantity: "1" });
    m.placeOk(bob, { symbol: SOL, side: "buy", type: "limit", price: "10", quantity: "1" });
    const r = m.place(bob, { symbol: SOL, side: "buy", type: "limit", price: "1000", quantity: "0.1" });
    expect(r).toMatchObject({ ok: false, reason: "price_out_of_band" });
    expect(JSON.stringify(r)).toContain("the reference 10.005");
  });

  it("price_out_of_band also for a price the book's ladder cannot hold", () => {
    const m = makeMarket(); // no reference price
    const alice = funded(m, "alice", { BTC: "1", USDT: "1000" });
    m.placeOk(alice, lim("buy", "100", "0.1"));
    // 5,000,000 USDT is 5e7 ticks away: more than the widest ladder.
    expect(m.place(alice, lim("sell", "5000000", "0.001"))).toMatchObject({ ok: false, reason: "price_out_of_band" });
  });
});

describe("operation rejections", () => {
  it("unknown_order for cancel, cancel by client id and amend", () => {
    const { m, alice } = market();
    expect(m.engine.cancelOrder(alice, 77)).toMatchObject({ ok: false, reason: "unknown_order" });
    expect(m.engine.cancelByClientId(alice, "nope")).toMatchObject({ ok: false, reason: "unknown_order" });
    expect(m.engine.amendOrder(alice, 77, { quantity: "1" })).toMatchObject({ ok: false, reason: "unknown_order" });
    expect(ofType(m.events, "rejected").map((e) => [e.reason, e.orderId])).toEqual([
      ["unknown_order", 77],
      ["unknown_order", undefined],
      ["unknown_order", 77],
    ]);
  });

  it("amend_would_cross", () => {
    const { m, alice, bob } = market();
    const id = m.placeOk(alice, lim("buy", "99", "0.1"));
    m.placeOk(bob, lim("sell", "101", "0.1"));
    expect(m.engine.amendOrder(alice, id, { price: "101.5" })).toMatchObject({ ok: false, reason: "amend_would_cross" });
    expect(ofType(m.events, "rejected")[0]).toMatchObject({ reason: "amend_would_cross", orderId: id, account: alice, symbol: SPOT });
  });

  it("below_min_quantity on amend", () => {
    const { m, alice } = market();
    const id = m.placeOk(alice, { symbol: SOL, side: "sell", type: "limit", price: "20", quantity: "0.5" });
    expect(m.engine.amendOrder(alice, id, { quantity: "0.05" })).toMatchObject({ ok: false, reason: "below_min_quantity" });
  });

  it("invalid_leverage, unknown_account and unknown_instrument from setLeverage", () => {
    const { m, alice } = market();
    expect(m.engine.setLeverage(alice, PERP, 0)).toMatchObject({ ok: false, reason: "invalid_leverage" });
    expect(m.engine.setLeverage(alice, PERP, 21)).toMatchObject({ ok: false, reason: "invalid_leverage" });
    expect(m.engine.setLeverage(alice, SPOT, 2)).toMatchObject({ ok: false, reason: "invalid_leverage" });
    expect(m.engine.setLeverage(99, PERP, 2)).toMatchObject({ ok: false, reason: "unknown_account" });
    expect(m.engine.setLeverage(alice, "X/Y", 2)).toMatchObject({ ok: false, reason: "unknown_instrument" });
    expect(ofType(m.events, "rejected").map((e) => e.reason)).toEqual(["invalid_leverage", "invalid_leverage", "invalid_leverage", "unknown_account", "unknown_instrument"]);
  });

  it("deposit is operator setup: it throws on bad input", () => {
    const { m, alice } = market();
    expect(() => m.engine.deposit(0, "USDT", "1")).toThrow(RangeError);
    expect(() => m.engine.deposit(99, "USDT", "1")).toThrow(RangeError);
    expect(() => m.engine.deposit(alice, "XYZ", "1")).toThrow(RangeError);
    expect(() => m.engine.deposit(alice, "USDT", "-1")).toThrow(RangeError);
    expect(() => m.engine.deposit(alice, "USDT", "0.000000001")).toThrow(RangeError);
    expect(m.bal(alice, "USDT").total).toBe("1000");
  });
});
