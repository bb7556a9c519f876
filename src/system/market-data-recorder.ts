// Writes the market data a run saw into its system log (`market_data/`, in the recorded-file
// layouts of DOMAIN.md section 15) so the run can be reconciled and replayed: every 1-minute bar,
// bid/ask thinned to one row per execution wave (what child orders were priced from), and L2
// snapshots at bar times when the model reads them. Plus `markets.json`, the precision and limits
// a replay needs. Recorded per bar, from the store, so a killed run keeps every finished bar.

import { join } from "node:path";
import type { MarketDataStore } from "../marketdata/market-data-store.js";
import { RecordedMarketDataWriter } from "../marketdata/recorded-files.js";
import { MINUTE_MS } from "../marketdata/types.js";
import type { CcxtMarket } from "../oms/ccxt-types.js";
import { writeJsonAtomic } from "../storage/jsonl.js";
import { MARKETS_FILE } from "./trading-setup.js";

export interface RecorderOptions {
  bidAskEveryMs: number;
  l2: boolean;
}

export class MarketDataRecorder {
  private readonly writer: RecordedMarketDataWriter;
  private last: number | undefined;
  /**
   * Per symbol, the exchange time from which bid/ask rows are still to be recorded: the end of the
   * bucket of the last row recorded. A cursor on the rows rather than on the recording times,
   * because a quote stamped exactly at a recording time can reach the store just after that
   * recording (the feed's timer at the same instant fires later); a time window would skip it.
   */
  private readonly bidAskFrom = new Map<string, number>();

  constructor(
    dir: string,
    private readonly store: MarketDataStore,
    private readonly symbols: readonly string[],
    markets: Record<string, CcxtMarket>,
    private readonly opts: RecorderOptions,
  ) {
    this.writer = new RecordedMarketDataWriter(dir);
    const listed: Record<string, CcxtMarket> = {};
    for (const s of symbols) if (markets[s] !== undefined) listed[s] = markets[s];
    writeJsonAtomic(join(dir, MARKETS_FILE), listed);
  }

  /**
   * A resumed run's recording goes on after what the interrupted process recorded: data known at
   * or before `t` is in the files already (and a restarted feed may serve older rows again).
   */
  resumeAfter(t: number): void {
    this.last = t;
    // Whether a quote stamped exactly at t made it into the files is not known: start after it.
    for (const s of this.symbols) this.bidAskFrom.set(s, t + 1);
  }

  /**
   * Records what became known in (previous call, t], and bid/ask rows not recorded yet. The first
   * call records the warm-up window.
   */
  recordUpTo(t: number): void {
    const from = this.last ?? -Infinity;
    for (const s of this.symbols) {
      for (const b of this.store.bars(s, MINUTE_MS, Number.isFinite(from) ? from - 2 * MINUTE_MS : 0, t)) {
        if (b.knowledgeTime > from) this.writer.addBar(b);
      }
      const every = this.opts.bidAskEveryMs;
      const quotes = this.store.bidAskFirstPerBucket(s, this.bidAskFrom.get(s) ?? 0, t, every);
      for (const q of quotes) this.writer.addBidAsk(q);
      const lastQuote = quotes[quotes.length - 1];
      if (lastQuote !== undefined) this.bidAskFrom.set(s, Math.floor(lastQuote.exchangeTime / every) * every + every);
      if (this.opts.l2) {
        const snap = this.store.latestL2(s, t);
        if (snap !== undefined && snap.knowledgeTime > from) this.writer.addL2(snap);
      }
    }
    this.writer.flush();
    this.last = t;
  }

  close(): void {
    this.writer.close();
  }
}
