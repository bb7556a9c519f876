// Synthetic history made on a worker thread and handed over in chunks: the store it fills holds
// exactly what generateSyntheticHistory makes, every row known at a time once ensureThrough has
// returned for it, and bad specs fail in the caller. Plus the store's bulk hand-over (takeRows /
// appendRows) and its time-order checks.

import { afterEach, describe, expect, it } from "vitest";
import { MarketDataOrderError, MarketDataStore } from "../../src/marketdata/market-data-store.js";
import { generateSyntheticHistory, type SyntheticHistorySpec } from "../../src/marketdata/synthetic-history.js";
import { SyntheticHistoryStream } from "../../src/marketdata/synthetic-history-stream.js";
import { MINUTE_MS } from "../../src/marketdata/types.js";

const T0 = Date.UTC(2024, 0, 30);

function dump(store: MarketDataStore): string {
  return JSON.stringify(store.symbols.map((s) => [store.allBars(s, MINUTE_MS), store.allBars(s, 5 * MINUTE_MS), store.allBidAsk(s), store.allL2(s)]));
}

/** Rows of every series known at or before t. */
function countThrough(store: MarketDataStore, t: number): number[] {
  return store.symbols.flatMap((s) => [
    store.allBars(s, MINUTE_MS).filter((b) => b.knowledgeTime <= t).length,
    store.allBidAsk(s).filter((q) => q.knowledgeTime <= t).length,
    store.allL2(s).filter((q) => q.knowledgeTime <= t).length,
  ]);
}

describe("SyntheticHistoryStream", () => {
  // Two and a half hours: five 30-minute chunks and a part one, 1- and 5-minute bars.
  const spec: SyntheticHistorySpec = { symbols: 3, fromMs: T0 + 17_000, toMs: T0 + 150 * MINUTE_MS, seed: 9, snapshotIntervalMs: 5_000, snapshotLatencyMs: 700, barLatencyMs: 1_500 };
  const streams: SyntheticHistoryStream[] = [];
  afterEach(() => {
    for (const s of streams.splice(0)) s.close();
  });
  const open = (sp: SyntheticHistorySpec, opts?: { storeL2?: boolean }): SyntheticHistoryStream => {
    const s = new SyntheticHistoryStream(sp, opts);
    streams.push(s);
    return s;
  };

  it("fills its store with exactly the rows generateSyntheticHistory makes, with and without L2", () => {
    for (const storeL2 of [true, false]) {
      const stream = open(spec, { storeL2 });
      stream.ensureThrough(Infinity);
      expect(dump(stream.store)).toBe(dump(generateSyntheticHistory(spec, { storeL2 })));
      expect(stream.store.allBidAsk("S01/USDT:USDT").length).toBeGreaterThan(1000);
    }
  });

  it("holds every row known at or before t once ensureThrough(t) returns", () => {
    const whole = generateSyntheticHistory(spec);
    const stream = open(spec);
    for (const t of [T0 + 17_000, T0 + 31 * MINUTE_MS, T0 + 90 * MINUTE_MS + 5_000, T0 + 149 * MINUTE_MS]) {
      stream.ensureThrough(t);
      expect(countThrough(stream.store, t)).toEqual(countThrough(whole, t));
    }
  });

  it("refuses a bad spec in the caller, with the field named, and keepMs", () => {
    expect(() => open({ ...spec, toMs: spec.fromMs })).toThrow(/toMs/);
    expect(() => open({ ...spec, keepMs: 60_000 })).toThrow(/keepMs is not supported/);
  });

  it("refuses to be used after close", () => {
    const stream = open(spec);
    stream.close();
    expect(() => stream.ensureThrough(T0)).toThrow(/closed/);
  });
});

describe("MarketDataStore takeRows / appendRows", () => {
  const spec: SyntheticHistorySpec = { symbols: 2, fromMs: T0, toMs: T0 + 20 * MINUTE_MS, seed: 3 };

  it("hands a store's rows over in chunks to a store that then answers as the original", () => {
    const whole = generateSyntheticHistory(spec);
    const target = new MarketDataStore({ symbols: whole.symbols });
    generateSyntheticHistory(spec, { chunks: { everyMs: 7 * MINUTE_MS, onChunk: (s) => target.appendRows(s.takeRows()) } });
    expect(dump(target)).toBe(dump(whole));
  });

  it("leaves the source empty and refuses rows older than those held, or of the wrong width", () => {
    const source = generateSyntheticHistory(spec);
    const rows = source.takeRows();
    expect(source.takeRows()).toEqual([]);
    const target = new MarketDataStore();
    target.appendRows(rows);
    expect(() => target.appendRows(rows)).toThrow(MarketDataOrderError);
    const bidAsk = rows.find((r) => r.type === "bid_ask");
    if (bidAsk === undefined) throw new Error("no bid/ask rows");
    expect(() => new MarketDataStore().appendRows([{ ...bidAsk, vals: bidAsk.vals.subarray(1) }])).toThrow(/values/);
    expect(() => new MarketDataStore({ keepMs: 1000 }).appendRows(rows)).toThrow(/unbounded/);
  });
});
