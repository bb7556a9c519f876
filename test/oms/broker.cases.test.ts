import { existsSync, mkdtempSync, readFileSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { runExecution, waveFills } from "../../src/analysis/run-execution.js";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { timestampFromMs } from "../../src/core/timestamp.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { SyntheticMarket } from "../../src/exchange/market/synthetic-market.js";
import { EmbeddedVenueClient, type EmbeddedVenueOptions } from "../../src/exchanges/embedded-venue-client.js";
import { InvalidOrder, NetworkError, OrderNotFound, RequestTimeout } from "../../src/exchanges/errors.js";
import { VenueBidAskSampler } from "../../src/marketdata/bid-ask-feed.js";
import { Broker, type BrokerConfigInput } from "../../src/oms/broker.js";
import { BrokerLogWriter, loadStream } from "../../src/oms/broker-log.js";
import { readBrokerLogStream } from "../../src/oms/broker-log-reader.js";
import { leftOpenInLog } from "../../src/oms/left-open-log.js";
import { logFileSizes } from "../../src/system/checkpoint.js";
import type { ParentOrder } from "../../src/oms/parent-order.js";

const T0 = Date.UTC(2024, 0, 2, 9, 30);
const MIN = 60_000;
const SYMBOL = "ABC/USDT:USDT";

function parent(diff: string, startMs: number, endMs: number): ParentOrder {
  return {
    orderId: 1, creationTimestamp: timestampFromMs(startMs), assetId: 7, type: "price@twap",
    startTimestamp: timestampFromMs(startMs), endTimestamp: timestampFromMs(endMs),
    currNumShares: new Decimal(0), diffNumShares: new Decimal(diff), tz: "UTC", extraParams: {},
  };
}

/** One flat perpetual: the maker quotes 100.00 / 100.02 forever; takers arrive only if asked. */
async function venue(opts: { takersPerMinute: number; usdt: string; broker?: Partial<BrokerConfigInput>; minNotional?: string; client?: Omit<EmbeddedVenueOptions, "account"> }) {
  const clock = new SimulatedClock(T0);
  const engine = new ExchangeEngine({ clock, instruments: [{ symbol: SYMBOL, kind: "perpetual", base: "ABC", quote: "USDT", tickSize: "0.01", lotSize: "0.1", minNotional: opts.minNotional ?? "5", makerFee: "0.0002", takerFee: "0.0005" }] });
  const market = new SyntheticMarket(engine, {
    seed: 1,
    symbols: [{ symbol: SYMBOL, initialPrice: 100.01, model: { kind: "gbm", volatility: 0 }, liquidity: { levels: 5, halfSpreadBps: 1, medianNotional: 5_000, sizeSigma: 0 }, flow: { ordersPerMinute: opts.takersPerMinute, medianNotional: 3_000, sizeSigma: 0 } }],
  });
  const account = engine.createAccount("broker");
  engine.deposit(account, "USDT", opts.usdt);
  const client = new EmbeddedVenueClient(engine, { ...opts.client, account });
  const sampler = new VenueBidAskSampler(engine, clock, [SYMBOL]);
  market.start();
  sampler.start();
  clock.runUntil(T0 + MIN);
  const dir = mkdtempSync(join(tmpdir(), "tl-cases-"));
  const log = new BrokerLogWriter(dir);
  const broker = new Broker({ client, clock, bidAsk: sampler, log, universe: new Map([[7, SYMBOL]]) }, { runKey: "cases", ...opts.broker });
  await clock.drive(broker.init());
  return { clock, engine, account, client, broker, log, dir, sampler };
}

/** The venue places the first order sent but its reply is lost on the way back (a timeout). */
function loseFirstReply(client: EmbeddedVenueClient): void {
  const create = client.createOrder.bind(client);
  let sends = 0;
  client.createOrder = async (...args: Parameters<typeof client.createOrder>) => {
    const order = await create(...args);
    if (sends++ === 0) throw new RequestTimeout("embedded: reply lost");
    return order;
  };
}

type Child = { event: string; wave: number; amount: string; waveStart: number; status: string; error?: string };

describe("broker TWAP cases", () => {
  it("skips a wave with less than 4 s left and starts at the next boundary", async () => {
    const { clock, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000" });
    const start = T0 + 2 * MIN - 3_000; // 09:31:57: 3 s left in its wave
    await clock.drive(broker.submitOrders([parent("40", start, T0 + 5 * MIN)], 0));
    log.close();
    const sent = (loadStream(dir, "oms_child_orders").records as Child[]).filter((c) => c.event === "sending");
    expect(sent.map((c) => c.waveStart)).toEqual([T0 + 2 * MIN, T0 + 3 * MIN]);
    expect(sent.map((c) => c.wave)).toEqual([1, 2]);
  });

  it("with no taker flow a passive child never fills: no parent fill, every child cancelled", async () => {
    const { clock, engine, account, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000", broker: { limitPrice: { computer: "passivity", passivityFactor: 1 } } });
    const fills = await clock.drive(broker.submitOrders([parent("30", T0 + MIN, T0 + 4 * MIN)], 0));
    log.close();
    expect(fills).toEqual([]);
    expect(engine.openOrders(account)).toHaveLength(0);
    const states = loadStream(dir, "ccxt_fills").records as { order: { status: string; filled: number } }[];
    expect(states.map((s) => s.order.status)).toEqual(["canceled", "canceled"]);
    expect(states.every((s) => s.order.filled === 0)).toBe(true);
  });

  it("records a definitive rejection on the child and does not retry it", async () => {
    const { clock, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "10", broker: { submitRetries: 3 } });
    const fills = await clock.drive(broker.submitOrders([parent("50", T0 + MIN, T0 + 3 * MIN)], 0));
    log.close();
    expect(fills).toEqual([]);
    const children = loadStream(dir, "oms_child_orders").records as Child[];
    const rejected = children.filter((c) => c.event === "rejected");
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.error).toMatch(/InsufficientFunds: .*insufficient_margin/);
    expect(children.filter((c) => c.event === "sending")).toHaveLength(1);
  });

  it("dynamic sizing sends the whole diff first, then only what is still missing", async () => {
    const { clock, broker, log, dir } = await venue({ takersPerMinute: 60, usdt: "100000", broker: { childSizing: "dynamic", limitPrice: { computer: "passivity", passivityFactor: 0 } } });
    const fills = await clock.drive(broker.submitOrders([parent("-60", T0 + MIN, T0 + 4 * MIN)], 0));
    log.close();
    const sent = (loadStream(dir, "oms_child_orders").records as Child[]).filter((c) => c.event === "sending");
    expect(sent[0]?.amount).toBe("60");
    const filledFirst = (loadStream(dir, "ccxt_fills").records as { wave: number; order: { filled: number } }[]).filter((s) => s.wave === 0).reduce((a, s) => a + s.order.filled, 0);
    if (filledFirst < 60) expect(Number(sent[1]?.amount)).toBeCloseTo(60 - filledFirst, 9);
    else expect(sent).toHaveLength(1);
    expect(fills[0]?.numShares.toNumber()).toBeLessThanOrEqual(0);
    expect(fills[0]?.numShares.abs().toDecimal().lte(60)).toBe(true);
  });

  it("a child whose send timed out, and that cannot be looked up before its wave ends, is cancelled and collected once the exchange names it", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000" });
    // The first order reaches the exchange but its reply is lost; lookups by client id fail (the
    // network is down) until after the first wave has ended.
    loseFirstReply(client);
    const lookup = client.fetchOrderByClientId.bind(client);
    client.fetchOrderByClientId = async (...args: Parameters<typeof client.fetchOrderByClientId>) => {
      if (clock.now() < T0 + 2 * MIN + 30_000) throw new NetworkError("embedded: connection reset");
      return lookup(...args);
    };
    await clock.drive(broker.submitOrders([parent("40", T0 + MIN, T0 + 4 * MIN)], 0));
    log.close();
    // No order of ours is left resting on the book, the lost one included.
    expect(engine.openOrders(account)).toHaveLength(0);
    const children = loadStream(dir, "oms_child_orders").records as (Child & { clientOrderId: string })[];
    const lost = children.find((c) => c.event === "unknown_outcome");
    expect(lost?.wave).toBe(0);
    // Its final state is collected, under its own wave.
    const states = loadStream(dir, "ccxt_fills").records as { wave: number; clientOrderId: string; order: { status: string } }[];
    expect(states.find((s) => s.clientOrderId === lost?.clientOrderId)).toMatchObject({ wave: 0, order: { status: "canceled" } });
    expect(loadStream(dir, "fill_check_issues").records).toEqual([]);
  });

  it("a child whose outcome stays unknown to the end is named in fill_check_issues, never dropped silently", async () => {
    const { clock, client, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000" });
    loseFirstReply(client);
    client.fetchOrderByClientId = async () => {
      throw new NetworkError("embedded: connection reset");
    };
    await clock.drive(broker.submitOrders([parent("40", T0 + MIN, T0 + 6 * MIN)], 0));
    log.close();
    const records = loadStream(dir, "oms_child_orders").records as { event: string; clientOrderId: string; waveStart?: number }[];
    const lost = records.find((c) => c.event === "unknown_outcome");
    const issues = loadStream(dir, "fill_check_issues").records as { childOrderId: string; message: string }[];
    expect(issues.map((i) => i.childOrderId)).toEqual([lost?.clientOrderId]);
    expect(issues[0]?.message).toMatch(/still unknown .* it may rest there/);
    // Looking the lost one up again at each wave end never delays the other children: each is sent
    // at most its own wave's lookup retries (1.5 s) after its wave starts, not more with every wave,
    // and cancelled 0.2 s before its wave ends (DOMAIN.md section 3).
    const sent = records.filter((c) => c.event === "sending");
    expect(sent.length).toBe(4);
    for (const c of sent.slice(1)) expect((c.waveStart as number) % MIN).toBeLessThanOrEqual(1_500);
    const sentAt = new Map(sent.map((c) => [c.clientOrderId, c.waveStart as number]));
    const cancelled = (loadStream(dir, "ccxt_fills").records as { clientOrderId: string; order: { status: string; lastUpdateTimestamp: number } }[]).filter((x) => x.order.status === "canceled");
    expect(cancelled.length).toBe(3);
    for (const x of cancelled) {
      const waveEnd = Math.floor((sentAt.get(x.clientOrderId) as number) / MIN) * MIN + MIN;
      expect(x.order.lastUpdateTimestamp).toBe(waveEnd - 200);
    }
  });

  it("a static slice under the exchange's minimum cost is raised to it while the parent has that much left, and never sent below it", async () => {
    // 2 ABC at ~100 over 5 one-minute waves: static slices of 0.4 (40 USDT) under a 50 USDT minimum.
    const { clock, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000", minNotional: "50" });
    await clock.drive(broker.submitOrders([parent("2", T0 + MIN, T0 + 6 * MIN)], 0));
    log.close();
    const children = loadStream(dir, "oms_child_orders").records as (Child & { limitPrice: string })[];
    const sent = children.filter((c) => c.event === "sending");
    // Each child is the smallest amount on the 0.1 lot worth 50 at its limit price: 0.5 at 100.00.
    expect(sent.map((c) => c.amount)).toEqual(["0.5", "0.5", "0.5", "0.5"]);
    for (const c of sent) expect(Number(c.amount) * Number(c.limitPrice)).toBeGreaterThanOrEqual(50);
    expect(children.filter((c) => c.event === "rejected")).toEqual([]);
  });

  it("a static parent never sends more than its diff, even when a later slice clears the minimum on its own", async () => {
    // A book held by hand: bid 4.99 / ask 5.02, the bid moving to 5.00 before the third wave. With a
    // 5 USDT minimum and 1-unit lots, buy 4 over 4 one-minute waves slices 1 a wave: at 4.99 a slice
    // is raised to 2 (2 x 4.99 >= 5), twice; at 5.00 a slice of 1 would clear the minimum alone.
    const clock = new SimulatedClock(T0);
    const engine = new ExchangeEngine({ clock, instruments: [{ symbol: "LOW/USDT:USDT", kind: "perpetual", base: "LOW", quote: "USDT", tickSize: "0.01", lotSize: "1", minNotional: "5", makerFee: "0", takerFee: "0" }] });
    const maker = engine.createAccount("maker");
    engine.deposit(maker, "USDT", "1000000");
    const quote = (side: "buy" | "sell", price: string): number => {
      const r = engine.placeOrder({ account: maker, symbol: "LOW/USDT:USDT", side, type: "limit", price, quantity: "1000" });
      if (!r.ok) throw new Error(r.message);
      return r.orderId;
    };
    const bid = quote("buy", "4.99");
    quote("sell", "5.02");
    clock.setTimer(T0 + 3 * MIN - 30_000, () => {
      engine.cancelOrder(maker, bid);
      quote("buy", "5.00");
    });
    const account = engine.createAccount("broker");
    engine.deposit(account, "USDT", "100000");
    const client = new EmbeddedVenueClient(engine, { account });
    const sampler = new VenueBidAskSampler(engine, clock, ["LOW/USDT:USDT"]);
    sampler.start();
    clock.runUntil(T0 + MIN);
    const dir = mkdtempSync(join(tmpdir(), "tl-cases-"));
    const log = new BrokerLogWriter(dir);
    const broker = new Broker({ client, clock, bidAsk: sampler, log, universe: new Map([[9, "LOW/USDT:USDT"]]) }, { runKey: "cases-low", limitPrice: { computer: "passivity", passivityFactor: 1 } });
    await clock.drive(broker.init());
    await clock.drive(broker.submitOrders([{ ...parent("4", T0 + MIN, T0 + 5 * MIN), assetId: 9 }], 0));
    log.close();
    const sent = (loadStream(dir, "oms_child_orders").records as (Child & { limitPrice: string })[]).filter((c) => c.event === "sending");
    expect(sent.map((c) => [c.amount, c.limitPrice])).toEqual([["2", "4.99"], ["2", "4.99"]]);
  });

  it("a child that is all its parent has left and is under the minimum is not sent, and the log says why", async () => {
    const { clock, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000", minNotional: "50" });
    // 0.3 ABC (~30 USDT) as one market order: under 50, nothing left to add.
    await clock.drive(broker.submitOrders([{ ...parent("0.3", T0 + MIN, T0 + 2 * MIN), type: "market" }], 0));
    log.close();
    const children = loadStream(dir, "oms_child_orders").records as Child[];
    expect(children.map((c) => [c.event, c.amount])).toEqual([["skipped", "0.3"]]);
    expect(children[0]?.error).toMatch(/below the exchange minimum: 0\.3 at 100\.\d+ is under 0\.5 \(min amount .*, min cost 50\), and the parent has 0\.3 left to send/);
  });

  it("children the exchange rejects count in their wave's fill rate, filled 0", async () => {
    // 100 USDT of margin for a 40 ABC (~4000 USDT) parent: every child is refused for funds.
    const { clock, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100" });
    await clock.drive(broker.submitOrders([parent("40", T0 + MIN, T0 + 4 * MIN)], 0));
    log.close();
    const rejected = (loadStream(dir, "oms_child_orders").records as Child[]).filter((c) => c.event === "rejected");
    expect(rejected.length).toBeGreaterThan(0);
    const perWave = runExecution([], waveFills(dir)).summary.perWave;
    expect(perWave.map((w) => [w.wave, w.children, w.fillRate])).toEqual(rejected.map((c) => [c.wave, 1, 0]));
  });

  it("under injected network faults and 503s: sends are retried 0.5 s later, cancels are retried until done, filled orders count as cancelled", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({
      takersPerMinute: 30, usdt: "100000",
      client: { faults: { seed: 4, createNetworkError: 0.2, createUnavailable: 0.2, cancelNetworkError: 0.3 } },
    });
    await clock.drive(broker.submitOrders([parent("40", T0 + MIN, T0 + 8 * MIN)], 0));
    log.close();
    expect(client.faultCounts.createNetworkError).toBeGreaterThan(0);
    expect(client.faultCounts.createUnavailable).toBeGreaterThan(0);
    expect(client.faultCounts.cancelNetworkError).toBeGreaterThan(0);
    const children = loadStream(dir, "oms_child_orders").records as (Child & { clientOrderId?: string; bar?: number; attempt?: number; submittedAt?: number; event: string })[];
    const responses = loadStream(dir, "ccxt_child_order_responses").records as { clientOrderId: string; retry?: boolean; error?: string }[];
    // Every refused send (lost or 503) was sent again (one retry by default), 0.5 s after the first.
    const retried = responses.filter((r) => r.retry === true);
    const finallyRefused = responses.filter((r) => r.error !== undefined && r.retry !== true);
    expect(retried.length + finallyRefused.length).toBe(client.faultCounts.createNetworkError + client.faultCounts.createUnavailable);
    expect(retried.length).toBeGreaterThan(0);
    const sends = children.filter((c) => c.event === "sending");
    for (const r of retried) {
      const first = sends.find((c) => c.clientOrderId === r.clientOrderId) as { submittedAt: number; bar: number; wave: number; attempt: number };
      const again = sends.find((c) => c.bar === first.bar && c.wave === first.wave && c.attempt === first.attempt + 1) as { submittedAt: number } | undefined;
      expect(again?.submittedAt).toBe(first.submittedAt + 500);
    }
    // Lost cancels were retried: nothing of ours rests on the book, and no cancel gave up.
    expect(engine.openOrders(account)).toHaveLength(0);
    expect(children.filter((c) => c.event === "cancel_failed" || c.event === "cancel_gave_up")).toEqual([]);
    // Children that filled before their wave ended were "not found" when cancelled: done, not errors.
    const states = loadStream(dir, "ccxt_fills").records as { order: { status: string } }[];
    expect(states.filter((x) => x.order.status === "closed").length).toBeGreaterThan(0);
  });

  it("order entry latency, fixed or drawn per request: the venue places a child one leg after it was sent and the broker hears back one leg later", async () => {
    for (const [orderEntry, within] of [
      [{ kind: "fixed", ms: 250 }, [250, 250]],
      [{ kind: "uniform", minMs: 100, maxMs: 300 }, [100, 300]],
    ] as const) {
      const { clock, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000", client: { latency: { orderEntry, seed: 2 } } });
      await clock.drive(broker.submitOrders([parent("40", T0 + MIN, T0 + 6 * MIN)], 0));
      log.close();
      const records = loadStream(dir, "oms_child_orders").records as { event: string; clientOrderId: string; submittedAt?: number; ackAt?: number }[];
      const sentAt = new Map(records.filter((r) => r.event === "sending").map((r) => [r.clientOrderId, r.submittedAt as number]));
      const placedAt = new Map((loadStream(dir, "ccxt_child_order_responses").records as { clientOrderId: string; response: { timestamp: number } }[]).map((r) => [r.clientOrderId, r.response.timestamp]));
      const acks = records.filter((r) => r.event === "acknowledged");
      expect(acks.length).toBe(4);
      const legs: number[] = [];
      for (const a of acks) {
        const out = (placedAt.get(a.clientOrderId) as number) - (sentAt.get(a.clientOrderId) as number);
        const back = (a.ackAt as number) - (placedAt.get(a.clientOrderId) as number);
        legs.push(out, back);
      }
      for (const x of legs) expect(x >= within[0] && x <= within[1], `${orderEntry.kind}: ${x} ms`).toBe(true);
      if (orderEntry.kind === "uniform") expect(new Set(legs).size).toBeGreaterThan(1);
    }
  });

  it("children whose cancels give up stay tracked: cancelled and collected again at later wave ends, their late fills in the parent fill", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({ takersPerMinute: 2, usdt: "100000", broker: { limitPrice: { computer: "passivity", passivityFactor: 0.5 } } });
    // Every cancel fails (network) until just before the third wave ends: the first two children's
    // cancels give up at their wave ends while they still rest at the mid, where the taker flow
    // goes on filling them.
    const cancel = client.cancelOrder.bind(client);
    client.cancelOrder = async (...args: Parameters<typeof client.cancelOrder>) => {
      if (clock.now() < T0 + 4 * MIN - 1_000) throw new NetworkError("embedded: connection reset");
      return cancel(...args);
    };
    const fills = await clock.drive(broker.submitOrders([parent("600", T0 + MIN, T0 + 5 * MIN)], 0));
    log.close();
    expect(engine.openOrders(account)).toHaveLength(0);
    const gaveUp = (loadStream(dir, "oms_child_orders").records as { event: string }[]).filter((r) => r.event === "cancel_gave_up");
    expect(gaveUp.length).toBeGreaterThan(0);
    // The first children were collected open, then again at each later wave end until final; one
    // of them filled more after its own wave ended (60 then 120 shares with this seed).
    const states = loadStream(dir, "ccxt_fills").records as { wave: number; clientOrderId: string; order: { status: string; filled: number } }[];
    expect(states.map((s) => [s.wave, s.order.status])).toEqual([[0, "open"], [0, "open"], [1, "open"], [0, "canceled"], [1, "canceled"], [2, "canceled"]]);
    const late = states.filter((s) => s.wave === 1).map((s) => s.order.filled);
    expect(late[1]).toBeGreaterThan(late[0] as number);
    // What the exchange holds is what the parent fill says: no late fill is lost, none counted twice.
    const position = engine.positions(account).find((p) => p.symbol === SYMBOL)?.size ?? "0";
    expect(Number(position)).toBeGreaterThan(0);
    expect(fills[0]?.numShares.toString()).toBe(new Decimal(position).toString());
    const trades = loadStream(dir, "ccxt_trades").records as { trade: { id: string } }[];
    expect(new Set(trades.map((t) => t.trade.id)).size).toBe(trades.length);
    expect(loadStream(dir, "fill_check_issues").records).toEqual([]);
  });

  it("a child still open when its parent finishes (every cancel fails) is named in fill_check_issues with what it filled so far", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({ takersPerMinute: 2, usdt: "100000", broker: { limitPrice: { computer: "passivity", passivityFactor: 0.5 } } });
    const cancel = client.cancelOrder.bind(client);
    client.cancelOrder = async () => {
      throw new NetworkError("embedded: connection reset");
    };
    const fills = await clock.drive(broker.submitOrders([parent("600", T0 + MIN, T0 + 4 * MIN)], 0));
    log.flush();
    const open = engine.openOrders(account);
    expect(open.length).toBeGreaterThan(0);
    const issues = loadStream(dir, "fill_check_issues").records as { childOrderId: string; message: string }[];
    expect(issues.length).toBe(open.length);
    for (const i of issues) expect(i.message).toMatch(/still open at the exchange when its parent finished/);
    // Counted for the run's warnings, which an operator reads; the first is quoted there.
    expect(broker.fillIssues).toBe(issues.length);
    expect(broker.firstFillIssue).toBe(`bar 0 parent 1: ${issues[0]?.message}`);
    // Up to the parent's end the fill is the exchange's: the sweep at the end collected it.
    const position = (): Decimal => new Decimal(engine.positions(account).find((p) => p.symbol === SYMBOL)?.size ?? "0");
    expect(fills[0]?.numShares.toString()).toBe(position().toString());

    // Later bars book what the children filled since, while they still rest (cancels still fail):
    // the books follow the exchange.
    const booked = [...fills.map((f) => f.numShares.toDecimal())];
    for (let bar = 1; bar <= 4; bar++) {
      clock.runUntil(T0 + (4 + bar) * MIN);
      const late = await clock.drive(broker.collectLateFills(bar));
      for (const l of late) {
        expect(l.fill.parentOrderId).toBe(1);
        expect(l.fill.numShares.isPositive()).toBe(true);
        booked.push(l.fill.numShares.toDecimal());
      }
      expect(booked.reduce((a, b) => a.add(b), new Decimal(0)).toString()).toBe(position().toString());
    }
    log.flush();
    const lateFills = (loadStream(dir, "oms_fills").records as { bar: number; parentOrderId: number; numShares: string }[]).slice(fills.length);
    expect(lateFills.length).toBe(booked.length - fills.length);
    // The market's takers filled some of the resting children in four minutes.
    expect(lateFills.length).toBeGreaterThan(0);
    for (const f of lateFills) expect([f.parentOrderId, f.bar >= 1 && f.bar <= 4]).toEqual([1, true]);
    const bookedIssues = (loadStream(dir, "fill_check_issues").records as { message: string }[]).slice(issues.length);
    expect(bookedIssues.map((r) => r.message).filter((m) => /booked as a late fill of parent 1/.test(m))).toHaveLength(lateFills.length);

    // The exchange answers again: the children are cancelled, collected a last time and done with,
    // so the session's end has nothing left open.
    client.cancelOrder = cancel;
    clock.runUntil(T0 + 9 * MIN);
    const last = await clock.drive(broker.collectLateFills(5));
    const total = [...booked, ...last.map((l) => l.fill.numShares.toDecimal())].reduce((a, b) => a.add(b), new Decimal(0));
    expect(total.toString()).toBe(position().toString());
    expect(engine.openOrders(account)).toEqual([]);
    expect(await clock.drive(broker.collectLateFills(6))).toEqual([]);
    expect(await clock.drive(broker.cancelLeftOpen())).toBe(0);
    log.close();
    const states = (loadStream(dir, "ccxt_fills").records as { clientOrderId: string; order: { status: string } }[]);
    // Each left-open child's last logged state is final.
    for (const o of open) {
      const mine = states.filter((r) => r.order.status !== undefined && r.clientOrderId === o.clientOrderId);
      expect(mine.at(-1)?.order.status).toMatch(/^(canceled|closed)$/);
    }
  });

  it("a process that takes over a run takes over the children its predecessor left open, from the broker log", async () => {
    const { clock, engine, account, client, broker, log, dir, sampler } = await venue({ takersPerMinute: 2, usdt: "100000", broker: { limitPrice: { computer: "passivity", passivityFactor: 0.5 } } });
    const cancel = client.cancelOrder.bind(client);
    client.cancelOrder = async () => {
      throw new NetworkError("embedded: connection reset");
    };
    const fills = await clock.drive(broker.submitOrders([parent("600", T0 + MIN, T0 + 4 * MIN)], 0));
    log.flush();
    // The last checkpoint: the log as it stands when the parent finished.
    const checkpoint = logFileSizes(dir);
    const leftOpen = engine.openOrders(account).map((o) => String(o.orderId)).sort();
    clock.runUntil(T0 + 5 * MIN);
    const late = await clock.drive(broker.collectLateFills(1));
    log.flush();
    const position = (): Decimal => new Decimal(engine.positions(account).find((p) => p.symbol === SYMBOL)?.size ?? "0");
    const sum = (xs: readonly { numShares: { toDecimal(): Decimal } }[]): Decimal => xs.reduce((a, f) => a.add(f.numShares.toDecimal()), new Decimal(0));
    expect(sum([...fills, ...late.map((l) => l.fill)]).toString()).toBe(position().toString());
    // It booked a late fill, then died before its next checkpoint: the log is cut back to the last
    // one, the late fill with it, as the portfolio is. The heir must book it once, not twice or never.
    expect(late.length).toBeGreaterThan(0);
    for (const [rel, size] of Object.entries(checkpoint)) truncateSync(join(dir, rel), size);
    const booked = sum(fills);
    const logged = leftOpenInLog(dir);
    expect(logged.map((l) => l.child.exchangeOrderId).sort()).toEqual(leftOpen);
    const heir = new Broker({ client, clock, bidAsk: sampler, log: new BrokerLogWriter(mkdtempSync(join(tmpdir(), "tl-cases-heir-"))), universe: new Map([[7, SYMBOL]]) }, { runKey: "cases" });
    await clock.drive(heir.init());
    heir.restoreLeftOpen(logged);
    clock.runUntil(T0 + 9 * MIN);
    client.cancelOrder = cancel;
    const more = await clock.drive(heir.collectLateFills(2));
    expect(more.length).toBeGreaterThan(0);
    // Nothing booked twice, nothing missed: the books of both processes are the exchange's position.
    expect(more.reduce((a, l) => a.add(l.fill.numShares.toDecimal()), booked).toString()).toBe(position().toString());
    expect(engine.openOrders(account)).toEqual([]);
    expect(await clock.drive(heir.cancelLeftOpen())).toBe(0);
  });

  it("a left-open child the exchange cannot be asked about is tried again at the next bar; one it disowns is named and given up", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({ takersPerMinute: 2, usdt: "100000", broker: { limitPrice: { computer: "passivity", passivityFactor: 0.5 } } });
    const cancel = client.cancelOrder.bind(client);
    const fetchOrder = client.fetchOrder.bind(client);
    client.cancelOrder = async () => {
      throw new NetworkError("embedded: connection reset");
    };
    await clock.drive(broker.submitOrders([parent("600", T0 + MIN, T0 + 4 * MIN)], 0));
    const open = engine.openOrders(account).length;
    expect(open).toBeGreaterThan(1);
    client.fetchOrder = async () => {
      throw new NetworkError("embedded: connection reset");
    };
    clock.runUntil(T0 + 5 * MIN);
    expect(await clock.drive(broker.collectLateFills(1))).toEqual([]);
    log.flush();
    const failed = readBrokerLogStream(dir, "oms_child_orders").filter((r) => r.event === "late_collect_failed");
    expect(failed).toHaveLength(open);
    // The exchange no longer knows one of them: that one is named and given up, the others collected.
    client.cancelOrder = cancel;
    let disowned: string | undefined;
    client.fetchOrder = async (id: string, symbol: string) => {
      disowned ??= id;
      if (id === disowned) throw new OrderNotFound(`embedded: order ${id} not found`);
      return fetchOrder(id, symbol);
    };
    await clock.drive(broker.collectLateFills(2));
    expect(await clock.drive(broker.cancelLeftOpen())).toBe(0);
    log.close();
    const issues = (loadStream(dir, "fill_check_issues").records as { message: string }[]).map((r) => r.message);
    expect(issues.filter((m) => m.includes(`(exchange order ${disowned}), left open by its parent, is unknown to the exchange now (OrderNotFound`))).toHaveLength(1);
  });

  it("at the session's end, a child whose cancel still fails is named with what it filled since it was last booked", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({ takersPerMinute: 2, usdt: "100000", broker: { limitPrice: { computer: "passivity", passivityFactor: 0.5 } } });
    const cancel = client.cancelOrder.bind(client);
    client.cancelOrder = async () => {
      throw new NetworkError("embedded: connection reset");
    };
    const fills = await clock.drive(broker.submitOrders([parent("600", T0 + MIN, T0 + 4 * MIN)], 0));
    const open = engine.openOrders(account);
    expect(open.length).toBeGreaterThan(0);
    clock.runUntil(T0 + 8 * MIN);
    log.flush();
    const before = loadStream(dir, "fill_check_issues").records.length;
    // No bar boundary booked anything: the session's end names all of it, and still cannot cancel.
    expect(await clock.drive(broker.cancelLeftOpen())).toBe(open.length);
    log.close();
    expect(engine.openOrders(account).length).toBeGreaterThan(0);
    const atEnd = (loadStream(dir, "fill_check_issues").records as { message: string }[]).slice(before);
    expect(atEnd).toHaveLength(open.length);
    const late = new Decimal(engine.positions(account).find((p) => p.symbol === SYMBOL)?.size ?? "0").sub(fills[0]?.numShares.toString() ?? "0");
    const named = atEnd.reduce((sum, r) => sum.add(/it filled (\S+) since it was last booked/.exec(r.message)?.[1] ?? "NaN"), new Decimal(0));
    expect(named.toString()).toBe(late.toString());
    for (const r of atEnd) expect(r.message).toMatch(/^at the session's end, child .* left open by its parent is (still open \(its cancel failed again\)|closed); it filled/);
    client.cancelOrder = cancel;
  });

  it("a flattening never sends again a closing order id the exchange already has, and names its orders after their parents", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000" });
    await clock.drive(broker.submitOrders([{ ...parent("25", T0 + MIN, T0 + 2 * MIN), type: "market" }], 0));
    const tag = broker.clientOrderId(0, 0, 0, 0).split("-")[0] as string;
    // An earlier process's closing order for parent 9 reached the exchange and closed 10; the one it
    // meant for parent 10 never left.
    await clock.drive(client.createOrder(SYMBOL, "market", "sell", 10, undefined, { clientOrderId: `${tag}-flat-end-9`, reduceOnly: true }));
    broker.askBeforeSending([`${tag}-flat-end-9`, `${tag}-flat-end-10`].map((clientOrderId) => ({ clientOrderId, symbol: SYMBOL })));
    const result = await clock.drive(broker.flattenAccount("end", { bar: 3, firstParentOrderId: 9 }));
    log.close();
    expect(result.closed.map((o) => [o.clientOrderId, o.amount])).toEqual([[`${tag}-flat-end-10`, 15]]);
    expect([result.fills.map((f) => f.fill.parentOrderId), result.parentOrderIds]).toEqual([[10], 2]);
    expect(engine.positions(account).filter((p) => Number(p.size) !== 0)).toEqual([]);
    // The sending record carries what a resumed process books the order under.
    expect(readBrokerLogStream(dir, "reduce_only_oms_child_orders").map((r) => [r.clientOrderId, r.bar, r.parentOrderId])).toEqual([[`${tag}-flat-end-10`, 3, 10]]);
  });

  it("each closing order sent takes a parent id of its own, whether it fills or not", async () => {
    const { clock, client, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000" });
    await clock.drive(broker.submitOrders([{ ...parent("25", T0 + MIN, T0 + 2 * MIN), type: "market" }], 0));
    const create = client.createOrder.bind(client);
    client.createOrder = async () => {
      throw new InvalidOrder("embedded: refused");
    };
    const refused = await clock.drive(broker.flattenAccount("end", { bar: 3, firstParentOrderId: 9 }));
    expect([refused.failed.length, refused.fills.length, refused.parentOrderIds]).toEqual([1, 0, 1]);
    client.createOrder = create;
    // The next flattening's orders number from past it, as the bar loop counts them.
    const closed = await clock.drive(broker.flattenAccount("end2", { bar: 3, firstParentOrderId: 9 + refused.parentOrderIds }));
    log.close();
    expect(closed.fills.map((f) => f.fill.parentOrderId)).toEqual([10]);
    expect(readBrokerLogStream(dir, "reduce_only_oms_child_orders").filter((r) => r.event === "sending").map((r) => r.parentOrderId)).toEqual([9, 10]);
  });

  it("flattens the account with reduce-only market orders, logged in the reduce_only streams", async () => {
    const { clock, engine, account, client, broker, log, dir } = await venue({ takersPerMinute: 0, usdt: "100000" });
    const fills = await clock.drive(broker.submitOrders([{ ...parent("25", T0 + MIN, T0 + 2 * MIN), type: "market" }], 0));
    expect(fills[0]?.numShares.toString()).toBe("25");
    // A resting order that flattening must cancel first.
    engine.placeOrder({ account, symbol: SYMBOL, side: "buy", type: "limit", price: "90", quantity: "1" });
    // Whether each closing order's "sending" record was on disk when its request left (a crash
    // right after sending must still leave its client order id in the log).
    const onDiskAtSend: boolean[] = [];
    const create = client.createOrder.bind(client);
    client.createOrder = async (...args: Parameters<typeof client.createOrder>) => {
      const file = join(dir, "reduce_only_oms_child_orders.jsonl");
      onDiskAtSend.push(existsSync(file) && readFileSync(file, "utf8").includes(`"clientOrderId":"${String(args[5]?.clientOrderId)}"`));
      return create(...args);
    };
    const result = await clock.drive(broker.flattenAccount("end"));
    expect(onDiskAtSend).toEqual([true]);
    log.close();
    expect(result.failed).toEqual([]);
    expect(result.closed.map((o) => [o.side, o.amount, o.status])).toEqual([["sell", 25, "closed"]]);
    expect(engine.openOrders(account)).toHaveLength(0);
    expect(engine.positions(account).filter((p) => Number(p.size) !== 0)).toEqual([]);
    const sent = loadStream(dir, "reduce_only_oms_child_orders").records as { reduceOnly: boolean; event: string }[];
    expect(sent.map((r) => [r.event, r.reduceOnly])).toEqual([["sending", true]]);
    expect(loadStream(dir, "reduce_only_ccxt_child_order_responses").records).toHaveLength(1);
    // Typed: the closing order's request and the exchange's answer.
    expect(readBrokerLogStream(dir, "reduce_only_oms_child_orders").map((r) => [r.event, r.side, r.amount, r.reduceOnly])).toEqual([["sending", "sell", "25", true]]);
    const answer = readBrokerLogStream(dir, "reduce_only_ccxt_child_order_responses")[0] as { response?: { status: string; filled: number } } | undefined;
    expect([answer?.response?.status, answer?.response?.filled]).toEqual(["closed", 25]);
  });
});
