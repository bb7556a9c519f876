// Live market data from any ExchangeClient (prod: a real exchange through ccxt): polls the top of
// the book of each symbol, stores bid/ask and L2 rows as they arrive, and builds 1-minute bars from
// the mid prices it saw (volume 0: a book poll sees no trades). Rows carry the exchange's time when
// it gives one and the local arrival time as knowledge time.

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

export class ExchangeClientFeed {
  private timer: TimerHandle | undefined;
  private running = false;
  private readonly open = new Map<string, OpenBar>();
  readonly errors: { symbol: string; at: number; message: string }[] = [];

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
    for (const symbol of this.symbols) {
      try {
        const book = await this.client.fetchOrderBook(symbol, this.opts.levels ?? 5);
        const now = this.clock.now();
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
        this.errors.push({ symbol, at: this.clock.now(), message });
        this.opts.onError?.(symbol, e);
      }
    }
  }

  private observe(symbol: string, t: number, mid: number): void {
    const start = Math.floor(t / MINUTE_MS) * MINUTE_MS;
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
      // Empty minutes up to t carry the last close so bar boundaries always have a price.
      for (let s = end; s + MINUTE_MS <= Math.floor(t / MINUTE_MS) * MINUTE_MS; s += MINUTE_MS) {
        this.sink.addBar({ symbol, intervalMs: MINUTE_MS, start: s, end: s + MINUTE_MS, knowledgeTime: s + MINUTE_MS, open: bar.close, high: bar.close, low: bar.close, close: bar.close, volume: 0 });
      }
    }
  }
}
