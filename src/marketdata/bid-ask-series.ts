// Bid/ask quotes of one symbol over a window, as the broker reads them to price child orders: rows
// for callers that want objects, columns (BidAskSeries) for the per-wave hot path. Feeds write the
// columns; rows are made from them.

export interface BidAskRow {
  /** Knowledge time of the quote, epoch ms. */
  timestamp: number;
  bid: number;
  ask: number;
}

/**
 * Bid/ask rows of one symbol over a window, oldest first, as columns. The broker reads a minute of
 * quotes per symbol per wave; as objects that was millions of rows a day, a tenth of all a TWAP day
 * allocated, so a feed writes them into a BidAskBuffer the broker reuses.
 */
export interface BidAskSeries {
  readonly length: number;
  /** Knowledge times, epoch ms (BidAskRow.timestamp). */
  readonly timestamps: ArrayLike<number>;
  readonly bids: ArrayLike<number>;
  readonly asks: ArrayLike<number>;
}

/** A BidAskSeries to be filled (and refilled): columns that grow as needed. */
export class BidAskBuffer implements BidAskSeries {
  length = 0;
  timestamps = new Float64Array(64);
  bids = new Float64Array(64);
  asks = new Float64Array(64);

  /** Empties the buffer and makes room for `n` rows. */
  reset(n: number): this {
    if (n > this.timestamps.length) {
      const cap = Math.max(n, this.timestamps.length * 2);
      this.timestamps = new Float64Array(cap);
      this.bids = new Float64Array(cap);
      this.asks = new Float64Array(cap);
    }
    this.length = 0;
    return this;
  }

  /** Appends a row; call reset with enough room first. */
  push(timestamp: number, bid: number, ask: number): void {
    const i = this.length++;
    this.timestamps[i] = timestamp;
    this.bids[i] = bid;
    this.asks[i] = ask;
  }

  /** Refills the buffer with `rows`. */
  setRows(rows: readonly BidAskRow[]): this {
    this.reset(rows.length);
    for (const r of rows) this.push(r.timestamp, r.bid, r.ask);
    return this;
  }
}

/** Rows as a series (for callers that have rows: tests, small feeds). */
export function bidAskSeriesOf(rows: readonly BidAskRow[]): BidAskSeries {
  return new BidAskBuffer().setRows(rows);
}

/** A series as rows, oldest first. */
export function rowsOf(series: BidAskSeries): BidAskRow[] {
  const out: BidAskRow[] = [];
  for (let i = 0; i < series.length; i++) out.push({ timestamp: series.timestamps[i] as number, bid: series.bids[i] as number, ask: series.asks[i] as number });
  return out;
}
