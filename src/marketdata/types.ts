// The market data a model and the broker see: OHLCV bars, level-1 bid/ask and level-2 top-of-book
// snapshots. Every row carries two times: when it happened on the exchange (`exchangeTime`, or a
// bar's start/end) and when this system knew it (`knowledgeTime`). Readers only ever see rows
// whose knowledge time is at or before the clock (DOMAIN.md section 9: no future peeking).

import type { EpochMs } from "../core/clock.js";

export const MINUTE_MS = 60_000;

/** One OHLCV bar. `start` is the bar's open time (Binance kline convention); it closes at `end`. */
export interface Bar {
  symbol: string;
  intervalMs: number;
  start: EpochMs;
  end: EpochMs;
  /** When the bar was known: its end at the earliest, later when it arrived late. */
  knowledgeTime: EpochMs;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface BidAskQuote {
  symbol: string;
  exchangeTime: EpochMs;
  knowledgeTime: EpochMs;
  bid: number;
  bidSize: number;
  ask: number;
  askSize: number;
}

/** Top levels of the book (5 by default), best first: [price, quantity]. */
export interface L2Snapshot {
  symbol: string;
  exchangeTime: EpochMs;
  knowledgeTime: EpochMs;
  bids: [number, number][];
  asks: [number, number][];
}

/**
 * Read access to market data as of a moment. `asOf` is a knowledge-time bound: a row is returned
 * only if `knowledgeTime <= asOf`. Implementations are the in-memory store filled by a live feed,
 * by recorded files, or by the synthetic history generator.
 */
export interface MarketDataSource {
  readonly symbols: readonly string[];
  /** Bars of `symbol` and interval with `start >= fromMs`, known at `asOf`, oldest first. */
  bars(symbol: string, intervalMs: number, fromMs: EpochMs, asOf: EpochMs): Bar[];
  /** Bid/ask rows with exchange time in (fromMs, asOf], known at `asOf`, oldest first. */
  bidAsk(symbol: string, fromMs: EpochMs, asOf: EpochMs): BidAskQuote[];
  /** The newest L2 snapshot known at `asOf`. */
  latestL2(symbol: string, asOf: EpochMs): L2Snapshot | undefined;
}
