// A replay (data.source files) must run on data that covers its session. Loading keeps only the
// rows inside the run's window, silently, and the universe is whatever symbols were loaded: over a
// recording of another day, one that stopped early, or one in the wrong time unit, a run used to
// complete with no symbol, no trade, PnL 0 and no warning. This check refuses such a run up front.

import { isoUtc } from "../core/iso-utc.js";
import type { MarketDataStore } from "../marketdata/market-data-store.js";
import { listRecordedFiles, MarketDataFileError, readRecordedFile } from "../marketdata/recorded-files.js";

export interface ReplaySession {
  startMs: number;
  endMs: number;
  barMs: number;
}

/** Shown at most, so a wrong day over 100 symbols stays a readable error. */
const MAX_LISTED = 5;

/**
 * Every symbol of the replay's markets must have bars from the session's first bar to its last
 * (to within a bar: a recording ends with the bar that closes at the session end, or just before)
 * and at least one bid/ask quote in the session (the instant-fill broker fills at its mid).
 * Throws naming the data dir, the session window and what the files hold.
 */
export async function checkReplayCoverage(dir: string, store: MarketDataStore, symbols: readonly string[], session: ReplaySession): Promise<void> {
  const problems: string[] = [];
  for (const symbol of symbols) {
    const problem = symbolProblem(store, symbol, session);
    if (problem !== undefined) problems.push(`${symbol} ${problem}`);
  }
  if (problems.length === 0) return;
  const listed = problems.slice(0, MAX_LISTED).join("; ") + (problems.length > MAX_LISTED ? `; and ${problems.length - MAX_LISTED} more symbols` : "");
  throw new MarketDataFileError(dir, undefined, undefined, undefined, `the recorded market data does not cover the session ${isoUtc(session.startMs)} .. ${isoUtc(session.endMs)}: ${listed}. ${await describeBars(dir)}`);
}

function symbolProblem(store: MarketDataStore, symbol: string, session: ReplaySession): string | undefined {
  const interval = store.barIntervals(symbol)[0];
  let first: number | undefined;
  let last: number | undefined;
  if (interval !== undefined) {
    store.eachBarClose(symbol, interval, session.startMs, Infinity, (end) => {
      first ??= end - interval;
      last = end;
    });
  }
  if (first === undefined || last === undefined) return "has no bars in it";
  if (first >= session.startMs + session.barMs) return `has bars only from ${isoUtc(first)}`;
  if (last < session.endMs - session.barMs) return `has bars only up to ${isoUtc(last)}`;
  const quote = store.latestBidAsk(symbol, Infinity);
  if (quote === undefined || quote.exchangeTime < session.startMs) return "has no bid/ask quote in it";
  return undefined;
}

/** What the ohlcv files under `dir` hold, whatever their day: read again, on the error path only. */
async function describeBars(dir: string): Promise<string> {
  const files = listRecordedFiles(dir, { fromMs: -Infinity, toMs: Infinity, types: ["ohlcv"] });
  if (files.length === 0) return `There is no ohlcv file under ${dir}/ohlcv.`;
  let from = Infinity;
  let to = -Infinity;
  const symbols = new Set<string>();
  for (const f of files) {
    await readRecordedFile(
      f.path,
      (r) => {
        if (r.type !== "ohlcv") return;
        from = Math.min(from, r.row.start);
        to = Math.max(to, r.row.end);
        symbols.add(r.row.symbol);
      },
      { validate: false },
    );
  }
  const names = files.map((f) => f.path.split(/[\\/]/).pop() ?? f.path).join(", ");
  if (symbols.size === 0) return `The ohlcv files (${names}) hold no bars.`;
  return `The ohlcv files (${names}) hold bars of ${symbols.size} symbols from ${isoUtc(from)} to ${isoUtc(to)}.`;
}
