import type { BidAskRow, BidAskSeries } from "../../src/marketdata/bid-ask-series.js";

/** A bid/ask series read back as rows, to compare a feed's columns with its rows. */
export function seriesRows(s: BidAskSeries): BidAskRow[] {
  return Array.from({ length: s.length }, (_, i) => ({ timestamp: s.timestamps[i] as number, bid: s.bids[i] as number, ask: s.asks[i] as number }));
}
