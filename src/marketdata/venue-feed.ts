// The embedded venue's live market data feed: as the clock runs it builds 1-minute OHLCV bars
// from the engine's trade events (longer bars by aggregation) and samples bid/ask and L2 top-N of
// every symbol at a fixed interval, into a sink (usually a MarketDataStore, optionally also a
// file writer). Bars are published when their minute closes, known at the bar's end. Built to be
// cheap over long runs: prices stay integer ticks until a row is written, and a store sink is
// filled without building row objects.

import type { Clock, TimerHandle } from "../core/clock.js";
import type { ExchangeEngine } from "../exchange/engine.js";
import type { ExchangeEvent } from "../exchange/events.js";
import { BUY, NO_PRICE, SELL, type OrderBook } from "../exchange/order-book.js";
import { BarAggregator } from "./bar-aggregation.js";
import { MarketDataStore } from "./market-data-store.js";
import { stepToNumber } from "./steps.js";
import { L2_LEVELS, MINUTE_MS, SECOND_MS, type Bar, type BidAskQuote, type L2Snapshot, type MarketDataSink } from "./types.js";

export interface VenueMarketFeedOptions {
  /** Bid/ask and L2 sampling interval; samples fall on multiples of it. */
  sampleIntervalMs?: number;
  l2Levels?: number;
  /** Sample L2 top-N as well as bid/ask (default true); a run whose model reads no L2 skips it. */
  l2?: boolean;
  /** Bar lengths published; 1 minute is always built (the others aggregate it). */
  barIntervalsMs?: readonly number[];
  /** Added to knowledge times: the feed's delay between the venue and the reader (0 in process). */
  latencyMs?: number;
  /** A second sink receiving the same rows (a RecordedMarketDataWriter, to record the run). */
  recorder?: MarketDataSink;
}

interface SymbolFeed {
  symbol: string;
  book: OrderBook;
  price: (ticks: number) => number;
  qty: (lots: number) => number;
  /** Start of the minute being built. */
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
  lots: number;
  trades: number;
  /** Close of the last published bar, in ticks; NO_PRICE before the first trade. */
  lastClose: number;
  aggregator: BarAggregator | undefined;
}

export class VenueMarketFeed {
  private readonly feeds: SymbolFeed[] = [];
  private readonly bySymbol = new Map<string, SymbolFeed>();
  private readonly sampleMs: number;
  private readonly l2: boolean;
  private readonly levels: number;
  private readonly latencyMs: number;
  private readonly store: MarketDataStore | undefined;
  private readonly recorder: MarketDataSink | undefined;
  private readonly bidBuf: Float64Array;
  private readonly askBuf: Float64Array;
  private unsubscribe: (() => void) | undefined;
  private sampleTimer: TimerHandle | undefined;
  private barTimer: TimerHandle | undefined;
  private running = false;
  /** Clock time of the last sample taken (by its timer or by catchUp). */
  private lastSampleAt = Number.NEGATIVE_INFINITY;
  /** Trades seen since start (for tests and progress lines). */
  trades = 0;

  constructor(
    private readonly engine: ExchangeEngine,
    private readonly clock: Clock,
    symbols: readonly string[],
    private readonly sink: MarketDataSink,
    opts: VenueMarketFeedOptions = {},
  ) {
    this.sampleMs = opts.sampleIntervalMs ?? SECOND_MS;
    if (!Number.isInteger(this.sampleMs) || this.sampleMs < 1) throw new RangeError(`venue feed: sampleIntervalMs must be a positive integer, got ${opts.sampleIntervalMs}`);
    this.levels = opts.l2Levels ?? L2_LEVELS;
    this.l2 = opts.l2 ?? true;
    this.latencyMs = opts.latencyMs ?? 0;
    this.recorder = opts.recorder;
    // With a store as the only sink, rows go in as numbers; any other sink gets row objects.
    this.store = sink instanceof MarketDataStore && this.recorder === undefined ? sink : undefined;
    this.bidBuf = new Float64Array(2 * this.levels);
    this.askBuf = new Float64Array(2 * this.levels);
    const longer = [...new Set(opts.barIntervalsMs ?? [])].filter((ms) => ms !== MINUTE_MS).sort((a, b) => a - b);
    for (const symbol of symbols) {
      const inst = engine.instrument(symbol);
      if (inst === undefined) throw new RangeError(`venue feed: unknown symbol ${symbol}`);
      const f: SymbolFeed = {
        symbol, book: engine.book(inst.index), price: stepToNumber(inst.tick), qty: stepToNumber(inst.lot),
        start: 0, open: 0, high: 0, low: 0, close: 0, lots: 0, trades: 0, lastClose: NO_PRICE,
        aggregator: longer.length > 0 ? new BarAggregator(MINUTE_MS, longer, (b) => this.emitBar(b)) : undefined,
      };
      this.feeds.push(f);
      this.bySymbol.set(symbol, f);
    }
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.clock.now();
    const minute = Math.floor(now / MINUTE_MS) * MINUTE_MS;
    for (const f of this.feeds) {
      f.start = minute;
      f.trades = 0;
      f.lots = 0;
    }
    // Only trades are wanted: an engine that takes an event filter then builds no book events for
    // this feed (written so it also compiles against an engine whose subscribe takes no filter).
    const subscribe = this.engine.subscribe.bind(this.engine) as (listener: (e: ExchangeEvent) => void, filter?: { types?: readonly ExchangeEvent["type"][] }) => () => void;
    this.unsubscribe = subscribe((e) => this.onEvent(e), { types: ["trade"] });
    const sampleAt = (t: number): void => {
      this.sampleTimer = this.clock.setTimer(t, () => {
        if (!this.running) return;
        if (this.lastSampleAt < t) this.sample();
        sampleAt(t + this.sampleMs);
      });
    };
    sampleAt(Math.ceil(now / this.sampleMs) * this.sampleMs);
    const closeAt = (t: number): void => {
      this.barTimer = this.clock.setTimer(t, () => {
        if (!this.running) return;
        this.flush(t);
        closeAt(t + MINUTE_MS);
      });
    };
    closeAt(minute + MINUTE_MS);
  }

  /** Stops sampling and listening; a minute still open is not published. */
  stop(): void {
    if (!this.running) return;
    this.running = false;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.sampleTimer !== undefined) this.clock.clearTimer(this.sampleTimer);
    if (this.barTimer !== undefined) this.clock.clearTimer(this.barTimer);
  }

  /**
   * Publishes every minute bar that ended at or before `t` (default now). The minute timer calls
   * it; a bar loop waking at the same instant calls it first so it never misses the bar just closed.
   */
  flush(t: number = this.clock.now()): void {
    for (const f of this.feeds) this.closeUpTo(f, Math.floor(t / MINUTE_MS) * MINUTE_MS);
  }

  /**
   * Takes the sample due at the last sampling instant if its timer has not fired yet. A reader
   * waking at a sampling instant (a bar or a TWAP wave) is otherwise served by its timer before the
   * sampler's and reads the book of a second earlier, while the recording keeps the row stamped
   * with the instant: a replay on the recording would then price that wave differently.
   */
  catchUp(): void {
    if (!this.running) return;
    const due = Math.floor(this.clock.now() / this.sampleMs) * this.sampleMs;
    if (this.lastSampleAt < due) this.sample();
  }

  /** Records the top of the book of every symbol now (the sampling timer calls it). */
  sample(): void {
    const now = this.clock.now();
    this.lastSampleAt = now;
    const kt = now + this.latencyMs;
    const bids = this.bidBuf;
    const asks = this.askBuf;
    for (const f of this.feeds) {
      const book = f.book;
      const bid = book.bestBid();
      const ask = book.bestAsk();
      if (bid === NO_PRICE || ask === NO_PRICE) continue;
      const bidPrice = f.price(bid);
      const askPrice = f.price(ask);
      const bidSize = f.qty(book.levelQty(bid));
      const askSize = f.qty(book.levelQty(ask));
      const nBids = this.l2 ? this.levelsInto(f, BUY, bids) : 0;
      const nAsks = this.l2 ? this.levelsInto(f, SELL, asks) : 0;
      if (this.store !== undefined) {
        this.store.addBidAskValues(f.symbol, now, kt, bidPrice, bidSize, askPrice, askSize);
        if (this.l2) this.store.addL2Values(f.symbol, now, kt, bids, nBids, asks, nAsks);
        continue;
      }
      const quote: BidAskQuote = { symbol: f.symbol, exchangeTime: now, knowledgeTime: kt, bid: bidPrice, bidSize, ask: askPrice, askSize };
      this.sink.addBidAsk(quote);
      this.recorder?.addBidAsk(quote);
      if (!this.l2) continue;
      const snap: L2Snapshot = { symbol: f.symbol, exchangeTime: now, knowledgeTime: kt, bids: pairs(bids, nBids), asks: pairs(asks, nAsks) };
      this.sink.addL2(snap);
      this.recorder?.addL2(snap);
    }
  }

  /** The side's top levels as price, quantity pairs into `buf`; returns how many. */
  private levelsInto(f: SymbolFeed, side: typeof BUY | typeof SELL, buf: Float64Array): number {
    const levels = f.book.depth(side, this.levels);
    for (let i = 0; i < levels.length; i++) {
      const lv = levels[i] as { price: number; qty: number };
      buf[2 * i] = f.price(lv.price);
      buf[2 * i + 1] = f.qty(lv.qty);
    }
    return levels.length;
  }

  private onEvent(e: ExchangeEvent): void {
    if (e.type !== "trade") return;
    const f = this.bySymbol.get(e.symbol);
    if (f === undefined) return;
    this.trades++;
    const minute = Math.floor(e.ts / MINUTE_MS) * MINUTE_MS;
    // A trade at the boundary, before the minute timer fired: close the finished minute first.
    if (minute > f.start) this.closeUpTo(f, minute);
    if (f.trades === 0) {
      f.open = f.high = f.low = e.price;
    } else {
      if (e.price > f.high) f.high = e.price;
      if (e.price < f.low) f.low = e.price;
    }
    f.close = e.price;
    f.lots += e.qty;
    f.trades++;
  }

  /** Publishes the bars of `f` that end at or before `until` (a minute boundary). */
  private closeUpTo(f: SymbolFeed, until: number): void {
    while (f.start + MINUTE_MS <= until) {
      if (f.trades === 0 && f.lastClose === NO_PRICE) {
        // Nothing has traded yet: there is no price to repeat, so no bar.
        f.start = until;
        return;
      }
      if (f.trades === 0) f.open = f.high = f.low = f.close = f.lastClose;
      const end = f.start + MINUTE_MS;
      const bar: Bar = {
        symbol: f.symbol, intervalMs: MINUTE_MS, start: f.start, end, knowledgeTime: end + this.latencyMs,
        open: f.price(f.open), high: f.price(f.high), low: f.price(f.low), close: f.price(f.close), volume: f.qty(f.lots),
      };
      this.emitBar(bar);
      f.aggregator?.add(bar);
      f.lastClose = f.close;
      f.start = end;
      f.trades = 0;
      f.lots = 0;
    }
  }

  private emitBar(bar: Bar): void {
    this.sink.addBar(bar);
    this.recorder?.addBar(bar);
  }
}

function pairs(buf: Float64Array, n: number): [number, number][] {
  const out = new Array<[number, number]>(n);
  for (let i = 0; i < n; i++) out[i] = [buf[2 * i] as number, buf[2 * i + 1] as number];
  return out;
}
