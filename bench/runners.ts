// One replay loop per implementation under test. Each loop is its own function so that its call
// sites stay monomorphic; each returns how many operations misbehaved (a cancel that missed, an
// order the engine rejected), which must be 0 for the figure to count.

import { OrderBook as NobOrderBook, Side as NobSide, type LimitOrderOptions } from "nodejs-order-book";
import { SimulatedClock } from "../src/core/clock.js";
import type { ExchangeEvent } from "../src/exchange/events.js";
import { ExchangeEngine, type OrderUnits } from "../src/exchange/engine.js";
import { BUY, FillBuffer, OrderBook, SELL, STP_NONE, type Side } from "../src/exchange/order-book.js";
import { OP_ADD, OP_CANCEL, type Workload } from "./workload.js";

// ---- bare book ----

export interface BookTarget {
  book: OrderBook;
  fills: FillBuffer;
  /** Handle of each live order by client reference. */
  handles: Float64Array;
}

export function newBookTarget(w: Workload, handles?: Float64Array): BookTarget {
  return {
    book: new OrderBook(),
    fills: new FillBuffer(),
    handles: handles !== undefined && handles.length >= w.refCount ? handles : new Float64Array(w.refCount),
  };
}

/** Replays ops [from, to) on the bare book. Aggressive orders match, then their remainder is dropped. */
export function runBook(w: Workload, t: BookTarget, from: number, to: number): number {
  const { kind, side, price, qty, ref, owner } = w;
  const { book, fills, handles } = t;
  let bad = 0;
  for (let i = from; i < to; i++) {
    const k = kind[i] as number;
    if (k === OP_ADD) {
      handles[ref[i] as number] = book.add(side[i] as Side, price[i] as number, qty[i] as number, owner[i] as number, ref[i] as number);
    } else if (k === OP_CANCEL) {
      if (book.cancel(handles[ref[i] as number] as number) === 0) bad++;
    } else {
      book.match(side[i] as Side, price[i] as number, qty[i] as number, owner[i] as number, STP_NONE, fills);
    }
  }
  return bad;
}

// ---- full engine ----

export const ENGINE_SYMBOL = "BTC/USDT";

export interface EngineTarget {
  engine: ExchangeEngine;
  /** Engine order id of each live order by client reference. */
  ids: Float64Array;
  order: OrderUnits;
  counter: { events: number };
}

/**
 * A spot BTC/USDT engine (tick 0.01, lot 0.001, default fees 2/4 bp, default cancel_taker STP but
 * every order here sets STP none) with accounts 1..owners funded far beyond what the flow can lock,
 * and one subscriber that counts events. The accounts are flow accounts, like the synthetic
 * market's: their finished orders are not kept for queries unless `keepClosedOrders` (then the
 * engine's default 100,000-order history applies).
 */
export function newEngineTarget(w: Workload, ids?: Float64Array, keepClosedOrders = false): EngineTarget {
  const engine = new ExchangeEngine({
    clock: new SimulatedClock(Date.UTC(2024, 0, 1)),
    assets: [
      { name: "BTC", decimals: 8 },
      { name: "USDT", decimals: 6 },
    ],
    instruments: [{ symbol: ENGINE_SYMBOL, kind: "spot", base: "BTC", quote: "USDT", tickSize: "0.01", lotSize: "0.001" }],
  });
  for (let a = 1; a <= w.params.owners; a++) {
    const id = engine.createAccount(`bench-${a}`, { keepClosedOrders });
    engine.deposit(id, "USDT", "1000000000");
    engine.deposit(id, "BTC", "1000000");
  }
  const counter = { events: 0 };
  engine.subscribe((_e: ExchangeEvent) => {
    counter.events++;
  });
  return {
    engine,
    ids: ids !== undefined && ids.length >= w.refCount ? ids : new Float64Array(w.refCount),
    // One request object, refilled per order (the engine does not keep it).
    order: { account: 1, symbol: 0, side: BUY, price: 0, qty: 0, tif: 0, stp: STP_NONE },
    counter,
  };
}

/** Replays ops [from, to) through engine.submit / engine.cancelOrder. Aggressive orders are IOC. */
export function runEngine(w: Workload, t: EngineTarget, from: number, to: number): number {
  const { kind, side, price, qty, ref, owner } = w;
  const { engine, ids, order } = t;
  let bad = 0;
  for (let i = from; i < to; i++) {
    const k = kind[i] as number;
    if (k === OP_CANCEL) {
      if (!engine.cancelOrder(owner[i] as number, ids[ref[i] as number] as number).ok) bad++;
      continue;
    }
    order.account = owner[i] as number;
    order.side = side[i] as Side;
    order.price = price[i] as number;
    order.qty = qty[i] as number;
    order.tif = k === OP_ADD ? 0 : 1;
    const r = engine.submit(order);
    if (r.ok) ids[ref[i] as number] = r.orderId;
    else bad++;
  }
  return bad;
}

// ---- nodejs-order-book ----

export interface NobTarget {
  ob: NobOrderBook;
  /** String order id of each client reference, made before timing (reused like the references). */
  ids: string[];
  order: LimitOrderOptions;
}

const NOB_GTC = "GTC" as LimitOrderOptions["timeInForce"];
const NOB_IOC = "IOC" as LimitOrderOptions["timeInForce"];

export function makeNobIds(w: Workload): string[] {
  const ids = new Array<string>(w.refCount);
  for (let s = 0; s < w.refCount; s++) ids[s] = "o" + String(s);
  return ids;
}

export function newNobTarget(ids: string[]): NobTarget {
  return {
    ob: new NobOrderBook(),
    ids,
    // One options object, refilled per order (the library copies what it keeps).
    order: { id: "", side: NobSide.BUY, size: 0, price: 0, timeInForce: NOB_GTC },
  };
}

/** Replays ops [from, to) on nodejs-order-book: limit() GTC for adds, limit() IOC for aggressive orders. */
export function runNob(w: Workload, t: NobTarget, from: number, to: number): number {
  const { kind, side, price, qty, ref } = w;
  const { ob, ids, order } = t;
  let bad = 0;
  for (let i = from; i < to; i++) {
    const k = kind[i] as number;
    if (k === OP_CANCEL) {
      if (ob.cancel(ids[ref[i] as number] as string) === undefined) bad++;
      continue;
    }
    order.id = ids[ref[i] as number] as string;
    order.side = side[i] === BUY ? NobSide.BUY : NobSide.SELL;
    order.size = qty[i] as number;
    order.price = price[i] as number;
    order.timeInForce = k === OP_ADD ? NOB_GTC : NOB_IOC;
    if (ob.limit(order).err !== null) bad++;
  }
  return bad;
}

/** Non-empty levels and total resting lots of a nodejs-order-book, to check it replayed like ours. */
export function nobBookShape(ob: NobOrderBook): { levels: number; lots: number } {
  const [asks, bids] = ob.depth();
  let lots = 0;
  for (const [, size] of asks) lots += size;
  for (const [, size] of bids) lots += size;
  return { levels: asks.length + bids.length, lots };
}

/** The same for our book. */
export function bookShape(book: OrderBook): { levels: number; lots: number } {
  let levels = 0;
  let lots = 0;
  for (const sd of [BUY, SELL] as const) {
    for (const lv of book.depth(sd, Number.MAX_SAFE_INTEGER)) {
      levels++;
      lots += lv.qty;
    }
  }
  return { levels, lots };
}
