// Filtered subscriptions and close watchers: a subscriber sees exactly the events it asked for, with
// the sequence numbers an unfiltered subscriber sees, and what others ask for changes nothing.

import { describe, expect, it } from "vitest";
import type { ExchangeEvent } from "../../src/exchange/events.js";
import { funded, makeMarket, PERP, SPOT, type Market } from "./helpers.js";

/** A mixed session: resting, crossing, partial fills, STP, FOK expiry, amend, a reject, cancels. */
function session(m: Market): { alice: number; bob: number } {
  const alice = funded(m, "alice", { BTC: "10", USDT: "100000" });
  const bob = funded(m, "bob", { BTC: "10", USDT: "100000" });
  const a = m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
  m.placeOk(alice, { symbol: SPOT, side: "sell", type: "limit", price: "101", quantity: "0.5" });
  m.engine.amendOrder(alice, a, { price: "100.5" });
  m.place(bob, { symbol: SPOT, side: "sell", type: "market", quantity: "0.4" });
  m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "100.5", quantity: "2", timeInForce: "FOK" });
  m.place(alice, { symbol: SPOT, side: "buy", type: "limit", price: "101", quantity: "0.1" });
  m.place(bob, { symbol: SPOT, side: "sell", type: "limit", price: "1", quantity: "0" });
  m.placeOk(bob, { symbol: PERP, side: "sell", type: "limit", price: "2000", quantity: "1" });
  m.place(alice, { symbol: PERP, side: "buy", type: "limit", price: "2000", quantity: "0.4" });
  m.engine.cancelAll(alice);
  m.engine.cancelAll(bob);
  return { alice, bob };
}

describe("filtered subscriptions", () => {
  it("deliver the matching subset of the full stream, with the same sequence numbers", () => {
    const m = makeMarket();
    const fills: ExchangeEvent[] = [];
    const ofAccount: ExchangeEvent[] = [];
    const both: ExchangeEvent[] = [];
    m.engine.subscribe((e) => fills.push(e), { types: ["filled", "partially_filled"] });
    // Accounts are numbered in creation order: alice is 1, bob is 2 (0 holds the fees).
    m.engine.subscribe((e) => ofAccount.push(e), { account: 2 });
    m.engine.subscribe((e) => both.push(e), { account: 1, types: ["canceled", "trade"] });
    const { alice, bob } = session(m);
    expect([alice, bob]).toEqual([1, 2]);
    const all = m.events;
    const isFill = (e: ExchangeEvent): boolean => e.type === "filled" || e.type === "partially_filled";
    const concerns = (e: ExchangeEvent, acc: number): boolean =>
      e.type === "trade" ? e.makerAccount === acc || e.takerAccount === acc : e.type !== "book" && e.account === acc;
    expect(fills).toEqual(all.filter(isFill));
    expect(ofAccount).toEqual(all.filter((e) => concerns(e, bob)));
    expect(both).toEqual(all.filter((e) => (e.type === "canceled" || e.type === "trade") && concerns(e, alice)));
    expect(fills.length).toBeGreaterThan(0);
    expect(both.some((e) => e.type === "trade")).toBe(true);
    expect(ofAccount.some((e) => e.type === "rejected")).toBe(true);
  });

  it("number events the same whatever the subscribers ask for", () => {
    const full = makeMarket();
    session(full);
    const quiet = makeMarket({ listen: false });
    const seen: ExchangeEvent[] = [];
    quiet.engine.subscribe((e) => seen.push(e), { types: ["trade"] });
    session(quiet);
    expect(seen).toEqual(full.events.filter((e) => e.type === "trade"));
    expect(seen.length).toBeGreaterThan(0);
  });

  it("reject unknown event types and bad account filters", () => {
    const m = makeMarket();
    expect(() => m.engine.subscribe(() => undefined, { types: ["fill" as ExchangeEvent["type"]] })).toThrow(/unknown event type "fill"/);
    expect(() => m.engine.subscribe(() => undefined, { account: 1.5 })).toThrow(/bad account filter/);
  });

  it("stop when unsubscribed", () => {
    const m = makeMarket();
    const alice = funded(m, "alice", { USDT: "1000" });
    const got: ExchangeEvent[] = [];
    const off = m.engine.subscribe((e) => got.push(e), { account: alice });
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    off();
    m.placeOk(alice, { symbol: SPOT, side: "buy", type: "limit", price: "99", quantity: "1" });
    expect(got.map((e) => e.type)).toEqual(["accepted"]);
  });
});

describe("close watchers", () => {
  it("hear every order of the account that closes, once, with its symbol index, before its event", () => {
    const m = makeMarket();
    const closed: [number, number, number][] = [];
    m.engine.watchClosed(1, (orderId, symbol) => closed.push([orderId, symbol, m.events.length]));
    session(m);
    const closingEvents = m.events.filter((e) => (e.type === "filled" || e.type === "canceled" || e.type === "expired") && e.account === 1);
    expect(closed.map(([id]) => id)).toEqual(closingEvents.map((e) => (e.type === "filled" || e.type === "canceled" || e.type === "expired" ? e.orderId : -1)));
    for (const [id, symbol, eventsBefore] of closed) {
      const ev = closingEvents.find((e) => "orderId" in e && e.orderId === id) as ExchangeEvent;
      expect(symbol).toBe(m.engine.symbolIndex(ev.symbol));
      // Called before the closing event was emitted.
      expect(m.events.indexOf(ev)).toBeGreaterThanOrEqual(eventsBefore);
    }
    expect(closed.length).toBeGreaterThan(2);
  });

  it("keep event numbers as a subscriber does, and stop when removed", () => {
    const withSub = makeMarket({ listen: false });
    const a: ExchangeEvent[] = [];
    withSub.engine.subscribe(() => undefined);
    const withWatcher = makeMarket({ listen: false });
    const off = withWatcher.engine.watchClosed(2, () => undefined);
    // A subscriber added later sees the same numbers in both engines: the watcher kept numbering on.
    const b: ExchangeEvent[] = [];
    const alice1 = funded(withSub, "alice", { USDT: "1000" });
    const alice2 = funded(withWatcher, "alice", { USDT: "1000" });
    withSub.placeOk(alice1, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    withWatcher.placeOk(alice2, { symbol: SPOT, side: "buy", type: "limit", price: "100", quantity: "1" });
    withSub.engine.subscribe((e) => a.push(e));
    withWatcher.engine.subscribe((e) => b.push(e));
    withSub.placeOk(alice1, { symbol: SPOT, side: "buy", type: "limit", price: "99", quantity: "1" });
    withWatcher.placeOk(alice2, { symbol: SPOT, side: "buy", type: "limit", price: "99", quantity: "1" });
    expect(b).toEqual(a);
    expect(a[0]?.seq).toBe(3);
    off();
    expect(() => withWatcher.engine.watchClosed(-1, () => undefined)).toThrow(/bad account/);
  });
});
