import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { DEFAULT_INSTRUMENTS } from "../../src/exchange/market/default-instruments.js";
import { EmbeddedVenueClient } from "../../src/exchanges/embedded-venue-client.js";
import { OrderNotFound } from "../../src/exchanges/errors.js";
import { InstantFillClient } from "../../src/exchanges/instant-fill-client.js";

const T0 = Date.UTC(2024, 0, 2);
const HOUR = 3_600_000;

async function client(historyMs?: number) {
  const clock = new SimulatedClock(T0);
  const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
  const markets = await new EmbeddedVenueClient(engine, { account: engine.createAccount("x") }).loadMarkets();
  const c = new InstantFillClient({ clock, markets, quote: () => ({ bid: 100, ask: 102 }), initialBalances: { USDT: "1000000" }, ...(historyMs === undefined ? {} : { historyMs }) });
  return { clock, c };
}

describe("InstantFillClient history", () => {
  it("ages out orders and trades older than historyMs, keeping the newer ones and the balances", async () => {
    const { clock, c } = await client(HOUR);
    const first = await c.createOrder("BTC/USDT", "market", "buy", 0.5, undefined, { clientOrderId: "a" });
    clock.runUntil(T0 + 30 * 60_000);
    const second = await c.createOrder("BTC/USDT", "market", "buy", 0.25, undefined, { clientOrderId: "b" });
    clock.runUntil(T0 + HOUR + 60_000);
    const third = await c.createOrder("BTC/USDT", "market", "sell", 0.125, undefined, { clientOrderId: "c" });
    await expect(c.fetchOrder(first.id)).rejects.toBeInstanceOf(OrderNotFound);
    await expect(c.fetchOrderByClientId("a")).rejects.toBeInstanceOf(OrderNotFound);
    expect((await c.fetchOrder(second.id)).amount).toBe(0.25);
    expect((await c.fetchOrderByClientId("c")).id).toBe(third.id);
    expect((await c.fetchMyTrades("BTC/USDT")).map((t) => t.order)).toEqual([second.id, third.id]);
    // Forgetting history does not touch the account: 0.5 + 0.25 - 0.125 bought at the mid 101.
    expect((await c.fetchBalance())["USDT"]?.total).toBeCloseTo(1_000_000 - 0.625 * 101, 9);
    expect((await c.fetchBalance())["BTC"]?.total).toBeCloseTo(0.625, 12);
    // An aged-out client order id may be used again; a live one may not.
    await expect(c.createOrder("BTC/USDT", "market", "buy", 0.1, undefined, { clientOrderId: "b" })).rejects.toThrow(/duplicate client order id b/);
    await expect(c.createOrder("BTC/USDT", "market", "buy", 0.1, undefined, { clientOrderId: "a" })).resolves.toMatchObject({ clientOrderId: "a" });
  });

  it("keeps everything without historyMs", async () => {
    const { clock, c } = await client();
    const first = await c.createOrder("BTC/USDT", "market", "buy", 0.5);
    clock.runUntil(T0 + 48 * HOUR);
    await c.createOrder("BTC/USDT", "market", "buy", 0.5);
    expect((await c.fetchOrder(first.id)).filled).toBe(0.5);
    expect(await c.fetchMyTrades("BTC/USDT")).toHaveLength(2);
  });
});

describe("InstantFillClient limit orders", () => {
  // The quote is 100 / 102: the mid is 101.
  it("never fills a limit order worse than its limit: a buy at min(mid, limit), a sell at max(mid, limit), always in full", async () => {
    const { c } = await client();
    const passiveBuy = await c.createOrder("BTC/USDT", "limit", "buy", 0.5, 100.4);
    expect([passiveBuy.status, passiveBuy.filled, passiveBuy.average]).toEqual(["closed", 0.5, 100.4]);
    expect(passiveBuy.cost).toBe(50.2);
    const passiveSell = await c.createOrder("BTC/USDT", "limit", "sell", 0.5, 101.6);
    expect([passiveSell.status, passiveSell.filled, passiveSell.average]).toEqual(["closed", 0.5, 101.6]);
    // A limit through the mid fills at the mid, as before.
    expect((await c.createOrder("BTC/USDT", "limit", "buy", 0.5, 102)).average).toBe(101);
    expect((await c.createOrder("BTC/USDT", "limit", "sell", 0.5, 100)).average).toBe(101);
    // Market orders fill at the mid.
    expect((await c.createOrder("BTC/USDT", "market", "buy", 0.5)).average).toBe(101);
    const trades = await c.fetchMyTrades("BTC/USDT");
    expect(trades.map((t) => t.price)).toEqual([100.4, 101.6, 101, 101, 101]);
    // The account moves by the prices filled: bought 1 at 100.4 + 101 + 101, sold 1 at 101.6 + 101.
    expect((await c.fetchBalance())["USDT"]?.total).toBeCloseTo(1_000_000 - (50.2 + 50.5 + 50.5) + (50.8 + 50.5), 9);
  });

  it("refuses a limit order without a price", async () => {
    const { c } = await client();
    await expect(c.createOrder("BTC/USDT", "limit", "buy", 0.5)).rejects.toThrow(/limit order needs a positive price, got undefined/);
  });
});
