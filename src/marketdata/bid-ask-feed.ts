// Level-1 bid/ask history the broker reads to price child orders. The embedded-venue sampler
// records the top of the book at a fixed interval on the clock; rows carry their knowledge time.

import type { Clock } from "../core/clock.js";
import type { ExchangeEngine } from "../exchange/engine.js";
import { NO_PRICE } from "../exchange/order-book.js";
import type { BidAskRow } from "../oms/limit-price.js";

export interface BidAskFeed {
  /** Rows of `symbol` with knowledge time in (from, to], oldest first. */
  rows(symbol: string, fromMs: number, toMs: number): BidAskRow[];
}

export class VenueBidAskSampler implements BidAskFeed {
  private readonly history = new Map<string, BidAskRow[]>();
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
      if (engine.instrument(s) === undefined) throw new RangeError(`bid/ask sampler: unknown symbol ${s}`);
      this.history.set(s, []);
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
    for (const s of this.symbols) {
      const inst = this.engine.instrument(s);
      if (inst === undefined) continue;
      const book = this.engine.book(inst.index);
      const bid = book.bestBid();
      const ask = book.bestAsk();
      if (bid === NO_PRICE || ask === NO_PRICE) continue;
      const rows = this.history.get(s) as BidAskRow[];
      rows.push({ timestamp: now, bid: Number(inst.formatPrice(bid)), ask: Number(inst.formatPrice(ask)) });
      if (rows.length > 64 && (rows[0] as BidAskRow).timestamp < now - this.keepMs) {
        const cut = rows.findIndex((r) => r.timestamp >= now - this.keepMs);
        rows.splice(0, cut < 0 ? rows.length : cut);
      }
    }
  }

  rows(symbol: string, fromMs: number, toMs: number): BidAskRow[] {
    const rows = this.history.get(symbol) ?? [];
    return rows.filter((r) => r.timestamp > fromMs && r.timestamp <= toMs);
  }
}
