// Property tests: random order streams (several accounts, a spot and a perpetual instrument, every
// order type, cancels, amends, leverage changes and garbage), with the engine's invariants checked
// after every single step.

import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { fromSteps, parseStep, type Step } from "../../src/core/units.js";
import { type ExchangeEngine, FEE_ACCOUNT, type PlaceOrderRequest, type PlaceResult, type StpName } from "../../src/exchange/engine.js";
import type { ExchangeEvent } from "../../src/exchange/events.js";
import { BUY, NO_PRICE, SELL, type Side } from "../../src/exchange/order-book.js";
import { makeMarket, PERP, PERP_SPEC, SPOT, SPOT_SPEC, type Market } from "./helpers.js";

const SYMBOLS = [SPOT, PERP] as const;
/** Prices stay within a few ticks of 100 (spot) and 2000 (perp) so that orders meet often. */
const MID_TICKS = [1000, 200_000] as const;
const TICK = [SPOT_SPEC.tickSize, PERP_SPEC.tickSize] as const;
/** Quantities are k x 0.01 for both (spot: 1 USDT a step at 100, so small ones miss the 5 USDT minimum). */
const QTY_STEP = new Decimal("0.01");
const TRADERS = 4;

type Kind = "gtc" | "ioc" | "fok" | "post" | "market";

type Op =
  | { k: "place"; acct: number; sym: 0 | 1; side: "buy" | "sell"; kind: Kind; px: number; qty: number; ro: boolean; stp: StpName | undefined; cid: string | undefined }
  | { k: "reduce"; acct: number; kind: Kind; px: number; qty: number }
  | { k: "cancel"; pick: number; stranger: boolean }
  | { k: "cancelCid"; acct: number; cid: string }
  | { k: "cancelAll"; acct: number; sym: 0 | 1 | undefined }
  | { k: "amend"; pick: number; px: number | undefined; qty: number | undefined }
  | { k: "leverage"; acct: number; lev: number }
  | { k: "garbage"; req: Record<string, unknown> }
  | { k: "garbageAmend"; pick: number; price: unknown; quantity: unknown }
  | { k: "tick"; ms: number };

const acct = fc.integer({ min: 1, max: TRADERS });
const cid = fc.constantFrom("a", "b", "c");
const junk: fc.Arbitrary<unknown> = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom("NaN", "-1", "-0.5", "0", "1e3", "Infinity", " 100 ", "", "100.", ".5", "0x10", "100.000001", "99999999999999999999", "-0"),
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, undefined, true, {}, [], new Decimal(Number.NaN), new Decimal("-3"), new Decimal("1e-30")),
);

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 16,
    arbitrary: fc.record({
      k: fc.constant("place" as const),
      acct,
      sym: fc.constantFrom<0 | 1>(0, 1),
      side: fc.constantFrom<"buy" | "sell">("buy", "sell"),
      kind: fc.constantFrom<Kind>("gtc", "gtc", "gtc", "ioc", "fok", "post", "market"),
      px: fc.integer({ min: -8, max: 8 }),
      qty: fc.integer({ min: 1, max: 60 }),
      ro: fc.constantFrom(false, false, false, true), // a quarter of perp orders are reduce-only
      stp: fc.option(fc.constantFrom<StpName>("none", "cancel_taker", "cancel_maker", "cancel_both"), { nil: undefined, freq: 2 }),
      cid: fc.option(cid, { nil: undefined, freq: 2 }),
    }),
  },
  {
    // A reduce-only perp order against the account's current position (whatever it is by then).
    weight: 4,
    arbitrary: fc.record({
      k: fc.constant("reduce" as const),
      acct,
      kind: fc.constantFrom<Kind>("gtc", "gtc", "ioc", "fok", "post", "market"),
      px: fc.integer({ min: -8, max: 8 }),
      qty: fc.integer({ min: 1, max: 8 }),
    }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("cancel" as const), pick: fc.nat(), stranger: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cancelCid" as const), acct, cid }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("cancelAll" as const), acct, sym: fc.constantFrom<0 | 1 | undefined>(0, 1, undefined) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant("amend" as const),
      pick: fc.nat(),
      px: fc.option(fc.integer({ min: -8, max: 8 }), { nil: undefined }),
      qty: fc.option(fc.integer({ min: 1, max: 60 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("leverage" as const), acct, lev: fc.integer({ min: 0, max: 25 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant("garbage" as const),
      req: fc.record(
        {
          account: fc.oneof(acct, junk),
          symbol: fc.oneof(fc.constantFrom<unknown>(SPOT, PERP), junk),
          side: fc.oneof(fc.constantFrom<unknown>("buy", "sell"), junk),
          type: fc.oneof(fc.constantFrom<unknown>("limit", "market"), junk),
          price: junk,
          quantity: junk,
          timeInForce: fc.oneof(fc.constantFrom<unknown>("GTC", "IOC", "FOK"), junk),
          postOnly: junk,
          reduceOnly: junk,
          clientOrderId: junk,
          selfTradePrevention: fc.oneof(fc.constantFrom<unknown>("none", "cancel_maker", "toString", "__proto__"), junk),
        },
        { requiredKeys: ["account", "symbol", "side", "type", "price", "quantity"] },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("garbageAmend" as const), pick: fc.nat(), price: junk, quantity: junk }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("tick" as const), ms: fc.integer({ min: 1, max: 5000 }) }) },
);

const TICK_STEPS = TICK.map((t) => parseStep(t));

function priceText(sym: 0 | 1, offset: number): string {
  return fromSteps(MID_TICKS[sym] + offset, TICK_STEPS[sym] as Step);
}

/** The k of a place op's k x 0.01: reduce-only perp orders are kept small so that they often fit a position. */
function placedK(o: Extract<Op, { k: "place" }>): number {
  return o.ro && o.sym === 1 ? 1 + (o.qty % 8) : o.qty;
}

function qtyText(k: number): string {
  return QTY_STEP.mul(k).toFixed();
}

interface OrderInfo {
  account: number;
  sym: 0 | 1;
  reduceOnly: boolean;
}

/** A fresh market with the traders funded; trader 4 is poor so that funds checks bite. */
function setup(listen = true): { m: Market; log: ExchangeEvent[] } {
  const m = makeMarket({ listen });
  for (let i = 1; i <= TRADERS; i++) {
    const id = m.engine.createAccount(`t${i}`);
    const rich = i < TRADERS;
    m.engine.deposit(id, "BTC", rich ? "3" : "0.05");
    m.engine.deposit(id, "USDT", rich ? "20000" : "40");
  }
  return { m, log: m.events };
}

/** A "reduce" op as the place it stands for now: the side that reduces the current position. */
function resolve(m: Market, o: Op): Op {
  if (o.k !== "reduce") return o;
  const size = m.engine.positionUnits(o.acct, 1)?.size ?? 0;
  return { k: "place", acct: o.acct, sym: 1, side: size > 0 ? "sell" : "buy", kind: o.kind, px: o.px, qty: o.qty, ro: true, stp: undefined, cid: undefined };
}

/** Applies one op. Returns the result of a place (for order-type checks). */
function apply(m: Market, o: Op, orders: Map<number, OrderInfo>, ids: number[]): PlaceResult | undefined {
  const e = m.engine;
  const pickId = (pick: number): number | undefined => (ids.length === 0 ? undefined : ids[pick % ids.length]);
  switch (o.k) {
    case "place": {
      const req: PlaceOrderRequest = {
        account: o.acct,
        symbol: SYMBOLS[o.sym],
        side: o.side,
        type: o.kind === "market" ? "market" : "limit",
        quantity: qtyText(placedK(o)),
        ...(o.kind === "market" ? {} : { price: priceText(o.sym, o.px) }),
        ...(o.kind === "ioc" ? { timeInForce: "IOC" as const } : o.kind === "fok" ? { timeInForce: "FOK" as const } : {}),
        ...(o.kind === "post" ? { postOnly: true } : {}),
        ...(o.ro && o.sym === 1 ? { reduceOnly: true } : {}),
        ...(o.stp !== undefined ? { selfTradePrevention: o.stp } : {}),
        ...(o.cid !== undefined ? { clientOrderId: o.cid } : {}),
      };
      return e.placeOrder(req);
    }
    case "reduce":
      return apply(m, resolve(m, o), orders, ids);
    case "cancel": {
      const id = pickId(o.pick);
      if (id === undefined) return undefined;
      const owner = orders.get(id)?.account ?? 1;
      e.cancelOrder(o.stranger ? (owner % TRADERS) + 1 : owner, id);
      return undefined;
    }
    case "cancelCid":
      e.cancelByClientId(o.acct, o.cid);
      return undefined;
    case "cancelAll":
      e.cancelAll(o.acct, o.sym === undefined ? undefined : SYMBOLS[o.sym]);
      return undefined;
    case "amend": {
      const id = pickId(o.pick);
      if (id === undefined) return undefined;
      const info = orders.get(id) as OrderInfo;
      e.amendOrder(info.account, id, {
        ...(o.px !== undefined ? { price: priceText(info.sym, o.px) } : {}),
        ...(o.qty !== undefined ? { quantity: qtyText(o.qty) } : {}),
      });
      return undefined;
    }
    case "leverage":
      e.setLeverage(o.acct, PERP, o.lev);
      return undefined;
    case "garbage":
      return e.placeOrder(o.req as unknown as PlaceOrderRequest);
    case "garbageAmend": {
      const id = pickId(o.pick);
      if (id === undefined) return undefined;
      e.amendOrder(orders.get(id)?.account ?? 1, id, { price: o.price, quantity: o.quantity } as { price?: string; quantity?: string });
      return undefined;
    }
    case "tick":
      m.clock.runUntil(m.clock.now() + o.ms);
      return undefined;
  }
}

/** expect(..).toBe(..), built only on failure: these checks run thousands of times per property. */
function same(actual: unknown, expected: unknown, what: string): void {
  if (!Object.is(actual, expected)) expect(actual, what).toBe(expected);
}

function holds(cond: boolean, what: string): void {
  if (!cond) expect(cond, what).toBe(true);
}

/** Resting orders in priority order per symbol and side: [orderId, price ticks]. */
function priority(e: ExchangeEngine): [number, number][][][] {
  return [0, 1].map((sym) => {
    const book = e.book(sym);
    return [BUY, SELL].map((side) => book.depth(side as Side, Number.MAX_SAFE_INTEGER).flatMap((lv) => book.levelHandles(lv.price).map((h): [number, number] => [book.tagOf(h), lv.price])));
  });
}

function stateJson(e: ExchangeEngine): string {
  const accounts = Array.from({ length: e.accountCount() }, (_, i) => [e.balances(i), e.positions(i)]);
  return JSON.stringify([accounts, e.depth(SPOT, 100), e.depth(PERP, 100)]);
}

/** Everything that must hold between any two operations. */
function checkInvariants(m: Market, orders: Map<number, OrderInfo>): void {
  const e = m.engine;
  const assets = e.assetList();
  // The book is never crossed at rest, and every open order rests (IOC, FOK and market never do).
  let resting = 0;
  for (const sym of [0, 1]) {
    const book = e.book(sym);
    const bid = book.bestBid();
    const ask = book.bestAsk();
    holds(bid === NO_PRICE || ask === NO_PRICE || bid < ask, `${SYMBOLS[sym]} crossed at rest: ${bid} >= ${ask}`);
    resting += book.orderCount;
    const inst = e.instruments()[sym];
    for (const h of book.allHandles()) {
      const o = e.getOrder(book.tagOf(h));
      holds(o !== undefined && (o.status === "new" || o.status === "partially_filled"), `resting order ${book.tagOf(h)} is open`);
      same(o?.timeInForce, "GTC", "only GTC orders rest");
      same(o?.type, "limit", "only limit orders rest");
      same(inst?.qtyToLots(o?.remaining ?? ""), book.qtyOf(h), "book quantity is the order's remaining");
      same(inst?.priceToTicks(o?.price ?? ""), book.priceOf(h), "book price is the order's price");
    }
  }
  same(e.openOrderCount, resting, "every open order rests");

  // Conservation: every asset is in some account, the fee account, or (for the margin asset) the
  // open positions' basis; nothing appears or disappears.
  const basis = e.positionBasisByAsset();
  for (const a of assets) {
    let sum = 0;
    for (let i = 0; i < e.accountCount(); i++) sum += e.account(i)?.total[a.index] as number;
    same(sum - (basis[a.index] as number), e.netDeposited(a.index), `${a.name} is conserved`);
  }

  // Locks: each open order holds exactly what its remainder needs; accounts hold exactly the sum.
  const sums = new Map<string, number>();
  for (const l of e.openOrderLocks()) {
    same(l.locked, l.need, `account ${l.account} order lock`);
    holds(l.locked >= 0, "locks are not negative");
    const key = `${l.account}:${l.asset}`;
    sums.set(key, (sums.get(key) ?? 0) + l.locked);
  }
  for (let i = 0; i < e.accountCount(); i++) {
    const acc = e.account(i);
    if (acc === undefined) continue;
    for (const a of assets) same(acc.locked[a.index], sums.get(`${i}:${a.index}`) ?? 0, `account ${i} ${a.name} locked is the sum of its order locks`);
    // Position margin is ceil(|basis| / leverage) of each open position.
    let margin = 0;
    for (const p of acc.positions.values()) {
      same(p.margin, p.size === 0 ? 0 : Math.ceil(Math.abs(p.basis) / p.leverage), `account ${i} position margin`);
      if (p.size === 0) same(p.basis, 0, "a flat position has no basis");
      margin += p.margin;
    }
    const usdt = assets.find((a) => a.name === "USDT")?.index as number;
    same(acc.positionMargin[usdt], margin, `account ${i} margin is the sum of its positions`);
    // Spot base assets: never spent beyond what is owned.
    for (const a of assets) if (a.name !== "USDT") holds((acc.total[a.index] as number) >= (acc.locked[a.index] as number), `account ${i} ${a.name} total covers its locks`);
  }
  expect(e.account(FEE_ACCOUNT)?.locked.every((x) => x === 0)).toBe(true);

  // A resting reduce-only order never exceeds the position it reduces.
  for (const [id, info] of orders) {
    if (!info.reduceOnly) continue;
    const o = e.getOrder(id);
    if (o === undefined || (o.status !== "new" && o.status !== "partially_filled")) continue;
    const size = e.positionUnits(info.account, 1)?.size ?? 0;
    holds(o.side === "sell" ? size > 0 : size < 0, `reduce-only order ${id} reduces the position`);
    holds((e.instruments()[1]?.qtyToLots(o.remaining) ?? Infinity) <= Math.abs(size), `reduce-only order ${id} fits the position`);
  }
}

/** Checks the fills of one step against the book as it was before the step. */
function checkFills(m: Market, o: Op, r: PlaceResult | undefined, before: [number, number][][][], stepEvents: ExchangeEvent[], orders: Map<number, OrderInfo>, positions: Map<number, number>): void {
  const trades = stepEvents.filter((e): e is Extract<ExchangeEvent, { type: "trade" }> => e.type === "trade");
  if (o.k !== "place" && o.k !== "reduce" && o.k !== "garbage") expect(trades).toEqual([]);
  if (trades.length === 0 && (r === undefined || !r.ok)) return;
  const e = m.engine;
  const sym = SYMBOLS.indexOf(trades[0]?.symbol as (typeof SYMBOLS)[number]);
  if (trades.length > 0) {
    expect(trades.every((t) => t.symbol === trades[0]?.symbol && t.takerOrderId === trades[0]?.takerOrderId)).toBe(true);
    const takerSide = trades[0]?.takerSide;
    const queue = before[sym]?.[takerSide === "buy" ? SELL : BUY] ?? [];
    // Price-time priority: makers are taken in queue order; everything ahead of a filled maker is gone.
    let last = -1;
    for (const t of trades) {
      const at = queue.findIndex(([id]) => id === t.makerOrderId);
      expect(at, "maker was resting before the step").toBeGreaterThan(last);
      expect(t.price, "fills at the maker's price").toBe(queue[at]?.[1]);
      last = at;
    }
    for (const [id] of queue.slice(0, last)) expect(e.getOrder(id)?.status).toMatch(/^(filled|canceled)$/);
    // No fill worse than the taker's limit.
    if (o.k === "place" && o.kind !== "market") {
      const limit = MID_TICKS[o.sym] + o.px;
      for (const t of trades) expect(takerSide === "buy" ? t.price <= limit : t.price >= limit).toBe(true);
    }
    // Reduce-only orders only ever shrink their position, trade by trade.
    for (const t of trades) {
      if (sym !== 1) continue;
      const sides: [number, number, number][] = [
        [t.makerAccount, t.makerOrderId, takerSide === "buy" ? -t.qty : t.qty],
        [t.takerAccount, t.takerOrderId, takerSide === "buy" ? t.qty : -t.qty],
      ];
      for (const [account, orderId, delta] of sides) {
        const p = positions.get(account) ?? 0;
        if (orders.get(orderId)?.reduceOnly === true) {
          expect(Math.abs(p + delta), `reduce-only order ${orderId} grew the position`).toBeLessThan(Math.abs(p));
          expect(p * (p + delta)).toBeGreaterThanOrEqual(0);
        }
        positions.set(account, p + delta);
      }
    }
  }
  if (o.k !== "place" || r === undefined || !r.ok) return;
  const snap = e.getOrder(r.orderId);
  const mine = trades.filter((t) => t.takerOrderId === r.orderId);
  const filledLots = mine.reduce((s, t) => s + t.qty, 0);
  expect(snap?.status).toBe(r.status);
  if (o.kind === "fok") {
    // All or nothing.
    // k x 0.01 is 10k spot lots (0.001) or k perp lots (0.01).
    if (r.status === "filled") expect(filledLots).toBe(placedK(o) * (o.sym === 0 ? 10 : 1));
    else expect([r.status, filledLots]).toEqual(["expired", 0]);
  }
  if (o.kind === "ioc" || o.kind === "market" || o.kind === "fok") expect(r.status).toMatch(/^(filled|expired|canceled)$/);
  if (o.kind === "post") {
    expect(mine).toEqual([]);
    expect(r.status).toBe("new");
  }
}

interface Run {
  log: ExchangeEvent[];
  /** Balances, positions and books at the end. */
  state: string;
  orders: Map<number, OrderInfo>;
  ids: number[];
  /** How many order ids were known before each step. */
  idsBefore: number[];
}

/**
 * Runs a stream on a fresh market, checking everything after each step when `check`. With `quiet`,
 * it runs with no listener at all (the engine's event-free path), picking orders as `quiet` did.
 */
function runStream(ops: Op[], check: boolean, quiet?: Run): Run {
  const { m, log } = setup(quiet === undefined);
  const orders = quiet?.orders ?? new Map<number, OrderInfo>();
  let ids: number[] = [];
  const idsBefore: number[] = [];
  const positions = new Map<number, number>();
  let seen = 0;
  let seq = 0;
  const bookIds = new Map<string, number>();
  for (const [step, original] of ops.entries()) {
    const o = resolve(m, original);
    const before = check ? priority(m.engine) : [];
    const start = log.length;
    if (quiet !== undefined) ids = quiet.ids.slice(0, quiet.idsBefore[step]);
    idsBefore.push(ids.length);
    let r: PlaceResult | undefined;
    try {
      r = apply(m, o, orders, ids);
    } catch (err) {
      throw new Error(`engine threw on ${JSON.stringify(o)}: ${String(err)}`, { cause: err });
    }
    for (; seen < log.length; seen++) {
      const ev = log[seen] as ExchangeEvent;
      if (ev.type === "accepted") {
        orders.set(ev.orderId, { account: ev.account, sym: SYMBOLS.indexOf(ev.symbol as (typeof SYMBOLS)[number]) as 0 | 1, reduceOnly: ev.reduceOnly });
        ids.push(ev.orderId);
      }
    }
    if (!check) continue;
    const stepEvents = log.slice(start);
    // Sequence numbers are gapless; book update ids run per symbol; the last update of a level in
    // a step gives its quantity after the step.
    const lastLevel = new Map<string, number>();
    for (const ev of stepEvents) {
      same(ev.seq, ++seq, "seq is gapless");
      if (ev.type === "book") {
        const next = (bookIds.get(ev.symbol) ?? 0) + 1;
        same(ev.updateId, next, `${ev.symbol} book update ids are gapless`);
        bookIds.set(ev.symbol, next);
        lastLevel.set(`${ev.symbol} ${ev.price}`, ev.qty);
      }
    }
    for (const [key, qty] of lastLevel) {
      const [symbol, price] = key.split(" ") as [string, string];
      expect(qty).toBe(m.engine.book(SYMBOLS.indexOf(symbol as (typeof SYMBOLS)[number])).levelQty(Number(price)));
    }
    checkFills(m, o, r, before, stepEvents, orders, positions);
    checkInvariants(m, orders);
    for (const [account, size] of positions) same(m.engine.positionUnits(account, 1)?.size ?? 0, size, `account ${account} position follows its trades`);
    // Cancel is idempotent: repeating it changes nothing but adds a rejection.
    if (o.k === "cancel" && ids.length > 0) {
      const id = ids[o.pick % ids.length] as number;
      const owner = orders.get(id)?.account ?? 1;
      const state = stateJson(m.engine);
      const again = m.engine.cancelOrder(o.stranger ? (owner % TRADERS) + 1 : owner, id);
      expect(again).toMatchObject({ ok: false, reason: "unknown_order" });
      expect(stateJson(m.engine)).toBe(state);
      seq++;
      seen = log.length;
    }
  }
  return { log, state: stateJson(m.engine), orders, ids, idsBefore };
}

describe("engine properties over random order streams", () => {
  it("keeps every invariant after every step", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 150, size: "max" }), (ops) => {
        runStream(ops, true);
      }),
      { numRuns: 200 },
    );
  });

  it("is deterministic: the same stream gives the same event log, byte for byte, and the same state with no listener", () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 100, size: "max" }), (ops) => {
        const a = runStream(ops, false);
        const b = runStream(ops, false);
        expect(JSON.stringify(b.log)).toBe(JSON.stringify(a.log));
        expect(b.state).toBe(a.state);
        const quiet = runStream(ops, false, a);
        expect(quiet.log).toEqual([]);
        expect(quiet.state).toBe(a.state);
      }),
      { numRuns: 60 },
    );
  });
});
