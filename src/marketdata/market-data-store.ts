// The in-memory market data store every source fills (venue feed, recorded files, synthetic
// history) and every reader queries: append-only per symbol and row type, held in columns of
// typed arrays and searched by binary search. `knownAt(clock)` gives the clock-bound view that is
// the one place enforcing "no future peeking" (DOMAIN.md section 9).

import type { Clock, EpochMs } from "../core/clock.js";
import type { BidAskFeed } from "./bid-ask-feed.js";
import { BidAskBuffer, rowsOf, type BidAskRow, type BidAskSeries } from "./bid-ask-series.js";
import { L2_LEVELS, type Bar, type BidAskQuote, type L2Snapshot, type MarketDataSink, type MarketDataSource, type MarketDataView } from "./types.js";

export type { BidAskRow } from "./bid-ask-series.js";

export type MarketDataRowType = "ohlcv" | "bid_ask" | "l2";

export interface MarketDataStoreOptions {
  /** Symbols known up front (others are added as their first row arrives). */
  symbols?: readonly string[];
  /**
   * Bounded memory: rows whose knowledge time is more than this before the newest row of the same
   * series may be dropped (when their arrays fill up); younger rows are always kept. Queries
   * reaching further back see only what is kept. Unbounded by default.
   */
  keepMs?: number;
  /** Levels per side kept in L2 snapshots; a snapshot with more is rejected. */
  l2Levels?: number;
}

/** The rows of one series of one symbol, column by column (MarketDataStore.takeRows). */
export interface SeriesRows {
  symbol: string;
  type: MarketDataRowType;
  /** The bar length of ohlcv rows; 0 for the others. */
  intervalMs: number;
  et: Float64Array;
  kt: Float64Array;
  /** The series' values, row after row (its width per row). */
  vals: Float64Array;
}

/** A row arrived before one already stored (in knowledge or exchange time). */
export class MarketDataOrderError extends Error {
  override readonly name = "MarketDataOrderError";
}

const BAR_WIDTH = 6; // end, open, high, low, close, volume
const BID_ASK_WIDTH = 4; // bid, bidSize, ask, askSize

/**
 * One append-only series: exchange and knowledge times plus `width` numbers per row, in growable
 * Float64Arrays. Rows live in [head, tail); eviction moves head, growth compacts or doubles.
 */
class Series {
  et: Float64Array;
  kt: Float64Array;
  vals: Float64Array;
  head = 0;
  tail = 0;

  constructor(
    readonly width: number,
    readonly label: string,
  ) {
    this.et = new Float64Array(16);
    this.kt = new Float64Array(16);
    this.vals = new Float64Array(16 * width);
  }

  get size(): number {
    return this.tail - this.head;
  }

  /** Reserves the next row after checking its times; returns the offset of its values. */
  push(et: EpochMs, kt: EpochMs, keepMs: number): number {
    if (this.tail > this.head) this.checkOrder(et, kt, this.et[this.tail - 1] as number, this.kt[this.tail - 1] as number);
    else this.checkOrder(et, kt, -Infinity, -Infinity);
    if (this.tail === this.et.length) {
      // Evicting only when the arrays are full costs nothing per row; the window kept is then
      // between keepMs and what the arrays hold.
      if (keepMs < Infinity) this.head = lowerBound(this.kt, this.head, this.tail, kt - keepMs);
      this.makeRoom();
    }
    const i = this.tail++;
    this.et[i] = et;
    this.kt[i] = kt;
    return i * this.width;
  }

  /** Grows capacity to hold `rows` more rows without doubling past what is needed. */
  reserve(rows: number): void {
    const need = this.tail - this.head + rows;
    if (need > this.et.length) this.resize(need);
  }

  private makeRoom(): void {
    const live = this.tail - this.head;
    // Compacting in place is enough when eviction freed at least half; else double.
    if (this.head >= this.et.length / 2) {
      this.et.copyWithin(0, this.head, this.tail);
      this.kt.copyWithin(0, this.head, this.tail);
      this.vals.copyWithin(0, this.head * this.width, this.tail * this.width);
      this.head = 0;
      this.tail = live;
    } else {
      this.resize(this.et.length * 2);
    }
  }

  private resize(cap: number): void {
    const live = this.tail - this.head;
    const et = new Float64Array(cap);
    const kt = new Float64Array(cap);
    const vals = new Float64Array(cap * this.width);
    et.set(this.et.subarray(this.head, this.tail));
    kt.set(this.kt.subarray(this.head, this.tail));
    vals.set(this.vals.subarray(this.head * this.width, this.tail * this.width));
    this.et = et;
    this.kt = kt;
    this.vals = vals;
    this.head = 0;
    this.tail = live;
  }

  /** Copies of the rows held, in order, which the series then no longer holds. */
  take(): { et: Float64Array; kt: Float64Array; vals: Float64Array } {
    const rows = {
      et: this.et.slice(this.head, this.tail),
      kt: this.kt.slice(this.head, this.tail),
      vals: this.vals.slice(this.head * this.width, this.tail * this.width),
    };
    this.head = this.tail;
    return rows;
  }

  /** Appends rows in bulk, with the time-order checks `push` makes on each (unbounded series only). */
  pushAll(et: Float64Array, kt: Float64Array, vals: Float64Array): void {
    const n = et.length;
    if (kt.length !== n || vals.length !== n * this.width) throw new RangeError(`${this.label}: ${n} rows need ${n} knowledge times and ${n * this.width} values, got ${kt.length} and ${vals.length}`);
    let lastEt = this.tail > this.head ? (this.et[this.tail - 1] as number) : -Infinity;
    let lastKt = this.tail > this.head ? (this.kt[this.tail - 1] as number) : -Infinity;
    for (let i = 0; i < n; i++) {
      const e = et[i] as number;
      const k = kt[i] as number;
      this.checkOrder(e, k, lastEt, lastKt);
      lastEt = e;
      lastKt = k;
    }
    if (this.tail + n > this.et.length) this.resize(Math.max(this.tail - this.head + n, 2 * this.et.length));
    this.et.set(et, this.tail);
    this.kt.set(kt, this.tail);
    this.vals.set(vals, this.tail * this.width);
    this.tail += n;
  }

  /** A row's times: finite, and not before the previous row's (-Infinity when there is none). */
  private checkOrder(et: number, kt: number, lastEt: number, lastKt: number): void {
    if (!Number.isFinite(et) || !Number.isFinite(kt)) throw new RangeError(`${this.label}: times must be finite epoch ms, got exchange ${et}, knowledge ${kt}`);
    if (kt < lastKt) throw new MarketDataOrderError(`${this.label}: knowledge time ${iso(kt)} is before the previous row's ${iso(lastKt)} (rows must arrive in time order)`);
    if (et < lastEt) throw new MarketDataOrderError(`${this.label}: exchange time ${iso(et)} is before the previous row's ${iso(lastEt)} (rows must arrive in time order)`);
  }

  /** First index whose knowledge time is after `asOf`: rows before it are known at `asOf`. */
  knownEnd(asOf: EpochMs): number {
    return upperBound(this.kt, this.head, this.tail, asOf);
  }
}

/** First index in [lo, hi) with a[i] > x (a is non-decreasing there). */
function upperBound(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in [lo, hi) with a[i] >= x. */
function lowerBound(a: Float64Array, lo: number, hi: number, x: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function iso(ms: number): string {
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : String(ms);
}

interface SymbolSeries {
  bars: Map<number, Series>;
  bidAsk: Series;
  l2: Series;
}

export class MarketDataStore implements MarketDataSource, BidAskFeed, MarketDataSink {
  private readonly bySymbol = new Map<string, SymbolSeries>();
  private readonly symbolList: string[] = [];
  private readonly keepMs: number;
  readonly l2Levels: number;
  private readonly l2Width: number;

  constructor(opts: MarketDataStoreOptions = {}) {
    this.keepMs = opts.keepMs ?? Infinity;
    if (!(this.keepMs > 0)) throw new RangeError(`market data store: keepMs must be positive, got ${opts.keepMs}`);
    this.l2Levels = opts.l2Levels ?? L2_LEVELS;
    if (!Number.isInteger(this.l2Levels) || this.l2Levels < 1) throw new RangeError(`market data store: l2Levels must be a positive integer, got ${opts.l2Levels}`);
    // Per row: the level counts of each side, then [price, qty] pairs for bids, then for asks.
    this.l2Width = 2 + 4 * this.l2Levels;
    for (const s of opts.symbols ?? []) this.series(s);
  }

  get symbols(): readonly string[] {
    return this.symbolList;
  }

  private series(symbol: string): SymbolSeries {
    let s = this.bySymbol.get(symbol);
    if (s === undefined) {
      s = { bars: new Map(), bidAsk: new Series(BID_ASK_WIDTH, `${symbol} bid/ask`), l2: new Series(this.l2Width, `${symbol} L2`) };
      this.bySymbol.set(symbol, s);
      this.symbolList.push(symbol);
    }
    return s;
  }

  private barSeries(symbol: string, intervalMs: number): Series {
    const sym = this.series(symbol);
    let s = sym.bars.get(intervalMs);
    if (s === undefined) {
      s = new Series(BAR_WIDTH, `${symbol} ${intervalMs} ms bars`);
      sym.bars.set(intervalMs, s);
    }
    return s;
  }

  // ---- appending ----

  addBar(bar: Bar): void {
    if (!(bar.intervalMs > 0)) throw new RangeError(`${bar.symbol} bar: interval must be positive, got ${bar.intervalMs}`);
    const s = this.barSeries(bar.symbol, bar.intervalMs);
    const o = s.push(bar.start, bar.knowledgeTime, this.keepMs);
    const v = s.vals;
    v[o] = bar.end;
    v[o + 1] = bar.open;
    v[o + 2] = bar.high;
    v[o + 3] = bar.low;
    v[o + 4] = bar.close;
    v[o + 5] = bar.volume;
  }

  addBidAsk(q: BidAskQuote): void {
    this.addBidAskValues(q.symbol, q.exchangeTime, q.knowledgeTime, q.bid, q.bidSize, q.ask, q.askSize);
  }

  /** addBidAsk without building the row object (for feeds sampling many symbols every second). */
  addBidAskValues(symbol: string, exchangeTime: EpochMs, knowledgeTime: EpochMs, bid: number, bidSize: number, ask: number, askSize: number): void {
    const s = this.series(symbol).bidAsk;
    const o = s.push(exchangeTime, knowledgeTime, this.keepMs);
    const v = s.vals;
    v[o] = bid;
    v[o + 1] = bidSize;
    v[o + 2] = ask;
    v[o + 3] = askSize;
  }

  addL2(snap: L2Snapshot): void {
    const n = this.l2Levels;
    if (snap.bids.length > n || snap.asks.length > n) {
      throw new RangeError(`${snap.symbol} L2: snapshot has ${snap.bids.length} bid and ${snap.asks.length} ask levels; this store keeps ${n} (l2Levels)`);
    }
    const s = this.series(snap.symbol).l2;
    const o = s.push(snap.exchangeTime, snap.knowledgeTime, this.keepMs);
    const v = s.vals;
    v[o] = snap.bids.length;
    v[o + 1] = snap.asks.length;
    let p = o + 2;
    for (const [price, qty] of snap.bids) {
      v[p++] = price;
      v[p++] = qty;
    }
    p = o + 2 + 2 * n;
    for (const [price, qty] of snap.asks) {
      v[p++] = price;
      v[p++] = qty;
    }
  }

  /**
   * addL2 from flat arrays without building the row object: `bids[2i]`, `bids[2i+1]` are the price
   * and quantity of level i, `nBids` levels used (likewise asks).
   */
  addL2Values(symbol: string, exchangeTime: EpochMs, knowledgeTime: EpochMs, bids: ArrayLike<number>, nBids: number, asks: ArrayLike<number>, nAsks: number): void {
    const n = this.l2Levels;
    if (nBids > n || nAsks > n) throw new RangeError(`${symbol} L2: snapshot has ${nBids} bid and ${nAsks} ask levels; this store keeps ${n} (l2Levels)`);
    const s = this.series(symbol).l2;
    const o = s.push(exchangeTime, knowledgeTime, this.keepMs);
    const v = s.vals;
    v[o] = nBids;
    v[o + 1] = nAsks;
    for (let i = 0; i < 2 * nBids; i++) v[o + 2 + i] = bids[i] as number;
    for (let i = 0; i < 2 * nAsks; i++) v[o + 2 + 2 * n + i] = asks[i] as number;
  }

  /**
   * Takes every row out of the store: per series, copies of its times and values (transferable to
   * another thread), in symbol order; the store keeps its symbols and holds no rows after. With
   * appendRows, a generator on another thread hands its rows over in chunks.
   */
  takeRows(): SeriesRows[] {
    const out: SeriesRows[] = [];
    for (const symbol of this.symbolList) {
      const sym = this.series(symbol);
      const taken = (type: MarketDataRowType, intervalMs: number, s: Series): void => {
        if (s.size > 0) out.push({ symbol, type, intervalMs, ...s.take() });
      };
      for (const [ms, s] of sym.bars) taken("ohlcv", ms, s);
      taken("bid_ask", 0, sym.bidAsk);
      taken("l2", 0, sym.l2);
    }
    return out;
  }

  /** Appends rows taken from another store (takeRows), as the add methods would one by one. */
  appendRows(rows: readonly SeriesRows[]): void {
    if (this.keepMs < Infinity) throw new RangeError("market data store: appendRows needs an unbounded store (no keepMs)");
    for (const r of rows) {
      const s = r.type === "bid_ask" ? this.series(r.symbol).bidAsk : r.type === "l2" ? this.series(r.symbol).l2 : this.barSeries(r.symbol, r.intervalMs);
      s.pushAll(r.et, r.kt, r.vals);
    }
  }

  /** Makes room for `rows` more snapshots of a symbol at once (a generator knows its row count). */
  reserve(symbol: string, type: "bid_ask" | "l2", rows: number): void {
    const s = this.series(symbol);
    (type === "bid_ask" ? s.bidAsk : s.l2).reserve(rows);
  }

  // ---- queries (asOf is a knowledge-time bound) ----

  /** Bar intervals stored for a symbol, shortest first. */
  barIntervals(symbol: string): number[] {
    return [...(this.bySymbol.get(symbol)?.bars.keys() ?? [])].sort((a, b) => a - b);
  }

  // Bar queries return only bars that have ended by `asOf`, whatever their knowledge time says: a
  // bar known before its end (a recording stamped with the open time) would otherwise give the mark
  // and the model a close from the future. The loader refuses such rows; this is the second guard.

  bars(symbol: string, intervalMs: number, fromMs: EpochMs, asOf: EpochMs): Bar[] {
    const s = this.bySymbol.get(symbol)?.bars.get(intervalMs);
    if (s === undefined) return [];
    const end = s.knownEnd(asOf);
    const out: Bar[] = [];
    for (let i = lowerBound(s.et, s.head, end, fromMs); i < end; i++) if ((s.vals[i * BAR_WIDTH] as number) <= asOf) out.push(this.barAt(symbol, intervalMs, s, i));
    return out;
  }

  /**
   * `visit(end, close)` for each bar `bars()` would return, in the same order. A model reads only
   * closes, every bar, for every symbol: building the Bar rows was most of what it cost.
   */
  eachBarClose(symbol: string, intervalMs: number, fromMs: EpochMs, asOf: EpochMs, visit: (end: number, close: number) => void): void {
    const s = this.bySymbol.get(symbol)?.bars.get(intervalMs);
    if (s === undefined) return;
    const end = s.knownEnd(asOf);
    const v = s.vals;
    for (let i = lowerBound(s.et, s.head, end, fromMs); i < end; i++) {
      const barEnd = v[i * BAR_WIDTH] as number;
      if (barEnd <= asOf) visit(barEnd, v[i * BAR_WIDTH + 4] as number);
    }
  }

  /** The close of the last bar `bars()` would return, without building it (the per-bar mark price). */
  lastBarClose(symbol: string, intervalMs: number, fromMs: EpochMs, asOf: EpochMs): number | undefined {
    const s = this.bySymbol.get(symbol)?.bars.get(intervalMs);
    if (s === undefined) return undefined;
    for (let i = s.knownEnd(asOf) - 1; i >= s.head && (s.et[i] as number) >= fromMs; i--) {
      if ((s.vals[i * BAR_WIDTH] as number) <= asOf) return s.vals[i * BAR_WIDTH + 4] as number;
    }
    return undefined;
  }

  /** The newest `count` bars known at `asOf`, oldest first. */
  lastBars(symbol: string, intervalMs: number, count: number, asOf: EpochMs): Bar[] {
    const s = this.bySymbol.get(symbol)?.bars.get(intervalMs);
    if (s === undefined || count <= 0) return [];
    const out: Bar[] = [];
    for (let i = s.knownEnd(asOf) - 1; i >= s.head && out.length < count; i--) if ((s.vals[i * BAR_WIDTH] as number) <= asOf) out.push(this.barAt(symbol, intervalMs, s, i));
    return out.reverse();
  }

  bidAsk(symbol: string, fromMs: EpochMs, asOf: EpochMs): BidAskQuote[] {
    const s = this.bySymbol.get(symbol)?.bidAsk;
    if (s === undefined) return [];
    const [lo, hi] = exchangeWindow(s, fromMs, asOf);
    const out: BidAskQuote[] = [];
    for (let i = lo; i < hi; i++) out.push(this.bidAskAt(symbol, s, i));
    return out;
  }

  /**
   * The bid/ask rows known at `asOf` with exchange time at or after `fromMs`, thinned to the first
   * row of each `everyMs` bucket of exchange time: what a recorder keeps. Found by binary search
   * rather than by building every row of the window (60 a minute per symbol) to keep one.
   */
  bidAskFirstPerBucket(symbol: string, fromMs: EpochMs, asOf: EpochMs, everyMs: number): BidAskQuote[] {
    const s = this.bySymbol.get(symbol)?.bidAsk;
    if (s === undefined) return [];
    const hi = Math.min(s.knownEnd(asOf), upperBound(s.et, s.head, s.tail, asOf));
    const out: BidAskQuote[] = [];
    let i = lowerBound(s.et, s.head, hi, fromMs);
    while (i < hi) {
      out.push(this.bidAskAt(symbol, s, i));
      const next = Math.floor((s.et[i] as number) / everyMs) * everyMs + everyMs;
      i = lowerBound(s.et, i + 1, hi, next);
    }
    return out;
  }

  latestBidAsk(symbol: string, asOf: EpochMs): BidAskQuote | undefined {
    const s = this.bySymbol.get(symbol)?.bidAsk;
    if (s === undefined) return undefined;
    const i = s.knownEnd(asOf) - 1;
    return i >= s.head ? this.bidAskAt(symbol, s, i) : undefined;
  }

  /**
   * The broker's feed: rows with exchange time in (fromMs, toMs] and knowledge time <= toMs, oldest
   * first; a row's `timestamp` is its knowledge time (as BidAskRow documents).
   */
  rows(symbol: string, fromMs: number, toMs: number): BidAskRow[] {
    return rowsOf(this.window(symbol, fromMs, toMs, new BidAskBuffer()));
  }

  /** rows() as columns in `into` (the broker's per-wave read, without an object per row). */
  window(symbol: string, fromMs: number, toMs: number, into: BidAskBuffer): BidAskSeries {
    const s = this.bySymbol.get(symbol)?.bidAsk;
    if (s === undefined) return into.reset(0);
    const [lo, hi] = exchangeWindow(s, fromMs, toMs);
    into.reset(hi - lo);
    const v = s.vals;
    for (let i = lo; i < hi; i++) into.push(s.kt[i] as number, v[i * BID_ASK_WIDTH] as number, v[i * BID_ASK_WIDTH + 2] as number);
    return into;
  }

  /** L2 snapshots with exchange time in (fromMs, asOf], known at `asOf`, oldest first. */
  l2(symbol: string, fromMs: EpochMs, asOf: EpochMs): L2Snapshot[] {
    const s = this.bySymbol.get(symbol)?.l2;
    if (s === undefined) return [];
    const [lo, hi] = exchangeWindow(s, fromMs, asOf);
    const out: L2Snapshot[] = [];
    for (let i = lo; i < hi; i++) out.push(this.l2At(symbol, s, i));
    return out;
  }

  latestL2(symbol: string, asOf: EpochMs): L2Snapshot | undefined {
    const s = this.bySymbol.get(symbol)?.l2;
    if (s === undefined) return undefined;
    const i = s.knownEnd(asOf) - 1;
    return i >= s.head ? this.l2At(symbol, s, i) : undefined;
  }

  /** Rows held per type (after eviction), for progress lines and tests. */
  counts(symbol?: string): Record<MarketDataRowType, number> {
    const out = { ohlcv: 0, bid_ask: 0, l2: 0 };
    for (const [sym, s] of this.bySymbol) {
      if (symbol !== undefined && sym !== symbol) continue;
      for (const b of s.bars.values()) out.ohlcv += b.size;
      out.bid_ask += s.bidAsk.size;
      out.l2 += s.l2.size;
    }
    return out;
  }

  /** Every row held, in storage order, regardless of knowledge time: for writers and quality checks. */
  allBars(symbol: string, intervalMs: number): Bar[] {
    return this.bars(symbol, intervalMs, -Infinity, Infinity);
  }

  allBidAsk(symbol: string): BidAskQuote[] {
    return this.bidAsk(symbol, -Infinity, Infinity);
  }

  allL2(symbol: string): L2Snapshot[] {
    return this.l2(symbol, -Infinity, Infinity);
  }

  /** A view bound to `clock`: it answers as of `clock.now()` and cannot be asked about later. */
  knownAt(clock: Pick<Clock, "now">): MarketDataView & BidAskFeed {
    return new ClockBoundView(this, clock);
  }

  // ---- row objects ----

  private barAt(symbol: string, intervalMs: number, s: Series, i: number): Bar {
    const v = s.vals;
    const o = i * BAR_WIDTH;
    return {
      symbol, intervalMs, start: s.et[i] as number, end: v[o] as number, knowledgeTime: s.kt[i] as number,
      open: v[o + 1] as number, high: v[o + 2] as number, low: v[o + 3] as number, close: v[o + 4] as number, volume: v[o + 5] as number,
    };
  }

  private bidAskAt(symbol: string, s: Series, i: number): BidAskQuote {
    const v = s.vals;
    const o = i * BID_ASK_WIDTH;
    return { symbol, exchangeTime: s.et[i] as number, knowledgeTime: s.kt[i] as number, bid: v[o] as number, bidSize: v[o + 1] as number, ask: v[o + 2] as number, askSize: v[o + 3] as number };
  }

  private l2At(symbol: string, s: Series, i: number): L2Snapshot {
    const v = s.vals;
    const o = i * this.l2Width;
    const nb = v[o] as number;
    const na = v[o + 1] as number;
    const bids: [number, number][] = new Array<[number, number]>(nb);
    for (let k = 0; k < nb; k++) bids[k] = [v[o + 2 + 2 * k] as number, v[o + 3 + 2 * k] as number];
    const askBase = o + 2 + 2 * this.l2Levels;
    const asks: [number, number][] = new Array<[number, number]>(na);
    for (let k = 0; k < na; k++) asks[k] = [v[askBase + 2 * k] as number, v[askBase + 1 + 2 * k] as number];
    return { symbol, exchangeTime: s.et[i] as number, knowledgeTime: s.kt[i] as number, bids, asks };
  }
}

/** Index range of rows with exchange time in (fromMs, asOf] and knowledge time <= asOf. */
function exchangeWindow(s: Series, fromMs: number, asOf: number): [number, number] {
  // Exchange times are non-decreasing too (append checks it), so both bounds are binary searches.
  const hi = Math.min(s.knownEnd(asOf), upperBound(s.et, s.head, s.tail, asOf));
  const lo = upperBound(s.et, s.head, hi, fromMs);
  return [lo, hi];
}

class ClockBoundView implements MarketDataView, BidAskFeed {
  constructor(
    private readonly store: MarketDataStore,
    private readonly clock: Pick<Clock, "now">,
  ) {}

  get symbols(): readonly string[] {
    return this.store.symbols;
  }

  now(): EpochMs {
    return this.clock.now();
  }

  bars(symbol: string, intervalMs: number, lookbackMs: number): Bar[] {
    const now = this.clock.now();
    return this.store.bars(symbol, intervalMs, now - lookbackMs, now);
  }

  lastBars(symbol: string, intervalMs: number, count: number): Bar[] {
    return this.store.lastBars(symbol, intervalMs, count, this.clock.now());
  }

  bidAsk(symbol: string, lookbackMs: number): BidAskQuote[] {
    const now = this.clock.now();
    return this.store.bidAsk(symbol, now - lookbackMs, now);
  }

  latestBidAsk(symbol: string): BidAskQuote | undefined {
    return this.store.latestBidAsk(symbol, this.clock.now());
  }

  l2(symbol: string, lookbackMs: number): L2Snapshot[] {
    const now = this.clock.now();
    return this.store.l2(symbol, now - lookbackMs, now);
  }

  latestL2(symbol: string): L2Snapshot | undefined {
    return this.store.latestL2(symbol, this.clock.now());
  }

  /** The broker's feed, with `toMs` capped at now: asking about the future returns only the past. */
  rows(symbol: string, fromMs: number, toMs: number): BidAskRow[] {
    return this.store.rows(symbol, fromMs, Math.min(toMs, this.clock.now()));
  }

  window(symbol: string, fromMs: number, toMs: number, into: BidAskBuffer): BidAskSeries {
    return this.store.window(symbol, fromMs, Math.min(toMs, this.clock.now()), into);
  }
}
