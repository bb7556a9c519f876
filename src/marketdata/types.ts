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

export const SECOND_MS = 1_000;
/** Levels per side kept in L2 snapshots and written to L2 files (seed 004: top 5). */
export const L2_LEVELS = 5;

/**
 * Where rows go as they are produced: the in-memory store and the file writer both take them, so a
 * feed or the synthetic generator fills either or both without knowing which.
 */
export interface MarketDataSink {
  addBar(bar: Bar): void;
  addBidAsk(quote: BidAskQuote): void;
  addL2(snapshot: L2Snapshot): void;
}

/**
 * Market data bound to a clock: every method answers as of `now()`, so a caller can only ask how
 * far back to look, never how far forward. Rows known after `now()` are invisible.
 */
export interface MarketDataView {
  readonly symbols: readonly string[];
  now(): EpochMs;
  /** Bars with `start >= now - lookbackMs`, known now, oldest first. */
  bars(symbol: string, intervalMs: number, lookbackMs: number): Bar[];
  /** The newest `count` bars known now, oldest first. */
  lastBars(symbol: string, intervalMs: number, count: number): Bar[];
  /** Bid/ask rows with exchange time in (now - lookbackMs, now], known now, oldest first. */
  bidAsk(symbol: string, lookbackMs: number): BidAskQuote[];
  latestBidAsk(symbol: string): BidAskQuote | undefined;
  /** L2 snapshots with exchange time in (now - lookbackMs, now], known now, oldest first. */
  l2(symbol: string, lookbackMs: number): L2Snapshot[];
  latestL2(symbol: string): L2Snapshot | undefined;
}

/**
 * Order-book imbalance of seed 004: sum of bid quantities / sum of ask quantities over the top
 * `levels` levels. Infinity for an empty ask side, NaN for an empty book.
 */
export function l2Imbalance(snapshot: L2Snapshot, levels = L2_LEVELS): number {
  let bid = 0;
  let ask = 0;
  for (let i = 0; i < levels && i < snapshot.bids.length; i++) bid += (snapshot.bids[i] as [number, number])[1];
  for (let i = 0; i < levels && i < snapshot.asks.length; i++) ask += (snapshot.asks[i] as [number, number])[1];
  return bid / ask;
}
