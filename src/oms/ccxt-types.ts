// The subset of ccxt's unified structures the OMS reads and writes. Field names and meanings
// follow ccxt's Manual (Order, Trade, Market, Balance, Position structures); amounts are numbers
// there, and we turn them into exact decimals at the boundary with `dec()`.

import { Decimal } from "decimal.js";

export type CcxtOrderStatus = "open" | "closed" | "canceled" | "expired" | "rejected";

export interface CcxtFee {
  cost: number;
  currency: string;
  rate?: number;
}

export interface CcxtOrder {
  id: string;
  clientOrderId: string | undefined;
  timestamp: number;
  datetime: string;
  lastTradeTimestamp: number | undefined;
  lastUpdateTimestamp?: number | undefined;
  symbol: string;
  type: "limit" | "market";
  timeInForce: string | undefined;
  side: "buy" | "sell";
  price: number | undefined;
  average: number | undefined;
  amount: number;
  filled: number;
  remaining: number;
  cost: number;
  status: CcxtOrderStatus;
  fee: CcxtFee | undefined;
  reduceOnly: boolean | undefined;
  postOnly: boolean | undefined;
  trades: CcxtTrade[];
  info: Record<string, unknown>;
}

export interface CcxtTrade {
  id: string;
  order: string | undefined;
  timestamp: number;
  datetime: string;
  symbol: string;
  type: string | undefined;
  side: "buy" | "sell";
  takerOrMaker: "taker" | "maker" | undefined;
  price: number;
  amount: number;
  cost: number;
  fee: CcxtFee | undefined;
  info: Record<string, unknown>;
}

export interface CcxtMarket {
  id: string;
  symbol: string;
  base: string;
  quote: string;
  settle: string | undefined;
  type: "spot" | "swap";
  spot: boolean;
  swap: boolean;
  contract: boolean;
  linear: boolean | undefined;
  active: boolean;
  contractSize: number | undefined;
  precision: { amount: number; price: number };
  limits: {
    amount: { min: number | undefined; max: number | undefined };
    price: { min: number | undefined; max: number | undefined };
    cost: { min: number | undefined; max: number | undefined };
    leverage: { min: number | undefined; max: number | undefined };
  };
  maker: number;
  taker: number;
  info: Record<string, unknown>;
}

export interface CcxtBalanceEntry {
  free: number;
  used: number;
  total: number;
}

export type CcxtBalances = Record<string, CcxtBalanceEntry>;

export interface CcxtPosition {
  symbol: string;
  side: "long" | "short" | undefined;
  contracts: number;
  contractSize: number | undefined;
  entryPrice: number | undefined;
  markPrice: number | undefined;
  notional: number;
  leverage: number | undefined;
  unrealizedPnl: number | undefined;
  initialMargin: number | undefined;
  timestamp: number | undefined;
  info: Record<string, unknown>;
}

export interface CcxtOrderBook {
  symbol: string;
  bids: [number, number][];
  asks: [number, number][];
  timestamp: number | undefined;
  nonce: number | undefined;
}

export interface CcxtTicker {
  symbol: string;
  timestamp: number;
  bid: number | undefined;
  ask: number | undefined;
  bidVolume: number | undefined;
  askVolume: number | undefined;
  last: number | undefined;
}

export interface CcxtLeverageTier {
  tier: number;
  currency: string;
  minNotional: number;
  maxNotional: number;
  maintenanceMarginRate: number;
  maxLeverage: number;
}

/** A ccxt number as an exact decimal: JS prints the shortest round-trip form, which is the decimal the exchange sent. */
export function dec(n: number | string | undefined): Decimal {
  if (n === undefined) return new Decimal(0);
  // decimal.js reads a non-zero number through its toString() already; only zero differs: the
  // text "0" of -0 is a positive zero, which the number route would keep negative.
  if (typeof n === "number") return n === 0 ? new Decimal(0) : new Decimal(n);
  return new Decimal(n);
}
