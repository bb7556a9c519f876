// Quality checks of recorded market data (DOMAIN.md section 15): gaps (over 2 s between 1 s
// snapshots, or missing bars), zero or negative prices, crossed books, duplicate rows and
// out-of-order timestamps; plus malformed bars and books, and rows known before they happened (a
// bar before its end: look-ahead), that a loader would refuse. They report
// rather than throw, so a whole day can be surveyed in one pass. (The recorded layouts carry no
// exchange sequence numbers, so sequence gaps show up as time gaps.)

import type { EpochMs } from "../core/clock.js";
import { isoUtc } from "../core/iso-utc.js";
import { MarketDataStore, type MarketDataRowType } from "./market-data-store.js";
import { listRecordedFiles, readRecordedFile, type RecordedFileType, type Sourced } from "./recorded-files.js";
import type { Bar, BidAskQuote, L2Snapshot } from "./types.js";

export type QualityCheck = "gap" | "non_positive_price" | "crossed_book" | "bad_book" | "bad_bar" | "duplicate" | "out_of_order" | "look_ahead";

export interface QualityIssue {
  check: QualityCheck;
  type: MarketDataRowType;
  symbol: string;
  /** Exchange time of the row at fault (a bar's start). */
  time: EpochMs;
  message: string;
  /** `file:line` when the row came from a file. */
  source?: string;
}

export interface QualityRows {
  bars?: readonly Sourced<Bar>[];
  bidAsk?: readonly Sourced<BidAskQuote>[];
  l2?: readonly Sourced<L2Snapshot>[];
}

export interface QualityOptions {
  /** Largest allowed step between snapshots of one symbol (seed 004: 2 s for 1 s snapshots). */
  maxSnapshotGapMs?: number;
  /** Stop after this many issues (a broken file would otherwise list every row). */
  maxIssues?: number;
}

interface Row {
  symbol: string;
  et: EpochMs;
  kt: EpochMs;
  source?: string;
  /** Content compared to tell an exact duplicate from a conflicting one. */
  key: () => string;
}

/** Runs every check on a store's rows or on rows as read from files; issues in input order per series. */
export function checkMarketDataQuality(input: MarketDataStore | QualityRows, opts: QualityOptions = {}): QualityIssue[] {
  const rows: QualityRows = input instanceof MarketDataStore ? storeRows(input) : input;
  const maxGap = opts.maxSnapshotGapMs ?? 2_000;
  const max = opts.maxIssues ?? 10_000;
  const issues: QualityIssue[] = [];
  const report = (check: QualityCheck, type: MarketDataRowType, r: { symbol: string; source?: string }, time: EpochMs, message: string): void => {
    if (issues.length >= max) return;
    const issue: QualityIssue = { check, type, symbol: r.symbol, time, message };
    if (r.source !== undefined) issue.source = r.source;
    issues.push(issue);
  };

  for (const b of rows.bars ?? []) {
    for (const [name, p] of [["open", b.open], ["high", b.high], ["low", b.low], ["close", b.close]] as const) {
      if (!(p > 0)) report("non_positive_price", "ohlcv", b, b.start, `${name} ${p} is zero or negative`);
    }
    if (b.high < Math.max(b.open, b.close, b.low) || b.low > Math.min(b.open, b.close)) report("bad_bar", "ohlcv", b, b.start, `high ${b.high} / low ${b.low} do not contain open ${b.open} and close ${b.close}`);
    if (!(b.volume >= 0)) report("bad_bar", "ohlcv", b, b.start, `volume ${b.volume} is negative`);
    if (b.knowledgeTime < b.end) report("look_ahead", "ohlcv", b, b.start, `known at ${isoUtc(b.knowledgeTime)}, before the bar's end ${isoUtc(b.end)}`);
  }
  for (const q of rows.bidAsk ?? []) {
    if (!(q.bid > 0) || !(q.ask > 0)) report("non_positive_price", "bid_ask", q, q.exchangeTime, `bid ${q.bid} / ask ${q.ask}: zero or negative price`);
    else if (q.bid >= q.ask) report("crossed_book", "bid_ask", q, q.exchangeTime, `bid ${q.bid} is at or above ask ${q.ask}`);
    if (!(q.bidSize >= 0) || !(q.askSize >= 0)) report("bad_book", "bid_ask", q, q.exchangeTime, `negative size (bid ${q.bidSize}, ask ${q.askSize})`);
    if (q.knowledgeTime < q.exchangeTime) report("look_ahead", "bid_ask", q, q.exchangeTime, `known at ${isoUtc(q.knowledgeTime)}, before its own time ${isoUtc(q.exchangeTime)}`);
  }
  for (const s of rows.l2 ?? []) {
    checkBook(s, (check, message) => report(check, "l2", s, s.exchangeTime, message));
    if (s.knowledgeTime < s.exchangeTime) report("look_ahead", "l2", s, s.exchangeTime, `known at ${isoUtc(s.knowledgeTime)}, before its own time ${isoUtc(s.exchangeTime)}`);
  }

  const series = <T extends { symbol: string; source?: string }>(list: readonly T[], key: (r: T) => string, et: (r: T) => number, kt: (r: T) => number): Map<string, Row[]> => {
    const out = new Map<string, Row[]>();
    for (const r of list) {
      const k = key(r);
      let s = out.get(k);
      if (s === undefined) {
        s = [];
        out.set(k, s);
      }
      const row: Row = { symbol: r.symbol, et: et(r), kt: kt(r), key: () => JSON.stringify(r, (name, v: unknown) => (name === "source" || name === "knowledgeTime" ? undefined : v)) };
      if (r.source !== undefined) row.source = r.source;
      s.push(row);
    }
    return out;
  };
  const barSeries = series(rows.bars ?? [], (b) => `${b.symbol}\u0000${b.intervalMs}`, (b) => b.start, (b) => b.knowledgeTime);
  for (const [k, list] of barSeries) {
    const interval = Number(k.split("\u0000")[1]);
    checkSeries(list, "ohlcv", report, (prev, cur) => {
      if (cur.et - prev.et > interval) {
        const missing = Math.round((cur.et - prev.et) / interval) - 1;
        return `${missing} bar${missing === 1 ? "" : "s"} missing between ${isoUtc(prev.et)} and ${isoUtc(cur.et)}`;
      }
      return undefined;
    });
  }
  const gap = (prev: Row, cur: Row): string | undefined =>
    cur.et - prev.et > maxGap ? `${((cur.et - prev.et) / 1000).toFixed(3)} s without a snapshot after ${isoUtc(prev.et)} (more than ${maxGap / 1000} s)` : undefined;
  for (const list of series(rows.bidAsk ?? [], (q) => q.symbol, (q) => q.exchangeTime, (q) => q.knowledgeTime).values()) checkSeries(list, "bid_ask", report, gap);
  for (const list of series(rows.l2 ?? [], (s) => s.symbol, (s) => s.exchangeTime, (s) => s.knowledgeTime).values()) checkSeries(list, "l2", report, gap);
  return issues;
}

function checkBook(s: L2Snapshot, report: (check: QualityCheck, message: string) => void): void {
  for (const [side, levels] of [["bid", s.bids], ["ask", s.asks]] as const) {
    levels.forEach(([p, q], i) => {
      if (!(p > 0)) report("non_positive_price", `${side} level ${i + 1}: price ${p} is zero or negative`);
      if (!(q > 0)) report("bad_book", `${side} level ${i + 1}: quantity ${q} is zero or negative`);
      const prev = levels[i - 1];
      if (prev !== undefined && (side === "bid" ? p >= prev[0] : p <= prev[0])) report("bad_book", `${side} level ${i + 1} at ${p} is not ${side === "bid" ? "below" : "above"} level ${i} at ${prev[0]}`);
    });
  }
  const bid = s.bids[0];
  const ask = s.asks[0];
  if (bid !== undefined && ask !== undefined && bid[0] > 0 && ask[0] > 0 && bid[0] >= ask[0]) report("crossed_book", `best bid ${bid[0]} is at or above best ask ${ask[0]}`);
}

/** Order, duplicates and gaps within one series (one symbol, one type, one bar interval). */
function checkSeries(
  list: readonly Row[],
  type: MarketDataRowType,
  report: (check: QualityCheck, type: MarketDataRowType, r: Row, time: EpochMs, message: string) => void,
  gapMessage: (prev: Row, cur: Row) => string | undefined,
): void {
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1] as Row;
    const cur = list[i] as Row;
    if (cur.et < prev.et) report("out_of_order", type, cur, cur.et, `timestamp ${isoUtc(cur.et)} comes after ${isoUtc(prev.et)}`);
    else if (cur.kt < prev.kt) report("out_of_order", type, cur, cur.et, `knowledge time ${isoUtc(cur.kt)} comes after ${isoUtc(prev.kt)}`);
  }
  // Duplicates by time whatever the order: sort a copy (stable, so the first seen is the original).
  const sorted = [...list].sort((a, b) => a.et - b.et);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as Row;
    const cur = sorted[i] as Row;
    if (cur.et === prev.et) {
      const same = cur.key() === prev.key();
      report("duplicate", type, cur, cur.et, same ? `duplicate of the row at ${isoUtc(cur.et)}${prev.source === undefined ? "" : ` (${prev.source})`}` : `a second, different row for ${isoUtc(cur.et)}${prev.source === undefined ? "" : ` (first: ${prev.source})`}`);
      continue;
    }
    const msg = gapMessage(prev, cur);
    if (msg !== undefined) report("gap", type, cur, cur.et, msg);
  }
}

function storeRows(store: MarketDataStore): QualityRows {
  const bars: Bar[] = [];
  const bidAsk: BidAskQuote[] = [];
  const l2: L2Snapshot[] = [];
  for (const s of store.symbols) {
    for (const ms of store.barIntervals(s)) bars.push(...store.allBars(s, ms));
    bidAsk.push(...store.allBidAsk(s));
    l2.push(...store.allL2(s));
  }
  return { bars, bidAsk, l2 };
}

export interface CheckRecordedOptions extends QualityOptions {
  fromMs: EpochMs;
  toMs: EpochMs;
  symbols?: readonly string[];
  types?: readonly RecordedFileType[];
}

/**
 * Reads the recorded files of a range without refusing bad rows and runs every check; issues name
 * `file:line`. Rows that cannot be read at all (not a number, a missing column) still throw.
 */
export async function checkRecordedMarketData(dir: string, opts: CheckRecordedOptions): Promise<QualityIssue[]> {
  const rows: Required<QualityRows> = { bars: [], bidAsk: [], l2: [] };
  const symbols = opts.symbols === undefined ? undefined : new Set(opts.symbols);
  for (const f of listRecordedFiles(dir, opts)) {
    await readRecordedFile(
      f.path,
      (r) => {
        if (r.type === "ohlcv") (rows.bars as Sourced<Bar>[]).push(r.row);
        else if (r.type === "bid_ask") (rows.bidAsk as Sourced<BidAskQuote>[]).push(r.row);
        else (rows.l2 as Sourced<L2Snapshot>[]).push(r.row);
      },
      { validate: false, withSource: true, fromMs: opts.fromMs, toMs: opts.toMs, ...(symbols === undefined ? {} : { symbols }) },
    );
  }
  return checkMarketDataQuality(rows, opts);
}
