// Recorded market data on disk (DOMAIN.md section 15): one file per row type per UTC day under a
// directory, `<dir>/<type>/<type>_YYYYMMDD.<csv|csv.gz|parquet>`, with type `ohlcv`, `l2` or
// `bid_ask`. Here: the column layouts, the append-friendly writer, the validating reader and the
// loader that fills a MarketDataStore for a time range.
//
// Choices, fixed here for every file this project writes:
// - A row goes to the file of the UTC day of its `timestamp` column: the exchange time, which for
//   a bar is its open time. So a file holds exactly the rows whose timestamp is on its day, and the
//   23:59 bar, known at midnight, is appended to the day it opened in.
// - Timestamps are written as ISO-8601 UTC with milliseconds (`2024-01-30T00:00:00.000Z`): readable
//   and unambiguous. The reader also takes epoch-millisecond integers (the seed's recorder wrote
//   those; an integer below 1e11 is refused as epoch seconds) and ISO forms with an offset or a
//   space separator.
// - Every row also has `knowledge_timestamp`, the local arrival time. A file without that column
//   (a recording from elsewhere) reads as known at the bar's end, or at the snapshot's own time.
// - Prices and quantities are written as JavaScript's shortest round-trip decimal, so a number
//   read back is the identical double.
// - L2 levels that a thin book does not have are empty cells (Parquet nulls).
// - CSV is appended in complete lines (gzip: one complete gzip member per flush), so a killed run
//   leaves every flushed row readable; a torn last line is skipped with a warning on read. Parquet
//   cannot be appended to: a day's file is (re)written whole and atomically, on `flush()`, at close,
//   and when the writer moves on to the next day.

import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, renameSync, statSync, truncateSync, writeFileSync, writeSync, fstatSync } from "node:fs";
import { join } from "node:path";
import { Transform, type TransformCallback } from "node:stream";
import { constants as zlibConstants, createGunzip, gunzipSync, gzipSync } from "node:zlib";
// papaparse rather than csv-parse: both are well kept, but on this machine papaparse's streaming
// parser read a 24-column L2 file at ~1.5 us a row against ~14 us for csv-parse, and a day of L2
// snapshots for 20 symbols is 1.7 M rows. Its row cursor lets us name lines in errors.
import Papa from "papaparse";
import type { EpochMs } from "../core/clock.js";
import { isoUtc } from "../core/iso-utc.js";
import { parseTimestamp, TimestampError, toEpochMs } from "../core/timestamp.js";
import { readParquetTable, writeParquetTable, type ParquetCell, type ParquetColumn } from "../storage/parquet-table.js";
import { MarketDataOrderError, MarketDataStore, type MarketDataRowType } from "./market-data-store.js";
import { L2_LEVELS, type Bar, type BidAskQuote, type L2Snapshot, type MarketDataSink } from "./types.js";

export type RecordedFileType = MarketDataRowType;
export type RecordedFormat = "csv" | "csv.gz" | "parquet";

export const RECORDED_FILE_TYPES: readonly RecordedFileType[] = ["ohlcv", "l2", "bid_ask"];
const FORMATS: readonly RecordedFormat[] = ["csv", "csv.gz", "parquet"];
const DAY_MS = 86_400_000;

/** Bad recorded data: names the file, the line (Parquet: the row) and the column at fault. */
export class MarketDataFileError extends Error {
  override readonly name = "MarketDataFileError";
  constructor(
    readonly file: string,
    readonly line: number | undefined,
    readonly column: number | undefined,
    readonly columnName: string | undefined,
    readonly problem: string,
    lineWord = "line",
  ) {
    const where = line === undefined ? file : lineWord === "line" ? `${file}:${line}` : `${file}: ${lineWord} ${line}`;
    const col = column === undefined ? "" : ` column ${column}${columnName === undefined ? "" : ` (${columnName})`}:`;
    super(`${where}:${col} ${problem}`);
  }
}

// ---- names, times, intervals ----

/** `YYYYMMDD` of the UTC day containing `ms`. */
export function utcDay(ms: EpochMs): string {
  const iso = new Date(ms).toISOString();
  return iso.slice(0, 4) + iso.slice(5, 7) + iso.slice(8, 10);
}

function dayStartOf(day: string): EpochMs {
  return Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
}

/** `<dir>/<type>/<type>_YYYYMMDD.<ext>` for the UTC day containing `ms`. */
export function recordedFilePath(dir: string, type: RecordedFileType, ms: EpochMs, format: RecordedFormat): string {
  return join(dir, type, `${type}_${utcDay(ms)}.${format}`);
}

/** Epoch ms from an ISO-8601 timestamp (UTC unless it carries an offset) or an integer of epoch ms. */
export function parseRecordedTime(text: string): EpochMs | undefined {
  // A file's rows come grouped by time (every symbol at one instant, then the next), and each has
  // its time and knowledge time: the texts just parsed are nearly always the next ones.
  for (let i = 0; i < RECENT_TIMES; i++) if (recentTimeText[i] === text) return recentTimeMs[i];
  const ms = parseTimeText(text);
  if (ms !== undefined) {
    recentTimeText[nextRecentTime] = text;
    recentTimeMs[nextRecentTime] = ms;
    nextRecentTime = (nextRecentTime + 1) % RECENT_TIMES;
  }
  return ms;
}

const RECENT_TIMES = 4;
const recentTimeText: (string | undefined)[] = new Array<string | undefined>(RECENT_TIMES).fill(undefined);
const recentTimeMs = new Float64Array(RECENT_TIMES);
let nextRecentTime = 0;

function parseTimeText(text: string): EpochMs | undefined {
  if (/^-?\d+$/.test(text)) {
    const n = Number(text);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  try {
    return toEpochMs(parseTimestamp(text));
  } catch (e) {
    if (e instanceof TimestampError) return undefined;
    throw e;
  }
}

/** `1m`, `5m`, `1h`, `1d`, `30s` (and `250ms` for what fits no larger unit). */
export function formatInterval(ms: number): string {
  if (ms % DAY_MS === 0) return `${ms / DAY_MS}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

const INTERVAL_UNIT: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: DAY_MS };

export function parseInterval(text: string): number | undefined {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (m === null) return undefined;
  const ms = Number(m[1]) * (INTERVAL_UNIT[m[2] as string] as number);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

// ---- column layouts ----

export const OHLCV_COLUMNS = ["timestamp", "symbol", "interval", "open", "high", "low", "close", "volume", "knowledge_timestamp"] as const;
export const BID_ASK_COLUMNS = ["timestamp", "symbol", "bid_price", "bid_qty", "ask_price", "ask_qty", "knowledge_timestamp"] as const;

/** `timestamp,symbol,bid_price_1,bid_qty_1,...,bid_qty_N,ask_price_1,...,ask_qty_N,knowledge_timestamp`. */
export function l2Columns(levels = L2_LEVELS): string[] {
  const cols = ["timestamp", "symbol"];
  for (const side of ["bid", "ask"]) for (let i = 1; i <= levels; i++) cols.push(`${side}_price_${i}`, `${side}_qty_${i}`);
  cols.push("knowledge_timestamp");
  return cols;
}

export function columnsOf(type: RecordedFileType, l2Levels = L2_LEVELS): readonly string[] {
  return type === "ohlcv" ? OHLCV_COLUMNS : type === "bid_ask" ? BID_ASK_COLUMNS : l2Columns(l2Levels);
}

/** RFC 4180 quoting, needed only for the symbol: numbers and ISO times never contain , " or newlines. */
function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// Lines are formatted here rather than through a CSV writer: every field but the symbol is a
// number or an ISO time, and the symbol is quoted by csvField. (Papa.unparse measured ~6 us a row.)
function barLine(b: Bar): string {
  return `${isoUtc(b.start)},${csvField(b.symbol)},${formatInterval(b.intervalMs)},${b.open},${b.high},${b.low},${b.close},${b.volume},${isoUtc(b.knowledgeTime)}\n`;
}

function bidAskLine(q: BidAskQuote): string {
  return `${isoUtc(q.exchangeTime)},${csvField(q.symbol)},${q.bid},${q.bidSize},${q.ask},${q.askSize},${isoUtc(q.knowledgeTime)}\n`;
}

function l2Line(s: L2Snapshot, levels: number): string {
  let line = `${isoUtc(s.exchangeTime)},${csvField(s.symbol)}`;
  for (const side of [s.bids, s.asks]) {
    for (let i = 0; i < levels; i++) {
      const lv = side[i];
      line += lv === undefined ? ",," : `,${lv[0]},${lv[1]}`;
    }
  }
  return `${line},${isoUtc(s.knowledgeTime)}\n`;
}

// ---- writer ----

export interface RecordedWriterOptions {
  format?: RecordedFormat;
  /** L2 levels per side written (deeper levels of a snapshot are left out). */
  l2Levels?: number;
  /** CSV: buffered text is appended once it reaches this many characters (and on flush / close). */
  flushChars?: number;
}

interface PendingText {
  path: string;
  type: RecordedFileType;
  text: string[];
}

type ParquetDay = { day: string; path: string; bars: Bar[]; bidAsk: BidAskQuote[]; l2: L2Snapshot[] };

/**
 * Appends rows to the day files of `dir` as a run goes. Rows of one type may go to an older day
 * (a bar known after midnight opened the day before): CSV appends there; Parquet keeps the
 * previous day open until a row two days later arrives. Synchronous, so timer callbacks on a
 * simulated clock can record without awaiting.
 */
export class RecordedMarketDataWriter implements MarketDataSink {
  readonly format: RecordedFormat;
  private readonly l2Levels: number;
  private readonly flushChars: number;
  private readonly pending = new Map<string, PendingText>();
  /**
   * Per row type, the day file rows went to last and its pending text: rows come day after day, so
   * the path lookup (a key, two map reads) is skipped for all but a day's first row of a type.
   */
  private readonly lastDay = new Map<RecordedFileType, { dayIndex: number; pending: PendingText }>();
  private pendingChars = 0;
  /** Files whose header this writer has checked or written. */
  private readonly opened = new Set<string>();
  /** Append descriptors of the CSV files, kept open: an open, write and close per file per bar cost ~40 us each. */
  private readonly fds = new Map<string, number>();
  private readonly parquetDays = new Map<RecordedFileType, ParquetDay[]>();
  private readonly parquetDone = new Set<string>();
  private closed = false;

  constructor(
    readonly dir: string,
    opts: RecordedWriterOptions = {},
  ) {
    this.format = opts.format ?? "csv";
    if (!FORMATS.includes(this.format)) throw new RangeError(`recorded writer: format must be one of ${FORMATS.join(", ")}, got ${String(this.format)}`);
    this.l2Levels = opts.l2Levels ?? L2_LEVELS;
    this.flushChars = opts.flushChars ?? 1 << 20;
  }

  /** Every file this writer has written to so far. */
  get files(): string[] {
    return [...this.opened, ...this.parquetDone].filter((p, i, a) => a.indexOf(p) === i).sort();
  }

  addBar(bar: Bar): void {
    if (this.format === "parquet") this.parquetDay("ohlcv", bar.start).bars.push(bar);
    else this.append("ohlcv", bar.start, barLine(bar));
  }

  addBidAsk(q: BidAskQuote): void {
    if (this.format === "parquet") this.parquetDay("bid_ask", q.exchangeTime).bidAsk.push(q);
    else this.append("bid_ask", q.exchangeTime, bidAskLine(q));
  }

  addL2(s: L2Snapshot): void {
    if (this.format === "parquet") this.parquetDay("l2", s.exchangeTime).l2.push(s);
    else this.append("l2", s.exchangeTime, l2Line(s, this.l2Levels));
  }

  /** Writes everything buffered: CSV appends complete lines; Parquet rewrites its open days. */
  flush(): void {
    if (this.format === "parquet") {
      for (const [type, days] of this.parquetDays) for (const d of days) this.writeParquetDay(type, d);
      return;
    }
    for (const p of this.pending.values()) {
      if (p.text.length === 0) continue;
      let text = p.text.join("");
      p.text.length = 0;
      if (!this.opened.has(p.path)) text = this.open(p.path, p.type) + text;
      let fd = this.fds.get(p.path);
      if (fd === undefined) {
        fd = openSync(p.path, "a");
        this.fds.set(p.path, fd);
      }
      if (this.format === "csv.gz") writeSync(fd, gzipSync(text));
      else writeSync(fd, text);
    }
    this.pendingChars = 0;
  }

  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      for (const fd of this.fds.values()) closeSync(fd);
      this.fds.clear();
      this.parquetDays.clear();
      this.closed = true;
    }
  }

  private append(type: RecordedFileType, ms: EpochMs, line: string): void {
    if (this.closed) throw new Error(`recorded writer for ${this.dir} is closed`);
    const dayIndex = Math.floor(ms / DAY_MS);
    const last = this.lastDay.get(type);
    let p: PendingText;
    if (last !== undefined && last.dayIndex === dayIndex) p = last.pending;
    else {
      p = this.pendingFor(type, ms);
      this.lastDay.set(type, { dayIndex, pending: p });
    }
    p.text.push(line);
    this.pendingChars += line.length;
    if (this.pendingChars >= this.flushChars) this.flush();
  }

  private pendingFor(type: RecordedFileType, ms: EpochMs): PendingText {
    const path = recordedFilePath(this.dir, type, ms, this.format);
    let p = this.pending.get(path);
    if (p === undefined) {
      p = { path, type, text: [] };
      this.pending.set(path, p);
    }
    return p;
  }

  /**
   * Prepares a file for appending and returns the header to write first ("" when the file already
   * has one). An existing file must have the same header; a torn last line left by a killed run is
   * cut off so the next row does not glue onto it.
   */
  private open(path: string, type: RecordedFileType): string {
    this.opened.add(path);
    const header = columnsOf(type, this.l2Levels).join(",");
    mkdirSync(join(this.dir, type), { recursive: true });
    if (!existsSync(path) || statSync(path).size === 0) return header + "\n";
    const text = this.format === "csv.gz" ? this.repairGzip(path) : this.repairCsv(path);
    const firstLine = text.slice(0, text.indexOf("\n") < 0 ? text.length : text.indexOf("\n")).replace(/\r$/, "");
    if (firstLine !== header) {
      throw new MarketDataFileError(path, 1, undefined, undefined, `existing file has another header ("${firstLine.slice(0, 80)}..."); expected "${header}". Move it away or record into another directory.`);
    }
    return "";
  }

  /** Cuts a torn last line off a plain CSV file; returns its first 64 KiB. */
  private repairCsv(path: string): string {
    const fd = openSync(path, "r");
    try {
      const size = fstatSync(fd).size;
      const head = Buffer.alloc(Math.min(size, 65_536));
      readSync(fd, head, 0, head.length, 0);
      const tail = Buffer.alloc(Math.min(size, 65_536));
      readSync(fd, tail, 0, tail.length, size - tail.length);
      if (tail[tail.length - 1] !== 0x0a) {
        const cut = tail.lastIndexOf(0x0a);
        // No newline in the last 64 KiB is not a torn line but a broken file: leave it to the reader.
        if (cut >= 0) truncateSync(path, size - tail.length + cut + 1);
      }
      return head.toString("utf8");
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A gzip file torn mid-member (killed during a flush) cannot take another member after it:
   * rewrite it atomically as the complete lines it holds. Reads the file once per writer.
   */
  private repairGzip(path: string): string {
    const bytes = readFileSync(path);
    try {
      return gunzipSync(bytes).toString("utf8");
    } catch {
      const text = gunzipSync(bytes, { finishFlush: zlibConstants.Z_SYNC_FLUSH }).toString("utf8");
      const whole = text.slice(0, text.lastIndexOf("\n") + 1);
      const tmp = `${path}.tmp-${process.pid}`;
      writeFileSync(tmp, gzipSync(whole));
      renameSync(tmp, path);
      return whole;
    }
  }

  private parquetDay(type: RecordedFileType, ms: EpochMs): ParquetDay {
    if (this.closed) throw new Error(`recorded writer for ${this.dir} is closed`);
    const day = utcDay(ms);
    let days = this.parquetDays.get(type);
    if (days === undefined) {
      days = [];
      this.parquetDays.set(type, days);
    }
    const last = days[days.length - 1];
    if (last !== undefined && last.day === day) return last;
    const found = days.find((d) => d.day === day);
    if (found !== undefined) return found;
    const path = recordedFilePath(this.dir, type, ms, "parquet");
    if (this.parquetDone.has(path) || existsSync(path)) {
      throw new MarketDataFileError(path, undefined, undefined, undefined, `a ${type} row for ${day} arrived but the Parquet file of that day is already written (Parquet files cannot be appended to; record CSV to resume or to write out of order)`);
    }
    const d: ParquetDay = { day, path, bars: [], bidAsk: [], l2: [] };
    days.push(d);
    days.sort((a, b) => (a.day < b.day ? -1 : 1));
    // A day is final once a row two days later arrives: late bars of the previous day still fit.
    while (days.length > 0 && (days[0] as ParquetDay).day < utcDay(ms - DAY_MS)) {
      const done = days.shift() as ParquetDay;
      this.writeParquetDay(type, done);
    }
    return d;
  }

  private writeParquetDay(type: RecordedFileType, d: ParquetDay): void {
    mkdirSync(join(this.dir, type), { recursive: true });
    writeParquetTable(d.path, parquetColumns(type, d, this.l2Levels));
    this.parquetDone.add(d.path);
  }
}

function parquetColumns(type: RecordedFileType, d: ParquetDay, levels: number): ParquetColumn[] {
  if (type === "ohlcv") {
    const r = d.bars;
    return [
      { name: "timestamp", type: "timestamp_ms", values: r.map((b) => b.start) },
      { name: "symbol", type: "string", values: r.map((b) => b.symbol) },
      { name: "interval", type: "string", values: r.map((b) => formatInterval(b.intervalMs)) },
      { name: "open", type: "double", values: r.map((b) => b.open) },
      { name: "high", type: "double", values: r.map((b) => b.high) },
      { name: "low", type: "double", values: r.map((b) => b.low) },
      { name: "close", type: "double", values: r.map((b) => b.close) },
      { name: "volume", type: "double", values: r.map((b) => b.volume) },
      { name: "knowledge_timestamp", type: "timestamp_ms", values: r.map((b) => b.knowledgeTime) },
    ];
  }
  if (type === "bid_ask") {
    const r = d.bidAsk;
    return [
      { name: "timestamp", type: "timestamp_ms", values: r.map((q) => q.exchangeTime) },
      { name: "symbol", type: "string", values: r.map((q) => q.symbol) },
      { name: "bid_price", type: "double", values: r.map((q) => q.bid) },
      { name: "bid_qty", type: "double", values: r.map((q) => q.bidSize) },
      { name: "ask_price", type: "double", values: r.map((q) => q.ask) },
      { name: "ask_qty", type: "double", values: r.map((q) => q.askSize) },
      { name: "knowledge_timestamp", type: "timestamp_ms", values: r.map((q) => q.knowledgeTime) },
    ];
  }
  const r = d.l2;
  const cols: ParquetColumn[] = [
    { name: "timestamp", type: "timestamp_ms", values: r.map((s) => s.exchangeTime) },
    { name: "symbol", type: "string", values: r.map((s) => s.symbol) },
  ];
  for (const side of ["bid", "ask"] as const) {
    for (let i = 0; i < levels; i++) {
      const lv = (s: L2Snapshot): [number, number] | undefined => (side === "bid" ? s.bids : s.asks)[i];
      cols.push({ name: `${side}_price_${i + 1}`, type: "double", values: r.map((s) => lv(s)?.[0] ?? null) });
      cols.push({ name: `${side}_qty_${i + 1}`, type: "double", values: r.map((s) => lv(s)?.[1] ?? null) });
    }
  }
  cols.push({ name: "knowledge_timestamp", type: "timestamp_ms", values: r.map((s) => s.knowledgeTime) });
  return cols;
}

// ---- reading one file ----

/** Where a row came from, `file:line` (Parquet: `file: row N`), for quality reports. */
export type Sourced<T> = T & { source?: string };

export type RecordedRow = { type: "ohlcv"; row: Sourced<Bar> } | { type: "bid_ask"; row: Sourced<BidAskQuote> } | { type: "l2"; row: Sourced<L2Snapshot> };

export interface ReadRecordedOptions {
  /**
   * true (default): reject semantically bad rows too (zero or negative price, crossed book,
   * unordered levels, high below low). false: only rows that cannot be read at all are errors;
   * the rest is left for checkMarketDataQuality.
   */
  validate?: boolean;
  /** Rows of other symbols are skipped without being decoded. */
  symbols?: ReadonlySet<string>;
  /** Rows whose timestamp is outside [fromMs, toMs) are skipped. */
  fromMs?: EpochMs;
  toMs?: EpochMs;
  /** L2 levels read per side (deeper columns of the file are ignored). */
  l2Levels?: number;
  /** Attach `source` (file:line) to each row. */
  withSource?: boolean;
  onWarning?: (message: string) => void;
}

type Cell = string | number | bigint | null | undefined;

/** Decodes one row of cells; throws CellError naming the column index on bad input. */
type RowDecoder = (cells: readonly Cell[]) => RecordedRow["row"] | undefined;

class CellError extends Error {
  constructor(
    readonly col: number,
    message: string,
  ) {
    super(message);
  }
}

/** The type of a recorded file from its name (`l2_20240130.csv.gz` -> l2, csv.gz, 20240130). */
export function parseRecordedFileName(name: string): { type: RecordedFileType; day: string; format: RecordedFormat } | undefined {
  const m = /^(ohlcv|l2|bid_ask)_(\d{8})\.(csv|csv\.gz|parquet)$/.exec(name);
  if (m === null) return undefined;
  return { type: m[1] as RecordedFileType, day: m[2] as string, format: m[3] as RecordedFormat };
}

/**
 * Streams the rows of one recorded file to `onRow`, validating each. The file's type and format
 * come from its name. Errors are MarketDataFileError with file, line and column.
 */
export async function readRecordedFile(path: string, onRow: (r: RecordedRow) => void, opts: ReadRecordedOptions = {}): Promise<void> {
  const base = path.split(/[\\/]/).pop() ?? path;
  const info = parseRecordedFileName(base);
  if (info === undefined) throw new MarketDataFileError(path, undefined, undefined, undefined, "not a recorded market data file name (expected <ohlcv|l2|bid_ask>_YYYYMMDD.<csv|csv.gz|parquet>)");
  if (info.format === "parquet") await readParquetFile(path, info.type, onRow, opts);
  else await readCsvFile(path, info.type, info.format === "csv.gz", onRow, opts);
}

async function readCsvFile(path: string, type: RecordedFileType, gz: boolean, onRow: (r: RecordedRow) => void, opts: ReadRecordedOptions): Promise<void> {
  const guard = new WholeLines();
  const file = createReadStream(path);
  // Z_SYNC_FLUSH: a gzip member torn by a killed run yields what it holds instead of an error.
  const gunzip = gz ? createGunzip({ finishFlush: zlibConstants.Z_SYNC_FLUSH }) : undefined;
  const stream = (gunzip === undefined ? file : file.pipe(gunzip)).pipe(guard);
  let decode: RowDecoder | undefined;
  let columns: string[] = [];
  let nextLine = 1;
  let failure: unknown;
  await new Promise<void>((resolve, reject) => {
    // A stream error (missing file, corrupt gzip) is reported once, by whichever side sees it.
    const fail = (e: unknown): void => {
      failure ??= e;
      resolve();
    };
    // pipe() does not forward errors: each stage reports its own.
    file.on("error", (e) => fail(new MarketDataFileError(path, undefined, undefined, undefined, `cannot read: ${e.message}`)));
    gunzip?.on("error", (e) => fail(new MarketDataFileError(path, undefined, undefined, undefined, `cannot read gzip data: ${e.message}`)));
    Papa.parse<string[]>(stream, {
      delimiter: ",",
      skipEmptyLines: false,
      step: (res, parser) => {
        const row = res.data;
        const line = nextLine;
        for (const f of row) if (f.includes("\n")) nextLine += f.split("\n").length - 1;
        nextLine++;
        try {
          if (res.errors.length > 0) throw new MarketDataFileError(path, line, undefined, undefined, `not valid CSV: ${res.errors[0]?.message ?? "parse error"}`);
          if (row.length === 1 && row[0] === "") return;
          if (decode === undefined) {
            columns = row.map((c) => c.trim());
            decode = makeDecoder(path, type, columns, opts);
            return;
          }
          if (row.length < columns.length) {
            throw new MarketDataFileError(path, line, row.length + 1, columns[row.length], `missing value: the row has ${row.length} fields, the header ${columns.length}`);
          }
          const r = decode(row);
          if (r === undefined) return;
          if (opts.withSource === true) r.source = `${path}:${line}`;
          onRow({ type, row: r } as RecordedRow);
        } catch (e) {
          parser.abort();
          fail(e instanceof CellError ? new MarketDataFileError(path, line, e.col + 1, columns[e.col], e.message) : rowError(e, path, line));
        }
      },
      complete: () => resolve(),
      error: (e: Error) => reject(new MarketDataFileError(path, undefined, undefined, undefined, `cannot read: ${e.message}`)),
    });
  });
  if (failure !== undefined) {
    file.destroy();
    gunzip?.destroy();
    throw failure;
  }
  if (decode === undefined) throw new MarketDataFileError(path, 1, undefined, undefined, "empty file: no header line");
  if (guard.tornBytes > 0) opts.onWarning?.(`${path}:${nextLine}: last line is incomplete (${guard.tornBytes} bytes, a killed run?); skipped`);
}

/** Errors from appending into the store (out of order) carry the line of the row. */
function rowError(e: unknown, path: string, line: number, lineWord = "line"): unknown {
  if (e instanceof MarketDataFileError) return e;
  if (e instanceof MarketDataOrderError || e instanceof RangeError) return new MarketDataFileError(path, line, undefined, undefined, e.message, lineWord);
  return e;
}

/**
 * Passes on only complete lines: a last line without its newline (a write torn by a killed run)
 * is held back and counted instead of being read as a short row.
 */
class WholeLines extends Transform {
  private rest: Buffer = Buffer.alloc(0);
  tornBytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const buf = this.rest.length > 0 ? Buffer.concat([this.rest, chunk]) : chunk;
    const cut = buf.lastIndexOf(0x0a);
    if (cut < 0) {
      this.rest = buf;
    } else {
      this.rest = buf.subarray(cut + 1);
      this.push(buf.subarray(0, cut + 1));
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    // A lone carriage return or blank padding is not a torn row.
    this.tornBytes = this.rest.toString("utf8").trim().length > 0 ? this.rest.length : 0;
    done();
  }
}

async function readParquetFile(path: string, type: RecordedFileType, onRow: (r: RecordedRow) => void, opts: ReadRecordedOptions): Promise<void> {
  let table;
  try {
    table = await readParquetTable(path);
  } catch (e) {
    throw new MarketDataFileError(path, undefined, undefined, undefined, (e as Error).message.replace(`${path}: `, ""));
  }
  const columns = table.columns.map((c) => c.name);
  const decode = makeDecoder(path, type, columns, opts);
  const cells: ParquetCell[] = new Array<ParquetCell>(columns.length);
  table.rows.forEach((obj, i) => {
    for (let c = 0; c < columns.length; c++) cells[c] = obj[columns[c] as string] ?? null;
    try {
      const r = decode(cells as Cell[]);
      if (r === undefined) return;
      if (opts.withSource === true) r.source = `${path}: row ${i + 1}`;
      onRow({ type, row: r } as RecordedRow);
    } catch (e) {
      if (e instanceof CellError) throw new MarketDataFileError(path, i + 1, e.col + 1, columns[e.col], e.message, "row");
      throw rowError(e, path, i + 1, "row");
    }
  });
}

// ---- decoding cells ----

function header(path: string, columns: readonly string[]): (name: string, required?: boolean) => number {
  const index = new Map<string, number>();
  columns.forEach((c, i) => {
    if (index.has(c)) throw new MarketDataFileError(path, 1, i + 1, c, `column "${c}" appears twice in the header`);
    index.set(c, i);
  });
  return (name, required = true) => {
    const i = index.get(name);
    if (i === undefined && required) throw new MarketDataFileError(path, 1, undefined, undefined, `missing column "${name}" in the header (it has: ${columns.join(",").slice(0, 200)})`);
    return i ?? -1;
  };
}

function isEmpty(v: Cell): boolean {
  return v === null || v === undefined || v === "";
}

function num(cells: readonly Cell[], col: number): number {
  const v = cells[col];
  if (typeof v === "number") {
    if (!Number.isFinite(v)) throw new CellError(col, `${v} is not a finite number`);
    return v;
  }
  if (typeof v === "bigint") return Number(v);
  if (isEmpty(v)) throw new CellError(col, "missing value");
  const s = v as string;
  const x = Number(s);
  // Number() also takes "0x1f", "Infinity" and blanks; recorded files hold plain decimals.
  if (!Number.isFinite(x) || !decimalText(s)) throw new CellError(col, `"${s.slice(0, 40)}" is not a number`);
  return x;
}

/** Whether a cell's text is a plain decimal (optionally signed, with an exponent, padded by blanks). */
export function decimalText(s: string): boolean {
  return plainDecimal(s) || /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s);
}

/** `-?[0-9.]*` holding a digit and at most one dot: what the recorder writes, checked without a regular expression. */
function plainDecimal(s: string): boolean {
  let digits = 0;
  let dots = 0;
  for (let i = s.charCodeAt(0) === 45 ? 1 : 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c !== 46 || ++dots > 1) return false;
  }
  return digits > 0;
}

/**
 * Epoch milliseconds below this (1973-03-03) are no market data time: such an integer is a time in
 * epoch seconds (a common export), which read as milliseconds lands in January 1970 and silently
 * falls outside every session.
 */
const MIN_EPOCH_MS = 1e11;

function epochSecondsError(col: number, n: number): CellError {
  return new CellError(col, `${n} looks like epoch seconds (${isoUtc(n * 1000)}), not epoch milliseconds (${isoUtc(n)}); recorded times are epoch milliseconds or ISO-8601`);
}

function knownEarly(col: number, knowledgeTime: EpochMs, exchangeTime: EpochMs): CellError {
  return new CellError(col, `knowledge time ${isoUtc(knowledgeTime)} is before the snapshot's own time ${isoUtc(exchangeTime)}: nothing is known before it happens (look-ahead)`);
}

function time(cells: readonly Cell[], col: number): EpochMs {
  const v = cells[col];
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) throw new CellError(col, `${v} is not integer epoch milliseconds`);
    if (v < MIN_EPOCH_MS) throw epochSecondsError(col, v);
    return v;
  }
  if (typeof v === "bigint") {
    if (v < BigInt(MIN_EPOCH_MS)) throw epochSecondsError(col, Number(v));
    return Number(v);
  }
  if (isEmpty(v)) throw new CellError(col, "missing timestamp");
  const trimmed = (v as string).trim();
  const t = parseRecordedTime(trimmed);
  if (t === undefined) throw new CellError(col, `"${(v as string).slice(0, 40)}" is not a timestamp (ISO-8601 like 2024-01-30T00:00:00.000Z, or epoch milliseconds)`);
  // Tested only below the bound, so the common case costs no regular expression.
  if (t < MIN_EPOCH_MS && /^-?\d+$/.test(trimmed)) throw epochSecondsError(col, t);
  return t;
}

function text(cells: readonly Cell[], col: number): string {
  const v = cells[col];
  if (isEmpty(v)) throw new CellError(col, "missing value");
  return String(v);
}

function makeDecoder(path: string, type: RecordedFileType, columns: readonly string[], opts: ReadRecordedOptions): RowDecoder {
  const col = header(path, columns);
  const validate = opts.validate ?? true;
  const from = opts.fromMs ?? -Infinity;
  const to = opts.toMs ?? Infinity;
  const symbols = opts.symbols;
  const cTs = col("timestamp");
  const cSym = col("symbol");
  const cKt = col("knowledge_timestamp", false);
  const price = (cells: readonly Cell[], c: number): number => {
    const x = num(cells, c);
    if (validate && x <= 0) throw new CellError(c, `price ${x} is zero or negative`);
    return x;
  };
  const qty = (cells: readonly Cell[], c: number): number => {
    const x = num(cells, c);
    if (validate && x < 0) throw new CellError(c, `quantity ${x} is negative`);
    return x;
  };

  if (type === "ohlcv") {
    const [cInt, cO, cH, cL, cC, cV] = ["interval", "open", "high", "low", "close", "volume"].map((n) => col(n)) as [number, number, number, number, number, number];
    return (cells) => {
      const symbol = text(cells, cSym);
      if (symbols !== undefined && !symbols.has(symbol)) return undefined;
      const start = time(cells, cTs);
      if (start < from || start >= to) return undefined;
      const label = text(cells, cInt);
      const intervalMs = parseInterval(label.trim());
      if (intervalMs === undefined) throw new CellError(cInt, `"${label.slice(0, 20)}" is not an interval like 1m, 5m, 1h`);
      const open = price(cells, cO);
      const high = price(cells, cH);
      const low = price(cells, cL);
      const close = price(cells, cC);
      const volume = qty(cells, cV);
      if (validate) {
        if (high < Math.max(open, close, low)) throw new CellError(cH, `high ${high} is below open ${open}, close ${close} or low ${low}`);
        if (low > Math.min(open, close)) throw new CellError(cL, `low ${low} is above open ${open} or close ${close}`);
      }
      const end = start + intervalMs;
      const knowledgeTime = cKt < 0 ? end : time(cells, cKt);
      // A bar known before it ended carries a close from the future (often the open time copied
      // into knowledge_timestamp): replayed, it would mark and trade on prices not yet seen.
      if (validate && knowledgeTime < end) throw new CellError(cKt, `knowledge time ${isoUtc(knowledgeTime)} is before the bar's end ${isoUtc(end)}: a bar is known only once it has ended (look-ahead)`);
      return { symbol, intervalMs, start, end, knowledgeTime, open, high, low, close, volume };
    };
  }

  if (type === "bid_ask") {
    const [cBid, cBidQ, cAsk, cAskQ] = ["bid_price", "bid_qty", "ask_price", "ask_qty"].map((n) => col(n)) as [number, number, number, number];
    return (cells) => {
      const symbol = text(cells, cSym);
      if (symbols !== undefined && !symbols.has(symbol)) return undefined;
      const exchangeTime = time(cells, cTs);
      if (exchangeTime < from || exchangeTime >= to) return undefined;
      const bid = price(cells, cBid);
      const bidSize = qty(cells, cBidQ);
      const ask = price(cells, cAsk);
      const askSize = qty(cells, cAskQ);
      if (validate && bid >= ask) throw new CellError(cAsk, `crossed book: bid ${bid} is at or above ask ${ask}`);
      const knowledgeTime = cKt < 0 ? exchangeTime : time(cells, cKt);
      if (validate && knowledgeTime < exchangeTime) throw knownEarly(cKt, knowledgeTime, exchangeTime);
      return { symbol, exchangeTime, knowledgeTime, bid, bidSize, ask, askSize };
    };
  }

  const wanted = opts.l2Levels ?? L2_LEVELS;
  const sides = (["bid", "ask"] as const).map((side) => {
    const levels: [number, number][] = [];
    for (let i = 1; i <= wanted; i++) {
      const p = col(`${side}_price_${i}`, false);
      const q = col(`${side}_qty_${i}`, false);
      if (p < 0 && q < 0) break;
      if (p < 0 || q < 0) col(p < 0 ? `${side}_price_${i}` : `${side}_qty_${i}`);
      levels.push([p, q]);
    }
    if (levels.length === 0) col(`${side}_price_1`);
    return levels;
  }) as [[number, number][], [number, number][]];
  const readSide = (cells: readonly Cell[], levels: readonly [number, number][], bid: boolean): [number, number][] => {
    const out: [number, number][] = [];
    let emptyAt = -1;
    for (let i = 0; i < levels.length; i++) {
      const [cp, cq] = levels[i] as [number, number];
      if (isEmpty(cells[cp]) && isEmpty(cells[cq])) {
        if (emptyAt < 0) emptyAt = i;
        continue;
      }
      if (emptyAt >= 0) throw new CellError(cp, `level ${i + 1} follows the empty level ${emptyAt + 1}`);
      const p = price(cells, cp);
      const q = num(cells, cq);
      if (validate) {
        if (q <= 0) throw new CellError(cq, `quantity ${q} at a book level is zero or negative`);
        const prev = out[out.length - 1];
        if (prev !== undefined && (bid ? p >= prev[0] : p <= prev[0])) throw new CellError(cp, `${bid ? "bid" : "ask"} level ${i + 1} at ${p} is not ${bid ? "below" : "above"} level ${i} at ${prev[0]}`);
      }
      out.push([p, q]);
    }
    return out;
  };
  return (cells) => {
    const symbol = text(cells, cSym);
    if (symbols !== undefined && !symbols.has(symbol)) return undefined;
    const exchangeTime = time(cells, cTs);
    if (exchangeTime < from || exchangeTime >= to) return undefined;
    const bids = readSide(cells, sides[0], true);
    const asks = readSide(cells, sides[1], false);
    if (validate && bids.length > 0 && asks.length > 0 && (bids[0] as [number, number])[0] >= (asks[0] as [number, number])[0]) {
      throw new CellError((sides[1][0] as [number, number])[0], `crossed book: best bid ${(bids[0] as [number, number])[0]} is at or above best ask ${(asks[0] as [number, number])[0]}`);
    }
    const knowledgeTime = cKt < 0 ? exchangeTime : time(cells, cKt);
    if (validate && knowledgeTime < exchangeTime) throw knownEarly(cKt, knowledgeTime, exchangeTime);
    return { symbol, exchangeTime, knowledgeTime, bids, asks };
  };
}

// ---- loading a directory ----

export interface RecordedFileInfo {
  path: string;
  type: RecordedFileType;
  day: string;
  format: RecordedFormat;
}

/** The day files under `dir` whose day overlaps [fromMs, toMs), by type then day. */
export function listRecordedFiles(dir: string, range: { fromMs: EpochMs; toMs: EpochMs; types?: readonly RecordedFileType[] }): RecordedFileInfo[] {
  const out: RecordedFileInfo[] = [];
  for (const type of range.types ?? RECORDED_FILE_TYPES) {
    const sub = join(dir, type);
    if (!existsSync(sub)) continue;
    const byDay = new Map<string, RecordedFileInfo>();
    for (const name of readdirSync(sub).sort()) {
      const info = parseRecordedFileName(name);
      if (info === undefined || info.type !== type) continue;
      const start = dayStartOf(info.day);
      if (start + DAY_MS <= range.fromMs || start >= range.toMs) continue;
      const prev = byDay.get(info.day);
      const path = join(sub, name);
      if (prev !== undefined) throw new MarketDataFileError(path, undefined, undefined, undefined, `${prev.path} holds the same day; keep one format per day`);
      byDay.set(info.day, { path, ...info });
    }
    out.push(...[...byDay.values()].sort((a, b) => (a.day < b.day ? -1 : 1)));
  }
  return out;
}

export interface LoadRecordedOptions {
  /** Rows with timestamp (exchange time; bar open) in [fromMs, toMs) are loaded. */
  fromMs: EpochMs;
  toMs: EpochMs;
  symbols?: readonly string[];
  types?: readonly RecordedFileType[];
  /** See ReadRecordedOptions.validate; true by default. */
  validate?: boolean;
  l2Levels?: number;
  /** Passed to the store: bounded memory for long ranges. */
  keepMs?: number;
  onWarning?: (message: string) => void;
}

/**
 * Loads recorded files into a new MarketDataStore, validating every row. Rows of one symbol and
 * type must be in time order across the day files (an out-of-order row is an error naming its line;
 * checkRecordedMarketData lists such problems without stopping).
 */
export async function loadRecordedMarketData(dir: string, opts: LoadRecordedOptions): Promise<MarketDataStore> {
  if (!(opts.fromMs < opts.toMs)) throw new RangeError(`loadRecordedMarketData: fromMs ${opts.fromMs} must be before toMs ${opts.toMs}`);
  const l2Levels = opts.l2Levels ?? L2_LEVELS;
  const store = new MarketDataStore({ symbols: opts.symbols, l2Levels, ...(opts.keepMs === undefined ? {} : { keepMs: opts.keepMs }) });
  const files = listRecordedFiles(dir, opts);
  if (files.length === 0) {
    throw new MarketDataFileError(dir, undefined, undefined, undefined, `no recorded market data files (${(opts.types ?? RECORDED_FILE_TYPES).join(", ")}) for ${isoUtc(opts.fromMs)} .. ${isoUtc(opts.toMs)}`);
  }
  const symbols = opts.symbols === undefined ? undefined : new Set(opts.symbols);
  for (const f of files) {
    await readRecordedFile(
      f.path,
      (r) => {
        if (r.type === "ohlcv") store.addBar(r.row);
        else if (r.type === "bid_ask") store.addBidAsk(r.row);
        else store.addL2(r.row);
      },
      { validate: opts.validate ?? true, symbols, fromMs: opts.fromMs, toMs: opts.toMs, l2Levels, onWarning: opts.onWarning },
    );
  }
  return store;
}
