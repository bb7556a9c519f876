// Level-1 bid/ask history the broker reads to price child orders. The embedded-venue sampler
// records the top of the book at a fixed interval on the clock; rows carry their knowledge time.

import type { Clock } from "../core/clock.js";
import type { ExchangeEngine } from "../exchange/engine.js";
import type { Instrument } from "../exchange/instrument.js";
import { NO_PRICE, type OrderBook } from "../exchange/order-book.js";
import { BidAskBuffer, rowsOf, type BidAskRow, type BidAskSeries } from "./bid-ask-series.js";

export interface BidAskFeed {
  /** Rows of `symbol` with knowledge time in (from, to], oldest first. */
  rows(symbol: string, fromMs: number, toMs: number): BidAskRow[];
  /** The same rows as columns, written into `into` (no object per row); feeds without it are read through rows. */
  window?(symbol: string, fromMs: number, toMs: number, into: BidAskBuffer): BidAskSeries;
}

/** A feed's rows of `symbol` in (from, to] as columns in `into`. */
export function readBidAskWindow(feed: BidAskFeed, symbol: string, fromMs: number, toMs: number, into: BidAskBuffer): BidAskSeries {
  return feed.window !== undefined ? feed.window(symbol, fromMs, toMs, into) : into.setRows(feed.rows(symbol, fromMs, toMs));
}

/** Rows are dropped from the front only once more than this many are held (and they are old). */
const MIN_ROWS_KEPT = 64;

/** Exact powers of ten as literals (a tick has at most 18 decimals). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The samples of one symbol, as integers in typed arrays. Sampling runs every second for every
 * symbol all day long, while the broker reads a minute of rows once per wave: storing ticks and
 * converting only the rows that are read keeps the sampling loop free of allocation and formatting.
 * Rows live in [head, end) of the arrays; the dead prefix is reclaimed by sliding the live rows
 * down once it is at least half of the arrays.
 */
class TickHistory {
  ts = new Float64Array(256);
  bid = new Float64Array(256);
  ask = new Float64Array(256);
  head = 0;
  end = 0;
  readonly book: OrderBook;
  /** A tick count times `mantissa / 10^scale` is the price (see toPrice). */
  private readonly mantissa: number;
  /** 10^scale, or 0 when it would not be an exact double (then the text route is taken). */
  private readonly pow10: number;

  constructor(
    book: OrderBook,
    readonly inst: Instrument,
  ) {
    this.book = book;
    this.mantissa = inst.tick.mantissa;
    this.pow10 = POW10[inst.tick.scale] ?? 0;
  }

  push(t: number, bid: number, ask: number): void {
    if (this.end === this.ts.length) this.makeRoom();
    const i = this.end++;
    this.ts[i] = t;
    this.bid[i] = bid;
    this.ask[i] = ask;
  }

  /** The same rule as the row list it replaces: drop rows older than `cutoff` once there are > 64. */
  trim(cutoff: number): void {
    if (this.end - this.head <= MIN_ROWS_KEPT || (this.ts[this.head] as number) >= cutoff) return;
    // Sampling at a fixed interval, the cutoff passes one row per sample: step, do not search.
    let h = this.head + 1;
    while (h < this.end && (this.ts[h] as number) < cutoff) h++;
    this.head = h;
  }

  /** First index in [from, end) whose time is > t (end when none): times are non-decreasing. */
  firstAfter(t: number, from: number): number {
    let lo = from;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.ts[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /**
   * The price of a tick count as the number the decimal text of `formatPrice` parses to. Both
   * factors are exact integers in a double (checked), and IEEE division rounds correctly, so
   * `ticks * mantissa / 10^scale` is the double nearest the decimal value: what Number() of its
   * text gives, without making the text.
   */
  toPrice(ticks: number): number {
    const scaled = ticks * this.mantissa;
    if (!Number.isSafeInteger(scaled) || this.pow10 === 0) return Number(this.inst.formatPrice(ticks));
    return scaled / this.pow10;
  }

  private makeRoom(): void {
    const live = this.end - this.head;
    if (this.head >= this.ts.length >> 1) {
      this.ts.copyWithin(0, this.head, this.end);
      this.bid.copyWithin(0, this.head, this.end);
      this.ask.copyWithin(0, this.head, this.end);
    } else {
      const n = this.ts.length * 2;
      this.ts = grow(this.ts, n, this.head, this.end);
      this.bid = grow(this.bid, n, this.head, this.end);
      this.ask = grow(this.ask, n, this.head, this.end);
    }
    this.head = 0;
    this.end = live;
  }
}

function grow(a: Float64Array, n: number, from: number, to: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a.subarray(from, to));
  return b;
}

export class VenueBidAskSampler implements BidAskFeed {
  private readonly history = new Map<string, TickHistory>();
  /** The same histories in symbol order, for the sampling loop. */
  private readonly list: TickHistory[] = [];
  private running = false;

  constructor(
    private readonly engine: ExchangeEngine,
    private readonly clock: Clock,
    private readonly symbols: readonly string[],
    private readonly intervalMs = 1_000,
    /** Rows older than this are dropped, bounding memory over a long run. */
    private readonly keepMs = 10 * 60_000,
  ) {
    for (const s of symbols) {
      const inst = engine.instrument(s);
      if (inst === undefined) throw new RangeError(`bid/ask sampler: unknown symbol ${s}`);
      // A symbol listed twice is sampled twice into one history, as it always was.
      const h = this.history.get(s) ?? new TickHistory(engine.book(inst.index), inst);
      this.history.set(s, h);
      this.list.push(h);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const tick = (): void => {
      if (!this.running) return;
      this.sample();
      this.clock.setTimer(this.clock.now() + this.intervalMs, tick);
    };
    tick();
  }

  stop(): void {
    this.running = false;
  }

  /** Records the current top of book of every symbol. */
  sample(): void {
    const now = this.clock.now();
    const cutoff = now - this.keepMs;
    for (let i = 0; i < this.list.length; i++) {
      const h = this.list[i] as TickHistory;
      const bid = h.book.bestBid();
      const ask = h.book.bestAsk();
      if (bid === NO_PRICE || ask === NO_PRICE) continue;
      h.push(now, bid, ask);
      h.trim(cutoff);
    }
  }

  rows(symbol: string, fromMs: number, toMs: number): BidAskRow[] {
    return rowsOf(this.window(symbol, fromMs, toMs, new BidAskBuffer()));
  }

  window(symbol: string, fromMs: number, toMs: number, into: BidAskBuffer): BidAskSeries {
    const h = this.history.get(symbol);
    if (h === undefined) return into.reset(0);
    const from = h.firstAfter(fromMs, h.head);
    const to = h.firstAfter(toMs, from);
    into.reset(to - from);
    for (let i = from; i < to; i++) into.push(h.ts[i] as number, h.toPrice(h.bid[i] as number), h.toPrice(h.ask[i] as number));
    return into;
  }
}
