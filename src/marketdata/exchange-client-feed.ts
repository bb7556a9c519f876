// Live market data from any ExchangeClient (prod: a real exchange through ccxt): polls the top of
// the book of each symbol, stores bid/ask and L2 rows as they arrive, and builds 1-minute bars from
// the mid prices it saw (volume 0: a book poll sees no trades). Rows carry the exchange's time when
// it gives one and the local arrival time as knowledge time. Failed polls are counted and reported
// (report()), so a run can say so in its log and stop on a sustained outage.

import type { Clock, TimerHandle } from "../core/clock.js";
import type { ExchangeClient } from "../exchanges/exchange-client.js";
import { MINUTE_MS, type MarketDataSink } from "./types.js";

interface OpenBar {
  start: number;
  open: number;
  high: number;
  low: number;
  close: number;
}

export interface ExchangeClientFeedOptions {
  pollMs?: number;
  levels?: number;
  /** Called with each failed poll; the feed keeps polling (a gap is visible in the data). */
  onError?: (symbol: string, error: unknown) => void;
}

/** What the feed saw since its previous report. */
export interface FeedReport {
  polls: number;
  failedPolls: number;
  /** Symbols whose latest poll failed, with that poll's error, in symbol order. */
  failing: { symbol: string; message: string }[];
  /**
   * When every symbol's latest poll failed: the last time any poll succeeded (the feed's start if
   * none ever did), i.e. since when the feed has had no data at all. Undefined otherwise.
   */
  downSince: number | undefined;
}

/** The most recent failed polls kept in `errors`: an outage fails once per symbol per poll. */
export const KEPT_ERRORS = 100;

export class ExchangeClientFeed {
  private timer: TimerHandle | undefined;
  private running = false;
  private readonly open = new Map<string, OpenBar>();
  /** Per symbol, the end of the last bar published: a later poll never reopens a published minute. */
  private readonly publishedUntil = new Map<string, number>();
  /** The most recent failed polls, oldest first (at most KEPT_ERRORS). */
  readonly errors: { symbol: string; at: number; message: string }[] = [];
  private polls = 0;
  private failedPolls = 0;
  private readonly lastFailure = new Map<string, string>();
  private lastSuccessAt: number | undefined;
  private startedAt: number | undefined;

  constructor(
    private readonly client: ExchangeClient,
    private readonly clock: Clock,
    private readonly symbols: readonly string[],
    private readonly sink: MarketDataSink,
    private readonly opts: ExchangeClientFeedOptions = {},
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.startedAt ??= this.clock.now();
    const tick = (): void => {
      if (!this.running) return;
      void this.poll().then(() => {
        if (this.running) this.timer = this.clock.setTimer(this.clock.now() + (this.opts.pollMs ?? 1_000), tick);
      });
    };
    tick();
  }

  stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
  }

  /** One round of polls, one request per symbol in turn (rate limits are per account). */
  async poll(): Promise<void> {
    this.startedAt ??= this.clock.now();
    for (const symbol of this.symbols) {
      this.polls++;
      try {
        const book = await this.client.fetchOrderBook(symbol, this.opts.levels ?? 5);
        const now = this.clock.now();
        this.lastSuccessAt = now;
        this.lastFailure.delete(symbol);
        const bid = book.bids[0];
        const ask = book.asks[0];
        if (bid === undefined || ask === undefined) continue;
        const exchangeTime = Math.min(book.timestamp ?? now, now);
        this.flush(now);
        this.sink.addBidAsk({ symbol, exchangeTime, knowledgeTime: now, bid: bid[0], bidSize: bid[1], ask: ask[0], askSize: ask[1] });
        this.sink.addL2({ symbol, exchangeTime, knowledgeTime: now, bids: book.bids.slice(0, 5), asks: book.asks.slice(0, 5) });
        this.observe(symbol, exchangeTime, (bid[0] + ask[0]) / 2);
      } catch (e) {
        // A failed poll is a gap in the data, recorded and reported; the next poll tries again.
        const message = e instanceof Error ? e.message : String(e);
        this.failedPolls++;
        this.lastFailure.set(symbol, message);
        this.errors.push({ symbol, at: this.clock.now(), message });
        if (this.errors.length > KEPT_ERRORS) this.errors.shift();
        this.opts.onError?.(symbol, e);
      }
    }
  }

  /** Polls and failures since the previous report, and whether the feed has no data at all. */
  report(): FeedReport {
    const failing = this.symbols.flatMap((symbol) => {
      const message = this.lastFailure.get(symbol);
      return message === undefined ? [] : [{ symbol, message }];
    });
    const r: FeedReport = {
      polls: this.polls,
      failedPolls: this.failedPolls,
      failing,
      downSince: failing.length === this.symbols.length && failing.length > 0 ? (this.lastSuccessAt ?? this.startedAt) : undefined,
    };
    this.polls = 0;
    this.failedPolls = 0;
    return r;
  }

  private observe(symbol: string, t: number, mid: number): void {
    // An exchange's book time trails the local clock by a few hundred ms: a poll just after a
    // minute's bar was published may carry a time inside that minute. Its price goes to the open
    // minute instead, or the published minute would be opened again and published twice.
    const start = Math.max(Math.floor(t / MINUTE_MS) * MINUTE_MS, this.publishedUntil.get(symbol) ?? -Infinity);
    const bar = this.open.get(symbol);
    if (bar === undefined || bar.start !== start) {
      this.open.set(symbol, { start, open: mid, high: mid, low: mid, close: mid });
      return;
    }
    bar.high = Math.max(bar.high, mid);
    bar.low = Math.min(bar.low, mid);
    bar.close = mid;
  }

  /** Publishes every minute bar that ended at or before `t`; a minute with no poll repeats the last close. */
  flush(t: number): void {
    for (const symbol of this.symbols) {
      const bar = this.open.get(symbol);
      if (bar === undefined || bar.start + MINUTE_MS > t) continue;
      const end = bar.start + MINUTE_MS;
      this.sink.addBar({ symbol, intervalMs: MINUTE_MS, start: bar.start, end, knowledgeTime: end, open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: 0 });
      this.open.delete(symbol);
      let until = end;
      // Empty minutes up to t carry the last close so bar boundaries always have a price.
      for (let s = end; s + MINUTE_MS <= Math.floor(t / MINUTE_MS) * MINUTE_MS; s += MINUTE_MS) {
        this.sink.addBar({ symbol, intervalMs: MINUTE_MS, start: s, end: s + MINUTE_MS, knowledgeTime: s + MINUTE_MS, open: bar.close, high: bar.close, low: bar.close, close: bar.close, volume: 0 });
        until = s + MINUTE_MS;
      }
      this.publishedUntil.set(symbol, until);
    }
  }
}
