// The exchange engine: order books of many instruments plus accounts, funds locking, fees,
// perpetual positions and an ordered event stream. The one entry point for orders is `submit`
// (integers) or `placeOrder` (decimal strings, validated). User input never throws out of here and
// never corrupts state: a bad order becomes a `rejected` event with a reason.

import { Decimal } from "decimal.js";
import type { Clock } from "../core/clock.js";
import { parseStep, toSteps, fromSteps } from "../core/units.js";
import type {
  CancelReason,
  ExchangeEvent,
  ExchangeEventListener,
  ExpireReason,
  OrderSideName,
  OrderTypeName,
  RejectReason,
  TimeInForce,
} from "./events.js";
import {
  assetSpecSchema,
  feeOf,
  Instrument,
  InstrumentError,
  instrumentSpecSchema,
  type Asset,
  type AssetSpec,
  type InstrumentSpec,
} from "./instrument.js";
import { Account, applyTrade, marginFor, type Position } from "./ledger.js";
import {
  BUY,
  FILL_STP_CANCEL_MAKER,
  FillBuffer,
  NO_PRICE,
  OrderBook,
  SELL,
  STP_CANCEL_BOTH,
  STP_CANCEL_MAKER,
  STP_CANCEL_TAKER,
  STP_NONE,
  slotOf,
  type Side,
  type StpMode,
} from "./order-book.js";

export type StpName = "none" | "cancel_taker" | "cancel_maker" | "cancel_both";

/**
 * Which events a subscriber wants. `types` keeps those event types (all when absent); `account`
 * keeps the events of one account: its orders' events, its rejections, and the trades it is on
 * either side of (book updates belong to no account, so they are left out). The engine builds an
 * event only when some subscriber wants it: with the simulator's background flow, most of the
 * millions of events a simulated day makes are wanted by nobody.
 */
export interface EventFilter {
  types?: readonly ExchangeEvent["type"][];
  account?: number;
}

const EV_ACCEPTED = 1;
const EV_REJECTED = 2;
const EV_PARTIALLY_FILLED = 4;
const EV_FILLED = 8;
const EV_CANCELED = 16;
const EV_EXPIRED = 32;
const EV_AMENDED = 64;
const EV_TRADE = 128;
const EV_BOOK = 256;
const EV_ALL = 511;
const EVENT_BITS: Record<ExchangeEvent["type"], number> = {
  accepted: EV_ACCEPTED,
  rejected: EV_REJECTED,
  partially_filled: EV_PARTIALLY_FILLED,
  filled: EV_FILLED,
  canceled: EV_CANCELED,
  expired: EV_EXPIRED,
  amended: EV_AMENDED,
  trade: EV_TRADE,
  book: EV_BOOK,
};
/** Stands for "no account" in an event (book updates) or a subscription (any account). */
const NO_ACCOUNT = -1;

interface Subscription {
  listener: ExchangeEventListener;
  mask: number;
  account: number;
}

/** Told the id and symbol index of every order of a watched account that closes. */
export type CloseWatcher = (orderId: number, symbol: number) => void;

export type OrderStatus = "new" | "partially_filled" | "filled" | "canceled" | "expired";

const STP_CODES: Record<StpName, StpMode> = {
  none: STP_NONE,
  cancel_taker: STP_CANCEL_TAKER,
  cancel_maker: STP_CANCEL_MAKER,
  cancel_both: STP_CANCEL_BOTH,
};

const TIF_GTC = 0;
const TIF_IOC = 1;
const TIF_FOK = 2;
const TIF_NAMES: readonly TimeInForce[] = ["GTC", "IOC", "FOK"];
const MARKET_BUY_LIMIT = 0x7fffffff;

export const FEE_ACCOUNT = 0;

export interface EngineConfig {
  clock: Clock;
  instruments: readonly InstrumentSpec[];
  /** Asset units; an asset not listed gets 8 decimals. */
  assets?: readonly AssetSpec[];
  /** Self-trade prevention for orders that do not set their own. Default: cancel the taker. */
  selfTradePrevention?: StpName;
  /** How many closed orders stay queryable by id. */
  closedOrderHistory?: number;
}

/** An order in integer form: the fast path used by simulators and benchmarks. */
export interface OrderUnits {
  account: number;
  symbol: number;
  side: Side;
  /** Limit price in ticks; ignored for market orders. */
  price: number;
  qty: number;
  market?: boolean;
  tif?: typeof TIF_GTC | typeof TIF_IOC | typeof TIF_FOK;
  postOnly?: boolean;
  reduceOnly?: boolean;
  clientOrderId?: string;
  stp?: StpMode;
}

export interface PlaceOrderRequest {
  account: number;
  symbol: string;
  side: OrderSideName;
  type: OrderTypeName;
  /** Required for limit orders, ignored for market orders. */
  price?: string | Decimal;
  quantity: string | Decimal;
  timeInForce?: TimeInForce;
  postOnly?: boolean;
  reduceOnly?: boolean;
  clientOrderId?: string;
  selfTradePrevention?: StpName;
}

export type PlaceResult =
  | { ok: true; orderId: number; status: OrderStatus }
  | { ok: false; reason: RejectReason; message: string };

export type OpResult = { readonly ok: true } | { ok: false; reason: RejectReason; message: string };

/** The one success result of cancels (the market maker cancels millions of quotes a day). */
const OK: OpResult = Object.freeze({ ok: true as const });

/**
 * A decimal view of an order, for clients and logs. A type, not an interface, so that a snapshot is
 * a plain record (a ccxt order carries it as its `info`).
 */
export type OrderSnapshot = {
  orderId: number;
  clientOrderId: string | undefined;
  account: number;
  symbol: string;
  side: OrderSideName;
  type: OrderTypeName;
  timeInForce: TimeInForce;
  postOnly: boolean;
  reduceOnly: boolean;
  price: string;
  quantity: string;
  filled: string;
  remaining: string;
  /** Quote notional of the fills. */
  cost: string;
  averagePrice: string | undefined;
  status: OrderStatus;
  createdAt: number;
  updatedAt: number;
};

export interface BalanceView {
  asset: string;
  free: string;
  locked: string;
  total: string;
}

export interface PositionView {
  symbol: string;
  size: string;
  entryPrice: string | undefined;
  realizedPnl: string;
  unrealizedPnl: string | undefined;
  markPrice: string | undefined;
  leverage: number;
  initialMargin: string;
}

class OrderRecord {
  filled = 0;
  /** Sum of fill price (ticks) x lots; times notionalFactor gives quote units. */
  costTickLots = 0;
  status: OrderStatus = "new";
  handle = -1;
  /** Book slot while resting (index into SymbolState.bySlot), -1 otherwise. */
  slot = -1;
  /** Units of `lockAsset` reserved for the resting remainder. */
  locked = 0;
  lockAsset = -1;
  updatedAt: number;

  constructor(
    readonly id: number,
    readonly clientOrderId: string | undefined,
    readonly account: number,
    readonly symbol: number,
    readonly side: Side,
    readonly market: boolean,
    readonly tif: number,
    readonly postOnly: boolean,
    readonly reduceOnly: boolean,
    public price: number,
    public qty: number,
    readonly leverage: number,
    readonly createdAt: number,
  ) {
    this.updatedAt = createdAt;
  }

  get remaining(): number {
    return this.qty - this.filled;
  }
}

/**
 * Open orders by id. Not a Map: V8 rebuilds a Map's table after enough deletions, and the table it
 * drops keeps every order that was in it reachable for the young-generation GC until the next full
 * GC. The market maker's quotes, a few seconds old each, kept being promoted that way, and minor
 * GCs copied ~3 MB a time. Open addressing over a typed array of ids, with deletion by backward
 * shift (no tombstones), never rebuilds except to grow. Iteration is in id order, which is the
 * order orders were opened (and the order the Map gave).
 */
class OpenOrders {
  private ids = new Float64Array(1024);
  private recs: (OrderRecord | undefined)[] = new Array<OrderRecord | undefined>(1024).fill(undefined);
  private mask = 1023;
  private shift = 22;
  size = 0;

  /** Home slot: a multiplicative hash of the id (ids are positive integers below 2^53). */
  private home(id: number): number {
    const lo = id >>> 0;
    const hi = (id / 4294967296) >>> 0;
    return Math.imul(lo ^ Math.imul(hi, 0x85ebca6b), 0x9e3779b1) >>> this.shift;
  }

  get(id: number): OrderRecord | undefined {
    const ids = this.ids;
    for (let i = this.home(id); ; i = (i + 1) & this.mask) {
      const k = ids[i] as number;
      if (k === id) return this.recs[i];
      if (k === 0) return undefined;
    }
  }

  /** Adds an order whose id is not in the table. */
  add(rec: OrderRecord): void {
    if ((this.size + 1) * 2 > this.ids.length) this.grow();
    this.place(rec);
    this.size++;
  }

  delete(id: number): void {
    const ids = this.ids;
    const mask = this.mask;
    let i = this.home(id);
    for (;;) {
      const k = ids[i] as number;
      if (k === id) break;
      if (k === 0) return;
      i = (i + 1) & mask;
    }
    // Pull later entries of the probe run back into the hole when that keeps them reachable.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const k = ids[j] as number;
      if (k === 0) break;
      if (((j - this.home(k)) & mask) >= ((j - i) & mask)) {
        ids[i] = k;
        this.recs[i] = this.recs[j];
        i = j;
      }
    }
    ids[i] = 0;
    this.recs[i] = undefined;
    this.size--;
  }

  /** The open orders in id order. */
  values(): OrderRecord[] {
    const out: OrderRecord[] = [];
    for (const r of this.recs) if (r !== undefined) out.push(r);
    return out.sort((a, b) => a.id - b.id);
  }

  private place(rec: OrderRecord): void {
    let i = this.home(rec.id);
    while (this.ids[i] !== 0) i = (i + 1) & this.mask;
    this.ids[i] = rec.id;
    this.recs[i] = rec;
  }

  private grow(): void {
    const old = this.recs;
    const n = this.ids.length * 2;
    this.ids = new Float64Array(n);
    this.recs = new Array<OrderRecord | undefined>(n).fill(undefined);
    this.mask = n - 1;
    this.shift--;
    for (const r of old) if (r !== undefined) this.place(r);
  }
}

interface SymbolState {
  instrument: Instrument;
  book: OrderBook;
  /** Resting order records by book slot, so matching finds a maker without a map lookup. */
  bySlot: (OrderRecord | undefined)[];
  lastTradeTicks: number;
  nextTradeId: number;
  bookUpdateId: number;
}

class Rejection {
  constructor(
    readonly reason: RejectReason,
    readonly message: string,
  ) {}
}

export class ExchangeEngine {
  readonly clock: Clock;
  private readonly assets: Asset[] = [];
  private readonly assetByName = new Map<string, Asset>();
  private readonly symbols: SymbolState[] = [];
  private readonly symbolByName = new Map<string, number>();
  private readonly accounts: Account[] = [];
  private readonly open = new OpenOrders();
  private readonly closed = new Map<number, OrderRecord>();
  /**
   * Ids of closed orders in the order they closed, as a ring: evicting the oldest is one index
   * read. (Taking the first key of a Map instead walks past every deleted entry: ~50 us a close.)
   */
  private readonly closedRing: Float64Array;
  private closedHead = 0;
  private readonly reduceOnlyOpen = new Set<OrderRecord>();
  private readonly closedLimit: number;
  private readonly defaultStp: StpMode;
  /**
   * Subscribers in subscription order. While there is at least one, every event takes a sequence
   * number, wanted or not, so a subscriber sees the same numbers whatever the others asked for.
   */
  private readonly subs: Subscription[] = [];
  /** Event bits some subscriber without an account filter wants. */
  private wantAny = 0;
  /** Event bits some subscriber with an account filter wants (then checked per account). */
  private wantAccount = 0;
  /** Close watchers by account (see watchClosed). */
  private readonly closeWatchers: (CloseWatcher[] | undefined)[] = [];
  private closeWatcherCount = 0;
  /**
   * Events are numbered while anyone listens, to events or to closes: a close watcher stands for
   * the subscription it replaces, so event numbers stay what they were.
   */
  private listening = false;
  private readonly fills = new FillBuffer();
  /** The status the last accepted `submitUnits` order was left in. */
  lastStatus: OrderStatus = "new";
  /** Why the last rejected `submitUnits` order was rejected. */
  lastRejection: { readonly reason: RejectReason; readonly message: string } | undefined;
  private nextOrderId = 1;
  private seq = 0;
  /** Deposits minus withdrawals per asset, for conservation checks. */
  private readonly netDeposits: number[] = [];

  constructor(config: EngineConfig) {
    this.clock = config.clock;
    this.closedLimit = config.closedOrderHistory ?? 100_000;
    this.closedRing = new Float64Array(this.closedLimit);
    this.defaultStp = STP_CODES[config.selfTradePrevention ?? "cancel_taker"];
    for (const raw of config.assets ?? []) {
      const a = assetSpecSchema.parse(raw);
      this.addAsset(a.name, a.decimals);
    }
    config.instruments.forEach((raw, i) => {
      const parsed = instrumentSpecSchema.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        const field = issue?.path.join(".") ?? "?";
        throw new InstrumentError(`instrument #${i} (${String((raw as { symbol?: unknown }).symbol ?? "?")}): field "${field}": ${issue?.message ?? "invalid"}`);
      }
      const spec = parsed.data;
      if (this.symbolByName.has(spec.symbol)) throw new InstrumentError(`instrument ${spec.symbol} is defined twice`);
      const base = this.assetByName.get(spec.base) ?? this.addAsset(spec.base, 8);
      const quote = this.assetByName.get(spec.quote) ?? this.addAsset(spec.quote, 8);
      const inst = new Instrument(this.symbols.length, spec, base, quote);
      const book = new OrderBook();
      book.trackTouched = true;
      this.symbolByName.set(spec.symbol, this.symbols.length);
      this.symbols.push({ instrument: inst, book, bySlot: [], lastTradeTicks: NO_PRICE, nextTradeId: 1, bookUpdateId: 0 });
    });
    this.accounts.push(new Account(FEE_ACCOUNT, "fees", this.assets.length));
  }

  private addAsset(name: string, decimals: number): Asset {
    if (this.assetByName.has(name)) throw new InstrumentError(`asset ${name} is defined twice`);
    const a: Asset = { index: this.assets.length, name, unit: parseStep(decimals === 0 ? "1" : "0." + "0".repeat(decimals - 1) + "1") };
    this.assets.push(a);
    this.assetByName.set(name, a);
    this.netDeposits.push(0);
    return a;
  }

  // ---- setup and queries ----

  subscribe(listener: ExchangeEventListener, filter: EventFilter = {}): () => void {
    let mask = EV_ALL;
    if (filter.types !== undefined) {
      mask = 0;
      for (const t of filter.types) {
        if (!Object.hasOwn(EVENT_BITS, t)) throw new RangeError(`subscribe: unknown event type "${String(t)}"`);
        mask |= EVENT_BITS[t];
      }
    }
    const account = filter.account ?? NO_ACCOUNT;
    if (!Number.isSafeInteger(account) || account < NO_ACCOUNT) throw new RangeError(`subscribe: bad account filter ${String(filter.account)}`);
    const sub: Subscription = { listener, mask, account };
    this.subs.push(sub);
    this.updateWants();
    return () => {
      const i = this.subs.indexOf(sub);
      if (i >= 0) this.subs.splice(i, 1);
      this.updateWants();
    };
  }

  /**
   * Calls `watcher(orderId, symbolIndex)` whenever an order of `account` closes (filled, canceled
   * or expired), before that event is emitted. For a component that only needs to know which of
   * its orders are gone (the synthetic market maker): no event object is built, so following
   * millions of its own quotes costs a function call each.
   */
  watchClosed(account: number, watcher: CloseWatcher): () => void {
    if (!Number.isSafeInteger(account) || account < 0) throw new RangeError(`watchClosed: bad account ${String(account)}`);
    const list = this.closeWatchers[account] ?? [];
    this.closeWatchers[account] = list;
    list.push(watcher);
    this.closeWatcherCount++;
    this.updateWants();
    return () => {
      const i = list.indexOf(watcher);
      if (i < 0) return;
      list.splice(i, 1);
      this.closeWatcherCount--;
      this.updateWants();
    };
  }

  private updateWants(): void {
    this.listening = this.subs.length > 0 || this.closeWatcherCount > 0;
    let any = 0;
    let acc = 0;
    for (const s of this.subs) {
      if (s.account === NO_ACCOUNT) any |= s.mask;
      else acc |= s.mask;
    }
    this.wantAny = any;
    this.wantAccount = acc;
  }

  /** Whether an event of this kind, about these accounts, goes to anyone (build it only then). */
  private wants(bit: number, account: number, other = NO_ACCOUNT): boolean {
    if ((this.wantAny & bit) !== 0) return true;
    if ((this.wantAccount & bit) === 0 || account === NO_ACCOUNT) return false;
    for (let i = 0; i < this.subs.length; i++) {
      const s = this.subs[i] as Subscription;
      if ((s.mask & bit) !== 0 && (s.account === account || s.account === other)) return true;
    }
    return false;
  }

  /**
   * Opens an account. `keepClosedOrders: false` suits background flow (market makers, synthetic
   * takers) that nobody queries: its closed orders are not kept, which saves memory and time.
   */
  createAccount(name: string, opts: { keepClosedOrders?: boolean } = {}): number {
    const id = this.accounts.length;
    this.accounts.push(new Account(id, name, this.assets.length, opts.keepClosedOrders ?? true));
    return id;
  }

  /** Adds funds to an account. Throws on bad input: this is operator setup, not order flow. */
  deposit(account: number, asset: string, amount: string | Decimal): void {
    const acc = this.accounts[account];
    if (acc === undefined || account === FEE_ACCOUNT) throw new RangeError(`deposit: unknown account ${account}`);
    const a = this.assetByName.get(asset);
    if (a === undefined) throw new RangeError(`deposit: unknown asset ${asset}`);
    const units = toSteps(amount, a.unit);
    if (units === undefined || units < 0) throw new RangeError(`deposit: ${String(amount)} is not a non-negative amount of ${asset} with at most ${a.unit.scale} decimals`);
    acc.total[a.index] = (acc.total[a.index] as number) + units;
    this.netDeposits[a.index] = (this.netDeposits[a.index] as number) + units;
  }

  instrument(symbol: string): Instrument | undefined {
    const i = this.symbolByName.get(symbol);
    return i === undefined ? undefined : this.symbols[i]?.instrument;
  }

  instruments(): Instrument[] {
    return this.symbols.map((s) => s.instrument);
  }

  symbolIndex(symbol: string): number | undefined {
    return this.symbolByName.get(symbol);
  }

  book(symbol: number): OrderBook {
    const s = this.symbols[symbol];
    if (s === undefined) throw new RangeError(`unknown symbol index ${symbol}`);
    return s.book;
  }

  assetList(): readonly Asset[] {
    return this.assets;
  }

  accountCount(): number {
    return this.accounts.length;
  }

  account(id: number): Account | undefined {
    return this.accounts[id];
  }

  accountName(id: number): string {
    return this.accounts[id]?.name ?? `#${id}`;
  }

  netDeposited(asset: number): number {
    return this.netDeposits[asset] ?? 0;
  }

  lastTradeTicks(symbol: number): number {
    return this.symbols[symbol]?.lastTradeTicks ?? NO_PRICE;
  }

  /** Best bid and ask as decimal strings (undefined for an empty side). */
  bestBidAsk(symbol: string): { bid: string | undefined; ask: string | undefined } {
    const s = this.stateOf(symbol);
    if (s === undefined) return { bid: undefined, ask: undefined };
    const bid = s.book.bestBid();
    const ask = s.book.bestAsk();
    return {
      bid: bid === NO_PRICE ? undefined : s.instrument.formatPrice(bid),
      ask: ask === NO_PRICE ? undefined : s.instrument.formatPrice(ask),
    };
  }

  /** Top-N levels per side as decimal strings. */
  depth(symbol: string, levels = 5): { bids: [string, string][]; asks: [string, string][] } {
    const s = this.stateOf(symbol);
    if (s === undefined) return { bids: [], asks: [] };
    const fmt = (side: Side): [string, string][] =>
      s.book.depth(side, levels).map((l) => [s.instrument.formatPrice(l.price), s.instrument.formatQty(l.qty)]);
    return { bids: fmt(BUY), asks: fmt(SELL) };
  }

  getOrder(orderId: number): OrderSnapshot | undefined {
    const o = this.open.get(orderId) ?? this.closed.get(orderId);
    return o === undefined ? undefined : this.snapshot(o);
  }

  getOrderByClientId(account: number, clientOrderId: string): OrderSnapshot | undefined {
    const acc = this.accounts[account];
    const id = acc === undefined ? undefined : (acc.openByClientId.get(clientOrderId) ?? acc.closedByClientId.get(clientOrderId));
    return id === undefined ? undefined : this.getOrder(id);
  }

  openOrders(account: number, symbol?: string): OrderSnapshot[] {
    const sym = symbol === undefined ? undefined : this.symbolByName.get(symbol);
    const out: OrderSnapshot[] = [];
    for (const o of this.open.values()) if (o.account === account && (sym === undefined || o.symbol === sym)) out.push(this.snapshot(o));
    return out;
  }

  /** Number of open orders across all accounts (cheap). */
  get openOrderCount(): number {
    return this.open.size;
  }

  balances(account: number): BalanceView[] {
    const acc = this.accounts[account];
    if (acc === undefined) return [];
    return this.assets.map((a) => ({
      asset: a.name,
      free: fromSteps(acc.free(a.index), a.unit),
      locked: fromSteps((acc.locked[a.index] as number) + (acc.positionMargin[a.index] as number), a.unit),
      total: fromSteps(acc.total[a.index] as number, a.unit),
    }));
  }

  positions(account: number): PositionView[] {
    const acc = this.accounts[account];
    if (acc === undefined) return [];
    const out: PositionView[] = [];
    for (const [sym, p] of acc.positions) {
      const s = this.symbols[sym] as SymbolState;
      const inst = s.instrument;
      const mark = this.markTicks(s);
      out.push({
        symbol: inst.symbol,
        size: inst.formatQty(p.size),
        entryPrice: p.size === 0 ? undefined : new Decimal(p.basis).div(p.size * inst.notionalFactor).mul(inst.tick.text).toFixed(),
        realizedPnl: inst.formatQuote(p.realized),
        unrealizedPnl: mark === NO_PRICE ? undefined : inst.formatQuote(mark * p.size * inst.notionalFactor - p.basis),
        markPrice: mark === NO_PRICE ? undefined : inst.formatPrice(mark),
        leverage: p.leverage,
        initialMargin: inst.formatQuote(p.margin),
      });
    }
    return out;
  }

  // ---- order entry ----

  /** Validates a decimal request, then submits it. */
  placeOrder(req: PlaceOrderRequest): PlaceResult {
    const sym = this.symbolByName.get(req.symbol);
    if (sym === undefined) return this.reject(req.account, req.clientOrderId, req.symbol, "unknown_instrument", `unknown instrument "${req.symbol}"`);
    const inst = (this.symbols[sym] as SymbolState).instrument;
    if (req.side !== "buy" && req.side !== "sell") return this.reject(req.account, req.clientOrderId, req.symbol, "invalid_request", `side must be "buy" or "sell", got "${String(req.side)}"`);
    if (req.type !== "limit" && req.type !== "market") return this.reject(req.account, req.clientOrderId, req.symbol, "invalid_request", `type must be "limit" or "market", got "${String(req.type)}"`);
    const qty = safeSteps(req.quantity, (v) => inst.qtyToLots(v));
    if (qty === "invalid") return this.reject(req.account, req.clientOrderId, req.symbol, "invalid_quantity", `quantity "${String(req.quantity)}" is not a decimal number`);
    if (qty === undefined) return this.reject(req.account, req.clientOrderId, req.symbol, "off_lot", `quantity ${String(req.quantity)} is not a multiple of the lot size ${inst.lot.text}`);
    let price = 0;
    const market = req.type === "market";
    if (!market) {
      if (req.price === undefined) return this.reject(req.account, req.clientOrderId, req.symbol, "invalid_price", "a limit order needs a price");
      const p = safeSteps(req.price, (v) => inst.priceToTicks(v));
      if (p === "invalid") return this.reject(req.account, req.clientOrderId, req.symbol, "invalid_price", `price "${String(req.price)}" is not a decimal number`);
      if (p === undefined) return this.reject(req.account, req.clientOrderId, req.symbol, "off_tick", `price ${String(req.price)} is not a multiple of the tick size ${inst.tick.text}`);
      price = p;
    }
    const tifName = req.timeInForce ?? "GTC";
    const tif = TIF_NAMES.indexOf(tifName);
    if (tif < 0) return this.reject(req.account, req.clientOrderId, req.symbol, "invalid_request", `timeInForce must be GTC, IOC or FOK, got "${String(tifName)}"`);
    let stp: StpMode | undefined;
    if (req.selfTradePrevention !== undefined) {
      // Own keys only: "toString" or "constructor" would otherwise come back from the prototype.
      stp = Object.hasOwn(STP_CODES, req.selfTradePrevention) ? STP_CODES[req.selfTradePrevention] : undefined;
      if (stp === undefined) return this.reject(req.account, req.clientOrderId, req.symbol, "invalid_request", `unknown self-trade prevention "${String(req.selfTradePrevention)}"`);
    }
    return this.submit({
      account: req.account,
      symbol: sym,
      side: req.side === "buy" ? BUY : SELL,
      price,
      qty,
      market,
      tif: tif as 0 | 1 | 2,
      postOnly: req.postOnly ?? false,
      reduceOnly: req.reduceOnly ?? false,
      ...(req.clientOrderId !== undefined ? { clientOrderId: req.clientOrderId } : {}),
      ...(stp !== undefined ? { stp } : {}),
    });
  }

  /** Submits an order in integer form. Never throws for bad input: rejects it. */
  submit(o: OrderUnits): PlaceResult {
    const id = this.submitUnits(o);
    if (id > 0) return { ok: true, orderId: id, status: this.lastStatus };
    const r = this.lastRejection as Rejection;
    return { ok: false, reason: r.reason, message: r.message };
  }

  /**
   * `submit` without a result object, for flow that submits millions of orders (the synthetic
   * market): returns the new order's id, or 0 when the order was rejected (`lastRejection` then
   * says why). The order's status after matching is in `lastStatus`. Same checks, same events.
   */
  submitUnits(o: OrderUnits): number {
    const s = this.symbols[o.symbol];
    const check = this.validate(o, s);
    if (check !== undefined) return this.rejectUnits(o, s, check);
    const st = s as SymbolState;
    const inst = st.instrument;
    const acc = this.accounts[o.account] as Account;
    const now = this.clock.now();
    const market = o.market === true;
    const tif = market ? TIF_IOC : (o.tif ?? TIF_GTC);
    const stp = o.stp ?? this.defaultStp;
    const leverage = inst.kind === "perpetual" ? (acc.leverage.get(o.symbol) ?? inst.defaultLeverage) : 1;
    const limit = market ? (o.side === BUY ? MARKET_BUY_LIMIT : 0) : o.price;

    // Funds: what the whole order could cost at worst must be available before anything trades.
    const funding = this.checkFunds(o, st, acc, limit, market, leverage);
    if (funding !== undefined) return this.rejectUnits(o, s, funding);

    const rec = new OrderRecord(this.nextOrderId++, o.clientOrderId, o.account, o.symbol, o.side, market, tif, o.postOnly === true, o.reduceOnly === true, market ? 0 : o.price, o.qty, leverage, now);
    this.open.add(rec);
    if (rec.clientOrderId !== undefined) acc.openByClientId.set(rec.clientOrderId, rec.id);
    if (this.listening && !this.unwanted(EV_ACCEPTED, rec.account)) {
      this.emit(EV_ACCEPTED, rec.account, NO_ACCOUNT, {
        type: "accepted", seq: 0, ts: now, symbol: inst.symbol, orderId: rec.id, account: rec.account, clientOrderId: rec.clientOrderId,
        side: sideName(rec.side), orderType: market ? "market" : "limit", tif: TIF_NAMES[tif] as TimeInForce,
        postOnly: rec.postOnly, reduceOnly: rec.reduceOnly, price: rec.price, qty: rec.qty,
      });
    }

    const roPlan = this.reduceOnlyPlan(o, st, limit, stp);
    if (tif === TIF_FOK) {
      const can = roPlan?.fillable ?? st.book.fillable(o.side, limit, o.qty, o.account, stp).qty;
      if (can < o.qty) {
        this.finish(rec, st, "expired", "fok_unfillable");
        this.flushBook(st);
        this.lastStatus = rec.status;
        return rec.id;
      }
    }
    if (roPlan !== undefined) for (const [maker, lots] of roPlan.trims) this.trimReduceOnly(maker, st, lots);

    // An order that meets nothing on the other side (a quote joining the book, the common case)
    // skips the matching pass: it would find no row and leave the whole quantity.
    const opp = o.side === BUY ? st.book.bestAsk() : st.book.bestBid();
    const crosses = opp !== NO_PRICE && (o.side === BUY ? opp <= limit : opp >= limit);
    let rem = o.qty;
    let takerCancelled = false;
    if (crosses) {
      rem = st.book.match(o.side, limit, o.qty, o.account, stp, this.fills);
      this.settleFills(rec, st);
      takerCancelled = this.fills.takerCancelled;
    }
    if (rec.status === "filled") {
      // done by settleFills
    } else if (takerCancelled) {
      this.finish(rec, st, "canceled", "self_trade_prevention");
    } else if (rem > 0 && tif !== TIF_GTC) {
      this.finish(rec, st, "expired", market ? "market_remainder" : "ioc_remainder");
    } else if (rem > 0) {
      this.rest(rec, st, acc);
    }
    this.flushBook(st);
    this.lastStatus = rec.status;
    return rec.id;
  }

  private rejectUnits(o: OrderUnits, s: SymbolState | undefined, r: Rejection): number {
    const symName = s?.instrument.symbol ?? `#${o.symbol}`;
    this.reject(o.account, o.clientOrderId, symName, r.reason, r.message);
    this.lastRejection = r;
    return 0;
  }

  /** Cancels an open order of the account. Cancelling a closed or unknown order changes nothing. */
  cancelOrder(account: number, orderId: number): OpResult {
    const rec = this.open.get(orderId);
    if (rec === undefined || rec.account !== account) {
      const symName = rec === undefined ? "" : (this.symbols[rec.symbol] as SymbolState).instrument.symbol;
      return this.rejectOp(account, orderId, symName, "unknown_order", `order ${orderId} is not open for account ${account}`);
    }
    const st = this.symbols[rec.symbol] as SymbolState;
    this.cancelRecord(rec, st, "user");
    this.flushBook(st);
    return OK;
  }

  cancelByClientId(account: number, clientOrderId: string): OpResult {
    const id = this.accounts[account]?.openByClientId.get(clientOrderId);
    if (id === undefined) return this.rejectOp(account, undefined, "", "unknown_order", `no open order with client id "${clientOrderId}" for account ${account}`);
    return this.cancelOrder(account, id);
  }

  /** Cancels every open order of the account on a symbol (or all symbols). Returns how many. */
  cancelAll(account: number, symbol?: string): number {
    const sym = symbol === undefined ? undefined : this.symbolByName.get(symbol);
    const ids: number[] = [];
    for (const o of this.open.values()) if (o.account === account && (sym === undefined || o.symbol === sym)) ids.push(o.id);
    for (const id of ids) this.cancelOrder(account, id);
    return ids.length;
  }

  /**
   * Changes price and/or quantity of a resting order. A quantity decrease at the same price keeps
   * time priority; anything else re-queues it at the back of its (new) level. An amend that would
   * cross the book is rejected and the order stays as it was.
   */
  amendOrder(account: number, orderId: number, change: { price?: string | Decimal; quantity?: string | Decimal }): OpResult {
    const rec = this.open.get(orderId);
    if (rec === undefined || rec.account !== account || rec.handle < 0) {
      return this.rejectOp(account, orderId, "", "unknown_order", `order ${orderId} is not resting for account ${account}`);
    }
    const st = this.symbols[rec.symbol] as SymbolState;
    const inst = st.instrument;
    const sym = inst.symbol;
    let price = rec.price;
    if (change.price !== undefined) {
      const p = safeSteps(change.price, (v) => inst.priceToTicks(v));
      if (p === "invalid" || p === undefined || p <= 0) return this.rejectOp(account, orderId, sym, p === undefined ? "off_tick" : "invalid_price", `amend price ${String(change.price)} is not a positive multiple of ${inst.tick.text}`);
      price = p;
    }
    let qty = rec.qty;
    if (change.quantity !== undefined) {
      const q = safeSteps(change.quantity, (v) => inst.qtyToLots(v));
      if (q === "invalid" || q === undefined) return this.rejectOp(account, orderId, sym, q === undefined ? "off_lot" : "invalid_quantity", `amend quantity ${String(change.quantity)} is not a multiple of ${inst.lot.text}`);
      qty = q;
    }
    if (qty <= rec.filled) return this.rejectOp(account, orderId, sym, "invalid_quantity", `amend quantity must exceed the filled ${inst.formatQty(rec.filled)}`);
    const newRem = qty - rec.filled;
    if (newRem < inst.minQtyLots && !rec.reduceOnly) return this.rejectOp(account, orderId, sym, "below_min_quantity", `remaining ${inst.formatQty(newRem)} is below the minimum ${inst.formatQty(inst.minQtyLots)}`);
    // The placement rule holds for the amended order too, or an amend would bypass it.
    if (inst.minNotionalUnits > 0 && !rec.reduceOnly && price * qty * inst.notionalFactor < inst.minNotionalUnits) {
      return this.rejectOp(account, orderId, sym, "below_min_notional", `amended notional ${inst.formatQuote(price * qty * inst.notionalFactor)} is below the minimum ${inst.formatQuote(inst.minNotionalUnits)} ${inst.quote.name}`);
    }
    const acc = this.accounts[account] as Account;
    if (price !== rec.price) {
      const band = this.bandCheck(st, price);
      if (band !== undefined) return this.rejectOp(account, orderId, sym, band.reason, band.message);
      const opp = rec.side === BUY ? st.book.bestAsk() : st.book.bestBid();
      if (opp !== NO_PRICE && (rec.side === BUY ? price >= opp : price <= opp)) {
        return this.rejectOp(account, orderId, sym, "amend_would_cross", `amending to ${inst.formatPrice(price)} would cross the book at ${inst.formatPrice(opp)}`);
      }
    }
    if (rec.reduceOnly) {
      const pos = acc.positions.get(rec.symbol);
      if (pos === undefined || Math.abs(pos.size) < newRem) return this.rejectOp(account, orderId, sym, "reduce_only_would_increase", `reduce-only remaining ${inst.formatQty(newRem)} exceeds the position`);
    }
    const newLock = this.lockNeed(rec, inst, price, newRem);
    const extra = newLock - rec.locked;
    if (extra > 0 && acc.free(rec.lockAsset) < extra) {
      const reason: RejectReason = inst.kind === "perpetual" ? "insufficient_margin" : "insufficient_balance";
      return this.rejectOp(account, orderId, sym, reason, `amend needs ${fromSteps(extra, (this.assets[rec.lockAsset] as Asset).unit)} more ${(this.assets[rec.lockAsset] as Asset).name}`);
    }
    const keepPriority = price === rec.price && newRem < rec.remaining;
    if (keepPriority) {
      st.book.reduce(rec.handle, newRem);
    } else {
      st.book.cancel(rec.handle);
      st.bySlot[rec.slot] = undefined;
      rec.handle = st.book.add(rec.side, price, newRem, rec.account, rec.id);
      rec.slot = slotOf(rec.handle);
      st.bySlot[rec.slot] = rec;
    }
    acc.locked[rec.lockAsset] = (acc.locked[rec.lockAsset] as number) + extra;
    rec.locked = newLock;
    rec.price = price;
    rec.qty = qty;
    rec.updatedAt = this.clock.now();
    if (this.listening && !this.unwanted(EV_AMENDED, account)) {
      this.emit(EV_AMENDED, account, NO_ACCOUNT, { type: "amended", seq: 0, ts: rec.updatedAt, symbol: sym, orderId, account, price, qty, remaining: newRem, keptPriority: keepPriority });
    }
    this.flushBook(st);
    return { ok: true };
  }

  /**
   * Moves a resting order of the account to another price with `lots` remaining, at the back of
   * that level's queue: an amend that gives up time priority, in integers, for a market maker that
   * re-centres its quotes (the order keeps its id; an `amended` event reports it). Returns false
   * and changes nothing when the order is not resting for this account, is reduce-only, or when
   * the new price or quantity would be rejected, would cross the book, or would need more funds
   * than are free: the caller then cancels and places a new order instead, which trades or
   * reports the rejection as usual.
   */
  requote(account: number, orderId: number, price: number, lots: number): boolean {
    const rec = this.open.get(orderId);
    if (rec === undefined || rec.account !== account || rec.handle < 0 || rec.reduceOnly) return false;
    const st = this.symbols[rec.symbol] as SymbolState;
    const inst = st.instrument;
    if (!Number.isSafeInteger(lots) || lots <= 0 || lots < inst.minQtyLots) return false;
    if (!Number.isSafeInteger(price) || price <= 0 || this.bandCheck(st, price) !== undefined) return false;
    if (inst.minNotionalUnits > 0 && price * lots * inst.notionalFactor < inst.minNotionalUnits) return false;
    const book = st.book;
    const opp = rec.side === BUY ? book.bestAsk() : book.bestBid();
    if (opp !== NO_PRICE && (rec.side === BUY ? price >= opp : price <= opp)) return false;
    const acc = this.accounts[account] as Account;
    const newLock = this.lockNeed(rec, inst, price, lots);
    const extra = newLock - rec.locked;
    if (extra > 0 && acc.free(rec.lockAsset) < extra) return false;
    book.cancel(rec.handle);
    st.bySlot[rec.slot] = undefined;
    rec.handle = book.add(rec.side, price, lots, account, rec.id);
    rec.slot = slotOf(rec.handle);
    st.bySlot[rec.slot] = rec;
    acc.locked[rec.lockAsset] = (acc.locked[rec.lockAsset] as number) + extra;
    rec.locked = newLock;
    rec.price = price;
    rec.qty = rec.filled + lots;
    rec.updatedAt = this.clock.now();
    if (this.listening && !this.unwanted(EV_AMENDED, account)) {
      this.emit(EV_AMENDED, account, NO_ACCOUNT, { type: "amended", seq: 0, ts: rec.updatedAt, symbol: inst.symbol, orderId, account, price, qty: rec.qty, remaining: lots, keptPriority: false });
    }
    this.flushBook(st);
    return true;
  }

  /** Sets the leverage an account uses on a perpetual from now on. */
  setLeverage(account: number, symbol: string, leverage: number): OpResult {
    const sym = this.symbolByName.get(symbol);
    const acc = this.accounts[account];
    if (acc === undefined || account === FEE_ACCOUNT) return this.rejectOp(account, undefined, symbol, "unknown_account", `unknown account ${account}`);
    if (sym === undefined) return this.rejectOp(account, undefined, symbol, "unknown_instrument", `unknown instrument "${symbol}"`);
    const inst = (this.symbols[sym] as SymbolState).instrument;
    if (inst.kind !== "perpetual") return this.rejectOp(account, undefined, symbol, "invalid_leverage", `${symbol} is spot: leverage applies to perpetuals`);
    if (!Number.isInteger(leverage) || leverage < 1 || leverage > inst.maxLeverage) {
      return this.rejectOp(account, undefined, symbol, "invalid_leverage", `leverage must be a whole number from 1 to ${inst.maxLeverage}, got ${leverage}`);
    }
    const pos = acc.positions.get(sym);
    if (pos !== undefined && pos.size !== 0) {
      const newMargin = marginFor(pos.basis, leverage);
      const extra = newMargin - pos.margin;
      if (extra > 0 && acc.free(inst.quote.index) < extra) return this.rejectOp(account, undefined, symbol, "insufficient_margin", `leverage ${leverage} needs ${inst.formatQuote(extra)} more margin`);
      acc.positionMargin[inst.quote.index] = (acc.positionMargin[inst.quote.index] as number) + extra;
      pos.margin = newMargin;
      pos.leverage = leverage;
    } else if (pos !== undefined) {
      pos.leverage = leverage;
    }
    acc.leverage.set(sym, leverage);
    return { ok: true };
  }

  // ---- internals ----

  private stateOf(symbol: string): SymbolState | undefined {
    const i = this.symbolByName.get(symbol);
    return i === undefined ? undefined : this.symbols[i];
  }

  private validate(o: OrderUnits, s: SymbolState | undefined): Rejection | undefined {
    if (s === undefined || !Number.isSafeInteger(o.symbol)) return new Rejection("unknown_instrument", `unknown instrument index ${String(o.symbol)}`);
    const inst = s.instrument;
    // An id like "1" (a string) would index the array but never equal the numeric id again.
    if (!Number.isSafeInteger(o.account) || o.account === FEE_ACCOUNT || this.accounts[o.account] === undefined) return new Rejection("unknown_account", `unknown account ${String(o.account)}`);
    if (o.side !== BUY && o.side !== SELL) return new Rejection("invalid_request", `side must be buy or sell`);
    if (!Number.isSafeInteger(o.qty) || o.qty <= 0) return new Rejection("invalid_quantity", `quantity must be a positive whole number of lots, got ${o.qty}`);
    if (o.qty < inst.minQtyLots) return new Rejection("below_min_quantity", `quantity ${inst.formatQty(o.qty)} is below the minimum ${inst.formatQty(inst.minQtyLots)}`);
    const market = o.market === true;
    if (market && o.postOnly === true) return new Rejection("invalid_request", "a market order cannot be post-only");
    if (o.postOnly === true && (o.tif ?? TIF_GTC) !== TIF_GTC) return new Rejection("invalid_request", "post-only orders must be GTC");
    if (o.clientOrderId !== undefined) {
      if (!/^[.A-Za-z0-9:/_-]{1,36}$/.test(o.clientOrderId)) return new Rejection("invalid_request", `client order id "${o.clientOrderId}" must be 1-36 characters of [.A-Za-z0-9:/_-]`);
      if ((this.accounts[o.account] as Account).openByClientId.has(o.clientOrderId)) return new Rejection("duplicate_client_order_id", `client order id "${o.clientOrderId}" is already used by an open order`);
    }
    if (!market) {
      if (!Number.isSafeInteger(o.price) || o.price <= 0) return new Rejection("invalid_price", `price must be positive, got ${o.price} ticks`);
      const band = this.bandCheck(s, o.price);
      if (band !== undefined) return band;
      if (inst.minNotionalUnits > 0 && o.reduceOnly !== true && o.price * o.qty * inst.notionalFactor < inst.minNotionalUnits) {
        return new Rejection("below_min_notional", `notional ${inst.formatQuote(o.price * o.qty * inst.notionalFactor)} is below the minimum ${inst.formatQuote(inst.minNotionalUnits)} ${inst.quote.name}`);
      }
      if (o.postOnly === true) {
        const opp = o.side === BUY ? s.book.bestAsk() : s.book.bestBid();
        if (opp !== NO_PRICE && (o.side === BUY ? o.price >= opp : o.price <= opp)) {
          return new Rejection("post_only_would_cross", `post-only ${sideName(o.side)} at ${inst.formatPrice(o.price)} would cross the book at ${inst.formatPrice(opp)}`);
        }
      }
    }
    if (o.reduceOnly === true) {
      if (inst.kind !== "perpetual") return new Rejection("reduce_only_not_supported", `reduce-only applies to perpetuals; ${inst.symbol} is spot`);
      const pos = (this.accounts[o.account] as Account).positions.get(o.symbol);
      const size = pos?.size ?? 0;
      const reduces = o.side === BUY ? size < 0 : size > 0;
      if (!reduces || o.qty > Math.abs(size)) {
        return new Rejection("reduce_only_would_increase", `reduce-only ${sideName(o.side)} of ${inst.formatQty(o.qty)} would increase the position of ${inst.formatQty(size)}`);
      }
    }
    return undefined;
  }

  private bandCheck(s: SymbolState, price: number): Rejection | undefined {
    const inst = s.instrument;
    if (!s.book.fits(price)) return new Rejection("price_out_of_band", `price ${inst.formatPrice(price)} is too far from the book`);
    const ref = s.lastTradeTicks !== NO_PRICE ? s.lastTradeTicks : this.midTicks(s) ?? inst.referenceTicks;
    if (ref === undefined) return undefined;
    if (price > ref * inst.bandUp || price < ref * inst.bandDown) {
      return new Rejection("price_out_of_band", `price ${inst.formatPrice(price)} is outside [${inst.bandDown}, ${inst.bandUp}] x the reference ${inst.formatPrice(ref)}`);
    }
    return undefined;
  }

  private midTicks(s: SymbolState): number | undefined {
    const b = s.book.bestBid();
    const a = s.book.bestAsk();
    if (b === NO_PRICE || a === NO_PRICE) return undefined;
    return (a + b) / 2;
  }

  private markTicks(s: SymbolState): number {
    const mid = this.midTicks(s);
    if (mid !== undefined) return Math.round(mid);
    return s.lastTradeTicks;
  }

  private checkFunds(o: OrderUnits, s: SymbolState, acc: Account, limit: number, market: boolean, leverage: number): Rejection | undefined {
    const inst = s.instrument;
    if (o.reduceOnly === true) return undefined;
    if (inst.kind === "spot") {
      if (o.side === SELL) {
        const need = o.qty * inst.lotFactor;
        if (acc.free(inst.base.index) < need) return new Rejection("insufficient_balance", `needs ${inst.formatBase(need)} ${inst.base.name}, has ${inst.formatBase(acc.free(inst.base.index))} free`);
        return undefined;
      }
      let costTickLots: number;
      if (market) {
        const plan = s.book.fillable(BUY, MARKET_BUY_LIMIT, o.qty, o.account, o.stp ?? this.defaultStp);
        costTickLots = plan.cost;
        if (inst.minNotionalUnits > 0 && plan.qty > 0 && costTickLots * inst.notionalFactor < inst.minNotionalUnits) {
          return new Rejection("below_min_notional", `market notional ${inst.formatQuote(costTickLots * inst.notionalFactor)} is below the minimum ${inst.formatQuote(inst.minNotionalUnits)}`);
        }
      } else {
        costTickLots = limit * o.qty;
      }
      const need = costTickLots * inst.notionalFactor;
      if (!Number.isSafeInteger(need)) return new Rejection("invalid_quantity", "order notional is too large");
      if (acc.free(inst.quote.index) < need) return new Rejection("insufficient_balance", `needs ${inst.formatQuote(need)} ${inst.quote.name}, has ${inst.formatQuote(acc.free(inst.quote.index))} free`);
      return undefined;
    }
    let notional: number;
    if (market) {
      const plan = s.book.fillable(o.side, limit, o.qty, o.account, o.stp ?? this.defaultStp);
      notional = plan.cost * inst.notionalFactor;
      if (inst.minNotionalUnits > 0 && plan.qty > 0 && notional < inst.minNotionalUnits) {
        return new Rejection("below_min_notional", `market notional ${inst.formatQuote(notional)} is below the minimum ${inst.formatQuote(inst.minNotionalUnits)}`);
      }
    } else {
      notional = limit * o.qty * inst.notionalFactor;
      const bid = s.book.bestBid();
      // A sell priced above the best bid crosses nothing: the plan would be empty and the notional
      // the one above, so the walk (and its result object) is skipped for the common resting sell.
      if (o.side === SELL && bid !== NO_PRICE && bid >= limit) {
        // A sell fills at the bids, which may be far above its limit: the position's margin follows
        // the fill price, so price the crossing part at the book and only the rest at the limit.
        const plan = s.book.fillable(SELL, limit, o.qty, o.account, o.stp ?? this.defaultStp);
        notional = (plan.cost + limit * (o.qty - plan.qty)) * inst.notionalFactor;
      }
    }
    if (!Number.isSafeInteger(notional)) return new Rejection("invalid_quantity", "order notional is too large");
    const need = marginFor(notional, leverage);
    if (acc.free(inst.quote.index) < need) return new Rejection("insufficient_margin", `needs ${inst.formatQuote(need)} ${inst.quote.name} initial margin at ${leverage}x, has ${inst.formatQuote(acc.free(inst.quote.index))} free`);
    return undefined;
  }

  /** What the resting remainder of an order must keep locked. */
  private lockNeed(rec: OrderRecord, inst: Instrument, price: number, remaining: number): number {
    if (inst.kind === "spot") return rec.side === BUY ? price * remaining * inst.notionalFactor : remaining * inst.lotFactor;
    if (rec.reduceOnly) return 0;
    return marginFor(price * remaining * inst.notionalFactor, rec.leverage);
  }

  private rest(rec: OrderRecord, st: SymbolState, acc: Account): void {
    const inst = st.instrument;
    rec.lockAsset = inst.kind === "spot" && rec.side === SELL ? inst.base.index : inst.quote.index;
    rec.locked = this.lockNeed(rec, inst, rec.price, rec.remaining);
    acc.locked[rec.lockAsset] = (acc.locked[rec.lockAsset] as number) + rec.locked;
    rec.handle = st.book.add(rec.side, rec.price, rec.remaining, rec.account, rec.id);
    rec.slot = slotOf(rec.handle);
    st.bySlot[rec.slot] = rec;
    if (rec.reduceOnly) this.reduceOnlyOpen.add(rec);
  }

  /** Settles every row the last match produced: maker STP cancels, trades, funds, fees, events. */
  private settleFills(taker: OrderRecord, st: SymbolState): void {
    const f = this.fills;
    for (let i = 0; i < f.count; i++) {
      const maker = st.bySlot[slotOf(f.makerHandle[i] as number)] as OrderRecord;
      if (f.kind[i] === FILL_STP_CANCEL_MAKER) {
        maker.handle = -1;
        this.release(maker, 0);
        this.close(maker, st, "canceled");
        if (this.listening && !this.unwanted(EV_CANCELED, maker.account)) {
          this.emit(EV_CANCELED, maker.account, NO_ACCOUNT, { type: "canceled", seq: 0, ts: this.clock.now(), symbol: st.instrument.symbol, orderId: maker.id, account: maker.account, remaining: maker.remaining, reason: "self_trade_prevention" });
        }
        continue;
      }
      this.trade(taker, maker, st, f.price[i] as number, f.qty[i] as number, (f.makerRemaining[i] as number) === 0);
    }
    // Positions changed: trim resting reduce-only orders only now, so no row above sees a stale order.
    if (st.instrument.kind === "perpetual" && this.reduceOnlyOpen.size > 0 && f.count > 0) {
      const touched = new Set<number>([taker.account]);
      for (let i = 0; i < f.count; i++) touched.add(f.makerOwner[i] as number);
      for (const account of touched) this.adjustReduceOnly(account, st);
    }
  }

  private trade(taker: OrderRecord, maker: OrderRecord, st: SymbolState, price: number, qty: number, makerDone: boolean): void {
    const inst = st.instrument;
    const now = this.clock.now();
    const tradeId = st.nextTradeId++;
    st.lastTradeTicks = price;
    const notional = price * qty * inst.notionalFactor;
    if (makerDone) maker.handle = -1;
    maker.filled += qty;
    maker.costTickLots += price * qty;
    taker.filled += qty;
    taker.costTickLots += price * qty;
    maker.updatedAt = now;
    taker.updatedAt = now;
    // The maker's reservation shrinks to what its remainder needs; the taker pays from free funds.
    this.release(maker, makerDone ? 0 : maker.remaining);
    const makerFee = this.settleSide(maker, st, qty, notional, inst.makerFeeRate);
    const takerFee = this.settleSide(taker, st, qty, notional, inst.takerFeeRate);
    if (makerDone) this.close(maker, st, "filled");
    else maker.status = "partially_filled";
    if (taker.remaining === 0) this.close(taker, st, "filled");
    else taker.status = "partially_filled";
    if (this.listening) {
      const sym = inst.symbol;
      if (!this.unwanted(EV_TRADE, maker.account, taker.account)) {
        this.emit(EV_TRADE, maker.account, taker.account, {
          type: "trade", seq: 0, ts: now, symbol: sym, tradeId, price, qty, takerSide: sideName(taker.side),
          makerOrderId: maker.id, takerOrderId: taker.id, makerAccount: maker.account, takerAccount: taker.account,
        });
      }
      const makerBit = makerDone ? EV_FILLED : EV_PARTIALLY_FILLED;
      if (!this.unwanted(makerBit, maker.account)) {
        this.emit(makerBit, maker.account, NO_ACCOUNT, {
          type: makerDone ? "filled" : "partially_filled", seq: 0, ts: now, symbol: sym, orderId: maker.id, account: maker.account, tradeId,
          side: sideName(maker.side), orderType: "limit",
          liquidity: "maker", price, qty, filled: maker.filled, remaining: maker.remaining, fee: makerFee, feeAsset: feeAssetOf(inst, maker.side),
        });
      }
      const takerBit = taker.remaining === 0 ? EV_FILLED : EV_PARTIALLY_FILLED;
      if (!this.unwanted(takerBit, taker.account)) {
        this.emit(takerBit, taker.account, NO_ACCOUNT, {
          type: taker.remaining === 0 ? "filled" : "partially_filled", seq: 0, ts: now, symbol: sym, orderId: taker.id, account: taker.account, tradeId,
          side: sideName(taker.side), orderType: taker.market ? "market" : "limit",
          liquidity: "taker", price, qty, filled: taker.filled, remaining: taker.remaining, fee: takerFee, feeAsset: feeAssetOf(inst, taker.side),
        });
      }
    }
  }

  /** Moves the funds of one side of a trade, charges its fee, and returns the fee (see feeAssetOf). */
  private settleSide(o: OrderRecord, st: SymbolState, qty: number, notional: number, rate: number): number {
    const inst = st.instrument;
    const acc = this.accounts[o.account] as Account;
    const fees = this.accounts[FEE_ACCOUNT] as Account;
    const b = inst.base.index;
    const q = inst.quote.index;
    if (inst.kind === "spot") {
      // Spot fees are taken from what the side receives, as on Binance by default.
      if (o.side === BUY) {
        const got = qty * inst.lotFactor;
        const fee = feeOf(got, rate);
        acc.total[q] = (acc.total[q] as number) - notional;
        acc.total[b] = (acc.total[b] as number) + got - fee;
        fees.total[b] = (fees.total[b] as number) + fee;
        return fee;
      }
      const fee = feeOf(notional, rate);
      acc.total[b] = (acc.total[b] as number) - qty * inst.lotFactor;
      acc.total[q] = (acc.total[q] as number) + notional - fee;
      fees.total[q] = (fees.total[q] as number) + fee;
      return fee;
    }
    const fee = feeOf(notional, rate);
    const pos = acc.position(o.symbol, acc.leverage.get(o.symbol) ?? inst.defaultLeverage);
    const realized = applyTrade(pos, o.side === BUY ? qty : -qty, notional);
    const newMargin = pos.size === 0 ? 0 : marginFor(pos.basis, pos.leverage);
    acc.positionMargin[q] = (acc.positionMargin[q] as number) + newMargin - pos.margin;
    pos.margin = newMargin;
    acc.total[q] = (acc.total[q] as number) + realized - fee;
    fees.total[q] = (fees.total[q] as number) + fee;
    return fee;
  }

  /** Sets an order's reservation to what `remaining` lots need, returning the rest to free. */
  private release(o: OrderRecord, remaining: number): void {
    if (o.lockAsset < 0) return;
    const inst = (this.symbols[o.symbol] as SymbolState).instrument;
    const keep = remaining === 0 ? 0 : this.lockNeed(o, inst, o.price, remaining);
    const acc = this.accounts[o.account] as Account;
    acc.locked[o.lockAsset] = (acc.locked[o.lockAsset] as number) - (o.locked - keep);
    o.locked = keep;
  }

  /**
   * The book matches a taker in one pass, so a resting reduce-only order could be filled after
   * earlier fills of the same sweep already flattened its position, and flip it. This walks the
   * sweep ahead of time, as `match` will do it, and returns the reduce-only makers it reaches with
   * the lots they may still fill (0: cancel), plus what the taker could then fill (for FOK).
   * Undefined when no reduce-only order rests on the side the taker meets (the common case).
   */
  private reduceOnlyPlan(o: OrderUnits, st: SymbolState, limit: number, stp: StpMode): { trims: [OrderRecord, number][]; fillable: number } | undefined {
    if (this.reduceOnlyOpen.size === 0) return undefined;
    const sym = st.instrument.index;
    const makerSide = o.side === BUY ? SELL : BUY;
    let any = false;
    for (const r of this.reduceOnlyOpen) {
      if (r.symbol === sym && r.side === makerSide && r.handle >= 0) {
        any = true;
        break;
      }
    }
    if (!any) return undefined;
    const book = st.book;
    const moved = new Map<number, number>(); // account -> signed lots traded so far in this sweep
    const sizeOf = (account: number): number => ((this.accounts[account] as Account).positions.get(sym)?.size ?? 0) + (moved.get(account) ?? 0);
    const trims: [OrderRecord, number][] = [];
    let rem = o.qty;
    sweep: for (const lv of book.depth(makerSide, Number.MAX_SAFE_INTEGER)) {
      if (o.side === BUY ? lv.price > limit : lv.price < limit) break;
      for (const h of book.levelHandles(lv.price)) {
        if (rem === 0) break sweep;
        const owner = book.ownerOf(h);
        if (stp !== STP_NONE && owner === o.account) {
          if (stp === STP_CANCEL_MAKER) continue;
          break sweep;
        }
        const maker = this.open.get(book.tagOf(h)) as OrderRecord;
        let lots = book.qtyOf(h);
        if (maker.reduceOnly) {
          const size = sizeOf(owner);
          const room = Math.max(0, makerSide === SELL ? size : -size);
          if (room < lots) {
            trims.push([maker, room]);
            lots = room;
          }
        }
        const f = Math.min(lots, rem);
        rem -= f;
        moved.set(owner, (moved.get(owner) ?? 0) + (makerSide === BUY ? f : -f));
        moved.set(o.account, (moved.get(o.account) ?? 0) + (o.side === BUY ? f : -f));
      }
    }
    return { trims, fillable: o.qty - rem };
  }

  /** Shrinks a resting reduce-only order to `lots` remaining (keeping its priority), or cancels it at 0. */
  private trimReduceOnly(o: OrderRecord, st: SymbolState, lots: number): void {
    if (lots === 0) {
      this.cancelRecord(o, st, "reduce_only");
      return;
    }
    st.book.reduce(o.handle, lots);
    o.qty = o.filled + lots;
    // Its owner learns of it as of any amend: the order is smaller than it placed it.
    o.updatedAt = this.clock.now();
    if (this.listening && !this.unwanted(EV_AMENDED, o.account)) {
      this.emit(EV_AMENDED, o.account, NO_ACCOUNT, { type: "amended", seq: 0, ts: o.updatedAt, symbol: st.instrument.symbol, orderId: o.id, account: o.account, price: o.price, qty: o.qty, remaining: o.remaining, keptPriority: true });
    }
  }

  /** Keeps resting reduce-only orders within the position after it changed. */
  private adjustReduceOnly(account: number, st: SymbolState): void {
    if (this.reduceOnlyOpen.size === 0) return;
    const acc = this.accounts[account] as Account;
    const size = acc.positions.get(st.instrument.index)?.size ?? 0;
    for (const o of [...this.reduceOnlyOpen]) {
      if (o.account !== account || o.symbol !== st.instrument.index || o.handle < 0) continue;
      const reduces = o.side === BUY ? size < 0 : size > 0;
      if (!reduces) this.trimReduceOnly(o, st, 0);
      else if (o.remaining > Math.abs(size)) this.trimReduceOnly(o, st, Math.abs(size));
    }
  }

  private cancelRecord(rec: OrderRecord, st: SymbolState, reason: CancelReason): void {
    if (rec.handle >= 0) st.book.cancel(rec.handle);
    rec.handle = -1;
    this.release(rec, 0);
    this.close(rec, st, "canceled");
    if (this.listening && !this.unwanted(EV_CANCELED, rec.account)) {
      this.emit(EV_CANCELED, rec.account, NO_ACCOUNT, { type: "canceled", seq: 0, ts: this.clock.now(), symbol: st.instrument.symbol, orderId: rec.id, account: rec.account, remaining: rec.remaining, reason });
    }
  }

  private finish(rec: OrderRecord, st: SymbolState, status: "expired" | "canceled", reason: ExpireReason | CancelReason): void {
    this.close(rec, st, status);
    if (!this.listening) return;
    const bit = status === "expired" ? EV_EXPIRED : EV_CANCELED;
    if (this.unwanted(bit, rec.account)) return;
    const base = { seq: 0, ts: this.clock.now(), symbol: st.instrument.symbol, orderId: rec.id, account: rec.account, remaining: rec.remaining };
    if (status === "expired") this.emit(bit, rec.account, NO_ACCOUNT, { type: "expired", ...base, reason: reason as ExpireReason });
    else this.emit(bit, rec.account, NO_ACCOUNT, { type: "canceled", ...base, reason: reason as CancelReason });
  }

  private close(rec: OrderRecord, st: SymbolState, status: OrderStatus): void {
    rec.status = status;
    rec.updatedAt = this.clock.now();
    this.open.delete(rec.id);
    const acc = this.accounts[rec.account] as Account;
    if (rec.clientOrderId !== undefined) acc.openByClientId.delete(rec.clientOrderId);
    if (rec.reduceOnly) this.reduceOnlyOpen.delete(rec);
    if (rec.slot >= 0 && st.bySlot[rec.slot] === rec) st.bySlot[rec.slot] = undefined;
    rec.slot = -1;
    if (this.closedLimit > 0 && acc.keepClosedOrders) this.remember(rec, acc);
    if (this.closeWatcherCount > 0) {
      const watchers = this.closeWatchers[rec.account];
      if (watchers !== undefined) for (let i = 0; i < watchers.length; i++) (watchers[i] as CloseWatcher)(rec.id, rec.symbol);
    }
  }

  private remember(rec: OrderRecord, acc: Account): void {
    const evict = this.closedRing[this.closedHead] as number;
    if (evict > 0) {
      const old = this.closed.get(evict);
      this.closed.delete(evict);
      if (old?.clientOrderId !== undefined) {
        const byClient = (this.accounts[old.account] as Account).closedByClientId;
        if (byClient.get(old.clientOrderId) === evict) byClient.delete(old.clientOrderId);
      }
    }
    this.closedRing[this.closedHead] = rec.id;
    this.closedHead = (this.closedHead + 1) % this.closedLimit;
    this.closed.set(rec.id, rec);
    if (rec.clientOrderId !== undefined) acc.closedByClientId.set(rec.clientOrderId, rec.id);
  }

  private flushBook(st: SymbolState): void {
    const book = st.book;
    if (!this.listening) {
      book.touchedCount = 0;
      return;
    }
    const n = book.touchedCount;
    if ((this.wantAny & EV_BOOK) === 0) {
      // Nobody wants book updates (an account filter never takes them): number them, build nothing.
      this.seq += n;
      st.bookUpdateId += n;
      book.touchedCount = 0;
      return;
    }
    const ts = this.clock.now();
    for (let i = 0; i < n; i++) {
      const key = book.touched[i] as number;
      const side = key % 2;
      const price = (key - side) / 2;
      this.emit(EV_BOOK, NO_ACCOUNT, NO_ACCOUNT, { type: "book", seq: 0, ts, symbol: st.instrument.symbol, updateId: ++st.bookUpdateId, side: side === BUY ? "buy" : "sell", price, qty: book.levelQty(price) });
    }
    book.touchedCount = 0;
  }

  /** True when nobody wants this event: it only takes its sequence number and is never built. */
  private unwanted(bit: number, account: number, other = NO_ACCOUNT): boolean {
    if (this.wants(bit, account, other)) return false;
    this.seq++;
    return true;
  }

  /** Numbers the event and hands it to the subscribers that want it, in subscription order. */
  private emit(bit: number, account: number, other: number, e: ExchangeEvent): void {
    e.seq = ++this.seq;
    for (let i = 0; i < this.subs.length; i++) {
      const s = this.subs[i] as Subscription;
      if ((s.mask & bit) !== 0 && (s.account === NO_ACCOUNT || (account !== NO_ACCOUNT && (s.account === account || s.account === other)))) s.listener(e);
    }
  }

  private reject(account: number, clientOrderId: string | undefined, symbol: string, reason: RejectReason, message: string): PlaceResult {
    if (this.listening && !this.unwanted(EV_REJECTED, account)) this.emit(EV_REJECTED, account, NO_ACCOUNT, { type: "rejected", seq: 0, ts: this.clock.now(), symbol, account, clientOrderId, orderId: undefined, reason, message });
    return { ok: false, reason, message };
  }

  private rejectOp(account: number, orderId: number | undefined, symbol: string, reason: RejectReason, message: string): OpResult {
    if (this.listening && !this.unwanted(EV_REJECTED, account)) this.emit(EV_REJECTED, account, NO_ACCOUNT, { type: "rejected", seq: 0, ts: this.clock.now(), symbol, account, clientOrderId: undefined, orderId, reason, message });
    return { ok: false, reason, message };
  }

  private snapshot(o: OrderRecord): OrderSnapshot {
    const inst = (this.symbols[o.symbol] as SymbolState).instrument;
    const cost = o.costTickLots * inst.notionalFactor;
    return {
      orderId: o.id,
      clientOrderId: o.clientOrderId,
      account: o.account,
      symbol: inst.symbol,
      side: sideName(o.side),
      type: o.market ? "market" : "limit",
      timeInForce: TIF_NAMES[o.tif] as TimeInForce,
      postOnly: o.postOnly,
      reduceOnly: o.reduceOnly,
      price: o.market ? "0" : inst.formatPrice(o.price),
      quantity: inst.formatQty(o.qty),
      filled: inst.formatQty(o.filled),
      remaining: inst.formatQty(o.remaining),
      cost: inst.formatQuote(cost),
      averagePrice: o.filled === 0 ? undefined : averagePriceText(o.costTickLots, o.filled, inst),
      status: o.status,
      createdAt: o.createdAt,
      updatedAt: o.updatedAt,
    };
  }

  /** Internal view for invariant checks: every open order with its lock. */
  openOrderLocks(): { account: number; asset: number; locked: number; need: number }[] {
    const out: { account: number; asset: number; locked: number; need: number }[] = [];
    for (const o of this.open.values()) {
      const inst = (this.symbols[o.symbol] as SymbolState).instrument;
      out.push({ account: o.account, asset: o.lockAsset, locked: o.locked, need: this.lockNeed(o, inst, o.price, o.remaining) });
    }
    return out;
  }

  /** Sum over accounts of position basis per quote asset (for the conservation check). */
  positionBasisByAsset(): number[] {
    const out = this.assets.map(() => 0);
    for (const acc of this.accounts) {
      for (const [sym, p] of acc.positions) {
        const q = (this.symbols[sym] as SymbolState).instrument.quote.index;
        out[q] = (out[q] as number) + p.basis;
      }
    }
    return out;
  }

  /** The position of an account on a symbol, in integers (size lots, basis units). */
  positionUnits(account: number, symbol: number): Readonly<Position> | undefined {
    return this.accounts[account]?.positions.get(symbol);
  }
}

/** Spot fees come out of what the side receives (base for a buy); perpetual fees are in the quote. */
function feeAssetOf(inst: Instrument, side: Side): string {
  return inst.kind === "spot" && side === BUY ? inst.base.name : inst.quote.name;
}

/**
 * The average fill price as decimal text. Filled at one price (nearly always), the cost is a whole
 * number of ticks per lot, and the price text is that tick count's, with no decimal.js division.
 */
export function averagePriceText(costTickLots: number, filledLots: number, inst: Instrument): string {
  const ticks = costTickLots / filledLots;
  if (Number.isSafeInteger(ticks) && costTickLots % filledLots === 0) return inst.formatPrice(ticks);
  return new Decimal(costTickLots).div(filledLots).mul(inst.tick.text).toFixed();
}

function sideName(side: Side): OrderSideName {
  return side === BUY ? "buy" : "sell";
}

/** Parses with `parse`; "invalid" when the value is not a decimal at all, undefined when off-step. */
function safeSteps(value: unknown, parse: (v: string | Decimal) => number | undefined): number | "invalid" | undefined {
  if (typeof value !== "string" && !Decimal.isDecimal(value)) return "invalid";
  const text = typeof value === "string" ? value.trim() : (value as Decimal).toFixed();
  if (!/^[+-]?\d+(\.\d+)?$/.test(text)) return "invalid";
  return parse(text);
}
