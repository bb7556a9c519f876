// Shared fixtures for the exchange tests: a small spot and perpetual market with round numbers, so
// expected balances and fees can be worked out by hand, and an event recorder.

import { SimulatedClock } from "../../src/core/clock.js";
import { ExchangeEngine, type EngineConfig, type PlaceOrderRequest, type PlaceResult } from "../../src/exchange/engine.js";
import type { ExchangeEvent } from "../../src/exchange/events.js";
import type { InstrumentSpec } from "../../src/exchange/instrument.js";

export const SPOT = "BTC/USDT";
export const PERP = "ETH/USDT:USDT";
export const T0 = Date.UTC(2024, 0, 1);

/** tick 0.1, lot 0.001, min notional 5 USDT, maker 0.02 %, taker 0.04 % (the defaults). */
export const SPOT_SPEC: InstrumentSpec = {
  symbol: SPOT, kind: "spot", base: "BTC", quote: "USDT", tickSize: "0.1", lotSize: "0.001", minNotional: "5",
};

/** tick 0.01, lot 0.01, min notional 1 USDT, maker 0.02 %, taker 0.05 %, leverage 10 (max 20). */
export const PERP_SPEC: InstrumentSpec = {
  symbol: PERP, kind: "perpetual", base: "ETH", quote: "USDT", tickSize: "0.01", lotSize: "0.01", minNotional: "1",
  makerFee: "0.0002", takerFee: "0.0005", maxLeverage: 20, defaultLeverage: 10,
};

export interface Market {
  clock: SimulatedClock;
  engine: ExchangeEngine;
  events: ExchangeEvent[];
  /** Places an order for `account` and returns the result. */
  place(account: number, req: Omit<PlaceOrderRequest, "account">): PlaceResult;
  /** Places an order that must be accepted; returns its id. */
  placeOk(account: number, req: Omit<PlaceOrderRequest, "account">): number;
  /** Decimal balance strings of one asset. */
  bal(account: number, asset: string): { free: string; locked: string; total: string };
}

/** The spot and perp market; `listen: false` leaves the engine without any listener (events stay empty). */
export function makeMarket(opts: Partial<EngineConfig> & { listen?: boolean } = {}): Market {
  const { listen = true, ...config } = opts;
  const clock = new SimulatedClock(T0);
  const engine = new ExchangeEngine({ clock, instruments: [SPOT_SPEC, PERP_SPEC], ...config });
  const events: ExchangeEvent[] = [];
  if (listen) engine.subscribe((e) => events.push(e));
  const place = (account: number, req: Omit<PlaceOrderRequest, "account">): PlaceResult => engine.placeOrder({ account, ...req });
  return {
    clock,
    engine,
    events,
    place,
    placeOk(account, req) {
      const r = place(account, req);
      if (!r.ok) throw new Error(`expected ${JSON.stringify(req)} to be accepted, got ${r.reason}: ${r.message}`);
      return r.orderId;
    },
    bal(account, asset) {
      const b = engine.balances(account).find((x) => x.asset === asset);
      if (b === undefined) throw new Error(`no asset ${asset}`);
      return { free: b.free, locked: b.locked, total: b.total };
    },
  };
}

/** An account with the given deposits. */
export function funded(m: Market, name: string, deposits: Record<string, string>): number {
  const id = m.engine.createAccount(name);
  for (const [asset, amount] of Object.entries(deposits)) m.engine.deposit(id, asset, amount);
  return id;
}

/** The event interface whose `type` admits T (fill events share one interface for two types). */
export type EventOf<T extends ExchangeEvent["type"]> = ExchangeEvent extends infer E ? (E extends ExchangeEvent ? (T extends E["type"] ? E : never) : never) : never;

export function ofType<T extends ExchangeEvent["type"]>(events: readonly ExchangeEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}
