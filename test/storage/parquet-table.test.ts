import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  ParquetTableError,
  readParquetTable,
  writeParquetTable,
  type JsonValue,
  type ParquetCell,
  type ParquetColumn,
  type ParquetColumnType,
} from "../../src/storage/parquet-table.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tl-parquet-"));

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** What a written value reads back as. */
function expectedCell(type: ParquetColumnType, v: unknown): ParquetCell {
  if (v === null || v === undefined) return null;
  switch (type) {
    case "int64":
      return BigInt(v as number | bigint);
    case "timestamp_ms":
      return v instanceof Date ? v.getTime() : Number(v as number | bigint);
    case "json":
      // Stored as JSON text: whatever JSON.stringify keeps is what comes back.
      return JSON.parse(JSON.stringify(v)) as JsonValue;
    default:
      return v as ParquetCell;
  }
}

function expectedRows(columns: readonly ParquetColumn[]): Record<string, ParquetCell>[] {
  const n = columns[0]?.values.length ?? 0;
  return Array.from({ length: n }, (_, i) => Object.fromEntries(columns.map((c) => [c.name, expectedCell(c.type, c.values[i])])));
}

const bigString = "x".repeat(300_000) + "€ 𝄞 中文 ✓" + "y".repeat(1_000_000);

const allTypes: ParquetColumn[] = [
  { name: "symbol", type: "string", values: ["BTC/USDT:USDT", null, "", bigString, "émoji 🚀", undefined] },
  // Decimal strings keep every digit, far past what a double holds.
  { name: "trade.fee.cost", type: "string", values: ["0.00000001", "123456789012345678901234567890.123456789", null, "-0", "1e-7", "42"] },
  { name: "price", type: "double", values: [45.672, -0, Number.NaN, Number.POSITIVE_INFINITY, null, 5e-324] },
  { name: "seq", type: "int64", values: [0, INT64_MIN, INT64_MAX, null, Number.MAX_SAFE_INTEGER, -1n] },
  { name: "ok", type: "boolean", values: [true, false, null, true, undefined, false] },
  { name: "timestamp", type: "timestamp_ms", values: [1704153600000, new Date(1704153607780), 1704153600779n, null, 0, -86_400_000] },
  // An own "__proto__" key is data too (JSON.parse makes one).
  { name: "fees", type: "json", values: [["USDT"], { a: 1, b: [true, null, "x"] }, null, "text", 3.5, [JSON.parse('{"__proto__": {"x": 1}}') as JsonValue]] },
];

describe("parquet table", () => {
  it("round-trips every column type, nulls and big strings", async () => {
    const path = join(tmp(), "t.parquet");
    writeParquetTable(path, allTypes, { metadata: { source: "test", note: "ünï" } });
    const t = await readParquetTable(path);
    expect(t.numRows).toBe(6);
    expect(t.columns).toEqual(allTypes.map((c) => ({ name: c.name, type: c.type })));
    expect(t.metadata).toEqual({ source: "test", note: "ünï" });
    expect(t.rows).toEqual(expectedRows(allTypes));
    expect(Object.is(t.rows[1]?.["price"], -0)).toBe(true);
    expect(t.rows[3]?.["symbol"]).toBe(bigString);
  });

  it("reads chosen columns only, in the order asked, and names a missing one", async () => {
    const path = join(tmp(), "t.parquet");
    writeParquetTable(path, allTypes);
    const t = await readParquetTable(path, { columns: ["seq", "symbol"] });
    expect(t.columns.map((c) => c.name)).toEqual(["seq", "symbol"]);
    expect(t.rows[1]).toEqual({ seq: INT64_MIN, symbol: null });
    expect(Object.keys(t.rows[2] ?? {})).toEqual(["seq", "symbol"]);
    await expect(readParquetTable(path, { columns: ["nope"] })).rejects.toThrow(`${path}: no column nope`);
  });

  it("writes a table with no rows", async () => {
    const path = join(tmp(), "empty.parquet");
    const cols: ParquetColumn[] = allTypes.map((c) => ({ ...c, values: [] }) as ParquetColumn);
    writeParquetTable(path, cols);
    const t = await readParquetTable(path);
    expect(t.numRows).toBe(0);
    expect(t.rows).toEqual([]);
    expect(t.columns.map((c) => c.type)).toEqual(allTypes.map((c) => c.type));
  });

  it("gives byte-identical files for the same table", () => {
    const dir = tmp();
    writeParquetTable(join(dir, "a.parquet"), allTypes, { metadata: { k: "v" } });
    writeParquetTable(join(dir, "b.parquet"), allTypes, { metadata: { k: "v" } });
    expect(readFileSync(join(dir, "b.parquet")).equals(readFileSync(join(dir, "a.parquet")))).toBe(true);
  });

  it("round-trips random tables", async () => {
    const dir = tmp();
    const nullable = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | null | undefined> => fc.oneof({ weight: 5, arbitrary: a }, fc.constant(null), fc.constant(undefined));
    const valueArb: Record<ParquetColumnType, fc.Arbitrary<unknown>> = {
      string: fc.string({ unit: "grapheme", maxLength: 40 }),
      double: fc.double(),
      int64: fc.oneof(fc.bigInt({ min: INT64_MIN, max: INT64_MAX }), fc.maxSafeInteger()),
      boolean: fc.boolean(),
      timestamp_ms: fc.oneof(fc.integer({ min: -8.64e15, max: 8.64e15 }), fc.date({ noInvalidDate: true })),
      json: fc.jsonValue({ maxDepth: 3 }),
    };
    const types = Object.keys(valueArb) as ParquetColumnType[];
    const table = fc.integer({ min: 0, max: 40 }).chain((rows) =>
      fc
        .uniqueArray(fc.tuple(fc.string({ minLength: 1, maxLength: 12 }).filter((s) => s !== "__proto__"), fc.constantFrom(...types)), {
          minLength: 1,
          maxLength: 7,
          selector: ([name]) => name,
        })
        .chain((specs) =>
          fc.tuple(
            ...specs.map(([name, type]) =>
              fc.array(nullable(valueArb[type]), { minLength: rows, maxLength: rows }).map((values) => ({ name, type, values }) as ParquetColumn),
            ),
          ),
        ),
    );
    let k = 0;
    await fc.assert(
      fc.asyncProperty(table, async (columns) => {
        const path = join(dir, `p${k++}.parquet`);
        writeParquetTable(path, columns);
        const t = await readParquetTable(path);
        rmSync(path);
        expect(t.columns).toEqual(columns.map((c) => ({ name: c.name, type: c.type })));
        expect(t.rows).toEqual(expectedRows(columns));
      }),
      { numRuns: 150 },
    );
  });

  it("names the file when it is not Parquet, empty, truncated or has a corrupt footer", async () => {
    const dir = tmp();
    const good = join(dir, "good.parquet");
    writeParquetTable(good, allTypes);
    const bytes = readFileSync(good);

    const text = join(dir, "text.parquet");
    writeFileSync(text, "timestamp,symbol,price\n1,BTC,2\n");
    await expect(readParquetTable(text)).rejects.toThrow(`${text}: not a Parquet file (it does not start with the PAR1 magic)`);

    const empty = join(dir, "empty.parquet");
    writeFileSync(empty, "");
    await expect(readParquetTable(empty)).rejects.toThrow(`${empty}: not a Parquet file (empty)`);

    const cut = join(dir, "cut.parquet");
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    await expect(readParquetTable(cut)).rejects.toThrow(new ParquetTableError(`${cut}: truncated Parquet file (no PAR1 footer at the end; was its write interrupted?)`));

    // Keep both magics but scramble the footer's metadata.
    const footerLen = bytes.readUInt32LE(bytes.length - 8);
    const bad = Buffer.from(bytes);
    bad.fill(0xff, bytes.length - 8 - footerLen, bytes.length - 8);
    const corrupt = join(dir, "corrupt.parquet");
    writeFileSync(corrupt, bad);
    await expect(readParquetTable(corrupt)).rejects.toThrow(new RegExp(`^${corrupt.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: corrupt Parquet`));
  });

  it("rejects a bad value naming the column and row, and leaves the old file and no temp file", async () => {
    const dir = tmp();
    const path = join(dir, "t.parquet");
    writeParquetTable(path, allTypes);
    const before = readFileSync(path);
    const bad = (columns: ParquetColumn[]): void => writeParquetTable(path, columns);
    expect(() => bad([{ name: "qty", type: "int64", values: [1, 2.5] }])).toThrow(`${path}: column qty, row 1: expected a safe integer, got number 2.5`);
    expect(() => bad([{ name: "q", type: "int64", values: [2n ** 63n] }])).toThrow("column q, row 0: expected a signed 64-bit integer");
    expect(() => bad([{ name: "t", type: "timestamp_ms", values: [new Date(Number.NaN)] }])).toThrow("column t, row 0: expected a valid Date");
    expect(() => bad([{ name: "s", type: "string", values: ["ok", 5 as unknown as string] }])).toThrow("column s, row 1: expected a string, got number 5");
    expect(() => bad([{ name: "s", type: "string", values: ["a\uD800b"] }])).toThrow("column s, row 0: expected well-formed UTF-16");
    expect(() => bad([{ name: "b", type: "boolean", values: ["true" as unknown as boolean] }])).toThrow("column b, row 0: expected a boolean");
    expect(() => bad([{ name: "d", type: "double", values: [1n as unknown as number] }])).toThrow("column d, row 0: expected a number");
    expect(() =>
      bad([
        { name: "a", type: "double", values: [1, 2] },
        { name: "b", type: "double", values: [1] },
      ]),
    ).toThrow(`${path}: column b has 1 values, column a has 2`);
    expect(() =>
      bad([
        { name: "a", type: "double", values: [] },
        { name: "a", type: "string", values: [] },
      ]),
    ).toThrow("column a appears twice");
    expect(() => bad([])).toThrow("needs at least one column");
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(["t.parquet"]);
    expect(existsSync(`${path}.tmp-${process.pid}`)).toBe(false);
  });
});
