import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { timestampFromMs } from "../../src/core/timestamp.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS } from "../../src/exchange/market/default-instruments.js";
import { SyntheticMarket } from "../../src/exchange/market/synthetic-market.js";
import { EmbeddedVenueClient, type FaultSpec } from "../../src/exchanges/embedded-venue-client.js";
import { VenueBidAskSampler } from "../../src/marketdata/bid-ask-feed.js";
import { Broker, type BrokerConfigInput } from "../../src/oms/broker.js";
import { BrokerLogWriter, loadStream } from "../../src/oms/broker-log.js";
import type { ParentOrder } from "../../src/oms/parent-order.js";

const T0 = Date.UTC(2024, 0, 2, 9, 30);
const MIN = 60_000;
const UNIVERSE = new Map<number, string>([[1, "BTC/USDT"], [2, "ETH/USDT:USDT"]]);

function parent(id: number, assetId: number, diff: string, startMin: number, endMin: number, type: ParentOrder["type"] = "price@twap"): ParentOrder {
  return {
    orderId: id, creationTimestamp: timestampFromMs(T0 + startMin * MIN), assetId, type,
    startTimestamp: timestampFromMs(T0 + startMin * MIN), endTimestamp: timestampFromMs(T0 + endMin * MIN),
    currNumShares: new Decimal(0), diffNumShares: new Decimal(diff), tz: "UTC", extraParams: {},
  };
}

async function setup(cfg: Partial<BrokerConfigInput> = {}, faults?: FaultSpec) {
  const clock = new SimulatedClock(T0);
  const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
  const market = new SyntheticMarket(engine, { seed: 3, symbols: DEFAULT_SYNTHETIC_SYMBOLS });
  const user = engine.createAccount("broker");
  engine.deposit(user, "USDT", "1000000");
  engine.deposit(user, "BTC", "10");
  const client = new EmbeddedVenueClient(engine, { account: user, ...(faults !== undefined ? { faults } : {}) });
  const sampler = new VenueBidAskSampler(engine, clock, [...UNIVERSE.values()]);
  market.start();
  sampler.start();
  clock.runUntil(T0 + 2 * MIN);
  const dir = mkdtempSync(join(tmpdir(), "tl-broker-"));
  const log = new BrokerLogWriter(dir);
  const broker = new Broker({ client, clock, bidAsk: sampler, log, universe: UNIVERSE }, { runKey: "test.run", ...cfg });
  await clock.drive(broker.init());
  return { clock, engine, client, broker, log, dir, user };
}

describe("broker TWAP against the embedded venue", () => {
  it("submits one child per parent per wave, keeps the last slot, cancels at wave end and folds fills", async () => {
    const { clock, engine, broker, log, dir, user } = await setup({ limitPrice: { computer: "passivity", passivityFactor: 0.3 } });
    const fills = await clock.drive(broker.submitOrders([parent(1, 1, "0.5", 2, 7), parent(2, 2, "-10", 2, 7)], 0));
    log.close();
    expect(clock.now()).toBe(T0 + 7 * MIN);
    const children = loadStream(dir, "oms_child_orders").records as { event: string; wave: number; waveStart: number; parentOrderId: number; amount: string }[];
    const sent = children.filter((c) => c.event === "sending");
    expect(sent.map((c) => c.wave).sort()).toEqual([0, 0, 1, 1, 2, 2, 3, 3]);
    expect([...new Set(sent.map((c) => c.waveStart))]).toEqual([T0 + 2 * MIN, T0 + 3 * MIN, T0 + 4 * MIN, T0 + 5 * MIN]);
    // Static sizes: 0.5 / 5 waves = 0.1 per wave; -10 / 5 = -2.
    expect(new Set(sent.filter((c) => c.parentOrderId === 1).map((c) => c.amount))).toEqual(new Set(["0.1"]));
    expect(new Set(sent.filter((c) => c.parentOrderId === 2).map((c) => c.amount))).toEqual(new Set(["2"]));
    expect(engine.openOrders(user)).toHaveLength(0);
    expect(fills.length).toBeGreaterThan(0);
    for (const f of fills) {
      expect(f.numShares.abs().toDecimal().lte(f.parentOrderId === 1 ? "0.4" : "8")).toBe(true);
      expect(f.price.isPositive()).toBe(true);
    }
    expect(readdirSync(dir).sort()).toContain("oms_fills.jsonl");
    expect(loadStream(dir, "fill_check_issues").records).toHaveLength(0);
  });

  it("recovers from timeouts with unknown outcome without duplicating orders", async () => {
    const { clock, engine, broker, client, log, dir, user } = await setup({ submitRetries: 2 }, { seed: 9, createTimeoutAfterPlace: 0.5, createNetworkError: 0.2 });
    await clock.drive(broker.submitOrders([parent(1, 1, "0.5", 2, 7)], 0));
    log.close();
    expect(client.faultCounts.createTimeoutAfterPlace).toBeGreaterThan(0);
    const responses = loadStream(dir, "ccxt_child_order_responses").records as { response?: { id: string; clientOrderId: string } }[];
    const acked = responses.filter((r) => r.response !== undefined).map((r) => r.response as { id: string; clientOrderId: string });
    // Each wave produced at most one live order on the venue.
    const placed = client.requestCounts.createOrder;
    expect(placed).toBe(new Set(acked.map((a) => a.id)).size);
    const waves = new Set(acked.map((a) => a.clientOrderId.split("-")[3]));
    expect(waves.size).toBe(acked.length);
    expect(engine.openOrders(user)).toHaveLength(0);
  });
});

describe("broker with the instant-fill client", () => {
  it("fills every child fully at the mid, so a TWAP parent fills its static waves completely", async () => {
    const { InstantFillClient } = await import("../../src/exchanges/instant-fill-client.js");
    const clock = new SimulatedClock(T0);
    const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
    const venue = new EmbeddedVenueClient(engine, { account: engine.createAccount("x") });
    const markets = await venue.loadMarkets();
    const quotes = new Map([["BTC/USDT", { bid: 100, ask: 102 }]]);
    const client = new InstantFillClient({ clock, markets, quote: (s) => quotes.get(s), feeRate: 0.001, initialBalances: { USDT: "100000" } });
    const feed = { rows: (s: string) => { const q = quotes.get(s); return q === undefined ? [] : [{ timestamp: clock.now(), bid: q.bid, ask: q.ask }]; } };
    const dir = mkdtempSync(join(tmpdir(), "tl-broker-if-"));
    const log = new BrokerLogWriter(dir);
    const broker = new Broker({ client, clock, bidAsk: feed, log, universe: new Map([[1, "BTC/USDT"]]) }, { runKey: "if.run" });
    await clock.drive(broker.init());
    const fills = await clock.drive(broker.submitOrders([parent(1, 1, "-0.5", 0, 5)], 0));
    log.close();
    expect(fills).toHaveLength(1);
    // 5 waves, 4 submitted (last slot kept): 4 x -0.1 at the mid 101, fee 0.1% of notional.
    expect(fills[0]?.numShares.toString()).toBe("-0.4");
    expect(fills[0]?.price.toString()).toBe("101");
    expect(fills[0]?.fees.toString()).toBe("0.0404");
    expect((await client.fetchBalance())["USDT"]?.total).toBeCloseTo(100000 + 40.4 - 0.0404, 8);
  });
});
