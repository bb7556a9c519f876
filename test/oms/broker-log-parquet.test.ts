import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runBrokerExperiment } from "../../src/oms/broker-experiment.js";
import { BrokerLogError, loadStream, type BrokerLogStream } from "../../src/oms/broker-log.js";
import { BROKER_LOG_PARQUET_STREAMS, locateBrokerLogDir, readBrokerLogParquet, writeBrokerLogParquet, writeBrokerLogParquetParallel } from "../../src/oms/broker-log-parquet.js";
import { readParquetTable, type ParquetCell, type ParquetColumnType } from "../../src/storage/parquet-table.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tl-blog-pq-"));

async function experimentLog(seed: number): Promise<string> {
  const r = await runBrokerExperiment({ seed, bars: 2, assets: 3, outDir: tmp() });
  return r.logDir;
}

/** The value at a dotted column's path in a JSONL record, as that column type reads back. */
function cellOf(record: unknown, column: string, type: ParquetColumnType): ParquetCell {
  let v: unknown = record;
  for (const k of column.split(".")) {
    v = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>)[k] : undefined;
  }
  if (v === undefined || v === null) return null;
  return type === "int64" ? BigInt(v as number) : (v as ParquetCell);
}

/** Every path from the root to a non-object value (arrays count as values). */
function leafPaths(v: unknown, prefix: string[] = [], out: string[][] = []): string[][] {
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    for (const [k, x] of Object.entries(v)) leafPaths(x, [...prefix, k], out);
  } else {
    out.push(prefix);
  }
  return out;
}

function jsonlLog(records: unknown[], stream: BrokerLogStream = "ccxt_trades"): string {
  const dir = tmp();
  writeFileSync(join(dir, `${stream}.jsonl`), records.map((r) => JSON.stringify(r) + "\n").join(""));
  return dir;
}

describe("broker log parquet copies", () => {
  it("holds the JSONL records of a real broker run, column by column", async () => {
    const dir = await experimentLog(3);
    const written = writeBrokerLogParquet(dir);
    expect(written.map((w) => w.stream)).toEqual([...BROKER_LOG_PARQUET_STREAMS]);
    for (const w of written) {
      const records = loadStream(dir, w.stream).records;
      const table = await readParquetTable(w.path);
      expect(w.path).toBe(join(dir, `${w.stream}.parquet`));
      expect(table.numRows).toBe(records.length);
      expect(w.rows).toBe(records.length);
      expect(table.columns).toEqual(w.columns);
      expect(table.metadata["tradeloop.source"]).toBe(`${w.stream}.jsonl`);
      records.forEach((rec, i) => {
        const expected = Object.fromEntries(table.columns.map((c) => [c.name, cellOf(rec, c.name, c.type)]));
        expect(table.rows[i], `${w.stream} row ${i}`).toEqual(expected);
        // No field is dropped: every leaf of the record is a column or inside a JSON column.
        for (const path of leafPaths(rec)) {
          const covered = table.columns.some((c) => c.name === path.join(".") || (c.type === "json" && path.join(".").startsWith(c.name + ".")));
          expect(covered, `${w.stream} row ${i}: ${path.join(".")}`).toBe(true);
        }
      });
      // And the records come back whole.
      expect(await readBrokerLogParquet(dir, w.stream)).toEqual(records);
    }
    const types = (stream: string): Record<string, string> =>
      Object.fromEntries((written.find((w) => w.stream === stream)?.columns ?? []).map((c) => [c.name, c.type]));
    expect(types("ccxt_trades")).toMatchObject({
      bar: "int64",
      wave: "int64",
      "trade.timestamp": "timestamp_ms",
      "trade.price": "double",
      "trade.fee.cost": "double",
      "trade.fee.currency": "string",
      // The exchange's raw payload keeps plain doubles whatever its field names.
      "trade.info.tradeId": "double",
    });
    // Decimal-string money stays a string, digit for digit.
    expect(types("oms_child_orders")).toMatchObject({ amount: "string", limitPrice: "string", "limitInputs.limitPrice": "string", waveStart: "timestamp_ms" });
    expect(types("oms_fills")).toMatchObject({ numShares: "string", price: "string", fees: "string", feeCurrencies: "json" });
    expect(types("ccxt_fills")).toMatchObject({ "order.info.price": "string", "order.reduceOnly": "boolean" });
    // Order states are logged without their trades: those are in ccxt_trades, once.
    expect(types("ccxt_fills")["order.trades"]).toBeUndefined();
    expect(types("bid_ask")).toMatchObject({ timestamp: "timestamp_ms", knowledgeTime: "timestamp_ms", rows: "int64", bid: "double" });
  });

  it("gives byte-identical files for the same log", async () => {
    const a = await experimentLog(9);
    const b = await experimentLog(9);
    const bytes = (dir: string): Buffer[] => writeBrokerLogParquet(dir).map((w) => readFileSync(w.path));
    const first = bytes(a);
    expect(bytes(b)).toEqual(first);
    expect(bytes(a)).toEqual(first);
  });

  it("flattens objects to dotted columns and keeps arrays, mixed kinds and odd keys as JSON", async () => {
    const records = [
      { bar: 1, timestamp: 1704153600000, t: { fee: { cost: 0.5, currency: "USDT" }, ids: [1, 2] }, mixed: "1", odd: { "a.b": 1 }, amount: "0.10" },
      { bar: 2.5, timestamp: 1704153600001, t: { fee: null }, mixed: 1, odd: { "": 2 }, info: { timestamp: 3 }, flag: true },
      { bar: 3, t: { fee: { cost: 1 } }, mixed: { x: 1 }, weird: { __proto__: 1 } },
    ].map((r) => JSON.parse(JSON.stringify(r)) as Record<string, unknown>);
    records[2]!["weird"] = JSON.parse('{"__proto__": {"p": 1}}');
    const dir = jsonlLog(records);
    const [w] = writeBrokerLogParquet(dir);
    expect(w?.columns).toEqual([
      // A fractional value makes `bar` a double rather than cutting it.
      { name: "bar", type: "double" },
      { name: "timestamp", type: "timestamp_ms" },
      { name: "t.fee.cost", type: "double" },
      { name: "t.fee.currency", type: "string" },
      { name: "t.ids", type: "json" },
      { name: "mixed", type: "json" },
      { name: "odd", type: "json" },
      { name: "amount", type: "string" },
      { name: "info.timestamp", type: "double" },
      { name: "flag", type: "boolean" },
      { name: "weird", type: "json" },
    ]);
    const back = await readBrokerLogParquet(dir, "ccxt_trades");
    // null and absent both read back as absent, and a nested object left with nothing goes too.
    const r1 = { ...records[1], t: {} } as Record<string, unknown>;
    delete r1["t"];
    expect(back).toEqual([records[0], r1, records[2]]);
    expect(Object.keys((back?.[2]?.["weird"] ?? {}) as object)).toEqual(["__proto__"]);
  });

  it("writes a stream in row groups, with columns learned from the whole stream", async () => {
    const records = Array.from({ length: 10 }, (_, i) => (i < 7 ? { bar: i, price: 1.5 } : { bar: i, price: i === 9 ? "x" : 2, late: { a: i } }));
    const dir = jsonlLog(records);
    const [w] = writeBrokerLogParquet(dir, { rowGroupRows: 4 });
    expect(w?.columns).toEqual([
      { name: "bar", type: "int64" },
      { name: "price", type: "json" },
      { name: "late.a", type: "double" },
    ]);
    const { parquetMetadata } = await import("hyparquet");
    const bytes = readFileSync(join(dir, "ccxt_trades.parquet"));
    const meta = parquetMetadata(new Uint8Array(bytes).buffer);
    expect(meta.row_groups.map((g) => Number(g.num_rows))).toEqual([4, 4, 2]);
    expect(await readBrokerLogParquet(dir, "ccxt_trades")).toEqual(records);
  });

  it("writes the same files when a worker thread converts half of the streams", async () => {
    // Two streams of ~6 MB each, so the second thread is used.
    const dir = tmp();
    const row = (i: number, s: string): string => JSON.stringify({ bar: i >> 6, symbol: `S${i % 40}`, price: 100 + (i % 97) / 8, amount: String(i / 1000), note: s.repeat(1 + (i % 3)) }) + "\n";
    for (const [stream, s] of [["ccxt_trades", "t"], ["bid_ask", "b"]] as const) {
      writeFileSync(join(dir, `${stream}.jsonl`), Array.from({ length: 60_000 }, (_, i) => row(i, s)).join(""));
    }
    const serial = writeBrokerLogParquet(dir).map((w) => ({ ...w, bytes: readFileSync(w.path) }));
    const parallel = await writeBrokerLogParquetParallel(dir);
    expect(parallel.map((w) => w.stream)).toEqual(serial.map((w) => w.stream));
    parallel.forEach((w, i) => {
      expect(w.rows).toBe(60_000);
      expect(readFileSync(w.path).equals(serial[i]!.bytes), w.stream).toBe(true);
    });
    // A bad record in the worker's half is reported with its file and line, as in this thread.
    writeFileSync(join(dir, "bid_ask.jsonl"), Array.from({ length: 60_000 }, (_, i) => (i === 59_000 ? "{oops\n" : row(i, "b"))).join(""));
    await expect(writeBrokerLogParquetParallel(dir)).rejects.toThrow(new BrokerLogError(`${join(dir, "bid_ask.jsonl")}:59001: corrupt record: Expected property name or '}' in JSON at position 1`));
  });

  it("finds the broker log of a run directory, a system log directory, an experiment folder or the log itself", async () => {
    const logDir = await experimentLog(4);
    // An experiment writes <out>/<start>.<end>/broker_log and no copies unless asked.
    expect(existsSync(join(logDir, "ccxt_trades.parquet"))).toBe(false);
    expect(locateBrokerLogDir(logDir)).toBe(logDir);
    expect(locateBrokerLogDir(join(logDir, ".."))).toBe(logDir);
    const run = tmp();
    const inRun = join(run, "system_log_dir", "broker_log");
    mkdirSync(inRun, { recursive: true });
    writeFileSync(join(inRun, "oms_fills.jsonl"), "");
    expect(locateBrokerLogDir(run)).toBe(inRun);
    expect(locateBrokerLogDir(join(run, "system_log_dir"))).toBe(inRun);
    // `tradeloop parquet <folder>` writes the copies the DAG task writes.
    const cli = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "parquet", join(logDir, "..")], { encoding: "utf8" });
    expect(cli.status, cli.stderr).toBe(0);
    for (const s of BROKER_LOG_PARQUET_STREAMS) {
      expect(cli.stdout).toContain(join(logDir, `${s}.parquet`));
      expect((await readParquetTable(join(logDir, `${s}.parquet`))).numRows).toBe(loadStream(logDir, s).records.length);
    }
    const bad = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "parquet", tmp()], { encoding: "utf8" });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/no broker log here/);
    const empty = tmp();
    expect(() => locateBrokerLogDir(empty)).toThrow(new BrokerLogError(`${empty}: no broker log here (looked for ccxt_trades.jsonl, oms_child_orders.jsonl, bid_ask.jsonl, ccxt_fills.jsonl, oms_fills.jsonl in it, in broker_log/ and in system_log_dir/broker_log/)`));
  });

  it("writes nothing for an empty or missing stream and names a record it cannot flatten", async () => {
    const dir = jsonlLog([]);
    expect(writeBrokerLogParquet(dir)).toEqual([]);
    expect(existsSync(join(dir, "ccxt_trades.parquet"))).toBe(false);
    expect(await readBrokerLogParquet(dir, "bid_ask")).toBeUndefined();
    const bad = jsonlLog([{ a: 1 }, { "a.b": 2 }]);
    expect(() => writeBrokerLogParquet(bad)).toThrow(new BrokerLogError(`${join(bad, "ccxt_trades.jsonl")}:2: top-level field "a.b" cannot be a Parquet column name (empty, dotted or __proto__)`));
    const notObject = jsonlLog([{ a: 1 }, [1, 2]]);
    expect(() => writeBrokerLogParquet(notObject)).toThrow(`${join(notObject, "ccxt_trades.jsonl")}:2: record is not a JSON object`);
  });

  it("passes a torn last line through the loader's rule", () => {
    const dir = jsonlLog([{ bar: 1 }]);
    writeFileSync(join(dir, "ccxt_trades.jsonl"), '{"bar":1}\n{"bar":', { flag: "w" });
    expect(() => writeBrokerLogParquet(dir)).toThrow(/ccxt_trades\.jsonl:2: truncated record/);
    expect(writeBrokerLogParquet(dir, { tolerateTruncatedTail: true })[0]?.rows).toBe(1);
  });

  it("round-trips random records (no nulls or empty objects, which read back as absent)", async () => {
    const key = fc.constantFrom("bar", "timestamp", "price", "info", "a", "b", "side");
    const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean());
    const { value } = fc.letrec((tie) => ({
      value: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        scalar,
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
        tie("object"),
      ),
      object: fc.dictionary(fc.oneof(key, fc.constantFrom("x.y", "")), tie("value"), { minKeys: 1, maxKeys: 4 }),
    }));
    const record = fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 13 }), async (records, rowGroupRows) => {
        const parsed = records.map((r) => JSON.parse(JSON.stringify(r)) as unknown);
        const dir = jsonlLog(parsed, "bid_ask");
        try {
          // Any row-group size: a field or a kind first seen in a later group still shapes every group.
          writeBrokerLogParquet(dir, { streams: ["bid_ask"], rowGroupRows });
          expect(await readBrokerLogParquet(dir, "bid_ask")).toEqual(parsed);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 120 },
    );
  });
});
