// ExchangeClient over the embedded exchange engine, in process and on the same clock. Optional
// latency (fixed or drawn per request) delays order entry, cancels and queries; optional seeded
// fault injection throws the errors a real venue does, including a timeout after the order was
// placed (unknown outcome), so the broker's recovery paths run in tests.

import { Decimal } from "decimal.js";
import { z } from "zod";
import type { Clock } from "../core/clock.js";
import { isoUtc } from "../core/iso-utc.js";
import { Rng } from "../core/rng.js";
import type { ExchangeEngine, OrderSnapshot } from "../exchange/engine.js";
import type { ExchangeEvent } from "../exchange/events.js";
import type { Instrument } from "../exchange/instrument.js";
import type {
  CcxtBalances,
  CcxtLeverageTier,
  CcxtMarket,
  CcxtOrder,
  CcxtOrderBook,
  CcxtPosition,
  CcxtTicker,
  CcxtTrade,
} from "../oms/ccxt-types.js";
import { BadSymbol, ExchangeError, ExchangeNotAvailable, InsufficientFunds, InvalidOrder, NetworkError, OrderNotFound, RequestTimeout } from "./errors.js";
import type { CreateOrderParams, ExchangeClient } from "./exchange-client.js";
import { tradesSince } from "./trades-since.js";

export const latencySchema = z.union([
  z.object({ kind: z.literal("none") }).strict(),
  z.object({ kind: z.literal("fixed"), ms: z.number().nonnegative() }).strict(),
  z.object({ kind: z.literal("uniform"), minMs: z.number().nonnegative(), maxMs: z.number().nonnegative() }).strict(),
]);
export type LatencySpec = z.input<typeof latencySchema>;

export const faultSchema = z
  .object({
    seed: z.number().int().default(1),
    /** createOrder: the request is lost before reaching the venue (NetworkError). */
    createNetworkError: z.number().min(0).max(1).default(0),
    /** createOrder: the order is placed but the reply is lost (RequestTimeout: unknown outcome). */
    createTimeoutAfterPlace: z.number().min(0).max(1).default(0),
    /** createOrder: the venue answers 503 (ExchangeNotAvailable). */
    createUnavailable: z.number().min(0).max(1).default(0),
    /** cancelOrder: the request is lost (NetworkError). */
    cancelNetworkError: z.number().min(0).max(1).default(0),
  })
  .strict();
export type FaultSpec = z.input<typeof faultSchema>;

export interface EmbeddedVenueOptions {
  account: number;
  latency?: { orderEntry?: LatencySpec; cancel?: LatencySpec; query?: LatencySpec; seed?: number };
  faults?: FaultSpec;
}

export interface FaultCounts {
  createNetworkError: number;
  createTimeoutAfterPlace: number;
  createUnavailable: number;
  cancelNetworkError: number;
}

const NO_TRADES: readonly CcxtTrade[] = [];

export class EmbeddedVenueClient implements ExchangeClient {
  readonly id = "embedded";
  private readonly clock: Clock;
  private readonly trades = new Map<string, CcxtTrade[]>();
  /** By the engine's numeric order id: a lookup per order state, and a number key is no string to make and hash. */
  private readonly tradesByOrder = new Map<number, CcxtTrade[]>();
  private readonly latencyRng: Rng;
  private readonly faultRng: Rng | undefined;
  private readonly faults: z.output<typeof faultSchema> | undefined;
  private readonly latency: { orderEntry: LatencySpec; cancel: LatencySpec; query: LatencySpec };
  readonly faultCounts: FaultCounts = { createNetworkError: 0, createTimeoutAfterPlace: 0, createUnavailable: 0, cancelNetworkError: 0 };
  /** Requests that reached the venue, by kind (for tests and reports). */
  readonly requestCounts = { createOrder: 0, cancelOrder: 0, fetchOrder: 0 };

  constructor(
    private readonly engine: ExchangeEngine,
    private readonly options: EmbeddedVenueOptions,
  ) {
    this.clock = engine.clock;
    const l = options.latency ?? {};
    this.latency = {
      orderEntry: latencySchema.parse(l.orderEntry ?? { kind: "none" }),
      cancel: latencySchema.parse(l.cancel ?? { kind: "none" }),
      query: latencySchema.parse(l.query ?? { kind: "none" }),
    };
    this.latencyRng = new Rng(l.seed ?? 1);
    if (options.faults !== undefined) {
      this.faults = faultSchema.parse(options.faults);
      this.faultRng = new Rng(this.faults.seed);
    }
    engine.subscribe((e) => this.onEvent(e), { account: options.account, types: ["filled", "partially_filled"] });
  }

  get account(): number {
    return this.options.account;
  }

  async loadMarkets(): Promise<Record<string, CcxtMarket>> {
    await this.delay(this.latency.query);
    const out: Record<string, CcxtMarket> = {};
    for (const inst of this.engine.instruments()) out[inst.symbol] = toMarket(inst);
    return out;
  }

  async fetchOrderBook(symbol: string, limit = 5): Promise<CcxtOrderBook> {
    await this.delay(this.latency.query);
    this.instrument(symbol);
    const d = this.engine.depth(symbol, limit);
    return {
      symbol,
      bids: d.bids.map(([p, q]) => [Number(p), Number(q)]),
      asks: d.asks.map(([p, q]) => [Number(p), Number(q)]),
      timestamp: this.clock.now(),
      nonce: undefined,
    };
  }

  async fetchTicker(symbol: string): Promise<CcxtTicker> {
    const book = await this.fetchOrderBook(symbol, 1);
    return {
      symbol,
      timestamp: this.clock.now(),
      bid: book.bids[0]?.[0],
      ask: book.asks[0]?.[0],
      bidVolume: book.bids[0]?.[1],
      askVolume: book.asks[0]?.[1],
      last: undefined,
    };
  }

  async createOrder(symbol: string, type: "limit" | "market", side: "buy" | "sell", amount: number, price?: number, params: CreateOrderParams = {}): Promise<CcxtOrder> {
    await this.delay(this.latency.orderEntry);
    this.instrument(symbol);
    if (this.draw("createNetworkError")) throw new NetworkError(`embedded: connection reset before createOrder ${params.clientOrderId ?? ""} reached the venue`);
    if (this.draw("createUnavailable")) throw new ExchangeNotAvailable("embedded: 503 Service Unavailable");
    this.requestCounts.createOrder++;
    const r = this.engine.placeOrder({
      account: this.options.account,
      symbol,
      side,
      type,
      quantity: numberText(amount),
      ...(type === "limit" && price !== undefined ? { price: numberText(price) } : {}),
      ...(params.clientOrderId !== undefined ? { clientOrderId: params.clientOrderId } : {}),
      ...(params.reduceOnly !== undefined ? { reduceOnly: params.reduceOnly } : {}),
      ...(params.postOnly !== undefined ? { postOnly: params.postOnly } : {}),
      ...(params.timeInForce !== undefined ? { timeInForce: params.timeInForce } : {}),
    });
    if (!r.ok) {
      const msg = `embedded: ${r.reason}: ${r.message}`;
      if (r.reason === "insufficient_balance" || r.reason === "insufficient_margin") throw new InsufficientFunds(msg);
      if (r.reason === "unknown_instrument") throw new BadSymbol(msg);
      throw new InvalidOrder(msg);
    }
    if (this.draw("createTimeoutAfterPlace")) throw new RequestTimeout(`embedded: createOrder ${params.clientOrderId ?? ""} timed out (the order may exist)`);
    await this.delay(this.latency.orderEntry);
    return this.order(r.orderId);
  }

  async cancelOrder(id: string, symbol: string): Promise<CcxtOrder> {
    await this.delay(this.latency.cancel);
    this.instrument(symbol);
    if (this.draw("cancelNetworkError")) throw new NetworkError(`embedded: connection reset during cancelOrder ${id}`);
    this.requestCounts.cancelOrder++;
    const r = this.engine.cancelOrder(this.options.account, Number(id));
    if (!r.ok) throw withoutStack(() => new OrderNotFound(`embedded: ${r.message}`));
    return this.order(Number(id));
  }

  async cancelAllOrders(symbol: string): Promise<CcxtOrder[]> {
    await this.delay(this.latency.cancel);
    const open = this.engine.openOrders(this.options.account, symbol);
    this.engine.cancelAll(this.options.account, symbol);
    return open.map((o) => this.order(o.orderId));
  }

  async fetchOrder(id: string, symbol: string): Promise<CcxtOrder> {
    await this.delay(this.latency.query);
    this.instrument(symbol);
    this.requestCounts.fetchOrder++;
    const snap = this.engine.getOrder(Number(id));
    if (snap === undefined || snap.account !== this.options.account) throw new OrderNotFound(`embedded: order ${id} not found`);
    return this.toOrder(snap);
  }

  async fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<CcxtOrder> {
    await this.delay(this.latency.query);
    this.instrument(symbol);
    this.requestCounts.fetchOrder++;
    const snap = this.engine.getOrderByClientId(this.options.account, clientOrderId);
    if (snap === undefined) throw new OrderNotFound(`embedded: no order with client id ${clientOrderId}`);
    return this.toOrder(snap);
  }

  async fetchOpenOrders(symbol: string): Promise<CcxtOrder[]> {
    await this.delay(this.latency.query);
    return this.engine.openOrders(this.options.account, symbol).map((s) => this.toOrder(s));
  }

  async fetchMyTrades(symbol: string, since?: number, limit?: number): Promise<CcxtTrade[]> {
    await this.delay(this.latency.query);
    return tradesSince(this.trades.get(symbol) ?? [], since, limit);
  }

  async fetchBalance(): Promise<CcxtBalances> {
    await this.delay(this.latency.query);
    const out: CcxtBalances = {};
    for (const b of this.engine.balances(this.options.account)) out[b.asset] = { free: Number(b.free), used: Number(b.locked), total: Number(b.total) };
    return out;
  }

  async fetchPositions(symbols?: string[]): Promise<CcxtPosition[]> {
    await this.delay(this.latency.query);
    return this.engine
      .positions(this.options.account)
      .filter((p) => symbols === undefined || symbols.includes(p.symbol))
      .map((p) => {
        const size = Number(p.size);
        const mark = p.markPrice === undefined ? undefined : Number(p.markPrice);
        return {
          symbol: p.symbol,
          side: size > 0 ? "long" : size < 0 ? "short" : undefined,
          contracts: Math.abs(size),
          contractSize: 1,
          entryPrice: p.entryPrice === undefined ? undefined : Number(p.entryPrice),
          markPrice: mark,
          notional: mark === undefined ? 0 : size * mark,
          leverage: p.leverage,
          unrealizedPnl: p.unrealizedPnl === undefined ? undefined : Number(p.unrealizedPnl),
          initialMargin: Number(p.initialMargin),
          timestamp: this.clock.now(),
          info: { ...p },
        };
      });
  }

  async setLeverage(leverage: number, symbol: string): Promise<void> {
    await this.delay(this.latency.query);
    const r = this.engine.setLeverage(this.options.account, symbol, leverage);
    if (!r.ok) throw new ExchangeError(`embedded: ${r.message}`);
  }

  async fetchLeverageTiers(symbols?: string[]): Promise<Record<string, CcxtLeverageTier[]>> {
    await this.delay(this.latency.query);
    const out: Record<string, CcxtLeverageTier[]> = {};
    for (const inst of this.engine.instruments()) {
      if (inst.kind !== "perpetual" || (symbols !== undefined && !symbols.includes(inst.symbol))) continue;
      out[inst.symbol] = [{ tier: 1, currency: inst.quote.name, minNotional: 0, maxNotional: 1e12, maintenanceMarginRate: 0.004, maxLeverage: inst.maxLeverage }];
    }
    return out;
  }

  // ---- internals ----

  private instrument(symbol: string): Instrument {
    const inst = this.engine.instrument(symbol);
    if (inst === undefined) throw new BadSymbol(`embedded: unknown symbol ${symbol}`);
    return inst;
  }

  private draw(kind: keyof FaultCounts): boolean {
    if (this.faults === undefined || this.faultRng === undefined) return false;
    const p = this.faults[kind];
    if (p <= 0) return false;
    const hit = this.faultRng.next() < p;
    if (hit) this.faultCounts[kind]++;
    return hit;
  }

  private async delay(spec: LatencySpec): Promise<void> {
    let ms = 0;
    if (spec.kind === "fixed") ms = spec.ms;
    else if (spec.kind === "uniform") ms = this.latencyRng.uniform(spec.minMs, Math.max(spec.minMs, spec.maxMs));
    if (ms > 0) await this.clock.sleepUntil(this.clock.now() + Math.round(ms));
  }

  private order(id: number): CcxtOrder {
    const snap = this.engine.getOrder(id);
    if (snap === undefined) throw new OrderNotFound(`embedded: order ${id} not found`);
    return this.toOrder(snap);
  }

  private toOrder(s: OrderSnapshot): CcxtOrder {
    const trades = this.tradesByOrder.get(s.orderId) ?? NO_TRADES;
    let feeCost = 0;
    let feeCurrency: string | undefined;
    for (const t of trades) {
      if (t.fee === undefined) continue;
      feeCost += t.fee.cost;
      feeCurrency = t.fee.currency;
    }
    const lastTrade = trades.length > 0 ? (trades[trades.length - 1] as CcxtTrade).timestamp : undefined;
    return {
      id: String(s.orderId),
      clientOrderId: s.clientOrderId,
      timestamp: s.createdAt,
      datetime: isoUtc(s.createdAt),
      lastTradeTimestamp: lastTrade,
      lastUpdateTimestamp: s.updatedAt,
      symbol: s.symbol,
      type: s.type,
      timeInForce: s.timeInForce,
      side: s.side,
      price: s.type === "market" ? undefined : Number(s.price),
      average: s.averagePrice === undefined ? undefined : Number(s.averagePrice),
      amount: Number(s.quantity),
      filled: Number(s.filled),
      remaining: Number(s.remaining),
      cost: Number(s.cost),
      status: s.status === "new" || s.status === "partially_filled" ? "open" : s.status === "filled" ? "closed" : s.status,
      fee: feeCurrency === undefined ? undefined : { cost: feeCost, currency: feeCurrency },
      reduceOnly: s.reduceOnly,
      postOnly: s.postOnly,
      trades: trades.map((t) => ({ ...t })),
      // A snapshot is the engine's fresh object per call: nothing else holds it to copy it from.
      info: s,
    };
  }

  private onEvent(e: ExchangeEvent): void {
    if ((e.type !== "filled" && e.type !== "partially_filled") || e.account !== this.options.account) return;
    const inst = this.engine.instrument(e.symbol);
    if (inst === undefined) return;
    const price = Number(inst.formatPrice(e.price));
    const amount = Number(inst.formatQty(e.qty));
    const feeAsset = this.engine.assetList().find((a) => a.name === e.feeAsset);
    const t: CcxtTrade = {
      id: `${inst.symbol}:${e.tradeId}`,
      order: String(e.orderId),
      timestamp: e.ts,
      datetime: isoUtc(e.ts),
      symbol: e.symbol,
      type: e.orderType,
      side: e.side,
      takerOrMaker: e.liquidity,
      price,
      amount,
      cost: Number(inst.formatQuote(e.price * e.qty * inst.notionalFactor)),
      fee: { cost: feeAsset === undefined ? 0 : e.fee / 10 ** feeAsset.unit.scale, currency: e.feeAsset },
      info: { tradeId: e.tradeId, seq: e.seq },
    };
    let list = this.trades.get(e.symbol);
    if (list === undefined) {
      list = [];
      this.trades.set(e.symbol, list);
    }
    list.push(t);
    let byOrder = this.tradesByOrder.get(e.orderId);
    if (byOrder === undefined) {
      byOrder = [];
      this.tradesByOrder.set(e.orderId, byOrder);
    }
    byOrder.push(t);
  }
}

/**
 * Builds an error without capturing a stack trace. For "order not found" on cancel, which is not a
 * failure but the normal answer for a child that filled before its wave ended (the broker treats it
 * as done): a broker day meets it tens of thousands of times, and capturing the (async) stack cost
 * more than the rest of the cancel. Name, class and message are as before; only `stack` lists no
 * frames.
 */
function withoutStack<E extends Error>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function toMarket(inst: Instrument): CcxtMarket {
  const perp = inst.kind === "perpetual";
  return {
    id: inst.symbol.split(":")[0]?.replace("/", "") ?? inst.symbol,
    symbol: inst.symbol,
    base: inst.base.name,
    quote: inst.quote.name,
    settle: perp ? inst.quote.name : undefined,
    type: perp ? "swap" : "spot",
    spot: !perp,
    swap: perp,
    contract: perp,
    linear: perp ? true : undefined,
    active: true,
    contractSize: perp ? 1 : undefined,
    precision: { amount: Number(inst.lot.text), price: Number(inst.tick.text) },
    limits: {
      amount: { min: Number(inst.formatQty(inst.minQtyLots)), max: undefined },
      price: { min: Number(inst.tick.text), max: undefined },
      cost: { min: Number(inst.formatQuote(inst.minNotionalUnits)), max: undefined },
      leverage: { min: 1, max: perp ? inst.maxLeverage : undefined },
    },
    maker: inst.makerFeeRate / 1e8,
    taker: inst.takerFeeRate / 1e8,
    info: { ...inst.spec },
  };
}

/** A JS number as the decimal text it stands for (no exponent for the magnitudes orders use). */
function numberText(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const s = n.toString();
  return /e/i.test(s) ? new Decimal(s).toFixed() : s;
}
