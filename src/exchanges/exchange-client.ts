// The ExchangeClient seam: the subset of ccxt's unified API the broker needs, returning ccxt's
// unified structures. The broker talks to every venue (embedded simulator, instant-fill paper
// broker, real exchange through ccxt, replayed log, fake) only through this interface.

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

export interface CreateOrderParams {
  clientOrderId?: string;
  reduceOnly?: boolean;
  postOnly?: boolean;
  timeInForce?: "GTC" | "IOC" | "FOK";
}

export interface ExchangeClient {
  readonly id: string;
  loadMarkets(): Promise<Record<string, CcxtMarket>>;
  fetchOrderBook(symbol: string, limit?: number): Promise<CcxtOrderBook>;
  /** Level-1 bid/ask (ccxt's fetchTicker fields bid, ask, bidVolume, askVolume). */
  fetchTicker(symbol: string): Promise<CcxtTicker>;
  createOrder(symbol: string, type: "limit" | "market", side: "buy" | "sell", amount: number, price?: number, params?: CreateOrderParams): Promise<CcxtOrder>;
  cancelOrder(id: string, symbol: string): Promise<CcxtOrder>;
  cancelAllOrders(symbol: string): Promise<CcxtOrder[]>;
  fetchOrder(id: string, symbol: string): Promise<CcxtOrder>;
  fetchOrderByClientId(clientOrderId: string, symbol: string): Promise<CcxtOrder>;
  fetchOpenOrders(symbol: string): Promise<CcxtOrder[]>;
  fetchMyTrades(symbol: string, since?: number, limit?: number): Promise<CcxtTrade[]>;
  fetchBalance(): Promise<CcxtBalances>;
  fetchPositions(symbols?: string[]): Promise<CcxtPosition[]>;
  setLeverage(leverage: number, symbol: string): Promise<void>;
  fetchLeverageTiers(symbols?: string[]): Promise<Record<string, CcxtLeverageTier[]>>;
}
