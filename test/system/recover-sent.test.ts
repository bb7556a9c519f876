// Resuming a live run cut off mid-bar: the children its dead process sent are looked up at the
// exchange (a venue that outlived the process), the open one cancelled, and what filled folded per
// parent into a fill; a child that never reached the exchange is counted, not invented.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { SyntheticMarket } from "../../src/exchange/market/synthetic-market.js";
import { EmbeddedVenueClient } from "../../src/exchanges/embedded-venue-client.js";
import { childrenSentAfter, keepPendingSent, nextParentId, recoverSentChildren, type SentChild } from "../../src/system/recover-sent.js";

const T0 = Date.UTC(2024, 0, 2, 9, 30);
const SYMBOL = "ABC/USDT:USDT";

async function venue() {
  const clock = new SimulatedClock(T0);
  const engine = new ExchangeEngine({ clock, instruments: [{ symbol: SYMBOL, kind: "perpetual", base: "ABC", quote: "USDT", tickSize: "0.01", lotSize: "0.1", minNotional: "5", makerFee: "0.0002", takerFee: "0.0005" }] });
  const market = new SyntheticMarket(engine, {
    seed: 1,
    symbols: [{ symbol: SYMBOL, initialPrice: 100.01, model: { kind: "gbm", volatility: 0 }, liquidity: { levels: 5, halfSpreadBps: 1, medianNotional: 5_000, sizeSigma: 0 }, flow: { ordersPerMinute: 0, medianNotional: 3_000, sizeSigma: 0 } }],
  });
  const account = engine.createAccount("system");
  engine.deposit(account, "USDT", "100000");
  market.start();
  clock.runUntil(T0 + 60_000);
  // The dead process's client and the resumed one are two clients of the same account.
  return { clock, dead: new EmbeddedVenueClient(engine, { account }), resumed: new EmbeddedVenueClient(engine, { account }) };
}

const child = (clientOrderId: string, parentOrderId: number): SentChild => ({ clientOrderId, symbol: SYMBOL, assetId: 7, parentOrderId, bar: 5 });

describe("recovering the children of a cut-off bar", () => {
  it("folds what filled per parent, cancels what is open, and counts what never arrived", async () => {
    const { clock, dead, resumed } = await venue();
    await clock.drive(dead.createOrder(SYMBOL, "market", "buy", 2, undefined, { clientOrderId: "tl1-5-1-0-0" }));
    await clock.drive(dead.createOrder(SYMBOL, "market", "buy", 3, undefined, { clientOrderId: "tl1-5-1-1-0" }));
    await clock.drive(dead.createOrder(SYMBOL, "limit", "sell", 4, 150, { clientOrderId: "tl1-5-2-0-0" }));
    const sent = [child("tl1-5-1-0-0", 1), child("tl1-5-1-1-0", 1), child("tl1-5-2-0-0", 2), child("tl1-5-3-0-0", 3)];

    const r = await clock.drive(recoverSentChildren(resumed, sent, await clock.drive(resumed.loadMarkets())));
    expect(r.notFound).toBe(1);
    expect(r.cancelled).toBe(1);
    expect(r.fills).toHaveLength(1);
    const f = r.fills[0];
    expect(f?.parentOrderId).toBe(1);
    expect(f?.bar).toBe(5);
    expect(f?.fill.numShares.toFixed()).toBe("5");
    expect(f?.children).toBe(2);
    // The exchange's own account of the two buys: the fill's notional and fees are theirs.
    const trades = await clock.drive(resumed.fetchMyTrades(SYMBOL));
    const cost = trades.reduce((s, t) => s + t.cost, 0);
    const fees = trades.reduce((s, t) => s + (t.fee?.cost ?? 0), 0);
    expect(f?.fill.price.mul(f.fill.numShares).toNumber()).toBeCloseTo(cost, 9);
    expect(f?.fill.fees.toNumber()).toBeCloseTo(fees, 12);
    expect(await clock.drive(resumed.fetchOpenOrders(SYMBOL))).toEqual([]);
  });

  it("reads the children logged as sending after the checkpoint, forgiving only a torn last line", () => {
    const dir = mkdtempSync(join(tmpdir(), "tl-sent-"));
    mkdirSync(join(dir, "broker_log"));
    const before = JSON.stringify({ clientOrderId: "a", parentOrderId: 1, assetId: 7, symbol: SYMBOL, bar: 4, event: "sending" }) + "\n";
    const after = [
      { clientOrderId: "b", parentOrderId: 2, assetId: 7, symbol: SYMBOL, bar: 5, event: "sending" },
      { clientOrderId: "b", event: "acknowledged" },
      { clientOrderId: "b", parentOrderId: 2, assetId: 7, symbol: SYMBOL, bar: 5, event: "sending" },
    ].map((r) => JSON.stringify(r) + "\n").join("");
    writeFileSync(join(dir, "broker_log", "oms_child_orders.jsonl"), before + after + '{"clientOrderId":"c","par');
    const cp = { bar: 4, timestamp: T0, netWealth: "0", files: { "broker_log/oms_child_orders.jsonl": before.length } };
    expect(childrenSentAfter(dir, cp)).toEqual([{ clientOrderId: "b", symbol: SYMBOL, assetId: 7, parentOrderId: 2, bar: 5 }]);
    writeFileSync(join(dir, "broker_log", "oms_child_orders.jsonl"), before + "not json\n" + after);
    expect(() => childrenSentAfter(dir, cp)).toThrow(/oms_child_orders\.jsonl: a line after the checkpoint is not JSON/);
  });

  it("reads and books the closing orders of an end-of-session flattening the process died in", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tl-sent-flat-"));
    mkdirSync(join(dir, "broker_log"));
    // The last trading bar's children are before the checkpoint; the flattening after it.
    writeFileSync(join(dir, "broker_log", "oms_child_orders.jsonl"), JSON.stringify({ clientOrderId: "a", parentOrderId: 38, assetId: 7, symbol: SYMBOL, bar: 11, event: "sending" }) + "\n");
    const closing = { clientOrderId: "tl1-flat-end-0", symbol: SYMBOL, side: "sell", amount: "5", type: "market", reduceOnly: true, timestamp: T0, bar: 11, parentOrderId: 40, assetId: 7, event: "sending" };
    writeFileSync(join(dir, "broker_log", "reduce_only_oms_child_orders.jsonl"), JSON.stringify(closing) + "\n");
    const cp = { bar: 11, timestamp: T0, netWealth: "0", files: { "broker_log/oms_child_orders.jsonl": 200 } };
    const sent = childrenSentAfter(dir, cp);
    expect(sent).toEqual([{ clientOrderId: "tl1-flat-end-0", symbol: SYMBOL, assetId: 7, parentOrderId: 40, bar: 11 }]);
    // A closing record without the books (an older log) cannot be booked, and says so.
    const { assetId: _a, ...bare } = closing;
    writeFileSync(join(dir, "broker_log", "reduce_only_oms_child_orders.jsonl"), JSON.stringify(bare) + "\n");
    expect(() => childrenSentAfter(dir, cp)).toThrow(/reduce_only_oms_child_orders\.jsonl: child tl1-flat-end-0 after the checkpoint lacks/);

    // The exchange filled the closing order before the process died: the resumed one books it.
    const { clock, dead, resumed } = await venue();
    await clock.drive(dead.createOrder(SYMBOL, "market", "buy", 5, undefined, { clientOrderId: "tl1-11-38-0-0" }));
    await clock.drive(dead.createOrder(SYMBOL, "market", "sell", 5, undefined, { clientOrderId: "tl1-flat-end-0", reduceOnly: true }));
    const r = await clock.drive(recoverSentChildren(resumed, sent, await clock.drive(resumed.loadMarkets())));
    expect(r.fills.map((f) => [f.bar, f.parentOrderId, f.fill.numShares.toFixed(), f.fill.parentOrderId])).toEqual([[11, 40, "-5", 40]]);
    expect((await clock.drive(resumed.fetchPositions([SYMBOL]))).filter((p) => p.contracts !== 0)).toEqual([]);
  });

  it("keeps the children found after a checkpoint across a failed try of the resume, and forgets them once a new checkpoint is written", () => {
    const dir = mkdtempSync(join(tmpdir(), "tl-pending-"));
    const cp = { bar: 4, timestamp: T0, netWealth: "100000", files: { "portfolio.jsonl": 10 } };
    expect(keepPendingSent(dir, cp, [child("a", 1)]).map((c) => c.clientOrderId)).toEqual(["a"]);
    // The try failed after cutting the log: the next one finds nothing there, and keeps what it read.
    expect(keepPendingSent(dir, cp, [child("b", 2)]).map((c) => c.clientOrderId)).toEqual(["a", "b"]);
    // A resume that booked them wrote a new checkpoint (and died before it removed the file).
    expect(keepPendingSent(dir, { ...cp, files: { "portfolio.jsonl": 99 } }, []).map((c) => c.clientOrderId)).toEqual([]);
  });

  it("hands over a child still open after its cancel was taken (an exchange that cancels later), with its trades", async () => {
    const { clock, dead, resumed } = await venue();
    await clock.drive(dead.createOrder(SYMBOL, "limit", "buy", 4, 90, { clientOrderId: "tl1-5-4-0-0" }));
    // The cancel is taken but not done yet when the order is looked up again.
    resumed.cancelOrder = async (id: string, symbol: string) => resumed.fetchOrder(id, symbol);
    const r = await clock.drive(recoverSentChildren(resumed, [child("tl1-5-4-0-0", 4)], await clock.drive(resumed.loadMarkets())));
    expect(r.fills).toEqual([]);
    expect(r.stillOpen.map((o) => [o.child.clientOrderId, o.state.status, o.trades.length])).toEqual([["tl1-5-4-0-0", "open", 0]]);
  });

  it("numbers the resumed run's parents past those of the cut-off bar, whose order rows were cut away", () => {
    expect(nextParentId([{ orderId: 3 }, { orderId: 7 }], [child("x", 9), child("y", 8)])).toBe(10);
    expect(nextParentId([{ orderId: 7 }], [])).toBe(8);
    expect(nextParentId([], [])).toBe(0);
  });
});
