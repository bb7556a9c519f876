// Parquet copies of the large broker-log streams (trades, child orders, bid/ask, order states,
// parent fills), written beside their JSON-lines originals after a run, for column-wise analysis in
// pandas/DuckDB. The JSONL stays the source of truth; a copy can always be rebuilt.
//
// When: not inside the run. A copy is a second full read of the stream plus the encoding, about as
// much CPU as a fifth of a simulated day's run, and nothing in the run or in the analyses of this
// product reads it. So the DAGs write the copies in their own `broker_log_parquet` task after
// `run_system` (beside the reconciliation, on the other core), `tradeloop parquet <run>` writes them
// for any finished run, and `tradeloop run --parquet` / `broker-experiment --parquet` write them at
// the end of the run for a user who wants them right away.
//
// Flattening (one flat table per stream, one column per scalar field):
// - nested objects are flattened into dotted column names: `trade.fee.cost`;
// - arrays (`order.trades`, `feeCurrencies`), fields whose values mix kinds (a string in one record,
//   a number in another; an object in one, a scalar in another), and objects with a key that is
//   empty, contains a dot (so the dotted name stays unambiguous) or is "__proto__" become one column
//   of JSON text;
// - strings stay UTF8 strings, so decimal-string money and quantities (`amount`, `numShares`,
//   `fees`) keep every digit; numbers that the JSONL already holds as floats (ccxt `price`,
//   `cost`) are DOUBLE, which is exactly the float the JSONL parses to;
// - a few known integer fields are INT64 and known epoch-millisecond fields are TIMESTAMP_MILLIS
//   (see INT64_FIELDS, TIMESTAMP_FIELDS; never inside an exchange's raw `info`, whose meaning we do
//   not own), when every value is a safe integer; all other numbers are DOUBLE. The type is chosen
//   by name rather than by "all values happen to be integers", so the same field has the same type
//   in every log (a column of prices is DOUBLE even in a log where each price was whole);
// - a null, an absent field and an empty object all read back as absent (outside JSON columns).
// Columns are in the order their fields first appear in the stream, and nothing depends on the clock
// or on map iteration of unordered data, so the same log gives byte-identical Parquet files.

import { existsSync, statSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { join } from "node:path";
import { BrokerLogError, type BrokerLogStream, type LoadOptions } from "./broker-log.js";
import { forEachJsonlRecord, JsonlError } from "../storage/jsonl.js";
import { ParquetTableWriter, readParquetTable, type ParquetColumn, type ParquetColumnSpec } from "../storage/parquet-table.js";

/** The streams that get a Parquet copy: the ones read column-wise and that grow with the run. */
export const BROKER_LOG_PARQUET_STREAMS = ["ccxt_trades", "oms_child_orders", "bid_ask", "ccxt_fills", "oms_fills"] as const satisfies readonly BrokerLogStream[];

const INT64_FIELDS = new Set(["bar", "wave", "attempt", "waveId", "parentOrderId", "assetId", "rows", "numDataPoints"]);
const TIMESTAMP_FIELDS = new Set(["timestamp", "knowledgeTime", "waveStart", "submittedAt", "ackAt", "lastTradeTimestamp", "lastUpdateTimestamp"]);
/** ccxt's raw exchange payload: its field names mean whatever the exchange says. */
const RAW_PAYLOAD_KEY = "info";

const FLATTEN_NOTE =
  "one column per scalar field; nested objects as dotted names; arrays, mixed-kind and irregular values as JSON text; null and absent both null";

export interface BrokerLogParquetFile {
  stream: BrokerLogStream;
  path: string;
  rows: number;
  columns: ParquetColumnSpec[];
}

export interface BrokerLogParquetOptions extends LoadOptions {
  /** Default: BROKER_LOG_PARQUET_STREAMS. */
  streams?: readonly BrokerLogStream[];
  /** Rows per row group (default PARQUET_ROW_GROUP_ROWS). */
  rowGroupRows?: number;
}

/**
 * Writes `<stream>.parquet` beside each `<stream>.jsonl` of the log directory (atomically, replacing
 * an older copy). A stream with no records gets no file. Returns what was written.
 */
export function writeBrokerLogParquet(logDir: string, opts: BrokerLogParquetOptions = {}): BrokerLogParquetFile[] {
  const out: BrokerLogParquetFile[] = [];
  for (const stream of opts.streams ?? BROKER_LOG_PARQUET_STREAMS) {
    const written = writeStreamParquet(logDir, stream, opts);
    if (written !== undefined) out.push(written);
  }
  return out;
}

/**
 * writeBrokerLogParquet with the streams shared between this thread and one worker thread, balanced
 * by JSONL size: the conversion is CPU-bound and, at the end of a run, nothing else is, so the
 * second core halves its wall time. Same files, byte for byte; the result lists them in stream order.
 */
export async function writeBrokerLogParquetParallel(logDir: string, opts: BrokerLogParquetOptions = {}): Promise<BrokerLogParquetFile[]> {
  const streams = opts.streams ?? BROKER_LOG_PARQUET_STREAMS;
  const size = (s: BrokerLogStream): number => {
    const f = join(logDir, `${s}.jsonl`);
    return existsSync(f) ? statSync(f).size : 0;
  };
  const bins: [BrokerLogStream[], BrokerLogStream[]] = [[], []];
  const load = [0, 0];
  for (const s of [...streams].sort((a, b) => size(b) - size(a) || a.localeCompare(b))) {
    const k = (load[0] as number) <= (load[1] as number) ? 0 : 1;
    bins[k].push(s);
    load[k] = (load[k] as number) + size(s);
  }
  if (bins[1].length === 0 || (load[1] as number) < PARALLEL_MIN_BYTES) return writeBrokerLogParquet(logDir, opts);
  const worker = new Worker(new URL("./broker-log-parquet-worker.mjs", import.meta.url), { execArgv: [], workerData: { logDir, opts: { ...opts, streams: bins[1] } } });
  const fromWorker = new Promise<BrokerLogParquetFile[]>((resolve, reject) => {
    worker.once("message", (m: { ok: true; files: BrokerLogParquetFile[] } | { ok: false; name: string; message: string }) => {
      if (m.ok) resolve(m.files);
      else reject(m.name === "BrokerLogError" ? new BrokerLogError(m.message) : new Error(`${m.name}: ${m.message}`));
    });
    worker.once("error", reject);
    worker.once("exit", (code) => reject(new Error(`the Parquet worker exited (code ${code}) before it reported`)));
  });
  let mine: BrokerLogParquetFile[];
  try {
    mine = writeBrokerLogParquet(logDir, { ...opts, streams: bins[0] });
  } catch (e) {
    // Our half failed: still wait for the worker, so no file is being written once we throw.
    const other = await fromWorker.then(() => undefined, (w: unknown) => w);
    if (other !== undefined) throw new AggregateError([e, other], `${logDir}: both Parquet conversions failed: ${(e as Error).message}; ${(other as Error).message}`, { cause: e });
    throw e;
  }
  const theirs = await fromWorker;
  const byStream = new Map([...mine, ...theirs].map((f) => [f.stream, f]));
  return streams.flatMap((s) => byStream.get(s) ?? []);
}

/**
 * The broker-log folder of `path`: a run directory (`<run>/system_log_dir/broker_log`), a system log
 * directory, a broker experiment's `<start>.<end>/` folder, or the broker-log folder itself.
 */
export function locateBrokerLogDir(path: string): string {
  const candidates = [path, join(path, "broker_log"), join(path, "system_log_dir", "broker_log")];
  const found = candidates.find((dir) => BROKER_LOG_PARQUET_STREAMS.some((s) => existsSync(join(dir, `${s}.jsonl`))));
  if (found === undefined) throw new BrokerLogError(`${path}: no broker log here (looked for ${BROKER_LOG_PARQUET_STREAMS.map((s) => `${s}.jsonl`).join(", ")} in it, in broker_log/ and in system_log_dir/broker_log/)`);
  return found;
}

/** Below this many JSONL bytes for the second thread, starting it costs more than it saves. */
const PARALLEL_MIN_BYTES = 4 << 20;

/**
 * Rows per Parquet row group. The stream is read twice (once to learn its columns, once to write
 * them) and never held whole: a day of a busy run has streams of a million records, which as
 * parsed objects took more memory than the whole run before them.
 */
export const PARQUET_ROW_GROUP_ROWS = 8_192;

function writeStreamParquet(logDir: string, stream: BrokerLogStream, opts: BrokerLogParquetOptions): BrokerLogParquetFile | undefined {
  const file = join(logDir, `${stream}.jsonl`);
  const root = newNode([]);
  const scan = readStream(file, opts, (rec, line) => {
    if (!isPlainObject(rec)) throw new BrokerLogError(`${file}:${line}: record is not a JSON object`);
    for (const k in rec) {
      if (badKey(k)) throw new BrokerLogError(`${file}:${line}: top-level field ${JSON.stringify(k)} cannot be a Parquet column name (empty, dotted or __proto__)`);
    }
    observeObject(root, rec);
  });
  if (scan.count === 0) return undefined;
  const leaves: FieldNode[] = [];
  collectLeaves(root, leaves);
  const columns = leaves.map((leaf) => ({ name: leaf.path.join("."), type: columnType(leaf) }));
  const path = join(logDir, `${stream}.parquet`);
  const writer = new ParquetTableWriter(path, columns, { metadata: { "tradeloop.source": `${stream}.jsonl`, "tradeloop.flatten": FLATTEN_NOTE } });
  const groupRows = opts.rowGroupRows ?? PARQUET_ROW_GROUP_ROWS;
  let row = 0;
  const startGroup = (rows: number): void => {
    for (const leaf of leaves) leaf.values = new Array<unknown>(rows).fill(null);
    row = 0;
  };
  const writeGroup = (): void => writer.writeRowGroup(leaves.map((leaf) => toColumn(leaf)));
  let left = scan.count;
  startGroup(Math.min(left, groupRows));
  try {
    readStream(file, opts, (rec, line) => {
      // The second read must see what the first did: a log still being appended to is not converted.
      if (line > scan.count) throw new BrokerLogError(`${file}: grew while its Parquet copy was written (${scan.count} records, then more)`);
      fill(root, rec as Record<string, unknown>, row++);
      if (row === groupRows || row === left) {
        writeGroup();
        left -= row;
        if (left > 0) startGroup(Math.min(left, groupRows));
      }
    });
    if (left !== 0) throw new BrokerLogError(`${file}: shrank while its Parquet copy was written (${scan.count} records, then ${scan.count - left})`);
    writer.finish();
  } catch (e) {
    writer.abort();
    throw e;
  }
  for (const leaf of leaves) leaf.values = undefined;
  return { stream, path, rows: scan.count, columns };
}

function readStream(file: string, opts: LoadOptions, each: (record: unknown, line: number) => void): { count: number } {
  try {
    return forEachJsonlRecord(file, opts, each);
  } catch (e) {
    if (e instanceof JsonlError) throw new BrokerLogError(e.message);
    throw e;
  }
}

/**
 * Reads a stream's Parquet copy back into records shaped like the JSONL ones (dotted columns nested
 * again, INT64 as numbers; null fields left out). Undefined when the copy does not exist.
 */
export async function readBrokerLogParquet(logDir: string, stream: BrokerLogStream): Promise<Record<string, unknown>[] | undefined> {
  const path = join(logDir, `${stream}.parquet`);
  if (!existsSync(path)) return undefined;
  const table = await readParquetTable(path);
  const paths = table.columns.map((c) => c.name.split("."));
  return table.rows.map((row) => {
    const rec: Record<string, unknown> = {};
    table.columns.forEach((c, j) => {
      const v = row[c.name];
      if (v === null || v === undefined) return;
      setAt(rec, paths[j] as string[], typeof v === "bigint" ? Number(v) : v);
    });
    return rec;
  });
}

function setAt(rec: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let obj = rec;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i] as string;
    let next = obj[k];
    if (next === undefined) {
      next = {};
      obj[k] = next;
    }
    obj = next as Record<string, unknown>;
  }
  obj[path[path.length - 1] as string] = value;
}

// ---- flattening ----

/** What was seen at one field path across all records. */
interface FieldNode {
  path: string[];
  children: Map<string, FieldNode>;
  objects: boolean;
  strings: boolean;
  numbers: boolean;
  booleans: boolean;
  arrays: boolean;
  /** Some number is not a safe integer (so the field cannot be INT64 / TIMESTAMP). */
  fractional: boolean;
  /** Some object here has a key that would make a dotted name ambiguous. */
  oddKeys: boolean;
  /** Set once the columns are chosen: the column this field fills, if it is a leaf. */
  values: unknown[] | undefined;
}

function newNode(path: string[]): FieldNode {
  return { path, children: new Map(), objects: false, strings: false, numbers: false, booleans: false, arrays: false, fractional: false, oddKeys: false, values: undefined };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

// "__proto__" too: as a column name it cannot be a key of a plain row object.
const badKey = (k: string): boolean => k === "" || k.includes(".") || k === "__proto__";

/** Builds the columns of a stream's records; `file` only names the source in errors. */
export function flattenRecords(file: string, records: readonly unknown[]): ParquetColumn[] {
  const root = newNode([]);
  records.forEach((rec, i) => {
    if (!isPlainObject(rec)) throw new BrokerLogError(`${file}:${i + 1}: record is not a JSON object`);
    for (const k in rec) {
      if (badKey(k)) throw new BrokerLogError(`${file}:${i + 1}: top-level field ${JSON.stringify(k)} cannot be a Parquet column name (empty, dotted or __proto__)`);
    }
    observeObject(root, rec);
  });
  const leaves: FieldNode[] = [];
  collectLeaves(root, leaves);
  for (const leaf of leaves) leaf.values = new Array<unknown>(records.length).fill(null);
  // One walk per record fills every column (a lookup per field, not a path walk per column).
  for (let i = 0; i < records.length; i++) fill(root, records[i] as Record<string, unknown>, i);
  return leaves.map(toColumn);
}

// JSON.parse objects have no inherited enumerable keys, so for-in is their own keys (and cheaper
// than Object.entries on 100k records).
function observeObject(node: FieldNode, obj: Record<string, unknown>): void {
  node.objects = true;
  for (const k in obj) {
    if (badKey(k)) node.oddKeys = true;
    let child = node.children.get(k);
    if (child === undefined) {
      child = newNode([...node.path, k]);
      node.children.set(k, child);
    }
    observe(child, obj[k]);
  }
}

function observe(node: FieldNode, v: unknown): void {
  if (v === null || v === undefined) return;
  if (Array.isArray(v)) node.arrays = true;
  else if (typeof v === "object") observeObject(node, v as Record<string, unknown>);
  else if (typeof v === "string") node.strings = true;
  else if (typeof v === "boolean") node.booleans = true;
  else if (typeof v === "number") {
    node.numbers = true;
    if (!Number.isSafeInteger(v)) node.fractional = true;
  }
}

const scalarKinds = (n: FieldNode): number => Number(n.strings) + Number(n.numbers) + Number(n.booleans);

/** A node whose values are only ever non-empty, well-keyed objects is split into its fields. */
function flattens(n: FieldNode): boolean {
  return n.objects && !n.arrays && scalarKinds(n) === 0 && !n.oddKeys && n.children.size > 0;
}

function collectLeaves(node: FieldNode, out: FieldNode[]): void {
  for (const child of node.children.values()) {
    if (flattens(child)) collectLeaves(child, out);
    else out.push(child);
  }
}

function fill(node: FieldNode, obj: Record<string, unknown>, row: number): void {
  for (const k in obj) {
    const child = node.children.get(k) as FieldNode;
    const v = obj[k];
    if (child.values !== undefined) child.values[row] = v ?? null;
    else if (isPlainObject(v)) fill(child, v, row);
  }
}

function columnType(leaf: FieldNode): ParquetColumnSpec["type"] {
  if (leaf.arrays || leaf.objects || scalarKinds(leaf) > 1) return "json";
  if (leaf.numbers) {
    const field = leaf.path[leaf.path.length - 1] as string;
    const typed = !leaf.fractional && !leaf.path.slice(0, -1).includes(RAW_PAYLOAD_KEY);
    return typed && TIMESTAMP_FIELDS.has(field) ? "timestamp_ms" : typed && INT64_FIELDS.has(field) ? "int64" : "double";
  }
  if (leaf.booleans) return "boolean";
  // Strings, or a field that was null in every record.
  return "string";
}

function toColumn(leaf: FieldNode): ParquetColumn {
  return { name: leaf.path.join("."), type: columnType(leaf), values: leaf.values as never[] } as ParquetColumn;
}
