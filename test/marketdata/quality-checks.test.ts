// Quality checks (DOMAIN.md section 15) on crafted bad data: gaps, zero and negative prices,
// crossed books, duplicates, out-of-order timestamps, malformed bars and books; from rows, from a
// store, and from files (issues naming file:line).

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MarketDataStore } from "../../src/marketdata/market-data-store.js";
import { checkMarketDataQuality, checkRecordedMarketData, type QualityIssue } from "../../src/marketdata/quality-checks.js";
import { generateSyntheticHistory } from "../../src/marketdata/synthetic-history.js";
import { MINUTE_MS, type Bar, type BidAskQuote, type L2Snapshot } from "../../src/marketdata/types.js";

const T0 = Date.UTC(2024, 0, 30);
const root = mkdtempSync(join(tmpdir(), "tradeloop-quality-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function q(sec: number, opts: Partial<BidAskQuote> = {}): BidAskQuote {
  const t = T0 + sec * 1000;
  return { symbol: "X", exchangeTime: t, knowledgeTime: t, bid: 100, bidSize: 1, ask: 101, askSize: 1, ...opts };
}

function snap(sec: number, bids: [number, number][] = [[100, 1], [99, 1]], asks: [number, number][] = [[101, 1], [102, 1]]): L2Snapshot {
  const t = T0 + sec * 1000;
  return { symbol: "X", exchangeTime: t, knowledgeTime: t, bids, asks };
}

function bar(i: number, opts: Partial<Bar> = {}): Bar {
  const start = T0 + i * MINUTE_MS;
  return { symbol: "X", intervalMs: MINUTE_MS, start, end: start + MINUTE_MS, knowledgeTime: start + MINUTE_MS, open: 100, high: 101, low: 99, close: 100.5, volume: 1, ...opts };
}

const summary = (issues: QualityIssue[]): string[] => issues.map((i) => `${i.check} ${i.type} ${(i.time - T0) / 1000}`);

describe("checkMarketDataQuality", () => {
  it("finds nothing wrong in clean synthetic history", () => {
    const store = generateSyntheticHistory({ symbols: 3, fromMs: T0, toMs: T0 + 20 * MINUTE_MS, seed: 4 });
    expect(checkMarketDataQuality(store)).toEqual([]);
  });

  it("flags snapshot gaps over 2 s, but not 2 s exactly", () => {
    const rows = [q(0), q(1), q(3), q(6), q(7)];
    expect(summary(checkMarketDataQuality({ bidAsk: rows }))).toEqual(["gap bid_ask 6"]);
    const issues = checkMarketDataQuality({ l2: [snap(0), snap(10)] });
    expect(issues[0]?.message).toMatch(/10.000 s without a snapshot after 2024-01-30T00:00:00.000Z/);
    expect(checkMarketDataQuality({ bidAsk: rows }, { maxSnapshotGapMs: 5_000 })).toEqual([]);
  });

  it("flags zero and negative prices and crossed books", () => {
    const issues = checkMarketDataQuality({
      bidAsk: [q(0, { bid: 0 }), q(1, { ask: -1 }), q(2, { bid: 101.5 }), q(3, { bid: 101 })],
      l2: [snap(0, [[0, 1]]), snap(1, [[100, 1]], [[99, 1]]), snap(2)],
      bars: [bar(0, { low: 0 })],
    });
    expect(summary(issues)).toEqual([
      "non_positive_price ohlcv 0",
      "non_positive_price bid_ask 0",
      "non_positive_price bid_ask 1",
      "crossed_book bid_ask 2",
      "crossed_book bid_ask 3",
      "non_positive_price l2 0",
      "crossed_book l2 1",
    ]);
    expect(issues.find((i) => i.check === "crossed_book" && i.type === "l2")?.message).toBe("best bid 100 is at or above best ask 99");
  });

  it("flags malformed books and bars", () => {
    const issues = checkMarketDataQuality({
      l2: [snap(0, [[100, 1], [100.5, 1]]), snap(1, [[100, 0]])],
      bars: [bar(0, { high: 99.5 }), bar(1, { volume: -2 })],
    });
    expect(summary(issues)).toEqual(["bad_bar ohlcv 0", "bad_bar ohlcv 60", "bad_book l2 0", "bad_book l2 1"]);
  });

  it("flags duplicates (exact and conflicting) and out-of-order timestamps", () => {
    const issues = checkMarketDataQuality({ bidAsk: [q(0), q(1), q(1), q(2), q(2, { bid: 99 }), q(4), q(3), q(5)] });
    expect(summary(issues)).toEqual(["out_of_order bid_ask 3", "duplicate bid_ask 1", "duplicate bid_ask 2"]);
    expect(issues[1]?.message).toMatch(/^duplicate of the row at/);
    expect(issues[2]?.message).toMatch(/^a second, different row for/);
    // Knowledge time running backwards is out of order too.
    expect(summary(checkMarketDataQuality({ bidAsk: [q(0, { knowledgeTime: T0 + 5_000 }), q(1)] }))).toEqual(["out_of_order bid_ask 1"]);
  });

  it("flags missing bars per symbol and interval", () => {
    const five = (i: number): Bar => bar(0, { intervalMs: 5 * MINUTE_MS, start: T0 + i * 5 * MINUTE_MS, end: T0 + (i + 1) * 5 * MINUTE_MS, knowledgeTime: T0 + (i + 1) * 5 * MINUTE_MS });
    const issues = checkMarketDataQuality({ bars: [bar(0), bar(1), bar(4), five(0), five(1), bar(0, { symbol: "Y" }), bar(1, { symbol: "Y" })] });
    expect(summary(issues)).toEqual(["gap ohlcv 240"]);
    expect(issues[0]?.message).toMatch(/^2 bars missing between/);
  });

  it("flags rows known before they happened: a bar before its end, a snapshot before its own time (look-ahead)", () => {
    const issues = checkMarketDataQuality({
      bars: [bar(0), bar(1, { knowledgeTime: T0 + MINUTE_MS })],
      bidAsk: [q(0), q(1, { knowledgeTime: T0 })],
      l2: [{ ...snap(2), knowledgeTime: T0 + 1_999 }],
    });
    expect(summary(issues)).toEqual(["look_ahead ohlcv 60", "look_ahead bid_ask 1", "look_ahead l2 2"]);
    expect(issues[0]?.message).toBe("known at 2024-01-30T00:01:00.000Z, before the bar's end 2024-01-30T00:02:00.000Z");
  });

  it("checks a store too, and caps the number of issues", () => {
    const store = new MarketDataStore();
    for (let s = 0; s < 100; s += 5) store.addBidAsk(q(s, { bid: 0 }));
    expect(checkMarketDataQuality(store).filter((i) => i.check === "gap")).toHaveLength(19);
    expect(checkMarketDataQuality(store, { maxIssues: 7 })).toHaveLength(7);
  });
});

describe("checkRecordedMarketData", () => {
  it("reads bad files without refusing them and names file:line", async () => {
    const dir = join(root, "bad");
    mkdirSync(join(dir, "l2"), { recursive: true });
    const header = "timestamp,symbol,bid_price_1,bid_qty_1,ask_price_1,ask_qty_1,knowledge_timestamp";
    const row = (t: string, bid: number, ask: number): string => `2024-01-30T00:00:${t}.000Z,X,${bid},1,${ask},1,2024-01-30T00:00:${t}.000Z`;
    writeFileSync(join(dir, "l2", "l2_20240130.csv"), [header, row("00", 100, 101), row("01", 0, 101), row("02", 102, 101), row("02", 102, 101), row("07", 100, 101), row("06", 100, 101)].join("\n") + "\n");
    const issues = await checkRecordedMarketData(dir, { fromMs: T0, toMs: T0 + 86_400_000 });
    expect(issues.map((i) => `${i.check} ${(i.source ?? "").replace(dir, "")}`)).toEqual([
      "non_positive_price /l2/l2_20240130.csv:3",
      "crossed_book /l2/l2_20240130.csv:4",
      "crossed_book /l2/l2_20240130.csv:5",
      "out_of_order /l2/l2_20240130.csv:7",
      "duplicate /l2/l2_20240130.csv:5",
      "gap /l2/l2_20240130.csv:7",
    ]);
  });

  it("flags bars stamped as known at their open time, with file:line", async () => {
    const dir = join(root, "open-time");
    mkdirSync(join(dir, "ohlcv"), { recursive: true });
    const rows = ["00", "01"].map((m) => `2024-01-30T00:${m}:00.000Z,X,1m,100,101,99,100.5,1,2024-01-30T00:${m}:00.000Z`);
    writeFileSync(join(dir, "ohlcv", "ohlcv_20240130.csv"), ["timestamp,symbol,interval,open,high,low,close,volume,knowledge_timestamp", ...rows].join("\n") + "\n");
    const issues = await checkRecordedMarketData(dir, { fromMs: T0, toMs: T0 + 86_400_000 });
    expect(issues.map((i) => `${i.check} ${(i.source ?? "").replace(dir, "")}`)).toEqual(["look_ahead /ohlcv/ohlcv_20240130.csv:2", "look_ahead /ohlcv/ohlcv_20240130.csv:3"]);
  });
});
