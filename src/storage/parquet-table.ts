// Flat, typed Parquet tables: the one place that turns columns of domain values into a Parquet
// file (hyparquet-writer) and back (hyparquet). Used for the broker log's Parquet copies and for
// market-data files. Files are plain flat Parquet (one OPTIONAL leaf per column, SNAPPY, the legacy
// converted types where one exists), so pandas/pyarrow, DuckDB, Spark and polars read them.
//
// Money and quantities: there is deliberately no decimal column type. Parquet's DECIMAL needs one
// precision and scale per column, but our decimal strings (decimal.js output) carry whatever
// scale the instrument or fee computation gave them, and hyparquet reads DECIMAL back through a
// float64 (`unscaled * 10 ** -scale`), which would silently lose digits. So a money or quantity
// value that exists as a decimal string is written as a "string" column (UTF8) and read back as
// the identical string; only values that are already floats (ccxt structures) go in "double".

import { readFileSync, renameSync, rmSync } from "node:fs";
import { parquetMetadata, parquetReadObjects, type FileMetaData, type SchemaElement } from "hyparquet";
import { fileWriter, ParquetWriter, parquetWrite, type ColumnSource } from "hyparquet-writer";

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type ParquetColumnType = "string" | "double" | "int64" | "boolean" | "timestamp_ms" | "json";

/** What a column accepts on write; `null` and `undefined` are both written as a Parquet null. */
export interface ParquetWriteValue {
  string: string;
  double: number;
  /** A number must be a safe integer; a bigint must fit a signed 64-bit integer. */
  int64: bigint | number;
  boolean: boolean;
  /** Milliseconds since the epoch, UTC (an integer), or a Date. */
  timestamp_ms: number | bigint | Date;
  /** Any JSON value, stored as its JSON text (BYTE_ARRAY with the JSON annotation). */
  json: JsonValue;
}

/** What a column gives back on read (or `null`). */
export interface ParquetReadValue {
  string: string;
  double: number;
  int64: bigint;
  boolean: boolean;
  /** Epoch milliseconds, as the rest of the code base keeps timestamps. */
  timestamp_ms: number;
  json: JsonValue;
}

export type ParquetColumn = {
  [T in ParquetColumnType]: { name: string; type: T; values: ReadonlyArray<ParquetWriteValue[T] | null | undefined> };
}[ParquetColumnType];

export interface ParquetColumnSpec {
  name: string;
  type: ParquetColumnType;
}

export type ParquetCell = ParquetReadValue[ParquetColumnType] | null;
export type ParquetRow = Record<string, ParquetCell>;

export interface ParquetTable {
  path: string;
  numRows: number;
  /** In file order (or in the order asked for, when `columns` was given). */
  columns: ParquetColumnSpec[];
  /** Key/value metadata stored in the footer. */
  metadata: Record<string, string>;
  rows: ParquetRow[];
}

export interface WriteParquetOptions {
  /** Stored as footer key/value metadata, in this order (keep it deterministic). */
  metadata?: Record<string, string>;
}

export class ParquetTableError extends Error {
  override readonly name = "ParquetTableError";
}

// The legacy converted types, which every reader knows (DuckDB, for one, reads a column annotated
// with only the newer JSON logical type as a BLOB).
const SCHEMA_ELEMENT: Record<ParquetColumnType, Omit<SchemaElement, "name">> = {
  string: { type: "BYTE_ARRAY", converted_type: "UTF8" },
  double: { type: "DOUBLE" },
  int64: { type: "INT64" },
  boolean: { type: "BOOLEAN" },
  timestamp_ms: { type: "INT64", converted_type: "TIMESTAMP_MILLIS" },
  json: { type: "BYTE_ARRAY", converted_type: "JSON" },
};

// A fixed writer name instead of hyparquet's default keeps files traceable to us; no version or
// clock in it, so the same table gives the same bytes.
const CREATED_BY = "tradeloop (hyparquet-writer)";

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAGIC = "PAR1";

/**
 * Writes `columns` as one Parquet file at `path`, atomically: a temporary file beside it, then a
 * rename, so a reader (or a killed run) never sees a half-written table.
 */
export function writeParquetTable(path: string, columns: readonly ParquetColumn[], opts: WriteParquetOptions = {}): void {
  const columnData = prepareColumns(path, columns);
  const schema = schemaOf(columns);
  const kvMetadata = kvMetadataOf(opts);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    // fileWriter streams the file out in 1 MB chunks, so a large table is never held twice.
    const writer = fileWriter(tmp);
    const done = parquetWrite({ writer, columnData, schema, kvMetadata, createdBy: CREATED_BY });
    // With a synchronous writer hyparquet-writer finishes synchronously; a promise here would mean
    // the rename below races the write.
    if (done instanceof Promise) throw new Error("hyparquet-writer returned a promise for a synchronous file writer");
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    if (e instanceof ParquetTableError) throw e;
    throw new ParquetTableError(`${path}: cannot write Parquet table: ${(e as Error).message}`);
  }
}

/**
 * Writes one Parquet file a row group at a time, so a table larger than memory can be written from a
 * stream: the columns are fixed up front, each `writeRowGroup` adds rows, `finish` writes the footer
 * and moves the file into place (a temporary file until then; `abort` removes it).
 */
export class ParquetTableWriter {
  private readonly tmp: string;
  private readonly pq: ParquetWriter;
  private readonly fileOut: ReturnType<typeof fileWriter>;
  private done = false;

  constructor(
    readonly path: string,
    private readonly columns: readonly ParquetColumnSpec[],
    opts: WriteParquetOptions = {},
  ) {
    if (columns.length === 0) throw new ParquetTableError(`${path}: a Parquet table needs at least one column`);
    this.tmp = `${path}.tmp-${process.pid}`;
    this.fileOut = fileWriter(this.tmp);
    this.pq = new ParquetWriter({ writer: this.fileOut, schema: schemaOf(columns), kvMetadata: kvMetadataOf(opts), createdBy: CREATED_BY });
  }

  /** Adds one row group; `columns` must be the writer's columns, in order, each with the same rows. */
  writeRowGroup(columns: readonly ParquetColumn[]): void {
    if (this.done) throw new ParquetTableError(`${this.path}: the table is already finished`);
    columns.forEach((c, j) => {
      const want = this.columns[j];
      if (want === undefined || want.name !== c.name || want.type !== c.type) {
        this.abort();
        throw new ParquetTableError(`${this.path}: row group column ${j} is ${c.name} (${c.type}), the table's is ${want === undefined ? "none" : `${want.name} (${want.type})`}`);
      }
    });
    if (columns.length !== this.columns.length) {
      this.abort();
      throw new ParquetTableError(`${this.path}: a row group has ${columns.length} columns, the table ${this.columns.length}`);
    }
    this.guard(() => {
      const w = this.pq.write({ columnData: prepareColumns(this.path, columns), rowGroupSize: columns[0]?.values.length ?? 0 });
      if (w instanceof Promise) throw new Error("hyparquet-writer returned a promise for a synchronous file writer");
    });
  }

  finish(): void {
    if (this.done) throw new ParquetTableError(`${this.path}: the table is already finished`);
    this.guard(() => {
      this.pq.finish();
      renameSync(this.tmp, this.path);
    });
    this.done = true;
  }

  abort(): void {
    this.done = true;
    rmSync(this.tmp, { force: true });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.abort();
      if (e instanceof ParquetTableError) throw e;
      throw new ParquetTableError(`${this.path}: cannot write Parquet table: ${(e as Error).message}`);
    }
  }
}

function schemaOf(columns: readonly ParquetColumnSpec[]): SchemaElement[] {
  return [{ name: "root", num_children: columns.length }, ...columns.map((c): SchemaElement => ({ name: c.name, repetition_type: "OPTIONAL", ...SCHEMA_ELEMENT[c.type] }))];
}

function kvMetadataOf(opts: WriteParquetOptions): { key: string; value: string }[] {
  return Object.entries(opts.metadata ?? {}).map(([key, value]) => ({ key, value }));
}

function prepareColumns(path: string, columns: readonly ParquetColumn[]): ColumnSource[] {
  if (columns.length === 0) throw new ParquetTableError(`${path}: a Parquet table needs at least one column`);
  const numRows = columns[0]?.values.length ?? 0;
  const seen = new Set<string>();
  return columns.map((col) => {
    if (col.name === "") throw new ParquetTableError(`${path}: a column has an empty name`);
    // Readers hand rows back as plain objects, where this name would set the prototype instead.
    if (col.name === "__proto__") throw new ParquetTableError(`${path}: a column cannot be named __proto__`);
    if (seen.has(col.name)) throw new ParquetTableError(`${path}: column ${col.name} appears twice`);
    seen.add(col.name);
    if (!(col.type in SCHEMA_ELEMENT)) throw new ParquetTableError(`${path}: column ${col.name}: unknown type ${String(col.type)}`);
    if (col.values.length !== numRows) {
      throw new ParquetTableError(`${path}: column ${col.name} has ${col.values.length} values, column ${columns[0]?.name} has ${numRows}`);
    }
    // Min/max of JSON text helps no query and would copy whole documents into the footer.
    return { name: col.name, data: physicalValues(path, col), statistics: col.type !== "json" };
  });
}

/** Checks every value against its column type (naming the column and row) and normalises nulls. */
function physicalValues(path: string, col: ParquetColumn): unknown[] {
  const n = col.values.length;
  const out = new Array<unknown>(n);
  const bad = (i: number, want: string): never => {
    const v = col.values[i];
    const shown = typeof v === "bigint" ? `${v}n` : typeof v === "string" ? JSON.stringify(v.slice(0, 40)) : String(v);
    throw new ParquetTableError(`${path}: column ${col.name}, row ${i}: expected ${want}, got ${typeof v} ${shown}`);
  };
  switch (col.type) {
    case "string":
      for (let i = 0; i < n; i++) {
        const v = col.values[i];
        if (v === null || v === undefined) out[i] = null;
        else if (typeof v !== "string") bad(i, "a string");
        // UTF-8 cannot carry a lone surrogate: the encoder would turn it into U+FFFD silently.
        else if (LONE_SURROGATE.test(v)) bad(i, "well-formed UTF-16 (no lone surrogate)");
        else out[i] = v;
      }
      break;
    case "double":
      for (let i = 0; i < n; i++) {
        const v = col.values[i];
        if (v === null || v === undefined) out[i] = null;
        else if (typeof v !== "number") bad(i, "a number");
        else out[i] = v;
      }
      break;
    case "boolean":
      for (let i = 0; i < n; i++) {
        const v = col.values[i];
        if (v === null || v === undefined) out[i] = null;
        else if (typeof v !== "boolean") bad(i, "a boolean");
        else out[i] = v;
      }
      break;
    case "int64":
      for (let i = 0; i < n; i++) {
        const v = col.values[i];
        if (v === null || v === undefined) out[i] = null;
        else if (typeof v === "number") out[i] = Number.isSafeInteger(v) ? BigInt(v) : bad(i, "a safe integer");
        else if (typeof v === "bigint") out[i] = v >= INT64_MIN && v <= INT64_MAX ? v : bad(i, "a signed 64-bit integer");
        else bad(i, "an integer (number or bigint)");
      }
      break;
    case "timestamp_ms":
      for (let i = 0; i < n; i++) {
        const v = col.values[i];
        if (v === null || v === undefined) out[i] = null;
        else if (typeof v === "number") out[i] = Number.isSafeInteger(v) ? BigInt(v) : bad(i, "integer epoch milliseconds");
        else if (typeof v === "bigint") out[i] = v >= INT64_MIN && v <= INT64_MAX ? v : bad(i, "epoch milliseconds in 64 bits");
        else if (v instanceof Date) out[i] = Number.isNaN(v.getTime()) ? bad(i, "a valid Date") : BigInt(v.getTime());
        else bad(i, "epoch milliseconds or a Date");
      }
      break;
    case "json":
      for (let i = 0; i < n; i++) {
        const v = col.values[i];
        // A JSON null is stored as a Parquet null: readers then see "no value" either way.
        out[i] = v === null || v === undefined ? null : shieldProtoKeys(v);
      }
      break;
  }
  return out;
}

/**
 * hyparquet-writer serialises JSON through a copy built by assignment into `{}`, where an own
 * "__proto__" key (JSON.parse makes those) sets the prototype instead and is lost. It passes objects
 * without Object.prototype through untouched to JSON.stringify, which keeps every own key; so each
 * object it would copy (the value itself, or inside arrays) gets a null-prototype shallow copy.
 */
function shieldProtoKeys(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(shieldProtoKeys);
  if (v === null || typeof v !== "object") return v;
  const copy = Object.create(null) as Record<string, JsonValue>;
  for (const k of Object.keys(v)) copy[k] = v[k] as JsonValue;
  return copy;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export interface ReadParquetOptions {
  /** Read only these columns, in this order. */
  columns?: readonly string[];
}

/** Reads a flat Parquet file into rows; errors name the file (and the column, when one is at fault). */
export async function readParquetTable(path: string, opts: ReadParquetOptions = {}): Promise<ParquetTable> {
  const bytes = readFileSync(path);
  checkMagic(path, bytes);
  // Small files share Node's buffer pool; a large one owns its ArrayBuffer and needs no copy.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const file = whole ? (bytes.buffer as ArrayBuffer) : new Uint8Array(bytes).buffer;
  let meta: FileMetaData;
  try {
    meta = parquetMetadata(file);
  } catch (e) {
    throw new ParquetTableError(`${path}: corrupt Parquet footer: ${(e as Error).message}`);
  }
  const all = columnSpecs(path, meta.schema);
  let columns = all;
  if (opts.columns !== undefined) {
    const byName = new Map(all.map((c) => [c.name, c]));
    columns = opts.columns.map((name) => {
      const spec = byName.get(name);
      if (spec === undefined) throw new ParquetTableError(`${path}: no column ${name} (has ${all.map((c) => c.name).join(", ")})`);
      return spec;
    });
  }
  let rows: ParquetRow[];
  try {
    rows = await parquetReadObjects({
      file,
      metadata: meta,
      columns: opts.columns === undefined ? undefined : [...opts.columns],
      parsers: { timestampFromMilliseconds: (ms: bigint) => Number(ms) },
    });
  } catch (e) {
    throw new ParquetTableError(`${path}: corrupt Parquet data: ${(e as Error).message}`);
  }
  const jsonText = columns.filter((c) => c.type === "json" && meta.schema.find((el) => el.name === c.name)?.converted_type !== "JSON");
  if (jsonText.length > 0) {
    // hyparquet parses only the legacy JSON converted type; other writers may give the logical one alone.
    for (const row of rows) {
      for (const c of jsonText) {
        const v = row[c.name];
        if (typeof v === "string") row[c.name] = parseJson(path, c.name, v);
      }
    }
  }
  const numRows = Number(meta.num_rows);
  if (rows.length !== numRows) throw new ParquetTableError(`${path}: corrupt Parquet data: footer says ${numRows} rows, read ${rows.length}`);
  if (opts.columns !== undefined && !sameOrder(opts.columns, all)) {
    // hyparquet keys rows in file order; callers asked for theirs.
    rows = rows.map((r) => Object.fromEntries(columns.map((c) => [c.name, r[c.name] ?? null])));
  }
  const metadata: Record<string, string> = {};
  for (const kv of meta.key_value_metadata ?? []) metadata[kv.key] = kv.value ?? "";
  return { path, numRows, columns, metadata, rows };
}

function parseJson(path: string, column: string, text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (e) {
    throw new ParquetTableError(`${path}: column ${column}: corrupt JSON value: ${(e as Error).message}`);
  }
}

function sameOrder(asked: readonly string[], all: readonly ParquetColumnSpec[]): boolean {
  let j = 0;
  for (const name of asked) {
    while (j < all.length && all[j]?.name !== name) j++;
    if (j === all.length) return false;
    j++;
  }
  return true;
}

function checkMagic(path: string, bytes: Buffer): void {
  // Header magic + 4-byte footer length + footer magic is the least a Parquet file can be.
  if (bytes.byteLength < 12) {
    const what = bytes.byteLength === 0 ? "empty" : `only ${bytes.byteLength} bytes`;
    throw new ParquetTableError(`${path}: not a Parquet file (${what})`);
  }
  if (bytes.toString("latin1", 0, 4) !== MAGIC) throw new ParquetTableError(`${path}: not a Parquet file (it does not start with the PAR1 magic)`);
  if (bytes.toString("latin1", bytes.byteLength - 4) !== MAGIC) {
    throw new ParquetTableError(`${path}: truncated Parquet file (no PAR1 footer at the end; was its write interrupted?)`);
  }
}

function columnSpecs(path: string, schema: SchemaElement[]): ParquetColumnSpec[] {
  const [root, ...leaves] = schema;
  if (root === undefined) throw new ParquetTableError(`${path}: corrupt Parquet footer: empty schema`);
  if (leaves.length !== (root.num_children ?? 0)) {
    throw new ParquetTableError(`${path}: nested Parquet schemas are not supported (only flat tables)`);
  }
  return leaves.map((el) => ({ name: el.name, type: columnType(path, el) }));
}

function columnType(path: string, el: SchemaElement): ParquetColumnType {
  if (el.repetition_type === "REPEATED" || (el.num_children ?? 0) > 0) {
    throw new ParquetTableError(`${path}: column ${el.name}: nested or repeated columns are not supported (only flat tables)`);
  }
  const logical = el.logical_type?.type;
  if (el.type === "BYTE_ARRAY" && (el.converted_type === "UTF8" || logical === "STRING")) return "string";
  if (el.type === "BYTE_ARRAY" && (el.converted_type === "JSON" || logical === "JSON")) return "json";
  if (el.type === "DOUBLE" && el.converted_type === undefined) return "double";
  if (el.type === "BOOLEAN") return "boolean";
  if (el.type === "INT64" && el.converted_type === "TIMESTAMP_MILLIS") return "timestamp_ms";
  if (el.type === "INT64" && el.converted_type === undefined && logical === undefined) return "int64";
  const kind = [el.type, el.converted_type, logical].filter((x) => x !== undefined).join("/");
  throw new ParquetTableError(`${path}: column ${el.name}: unsupported Parquet type ${kind}`);
}
