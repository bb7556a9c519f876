// ExchangeClient over the real `ccxt` library, for any exchange id (Binance USD-M first). Thin on
// purpose: ccxt already speaks the unified API; this only normalises types, reads keys from the
// environment, keeps rate limiting on, and can point every API URL at another host (the simulator's
// Binance-compatible front in tests). ccxt is loaded on first use: it takes ~0.6 s to import.

import type { Exchange, Order, Trade } from "ccxt";
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
import type { CreateOrderParams, ExchangeClient } from "./exchange-client.js";

export interface CcxtClientOptions {
  exchangeId: string;
  /** Replaces scheme and host of every API URL, e.g. http://127.0.0.1:8801 (DOMAIN.md section 14). */
  baseUrl?: string;
  apiKey?: string;
  secret?: string;
  /** Extra ccxt options merged into the exchange's `options`. */
  options?: Record<string, unknown>;
  enableRateLimit?: boolean;
  /** Environment to read keys from (defaults to process.env): <ID>_API_KEY and <ID>_API_SECRET. */
  env?: Record<string, string | undefined>;
}

export class CcxtClientError extends Error {
  override readonly name = "CcxtClientError";
}

/** Environment variable names for an exchange's keys. */
export function keyVariables(exchangeId: string): { apiKey: string; secret: string } {
  const id = exchangeId.toUpperCase().replace(/[^A-Z0-9]/g, "_");
  return { apiKey: `${id}_API_KEY`, secret: `${id}_API_SECRET` };
}

export async function createCcxtClient(opts: CcxtClientOptions): Promise<CcxtClient> {
  const mod = await import("ccxt");
  const ccxt = mod.default;
  const ctor = (ccxt as unknown as Record<string, unknown>)[opts.exchangeId];
  if (typeof ctor !== "function") throw new CcxtClientError(`ccxt has no exchange "${opts.exchangeId}" (see ccxt.exchanges)`);
  const env = opts.env ?? process.env;
  const vars = keyVariables(opts.exchangeId);
  const apiKey = opts.apiKey ?? env[vars.apiKey];
  const secret = opts.secret ?? env[vars.secret];
  const config: Record<string, unknown> = {
    enableRateLimit: opts.enableRateLimit ?? true,
    options: { ...(opts.options ?? {}) },
  };
  if (apiKey !== undefined) config["apiKey"] = apiKey;
  if (secret !== undefined) config["secret"] = secret;
  const exchange = new (ctor as new (c: Record<string, unknown>) => Exchange)(config);
  if (opts.baseUrl !== undefined) overrideApiUrls(exchange, opts.baseUrl);
  return new CcxtClient(exchange);
}

/** Replaces scheme and host of every string URL under `exchange.urls.api`, keeping the paths. */
export function overrideApiUrls(exchange: Exchange, baseUrl: string): void {
  const base = new URL(baseUrl);
  const api = (exchange.urls as { api?: unknown }).api;
  const visit = (node: unknown): unknown => {
    if (typeof node === "string") {
      try {
        const u = new URL(node);
        u.protocol = base.protocol;
        u.host = base.host;
        return u.toString().replace(/\/$/, node.endsWith("/") ? "/" : "");
      } catch {
        // Not a URL (a plain label inside the map): leave it as it is.
        return node;
      }
    }
    if (node !== null && typeof node === "object") {
      const obj = node as Record<string, unknown>;
      for (const k of Object.keys(obj)) obj[k] = visit(obj[k]);
    }
    return node;
  };
  visit(api);
}

export class CcxtClient implements ExchangeClient {
  readonly id: string;

  constructor(readonly exchange: Exchange) {
    this.id = exchange.id;
  }

  async loadMarkets(): Promise<Record<string, CcxtMarket>> {
    const markets = await this.exchange.loadMarkets();
    const out: Record<string, CcxtMarket> = {};
    for (const [symbol, m] of Object.entries(markets)) {
      if (m === undefined) continue;
      out[symbol] = {
        id: String(m.id),
        symbol: String(m.symbol),
        base: String(m.base),
        quote: String(m.quote),
        settle: m.settle ?? undefined,
        type: m.swap === true ? "swap" : "spot",
        spot: m.spot === true,
        swap: m.swap === true,
        contract: m.contract === true,
        linear: m.linear ?? undefined,
        active: m.active !== false,
        contractSize: m.contractSize ?? undefined,
        precision: { amount: Number(m.precision?.amount ?? 0), price: Number(m.precision?.price ?? 0) },
        limits: {
          amount: { min: m.limits?.amount?.min ?? undefined, max: m.limits?.amount?.max ?? undefined },
          price: { min: m.limits?.price?.min ?? undefined, max: m.limits?.price?.max ?? undefined },
          cost: { min: m.limits?.cost?.min ?? undefined, max: m.limits?.cost?.max ?? undefined },
          leverage: { min: m.limits?.leverage?.min ?? undefined, max: m.limits?.leverage?.max ?? undefined },
        },
        maker: Number(m.maker ?? 0),
        taker: Number(m.taker ?? 0),
        info: (m.info ?? {}) as Record<string, unknown>,
      };
    }
    return out;
  }

  async fetchOrderBook(symbol: string, limit = 5): Promise<CcxtOrderBook> {
    const b = await this.exchange.fetchOrderBook(symbol, limit);
    return {
      symbol,
      bids: b.bids.map(([p, q]) => [Number(p), Number(q)]),
      asks: b.asks.map(([p, q]) => [Number(p), Number(q)]),
      timestamp: b.timestamp ?? undefined,
      nonce: b.nonce ?? undefined,
    };
  }

  async fetchTicker(symbol: string): Promise<CcxtTicker> {
    const t = await this.exchange.fetchTicker(symbol);
    return {
      symbol,
      timestamp: t.timestamp ?? Date.now(),
      bid: t.bid ?? undefined,
      ask: t.ask ?? undefined,
      bidVolume: t.bidVolume ?? undefined,
      askVolume: t.askVolume ?? undefined,
      last: t.last ?? undefined,
    };
  }

  async createOrder(symbol: string, type: "limit" | "market", side: "buy" | "sell", amount: number, price?: number, params: CreateOrderParams = {}): Promise<CcxtOrder> {
    const p: Record<string, unknown> = {};
    if (params.clientOrderId !== undefined) p["clientOrderId"] = params.clientOrderId;
    if (params.reduceOnly === true) p["reduceOnly"] = true;
    if (params.postOnly === true) p["postOnly"] = true;
    if (params.timeInForce !== undefined) p["timeInForce"] = params.timeInForce;
    return toOrder(await this.exchange.createOrder(symbol, type, side, amount, price, p));
  }

  async cancelOrder(id: string, symbol: string): Promise<CcxtOrder> {
    return toOrder((await this.exchange.cancelOrder(id, symbol)) as Order);
  }

  async cancelAllOrders(symbol: string): Promise<CcxtOrder[]> {
    return ((await this.exchange.cancelAllOrders(symbol)) as Order[]).map(toOrder);
  }

  async fetchOrder(id: string, symbol: string): Promise<CcxtOrder> {
    return toOrder(await this.exchange.fetchOrder(id, symbol));
  }

  async fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<CcxtOrder> {
    return toOrder(await this.exchange.fetchOrder("", symbol, { origClientOrderId: clientOrderId }));
  }

  async fetchOpenOrders(symbol: string): Promise<CcxtOrder[]> {
    return (await this.exchange.fetchOpenOrders(symbol)).map(toOrder);
  }

  async fetchMyTrades(symbol: string, since?: number, limit?: number): Promise<CcxtTrade[]> {
    return (await this.exchange.fetchMyTrades(symbol, since, limit)).map(toTrade);
  }

  async fetchBalance(): Promise<CcxtBalances> {
    const b = (await this.exchange.fetchBalance()) as unknown as Record<string, unknown>;
    const out: CcxtBalances = {};
    const free = (b["free"] ?? {}) as Record<string, number | undefined>;
    const used = (b["used"] ?? {}) as Record<string, number | undefined>;
    const total = (b["total"] ?? {}) as Record<string, number | undefined>;
    for (const asset of Object.keys(total)) out[asset] = { free: Number(free[asset] ?? 0), used: Number(used[asset] ?? 0), total: Number(total[asset] ?? 0) };
    return out;
  }

  async fetchPositions(symbols?: string[]): Promise<CcxtPosition[]> {
    const ps = await this.exchange.fetchPositions(symbols);
    return ps.map((p) => ({
      symbol: String(p.symbol),
      side: p.side === "long" || p.side === "short" ? p.side : undefined,
      contracts: Number(p.contracts ?? 0),
      contractSize: p.contractSize ?? undefined,
      entryPrice: p.entryPrice ?? undefined,
      markPrice: p.markPrice ?? undefined,
      notional: Number(p.notional ?? 0),
      leverage: p.leverage ?? undefined,
      unrealizedPnl: p.unrealizedPnl ?? undefined,
      initialMargin: p.initialMargin ?? undefined,
      timestamp: p.timestamp ?? undefined,
      info: (p.info ?? {}) as Record<string, unknown>,
    }));
  }

  async setLeverage(leverage: number, symbol: string): Promise<void> {
    await this.exchange.setLeverage(leverage, symbol);
  }

  async fetchLeverageTiers(symbols?: string[]): Promise<Record<string, CcxtLeverageTier[]>> {
    const tiers = await this.exchange.fetchLeverageTiers(symbols);
    const out: Record<string, CcxtLeverageTier[]> = {};
    for (const [symbol, list] of Object.entries(tiers)) {
      out[symbol] = (list ?? []).map((t) => ({
        tier: Number(t.tier ?? 0),
        currency: String(t.currency ?? ""),
        minNotional: Number(t.minNotional ?? 0),
        maxNotional: Number(t.maxNotional ?? 0),
        maintenanceMarginRate: Number(t.maintenanceMarginRate ?? 0),
        maxLeverage: Number(t.maxLeverage ?? 0),
      }));
    }
    return out;
  }
}

function toTrade(t: Trade): CcxtTrade {
  return {
    id: String(t.id),
    order: t.order ?? undefined,
    timestamp: Number(t.timestamp ?? 0),
    datetime: String(t.datetime ?? ""),
    symbol: String(t.symbol),
    type: t.type ?? undefined,
    side: t.side === "sell" ? "sell" : "buy",
    takerOrMaker: t.takerOrMaker === "maker" || t.takerOrMaker === "taker" ? t.takerOrMaker : undefined,
    price: Number(t.price ?? 0),
    amount: Number(t.amount ?? 0),
    cost: Number(t.cost ?? 0),
    fee: t.fee?.cost === undefined || t.fee.cost === null ? undefined : { cost: Number(t.fee.cost), currency: String(t.fee.currency ?? "") },
    info: (t.info ?? {}) as Record<string, unknown>,
  };
}

function toOrder(o: Order): CcxtOrder {
  const status = o.status === "open" || o.status === "closed" || o.status === "canceled" || o.status === "expired" || o.status === "rejected" ? o.status : "open";
  return {
    id: String(o.id),
    clientOrderId: o.clientOrderId ?? undefined,
    timestamp: Number(o.timestamp ?? 0),
    datetime: String(o.datetime ?? ""),
    lastTradeTimestamp: o.lastTradeTimestamp ?? undefined,
    lastUpdateTimestamp: o.lastUpdateTimestamp ?? undefined,
    symbol: String(o.symbol),
    type: o.type === "market" ? "market" : "limit",
    timeInForce: o.timeInForce ?? undefined,
    side: o.side === "sell" ? "sell" : "buy",
    price: o.price ?? undefined,
    average: o.average ?? undefined,
    amount: Number(o.amount ?? 0),
    filled: Number(o.filled ?? 0),
    remaining: Number(o.remaining ?? 0),
    cost: Number(o.cost ?? 0),
    status,
    fee: o.fee?.cost === undefined || o.fee.cost === null ? undefined : { cost: Number(o.fee.cost), currency: String(o.fee.currency ?? "") },
    reduceOnly: o.reduceOnly ?? undefined,
    postOnly: o.postOnly ?? undefined,
    trades: (o.trades ?? []).map(toTrade),
    info: (o.info ?? {}) as Record<string, unknown>,
  };
}
