// The paper broker of the seeds as an ExchangeClient: every order fills fully, at once, at the
// reference price (the mid of the latest bid/ask), with a fee. A limit order never fills worse than
// its limit: at min(mid, limit) for a buy, max(mid, limit) for a sell, so a passive child fills at
// its own price and the passivity factor changes the execution price. No book, no queue: a 100%
// fill-rate baseline to compare real execution against, and the fastest way to run a model.

import { Decimal } from "decimal.js";
import type { Clock } from "../core/clock.js";
import { isoUtc } from "../core/iso-utc.js";
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
import { BadSymbol, InvalidOrder, OrderNotFound } from "./errors.js";
import type { CreateOrderParams, ExchangeClient } from "./exchange-client.js";
import { tradesSince } from "./trades-since.js";
import { WideDecimal } from "../core/wide-decimal.js";
import { exactAdd, exactNeg, scaledAdd, scaledCompare, scaledHalf, scaledMul, scaledOf, scaledToNumber, ScaledTotal, type Exact, type Scaled } from "../core/scaled-number.js";

const TWO = WideDecimal.of(2);

export interface ReferenceQuote {
  bid: number;
  ask: number;
}

export interface InstantFillOptions {
  clock: Clock;
  markets: Record<string, CcxtMarket>;
  /** The quote orders fill against; fills happen at its mid (a limit order's clamped to its limit). */
  quote: (symbol: string) => ReferenceQuote | undefined;
  /** Fee rate charged on the notional, in the quote currency. */
  feeRate?: number;
  initialBalances?: Record<string, string>;
  /**
   * How long filled orders and trades stay queryable (fetchOrder, fetchMyTrades), in ms; older
   * ones are forgotten, as an exchange ages out its history. Unset: kept for the client's life.
   * A day-long run of 100 assets made ~120k orders, and keeping them all held ~1/3 of the heap.
   */
  historyMs?: number;
}

export class InstantFillClient implements ExchangeClient {
  readonly id = "instant_fill";
  private readonly orders = new Map<string, CcxtOrder>();
  private readonly byClientId = new Map<string, string>();
  /** Per symbol, in time order: fetchMyTrades(since) is a binary search, not a scan of the day. */
  private readonly trades = new Map<string, CcxtTrade[]>();
  private readonly balances = new Map<string, ScaledTotal>();
  private readonly positions = new Map<string, { size: ScaledTotal; cost: ScaledTotal }>();
  private nextId = 1;
  private lastForget = Number.NEGATIVE_INFINITY;
  private readonly feeRate: WideDecimal;
  private readonly feeRateScaled: Scaled | undefined;

  constructor(private readonly opts: InstantFillOptions) {
    this.feeRate = WideDecimal.of(opts.feeRate ?? 0);
    this.feeRateScaled = scaledOf(opts.feeRate ?? 0);
    for (const [asset, amount] of Object.entries(opts.initialBalances ?? {})) this.balances.set(asset, new ScaledTotal(new Decimal(amount).toFixed()));
  }

  async loadMarkets(): Promise<Record<string, CcxtMarket>> {
    return { ...this.opts.markets };
  }

  async fetchOrderBook(symbol: string): Promise<CcxtOrderBook> {
    const q = this.quoteOf(symbol);
    return { symbol, bids: [[q.bid, 0]], asks: [[q.ask, 0]], timestamp: this.opts.clock.now(), nonce: undefined };
  }

  async fetchTicker(symbol: string): Promise<CcxtTicker> {
    const q = this.quoteOf(symbol);
    return { symbol, timestamp: this.opts.clock.now(), bid: q.bid, ask: q.ask, bidVolume: undefined, askVolume: undefined, last: undefined };
  }

  async createOrder(symbol: string, type: "limit" | "market", side: "buy" | "sell", amount: number, price?: number, params: CreateOrderParams = {}): Promise<CcxtOrder> {
    const market = this.opts.markets[symbol];
    if (market === undefined) throw new BadSymbol(`instant_fill: unknown symbol ${symbol}`);
    if (!(amount > 0)) throw new InvalidOrder(`instant_fill: amount must be positive, got ${amount}`);
    if (params.clientOrderId !== undefined && this.byClientId.has(params.clientOrderId)) {
      throw new InvalidOrder(`instant_fill: duplicate client order id ${params.clientOrderId}`);
    }
    if (type === "limit" && !(price !== undefined && Number.isFinite(price) && price > 0)) {
      throw new InvalidOrder(`instant_fill: a limit order needs a positive price, got ${String(price)}`);
    }
    const q = this.quoteOf(symbol);
    const fill = this.fillOf(q, amount, type === "limit" ? { side, price: price as number } : undefined);
    const now = this.opts.clock.now();
    if (this.opts.historyMs !== undefined && now - this.lastForget >= this.opts.historyMs / 8) {
      // Now and then, not at every new instant: what is kept is then between 1 and 9/8 of historyMs.
      this.forgetBefore(now - this.opts.historyMs);
      this.lastForget = now;
    }
    const id = String(this.nextId++);
    const feeStruct = { cost: fill.fee, currency: market.quote };
    const datetime = isoUtc(now);
    const trade: CcxtTrade = {
      id: `t${id}`, order: id, timestamp: now, datetime, symbol, type, side, takerOrMaker: "taker",
      price: fill.price, amount, cost: fill.cost, fee: feeStruct, info: {},
    };
    const order: CcxtOrder = {
      id, clientOrderId: params.clientOrderId, timestamp: now, datetime, lastTradeTimestamp: now, lastUpdateTimestamp: now,
      symbol, type, timeInForce: params.timeInForce ?? "GTC", side, price: type === "limit" ? price : undefined, average: trade.price,
      amount, filled: amount, remaining: 0, cost: trade.cost, status: "closed", fee: feeStruct, reduceOnly: params.reduceOnly, postOnly: params.postOnly,
      trades: [trade], info: {},
    };
    this.orders.set(id, order);
    if (params.clientOrderId !== undefined) this.byClientId.set(params.clientOrderId, id);
    let list = this.trades.get(symbol);
    if (list === undefined) {
      list = [];
      this.trades.set(symbol, list);
    }
    list.push(trade);
    this.book(market, symbol, side === "buy", fill);
    return { ...order };
  }

  async cancelOrder(id: string): Promise<CcxtOrder> {
    // Every order is already filled: cancelling finds nothing open, as an exchange would say.
    throw new OrderNotFound(`instant_fill: order ${id} is not open`);
  }

  async cancelAllOrders(): Promise<CcxtOrder[]> {
    return [];
  }

  async fetchOrder(id: string): Promise<CcxtOrder> {
    const o = this.orders.get(id);
    if (o === undefined) throw new OrderNotFound(`instant_fill: order ${id} not found`);
    return { ...o };
  }

  async fetchOrderByClientId(clientOrderId: string): Promise<CcxtOrder> {
    const id = this.byClientId.get(clientOrderId);
    if (id === undefined) throw new OrderNotFound(`instant_fill: no order with client id ${clientOrderId}`);
    return this.fetchOrder(id);
  }

  async fetchOpenOrders(): Promise<CcxtOrder[]> {
    return [];
  }

  async fetchMyTrades(symbol: string, since?: number, limit?: number): Promise<CcxtTrade[]> {
    return tradesSince(this.trades.get(symbol) ?? [], since, limit);
  }

  async fetchBalance(): Promise<CcxtBalances> {
    const out: CcxtBalances = {};
    for (const [asset, total] of this.balances) {
      const v = total.value().toNumber();
      out[asset] = { free: v, used: 0, total: v };
    }
    return out;
  }

  async fetchPositions(symbols?: string[]): Promise<CcxtPosition[]> {
    const out: CcxtPosition[] = [];
    for (const [symbol, held] of this.positions) {
      if (symbols !== undefined && !symbols.includes(symbol)) continue;
      if (this.opts.markets[symbol]?.swap !== true) continue;
      const p = { size: held.size.value().toDecimal(), cost: held.cost.value().toDecimal() };
      const q = this.opts.quote(symbol);
      const mark = q === undefined ? undefined : (q.bid + q.ask) / 2;
      out.push({
        symbol, side: p.size.isPositive() ? "long" : p.size.isNegative() ? "short" : undefined, contracts: p.size.abs().toNumber(), contractSize: 1,
        entryPrice: p.size.isZero() ? undefined : p.cost.div(p.size).toNumber(), markPrice: mark,
        notional: mark === undefined ? 0 : p.size.mul(mark).toNumber(), leverage: 1,
        unrealizedPnl: mark === undefined ? undefined : p.size.mul(mark).sub(p.cost).toNumber(), initialMargin: undefined, timestamp: this.opts.clock.now(), info: {},
      });
    }
    return out;
  }

  async setLeverage(): Promise<void> {
    // Fills are unconditional here, so leverage changes nothing.
  }

  async fetchLeverageTiers(): Promise<Record<string, CcxtLeverageTier[]>> {
    return {};
  }

  /**
   * The fill at the mid, or at a limit order's limit when the mid is through it (a buy limit under
   * the mid, a sell limit over it): price, cost and fee as numbers, with the exact amounts the
   * account moves by. Scaled integers when every step is exact (nearly always: quotes and amounts
   * have few digits), decimal.js otherwise; the numbers are the same either way.
   */
  private fillOf(q: ReferenceQuote, amount: number, limit: { side: "buy" | "sell"; price: number } | undefined): Fill {
    const bid = scaledOf(q.bid);
    const ask = scaledOf(q.ask);
    const qty = scaledOf(amount);
    const sum = bid === undefined || ask === undefined ? undefined : scaledAdd(bid, ask);
    const mid = sum === undefined ? undefined : scaledHalf(sum);
    let px = mid;
    if (limit !== undefined && mid !== undefined) {
      const lim = scaledOf(limit.price);
      const order = lim === undefined ? undefined : scaledCompare(mid, lim);
      // Scales that do not align: the decimal.js path below decides.
      if (order === undefined) px = undefined;
      else if (limit.side === "buy" ? order > 0 : order < 0) px = lim;
    }
    const cost = px === undefined || qty === undefined ? undefined : scaledMul(px, qty);
    const fee = cost === undefined || this.feeRateScaled === undefined ? undefined : scaledMul(cost, this.feeRateScaled);
    if (px !== undefined && qty !== undefined && cost !== undefined && fee !== undefined) {
      return { price: scaledToNumber(px), cost: scaledToNumber(cost), fee: scaledToNumber(fee), qty, costExact: cost, feeExact: fee };
    }
    // decimal.js's arithmetic, to the digit.
    const midExact = WideDecimal.of(q.bid).add(WideDecimal.of(q.ask)).div(TWO);
    const limitExact = limit === undefined ? undefined : WideDecimal.of(limit.price);
    const through = limitExact !== undefined && limit !== undefined && (limit.side === "buy" ? midExact.cmp(limitExact) > 0 : midExact.cmp(limitExact) < 0);
    const fillPrice = through ? (limitExact as WideDecimal) : midExact;
    const qtyExact = WideDecimal.of(amount);
    const costExact = fillPrice.mul(qtyExact);
    const feeExact = costExact.mul(this.feeRate);
    return { price: fillPrice.toNumber(), cost: costExact.toNumber(), fee: feeExact.toNumber(), qty: qtyExact, costExact, feeExact };
  }

  /** Moves the account's balances and position by a fill. */
  private book(market: CcxtMarket, symbol: string, buy: boolean, fill: Fill): void {
    // The quote moves by -(signed notional) - fee; decimal.js rounds products by magnitude, so the
    // signed notional is exactly +-cost.
    const quoteMove = buy ? exactNeg(fill.costExact) : fill.costExact;
    this.move(market.quote, exactAdd(quoteMove, exactNeg(fill.feeExact)));
    const signed = buy ? fill.qty : exactNeg(fill.qty);
    if (market.spot) this.move(market.base, signed);
    let pos = this.positions.get(symbol);
    if (pos === undefined) {
      pos = { size: new ScaledTotal(), cost: new ScaledTotal() };
      this.positions.set(symbol, pos);
    }
    pos.size.add(signed);
    pos.cost.add(exactNeg(quoteMove));
  }

  private quoteOf(symbol: string): ReferenceQuote {
    if (this.opts.markets[symbol] === undefined) throw new BadSymbol(`instant_fill: unknown symbol ${symbol}`);
    const q = this.opts.quote(symbol);
    if (q === undefined) throw new InvalidOrder(`instant_fill: no reference price for ${symbol} yet`);
    return q;
  }

  /** Drops orders and trades stamped before `cutoff` (orders are kept in creation order). */
  private forgetBefore(cutoff: number): void {
    for (const [id, o] of this.orders) {
      if (o.timestamp >= cutoff) break;
      this.orders.delete(id);
      if (o.clientOrderId !== undefined) this.byClientId.delete(o.clientOrderId);
    }
    for (const list of this.trades.values()) {
      let k = 0;
      while (k < list.length && (list[k] as CcxtTrade).timestamp < cutoff) k++;
      if (k > 0) list.splice(0, k);
    }
  }

  private move(asset: string, delta: Exact): void {
    let total = this.balances.get(asset);
    if (total === undefined) {
      total = new ScaledTotal();
      this.balances.set(asset, total);
    }
    total.add(delta);
  }
}

interface Fill {
  price: number;
  cost: number;
  fee: number;
  qty: Exact;
  costExact: Exact;
  feeExact: Exact;
}
