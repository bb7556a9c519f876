// Recorded files: round trips in CSV, gzip and Parquet, the day layout and midnight roll-over,
// append-friendliness (killed runs, resumed writers), and errors that name file, line and column.

import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { isoUtc } from "../../src/core/iso-utc.js";
import type { MarketDataStore } from "../../src/marketdata/market-data-store.js";
import {
  decimalText, formatInterval, l2Columns, listRecordedFiles, loadRecordedMarketData, MarketDataFileError, parseInterval, parseRecordedTime,
  readRecordedFile, RecordedMarketDataWriter, type RecordedFormat,
} from "../../src/marketdata/recorded-files.js";
import { generateSyntheticHistory } from "../../src/marketdata/synthetic-history.js";
import { MINUTE_MS, type Bar, type BidAskQuote, type L2Snapshot } from "../../src/marketdata/types.js";

const root = mkdtempSync(join(tmpdir(), "tradeloop-recorded-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirCount = 0;
function freshDir(): string {
  return join(root, `d${++dirCount}`);
}

// Ten minutes either side of midnight UTC, so every type spans two day files.
const FROM = Date.UTC(2024, 0, 30, 23, 50);
const TO = Date.UTC(2024, 0, 31, 0, 10);

function history(recorder?: RecordedMarketDataWriter): MarketDataStore {
  return generateSyntheticHistory({ symbols: 2, fromMs: FROM, toMs: TO, seed: 11, snapshotLatencyMs: 150, barLatencyMs: 1_000 }, recorder === undefined ? {} : { recorder });
}

function expectSameData(a: MarketDataStore, b: MarketDataStore): void {
  expect([...b.symbols].sort()).toEqual([...a.symbols].sort());
  for (const s of a.symbols) {
    for (const ms of [MINUTE_MS, 5 * MINUTE_MS]) expect(b.allBars(s, ms)).toEqual(a.allBars(s, ms));
    expect(b.allBidAsk(s)).toEqual(a.allBidAsk(s));
    expect(b.allL2(s)).toEqual(a.allL2(s));
  }
}

function caught(f: () => unknown): MarketDataFileError {
  try {
    f();
  } catch (e) {
    if (e instanceof MarketDataFileError) return e;
    throw e;
  }
  throw new Error("expected a MarketDataFileError");
}

async function caughtAsync(p: Promise<unknown>): Promise<MarketDataFileError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof MarketDataFileError) return e;
    throw e;
  }
  throw new Error("expected a MarketDataFileError");
}

describe("names, times and intervals", () => {
  it("parses ISO-8601 and epoch milliseconds, and rejects the rest", () => {
    expect(parseRecordedTime("2024-01-30T00:00:01.250Z")).toBe(Date.UTC(2024, 0, 30, 0, 0, 1, 250));
    expect(parseRecordedTime("2024-01-30 02:00:01.250+02:00")).toBe(Date.UTC(2024, 0, 30, 0, 0, 1, 250));
    expect(parseRecordedTime("1706572800000")).toBe(1706572800000);
    expect(parseRecordedTime("2024-13-01T00:00:00Z")).toBeUndefined();
    expect(parseRecordedTime("yesterday")).toBeUndefined();
  });

  it("formats and parses bar intervals", () => {
    for (const [ms, label] of [[60_000, "1m"], [300_000, "5m"], [900_000, "15m"], [3_600_000, "1h"], [14_400_000, "4h"], [86_400_000, "1d"], [1_000, "1s"], [250, "250ms"]] as const) {
      expect(formatInterval(ms)).toBe(label);
      expect(parseInterval(label)).toBe(ms);
    }
    expect(parseInterval("1M")).toBeUndefined();
    expect(parseInterval("0m")).toBeUndefined();
  });

  it("names L2 columns as seed 004 does, plus the knowledge time", () => {
    const cols = l2Columns(5);
    expect(cols.slice(0, 4)).toEqual(["timestamp", "symbol", "bid_price_1", "bid_qty_1"]);
    expect(cols[11]).toBe("bid_qty_5");
    expect(cols[12]).toBe("ask_price_1");
    expect(cols.at(-1)).toBe("knowledge_timestamp");
    expect(cols).toHaveLength(2 + 20 + 1);
  });
});

describe("round trips", () => {
  for (const format of ["csv", "csv.gz", "parquet"] as RecordedFormat[]) {
    it(`${format}: what is written loads back identical, one file per type per UTC day`, async () => {
      const dir = freshDir();
      const writer = new RecordedMarketDataWriter(dir, { format, flushChars: 10_000 });
      const original = history(writer);
      writer.close();
      const names = ["ohlcv", "l2", "bid_ask"].flatMap((t) => readdirSync(join(dir, t)).map((n) => `${t}/${n}`)).sort();
      expect(names).toEqual([`bid_ask/bid_ask_20240130.${format}`, `bid_ask/bid_ask_20240131.${format}`, `l2/l2_20240130.${format}`, `l2/l2_20240131.${format}`, `ohlcv/ohlcv_20240130.${format}`, `ohlcv/ohlcv_20240131.${format}`]);
      const loaded = await loadRecordedMarketData(dir, { fromMs: FROM, toMs: TO });
      expectSameData(original, loaded);
      // A narrower range and a symbol filter.
      const s = original.symbols[1] as string;
      const part = await loadRecordedMarketData(dir, { fromMs: Date.UTC(2024, 0, 31), toMs: TO, symbols: [s], types: ["ohlcv", "bid_ask"] });
      expect(part.symbols).toEqual([s]);
      expect(part.allBidAsk(s)).toEqual(original.allBidAsk(s).filter((q) => q.exchangeTime >= Date.UTC(2024, 0, 31)));
      expect(part.allBars(s, MINUTE_MS)).toEqual(original.allBars(s, MINUTE_MS).filter((b) => b.start >= Date.UTC(2024, 0, 31)));
      expect(part.counts().l2).toBe(0);
    });
  }

  it("files the 23:59 bar, known after midnight, in the day it opened", async () => {
    const dir = freshDir();
    const writer = new RecordedMarketDataWriter(dir);
    history(writer);
    writer.close();
    const day1 = readFileSync(join(dir, "ohlcv", "ohlcv_20240130.csv"), "utf8").trim().split("\n");
    expect(day1[0]).toBe("timestamp,symbol,interval,open,high,low,close,volume,knowledge_timestamp");
    const last = day1.filter((l) => l.includes(",1m,")).at(-1) as string;
    expect(last.startsWith("2024-01-30T23:59:00.000Z,")).toBe(true);
    expect(last.endsWith(",2024-01-31T00:00:01.000Z")).toBe(true);
    const l2 = readFileSync(join(dir, "l2", "l2_20240131.csv"), "utf8").split("\n")[1] as string;
    expect(l2).toMatch(/^2024-01-31T00:00:00\.000Z,S01\/USDT:USDT,[\d.]+,[\d.]+,/);
    expect(l2.endsWith(",2024-01-31T00:00:00.150Z")).toBe(true);
  });

  it("the same seed writes byte-identical files", () => {
    const hashes = [freshDir(), freshDir()].map((dir) => {
      const writer = new RecordedMarketDataWriter(dir, { format: "csv.gz" });
      history(writer);
      writer.close();
      return ["ohlcv", "l2", "bid_ask"].map((t) => readFileSync(join(dir, t, `${t}_20240131.csv.gz`)).toString("base64")).join("|");
    });
    expect(hashes[1]).toBe(hashes[0]);
  });

  it("round-trips thin books (missing levels are empty cells) and symbols that need quoting", async () => {
    const dir = freshDir();
    const t = Date.UTC(2024, 0, 30, 12);
    const thin: L2Snapshot = { symbol: 'odd,"name"', exchangeTime: t, knowledgeTime: t + 5, bids: [[10.5, 3]], asks: [[11, 0.001], [11.5, 2]] };
    for (const format of ["csv", "parquet"] as const) {
      const d = join(dir, format);
      const w = new RecordedMarketDataWriter(d, { format });
      w.addL2(thin);
      w.close();
      const store = await loadRecordedMarketData(d, { fromMs: t, toMs: t + 1 });
      expect(store.allL2(thin.symbol)).toEqual([thin]);
    }
    expect(readFileSync(join(dir, "csv", "l2", "l2_20240130.csv"), "utf8").split("\n")[1]).toBe(`2024-01-30T12:00:00.000Z,"odd,""name""",10.5,3,,,,,,,,,11,0.001,11.5,2,,,,,,,2024-01-30T12:00:00.005Z`);
  });

  it("reads files in the seed's layout: epoch-ms timestamps and no knowledge column", async () => {
    const dir = freshDir();
    mkdirSync(join(dir, "ohlcv"), { recursive: true });
    mkdirSync(join(dir, "l2"), { recursive: true });
    writeFileSync(join(dir, "ohlcv", "ohlcv_20240130.csv"), "timestamp,symbol,interval,open,high,low,close,volume\n1706572800000,BTCUSDT,1m,42500.00,42510.50,42495.00,42505.25,12.5\n");
    const l2Header = ["timestamp", "symbol", ...l2Columns(5).slice(2, -1)].join(",");
    const levels = "42500.50,1.25,42500.00,2.50,42499.5,1,42499,1,42498.5,1,42501.00,1.75,42501.5,1,42502,1,42502.5,1,42503,1";
    writeFileSync(join(dir, "l2", "l2_20240130.csv"), `${l2Header}\r\n1706572800000,BTCUSDT,${levels}\r\n`);
    const store = await loadRecordedMarketData(dir, { fromMs: Date.UTC(2024, 0, 30), toMs: Date.UTC(2024, 0, 31) });
    const [bar] = store.allBars("BTCUSDT", MINUTE_MS);
    expect(bar).toEqual({ symbol: "BTCUSDT", intervalMs: MINUTE_MS, start: 1706572800000, end: 1706572860000, knowledgeTime: 1706572860000, open: 42500, high: 42510.5, low: 42495, close: 42505.25, volume: 12.5 });
    const snap = store.latestL2("BTCUSDT", Infinity);
    expect(snap?.knowledgeTime).toBe(1706572800000);
    expect(snap?.bids[0]).toEqual([42500.5, 1.25]);
    expect(snap?.asks[4]).toEqual([42503, 1]);
  });
});

describe("append-friendly writer", () => {
  it("a killed run leaves complete lines: a torn last line is skipped with a warning, and the next writer repairs it", async () => {
    const dir = freshDir();
    const t = Date.UTC(2024, 0, 30, 12);
    const q = (s: number): BidAskQuote => ({ symbol: "X", exchangeTime: t + s * 1000, knowledgeTime: t + s * 1000, bid: 1 + s, bidSize: 1, ask: 2 + s, askSize: 1 });
    const w1 = new RecordedMarketDataWriter(dir);
    for (let s = 0; s < 3; s++) w1.addBidAsk(q(s));
    w1.flush();
    const file = join(dir, "bid_ask", "bid_ask_20240130.csv");
    // A write cut short by a kill.
    appendFileSync(file, "2024-01-30T12:00:03.000Z,X,4,1,5");
    const warnings: string[] = [];
    const loaded = await loadRecordedMarketData(dir, { fromMs: t, toMs: t + 60_000, onWarning: (m) => warnings.push(m) });
    expect(loaded.allBidAsk("X")).toEqual([q(0), q(1), q(2)]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/bid_ask_20240130\.csv:5: last line is incomplete/);
    // A resumed run appends after the complete lines, without a second header.
    const w2 = new RecordedMarketDataWriter(dir);
    w2.addBidAsk(q(3));
    w2.close();
    const lines = readFileSync(file, "utf8").trim().split("\n");
    expect(lines).toHaveLength(5);
    expect((await loadRecordedMarketData(dir, { fromMs: t, toMs: t + 60_000 })).allBidAsk("X")).toEqual([q(0), q(1), q(2), q(3)]);
  });

  it("gzip: each flush is a complete member; a torn member is read up to its last whole line and repaired on resume", async () => {
    const dir = freshDir();
    const t = Date.UTC(2024, 0, 30, 12);
    const q = (s: number): BidAskQuote => ({ symbol: "X", exchangeTime: t + s * 1000, knowledgeTime: t + s * 1000, bid: 1, bidSize: 1, ask: 2, askSize: 1 });
    const w1 = new RecordedMarketDataWriter(dir, { format: "csv.gz" });
    for (let s = 0; s < 50; s++) {
      w1.addBidAsk(q(s));
      if (s % 10 === 9) w1.flush();
    }
    const file = join(dir, "bid_ask", "bid_ask_20240130.csv.gz");
    expect(gunzipSync(readFileSync(file)).toString().trim().split("\n")).toHaveLength(51);
    // Simulate a kill in the middle of writing one more member.
    const extra = gzipSync("2024-01-30T12:00:50.000Z,X,1,1,2,1,2024-01-30T12:00:50.000Z\n2024-01-30T12:00:51.000Z,X,1,1,2,1,2024-01-30T12:00:51.000Z\n");
    appendFileSync(file, extra.subarray(0, extra.length - 12));
    const loaded = await loadRecordedMarketData(dir, { fromMs: t, toMs: t + 3_600_000, onWarning: () => undefined });
    expect(loaded.counts().bid_ask).toBeGreaterThanOrEqual(50);
    const w2 = new RecordedMarketDataWriter(dir, { format: "csv.gz" });
    w2.addBidAsk(q(60));
    w2.close();
    const again = await loadRecordedMarketData(dir, { fromMs: t, toMs: t + 3_600_000 });
    expect(again.allBidAsk("X").at(-1)).toEqual(q(60));
    expect(again.allBidAsk("X").slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, s) => q(s)));
  });

  it("refuses to append to a file with another header", () => {
    const dir = freshDir();
    mkdirSync(join(dir, "bid_ask"), { recursive: true });
    writeFileSync(join(dir, "bid_ask", "bid_ask_20240130.csv"), "a,b,c\n1,2,3\n");
    const w = new RecordedMarketDataWriter(dir);
    w.addBidAsk({ symbol: "X", exchangeTime: Date.UTC(2024, 0, 30), knowledgeTime: Date.UTC(2024, 0, 30), bid: 1, bidSize: 1, ask: 2, askSize: 1 });
    expect(caught(() => w.flush()).message).toMatch(/bid_ask_20240130\.csv:1: existing file has another header/);
  });

  it("parquet: a day is written whole once the writer is two days on; a late row for it is refused", () => {
    const dir = freshDir();
    const w = new RecordedMarketDataWriter(dir, { format: "parquet" });
    const day = (d: number): number => Date.UTC(2024, 0, 1 + d, 12);
    const q = (t: number): BidAskQuote => ({ symbol: "X", exchangeTime: t, knowledgeTime: t, bid: 1, bidSize: 1, ask: 2, askSize: 1 });
    w.addBidAsk(q(day(0)));
    w.addBidAsk(q(day(1)));
    expect(existsSync(join(dir, "bid_ask", "bid_ask_20240101.parquet"))).toBe(false);
    w.addBidAsk(q(day(0) + 1));
    w.addBidAsk(q(day(2)));
    expect(existsSync(join(dir, "bid_ask", "bid_ask_20240101.parquet"))).toBe(true);
    expect(caught(() => w.addBidAsk(q(day(0) + 2))).message).toMatch(/bid_ask_20240101\.parquet: .*already written/);
    // flush() writes the open days so far (a killed run keeps them).
    w.flush();
    expect(existsSync(join(dir, "bid_ask", "bid_ask_20240103.parquet"))).toBe(true);
    w.close();
  });
});

describe("errors name file, line and column", () => {
  const HEADER = "timestamp,symbol,bid_price,bid_qty,ask_price,ask_qty,knowledge_timestamp";
  const GOOD = "2024-01-30T00:00:00.000Z,X,100,1,101,1,2024-01-30T00:00:00.000Z";

  async function loadBidAsk(body: string, validate = true): Promise<MarketDataStore> {
    const dir = freshDir();
    mkdirSync(join(dir, "bid_ask"), { recursive: true });
    writeFileSync(join(dir, "bid_ask", "bid_ask_20240130.csv"), body);
    return loadRecordedMarketData(dir, { fromMs: Date.UTC(2024, 0, 30), toMs: Date.UTC(2024, 0, 31), validate });
  }

  const cases: [string, string, RegExp][] = [
    ["a bad number", `${HEADER}\n${GOOD}\n2024-01-30T00:00:01.000Z,X,1o1,1,102,1,2024-01-30T00:00:01.000Z\n`, /bid_ask_20240130\.csv:3: column 3 \(bid_price\): "1o1" is not a number/],
    ["a hex number", `${HEADER}\n2024-01-30T00:00:01.000Z,X,0x10,1,102,1,2024-01-30T00:00:01.000Z\n`, /csv:2: column 3 \(bid_price\): "0x10" is not a number/],
    ["an empty cell", `${HEADER}\n2024-01-30T00:00:01.000Z,X,100,,102,1,2024-01-30T00:00:01.000Z\n`, /csv:2: column 4 \(bid_qty\): missing value/],
    ["a short row", `${HEADER}\n${GOOD}\n\n2024-01-30T00:00:01.000Z,X,100,1\n`, /csv:4: column 5 \(ask_price\): missing value: the row has 4 fields, the header 7/],
    ["a missing column", "timestamp,symbol,bid_price,bid_qty,ask_qty\n", /csv:1: missing column "ask_price" in the header/],
    ["a zero price", `${HEADER}\n${GOOD}\n2024-01-30T00:00:01.000Z,X,0,1,102,1,2024-01-30T00:00:01.000Z\n`, /csv:3: column 3 \(bid_price\): price 0 is zero or negative/],
    ["a negative price", `${HEADER}\n2024-01-30T00:00:01.000Z,X,100,1,-102,1,2024-01-30T00:00:01.000Z\n`, /csv:2: column 5 \(ask_price\): price -102 is zero or negative/],
    ["a crossed book", `${HEADER}\n2024-01-30T00:00:01.000Z,X,103,1,102,1,2024-01-30T00:00:01.000Z\n`, /csv:2: column 5 \(ask_price\): crossed book: bid 103 is at or above ask 102/],
    ["a bad timestamp", `${HEADER}\n2024-01-30 25:00:00,X,100,1,102,1,2024-01-30T00:00:01.000Z\n`, /csv:2: column 1 \(timestamp\): "2024-01-30 25:00:00" is not a timestamp/],
    ["an out-of-order row", `${HEADER}\n2024-01-30T00:00:02.000Z,X,100,1,102,1,2024-01-30T00:00:02.000Z\n${GOOD}\n`, /csv:3: X bid\/ask: knowledge time .* is before the previous row's/],
    ["a time in epoch seconds", `${HEADER}\n1706572801,X,100,1,102,1,2024-01-30T00:00:01.000Z\n`, /csv:2: column 1 \(timestamp\): 1706572801 looks like epoch seconds \(2024-01-30T00:00:01\.000Z\)/],
    ["a knowledge time in epoch seconds", `${HEADER}\n2024-01-30T00:00:01.000Z,X,100,1,102,1,1706572801\n`, /csv:2: column 7 \(knowledge_timestamp\): 1706572801 looks like epoch seconds/],
    ["a quote known before its own time", `${HEADER}\n2024-01-30T00:10:00.000Z,X,100,1,102,1,2024-01-30T00:00:00.000Z\n`, /csv:2: column 7 \(knowledge_timestamp\): knowledge time 2024-01-30T00:00:00\.000Z is before the snapshot's own time 2024-01-30T00:10:00\.000Z/],
    ["a broken quote", `${HEADER}\n2024-01-30T00:00:00.000Z,"X,100,1,101,1,2024-01-30T00:00:00.000Z\n`, /csv:2: not valid CSV/],
  ];
  for (const [what, body, message] of cases) {
    it(`reports ${what}`, async () => {
      const e = await caughtAsync(loadBidAsk(body));
      expect(e.message).toMatch(message);
      expect(e.file).toMatch(/bid_ask_20240130\.csv$/);
    });
  }

  it("refuses a bar known before its end (the open time as knowledge time), and an L2 snapshot known before its time", async () => {
    const dir = freshDir();
    mkdirSync(join(dir, "ohlcv"), { recursive: true });
    mkdirSync(join(dir, "l2"), { recursive: true });
    const range = { fromMs: Date.UTC(2024, 0, 30), toMs: Date.UTC(2024, 0, 31) };
    writeFileSync(join(dir, "ohlcv", "ohlcv_20240130.csv"), "timestamp,symbol,interval,open,high,low,close,volume,knowledge_timestamp\n2024-01-30T00:00:00.000Z,X,1m,1,1,1,1,0,2024-01-30T00:01:00.000Z\n2024-01-30T00:01:00.000Z,X,1m,1,1,1,1,0,2024-01-30T00:01:00.000Z\n");
    const e = await caughtAsync(loadRecordedMarketData(dir, { ...range, types: ["ohlcv"] }));
    expect(e.message).toMatch(/ohlcv_20240130\.csv:3: column 9 \(knowledge_timestamp\): knowledge time 2024-01-30T00:01:00\.000Z is before the bar's end 2024-01-30T00:02:00\.000Z: a bar is known only once it has ended \(look-ahead\)/);
    writeFileSync(join(dir, "l2", "l2_20240130.csv"), `${l2Columns(1).join(",")}\n2024-01-30T00:00:05.000Z,X,100,1,101,1,2024-01-30T00:00:04.999Z\n`);
    await expect(loadRecordedMarketData(dir, { ...range, types: ["l2"] })).rejects.toThrow(/l2_20240130\.csv:2: column 7 \(knowledge_timestamp\): knowledge time .* is before the snapshot's own time/);
    // Unvalidated, they load (for the quality checks, which flag them).
    expect((await loadRecordedMarketData(dir, { ...range, types: ["ohlcv"], validate: false })).allBars("X", MINUTE_MS)).toHaveLength(2);
  });

  it("carries line and column as fields", async () => {
    const e = await caughtAsync(loadBidAsk(`${HEADER}\n${GOOD}\n2024-01-30T00:00:01.000Z,X,abc,1,102,1,2024-01-30T00:00:01.000Z\n`));
    expect([e.line, e.column, e.columnName]).toEqual([3, 3, "bid_price"]);
  });

  it("without validation, semantically bad rows load (for the quality checks) but unreadable ones do not", async () => {
    const store = await loadBidAsk(`${HEADER}\n2024-01-30T00:00:01.000Z,X,103,1,102,1,2024-01-30T00:00:01.000Z\n`, false);
    expect(store.allBidAsk("X")[0]?.bid).toBe(103);
    await expect(loadBidAsk(`${HEADER}\n2024-01-30T00:00:01.000Z,X,abc,1,102,1,2024-01-30T00:00:01.000Z\n`, false)).rejects.toThrow(/column 3 \(bid_price\)/);
  });

  it("reports bad L2 books and bad bars with their column", async () => {
    const dir = freshDir();
    mkdirSync(join(dir, "l2"), { recursive: true });
    mkdirSync(join(dir, "ohlcv"), { recursive: true });
    const header = l2Columns(2).join(",");
    const t = "2024-01-30T00:00:00.000Z";
    const range = { fromMs: Date.UTC(2024, 0, 30), toMs: Date.UTC(2024, 0, 31) };
    const l2 = (row: string): Promise<MarketDataStore> => {
      writeFileSync(join(dir, "l2", "l2_20240130.csv"), `${header}\n${row}\n`);
      return loadRecordedMarketData(dir, { ...range, types: ["l2"] });
    };
    expect((await caughtAsync(l2(`${t},X,100,1,101,1,102,1,103,1,${t}`))).message).toMatch(/csv:2: column 5 \(bid_price_2\): bid level 2 at 101 is not below level 1 at 100/);
    expect((await caughtAsync(l2(`${t},X,100,1,99,1,99.5,1,103,1,${t}`))).message).toMatch(/csv:2: column 7 \(ask_price_1\): crossed book: best bid 100 is at or above best ask 99.5/);
    expect((await caughtAsync(l2(`${t},X,,,99,1,101,1,103,1,${t}`))).message).toMatch(/column 5 \(bid_price_2\): level 2 follows the empty level 1/);
    expect((await caughtAsync(l2(`${t},X,100,0,99,1,101,1,103,1,${t}`))).message).toMatch(/column 4 \(bid_qty_1\): quantity 0 at a book level/);
    const bars = (row: string): Promise<MarketDataStore> => {
      writeFileSync(join(dir, "ohlcv", "ohlcv_20240130.csv"), `timestamp,symbol,interval,open,high,low,close,volume,knowledge_timestamp\n${row}\n`);
      return loadRecordedMarketData(dir, { ...range, types: ["ohlcv"] });
    };
    expect((await caughtAsync(bars(`${t},X,1m,100,99,98,99.5,1,${t}`))).message).toMatch(/column 5 \(high\): high 99 is below open 100/);
    expect((await caughtAsync(bars(`${t},X,1 minute,100,101,98,99.5,1,${t}`))).message).toMatch(/column 3 \(interval\): "1 minute" is not an interval/);
    expect((await caughtAsync(bars(`${t},X,1m,100,101,98,99.5,-1,${t}`))).message).toMatch(/column 8 \(volume\): quantity -1 is negative/);
  });

  it("parquet errors name the row and column", async () => {
    const dir = freshDir();
    const w = new RecordedMarketDataWriter(dir, { format: "parquet" });
    const t = Date.UTC(2024, 0, 30);
    w.addBidAsk({ symbol: "X", exchangeTime: t, knowledgeTime: t, bid: 1, bidSize: 1, ask: 2, askSize: 1 });
    w.addBidAsk({ symbol: "X", exchangeTime: t + 1, knowledgeTime: t + 1, bid: 3, bidSize: 1, ask: 2, askSize: 1 });
    w.close();
    const e = await caughtAsync(loadRecordedMarketData(dir, { fromMs: t, toMs: t + 1000 }));
    expect(e.message).toMatch(/bid_ask_20240130\.parquet: row 2: column 5 \(ask_price\): crossed book/);
    const file = join(dir, "bid_ask", "bid_ask_20240130.parquet");
    truncateSync(file, statSync(file).size - 3);
    expect((await caughtAsync(loadRecordedMarketData(dir, { fromMs: t, toMs: t + 1000 }))).message).toMatch(/bid_ask_20240130\.parquet: truncated Parquet file/);
  });

  it("a corrupt gzip file, an empty file, a bad name, two formats for one day, no files at all", async () => {
    const dir = freshDir();
    const t = Date.UTC(2024, 0, 30);
    const range = { fromMs: t, toMs: t + 1000 };
    mkdirSync(join(dir, "bid_ask"), { recursive: true });
    writeFileSync(join(dir, "bid_ask", "bid_ask_20240130.csv.gz"), "this is not gzip at all\n");
    expect((await caughtAsync(loadRecordedMarketData(dir, range))).message).toMatch(/bid_ask_20240130\.csv\.gz: cannot read gzip data/);
    writeFileSync(join(dir, "bid_ask", "bid_ask_20240130.csv.gz"), gzipSync(""));
    expect((await caughtAsync(loadRecordedMarketData(dir, range))).message).toMatch(/csv\.gz:1: empty file/);
    writeFileSync(join(dir, "bid_ask", "bid_ask_20240130.csv"), "");
    expect(() => listRecordedFiles(dir, range)).toThrow(/holds the same day; keep one format per day/);
    expect((await caughtAsync(readRecordedFile(join(dir, "bid_ask", "quotes.csv"), () => undefined))).message).toMatch(/not a recorded market data file name/);
    expect((await caughtAsync(loadRecordedMarketData(freshDir(), range))).message).toMatch(/no recorded market data files/);
  });
});

describe("readRecordedFile", () => {
  it("streams rows with their file:line when asked", async () => {
    const dir = freshDir();
    const w = new RecordedMarketDataWriter(dir);
    const t = Date.UTC(2024, 0, 30);
    const bars: Bar[] = [0, 1, 2].map((i) => ({ symbol: "X", intervalMs: MINUTE_MS, start: t + i * MINUTE_MS, end: t + (i + 1) * MINUTE_MS, knowledgeTime: t + (i + 1) * MINUTE_MS, open: 1, high: 2, low: 1, close: 2, volume: 3 }));
    for (const b of bars) w.addBar(b);
    w.close();
    const seen: string[] = [];
    await readRecordedFile(join(dir, "ohlcv", "ohlcv_20240130.csv"), (r) => seen.push(`${r.type} ${r.row.source ?? ""}`), { withSource: true });
    expect(seen.map((s) => s.replace(dir, "<dir>"))).toEqual([2, 3, 4].map((l) => `ohlcv <dir>/ohlcv/ohlcv_20240130.csv:${l}`));
  });
});

describe("cell parsing fast paths", () => {
  // The rule the fast paths must keep: what the regular expression alone accepted.
  const slowRule = (s: string): boolean => /^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(s);

  it("decimalText accepts exactly the texts the regular expression accepts", () => {
    const chars = fc.constantFrom("0", "1", "7", "9", ".", "-", "+", "e", "E", " ", "x", "I", "_");
    fc.assert(fc.property(fc.array(chars, { maxLength: 8 }).map((a) => a.join("")), (s) => decimalText(s) === slowRule(s)), { numRuns: 5000 });
    for (const s of ["94.472", "-0.5", "5.", ".5", "-.5", "1e5", " 2 ", "1.2.3", ".", "-", "", "0x1f", "Infinity", "--1"]) expect(decimalText(s)).toBe(slowRule(s));
  });

  it("parseRecordedTime gives the same instant for texts seen just before and texts never seen", () => {
    // Six instants, more than the texts it remembers, picked in any order (repeats included).
    const instants = fc.uniqueArray(fc.integer({ min: 0, max: 4_102_444_800_000 }), { minLength: 6, maxLength: 6 });
    fc.assert(
      fc.property(instants, fc.array(fc.nat(5), { maxLength: 40 }), (pool, picks) => {
        for (const p of picks) {
          const ms = pool[p] as number;
          expect(parseRecordedTime(isoUtc(ms))).toBe(ms);
          expect(parseRecordedTime(String(ms))).toBe(ms);
        }
      }),
      { numRuns: 300 },
    );
    expect(parseRecordedTime("2024-02-30T00:00:00.000Z")).toBeUndefined();
    expect(parseRecordedTime("2024-02-30T00:00:00.000Z")).toBeUndefined();
  });
});
