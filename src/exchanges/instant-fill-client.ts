// The paper broker of the seeds as an ExchangeClient: every order fills fully, at once, at the
// reference price (by default the mid of the latest bid/ask), with a fee. No book, no queue:
// a 100% fill-rate baseline to compare real execution against, and the fastest way to run a model.

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

export interface ReferenceQuote {
  bid: number;
  ask: number;
}

export interface InstantFillOptions {
  clock: Clock;
  markets: Record<string, CcxtMarket>;
  /** The quote orders fill against; fills happen at its mid. */
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
  private readonly balances = new Map<string, Decimal>();
  private readonly positions = new Map<string, { size: Decimal; cost: Decimal }>();
  private nextId = 1;
  private lastForget = Number.NEGATIVE_INFINITY;
  private readonly feeRate: Decimal;

  constructor(private readonly opts: InstantFillOptions) {
    this.feeRate = new Decimal(opts.feeRate ?? 0);
    for (const [asset, amount] of Object.entries(opts.initialBalances ?? {})) this.balances.set(asset, new Decimal(amount));
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
    const q = this.quoteOf(symbol);
    const fillPrice = new Decimal(q.bid).add(q.ask).div(2);
    // amount > 0 here, so the number converts as its shortest text would (no negative zero).
    const qty = new Decimal(amount);
    const cost = fillPrice.mul(qty);
    const fee = cost.mul(this.feeRate);
    const now = this.opts.clock.now();
    if (this.opts.historyMs !== undefined && now - this.lastForget >= this.opts.historyMs / 8) {
      // Now and then, not at every new instant: what is kept is then between 1 and 9/8 of historyMs.
      this.forgetBefore(now - this.opts.historyMs);
      this.lastForget = now;
    }
    const id = String(this.nextId++);
    const feeStruct = { cost: fee.toNumber(), currency: market.quote };
    const datetime = isoUtc(now);
    const trade: CcxtTrade = {
      id: `t${id}`, order: id, timestamp: now, datetime, symbol, type, side, takerOrMaker: "taker",
      price: fillPrice.toNumber(), amount, cost: cost.toNumber(), fee: feeStruct, info: {},
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
    // qty * price with the sign of the side: decimal.js rounds products by magnitude (half up,
    // away from zero), so the signed notional is exactly +-cost and need not be multiplied again.
    const signed = side === "buy" ? qty : qty.neg();
    const notional = side === "buy" ? cost : cost.neg();
    this.move(market.quote, notional.neg().sub(fee));
    if (market.spot) this.move(market.base, signed);
    const pos = this.positions.get(symbol);
    if (pos === undefined) this.positions.set(symbol, { size: new Decimal(0).add(signed), cost: new Decimal(0).add(notional) });
    else {
      pos.size = pos.size.add(signed);
      pos.cost = pos.cost.add(notional);
    }
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
    for (const [asset, v] of this.balances) out[asset] = { free: v.toNumber(), used: 0, total: v.toNumber() };
    return out;
  }

  async fetchPositions(symbols?: string[]): Promise<CcxtPosition[]> {
    const out: CcxtPosition[] = [];
    for (const [symbol, p] of this.positions) {
      if (symbols !== undefined && !symbols.includes(symbol)) continue;
      if (this.opts.markets[symbol]?.swap !== true) continue;
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

  private move(asset: string, delta: Decimal): void {
    this.balances.set(asset, (this.balances.get(asset) ?? new Decimal(0)).add(delta));
  }
}
