// Reads broker logs of the legacy Python system (DOMAIN.md section 11) and converts them to the
// tradeloop broker log format.
//
// Layout read (every folder optional; a missing one is an empty stream):
//   oms_parent_orders/                    parent orders, a list per file (one file per bar)
//   oms_child_orders/                     one child order per file
//   ccxt_child_order_responses/           one ccxt order (or a failed submission) per file
//   child_order_fills/ccxt_fills/         ccxt order states at wave end, a list per file
//   child_order_fills/ccxt_trades/        ccxt trades, a list per file
//   child_order_fills/oms_fills/          OMS fills, a list per file
//   bid_ask/                              bid/ask seen per wave, one snapshot per file (CSV)
//   exchange_markets/, leverage_info/, balances/   one document per file
//   positions/                            a list of positions per file
//   reduce_only/{oms_child_orders,ccxt_child_order_responses}/   account flattening
//   broker_config.json, args.json         plain JSON
//
// Files:
// - are listed and sorted by name (UTF-16 code unit order, which is Python's sorted() for any
//   name without characters beyond U+FFFF), never parsed for time: legacy names mix time zones
//   and separators;
// - `.json` is one jsonpickle document; `.jsonl` and `.txt` are one jsonpickle document per
//   non-blank line (each line numbers its back-references from 0, as jsonpickle wrote it);
//   `.csv` (bid_ask only) is a table with a header row, written by pandas `to_csv`;
// - in list streams a document that is a list yields one record per item, anything else is one
//   record; in the other streams each document is one record;
// - skipped, and reported in `skipped`: names starting with ".", sub-folders inside a stream
//   folder, and in oms_parent_orders the superseded copies `oms_parent_orders_<bar>.json.<time>`
//   (the legacy broker renamed the previous version of a bar's file each time it re-logged it;
//   its own reader read only the `*.json` files). Any other extension is an error.
// Every error names the file and the line.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { z } from "zod";
import { BROKER_LOG_STREAMS, BrokerLogWriter, type BrokerLogStream } from "./broker-log.js";
import { ccxtOrderSchema, ccxtTradeSchema } from "./broker-log-reader.js";
import { decodeJsonpickle, isPyDict, JsonpickleError, parseJsonDocument, PyTimestamp, PyTimeZone, type DecodedDocument, type PyDict, type PyValue } from "./jsonpickle.js";
import { formatOrder, parseOrder, PARENT_ORDER_TYPES, type ParentOrder, type ParentOrderType } from "./parent-order.js";

export class LegacyBrokerLogError extends Error {
  override readonly name = "LegacyBrokerLogError";
}

/** Where a record came from: the file (relative to the log folder, `/`-separated) and the line it starts on. */
export interface LegacySource {
  readonly file: string;
  readonly line: number;
}

export interface LegacyRecord<T> {
  readonly source: LegacySource;
  readonly value: T;
}

export interface LegacySkipped {
  readonly file: string;
  readonly reason: string;
}

// ---------------------------------------------------------------------------------------------
// Record schemas: validated where the shape matters, ccxt structures kept as logged
// ---------------------------------------------------------------------------------------------

const pyTimestamp = z.instanceof(PyTimestamp, { message: "expected a pandas Timestamp" });
const pyDict = z.custom<PyDict>(isPyDict, { message: "expected a dict" });
const int = z.number().int();
const idLike = z.union([z.string(), int, z.bigint()]);
const decimalNumber = z
  .number()
  .refine((n) => Number.isFinite(n), { message: "expected a finite number" })
  .transform((n) => new Decimal(n.toString()));
const tzName = z.union([z.custom<PyTimeZone>((v) => v instanceof PyTimeZone), z.string()], { message: "expected a pytz time zone or a zone name" }).transform((tz) => (typeof tz === "string" ? tz : tz.name));

const orderFields = {
  order_id: int,
  creation_timestamp: pyTimestamp,
  asset_id: int,
  type_: z.string(),
  start_timestamp: pyTimestamp,
  end_timestamp: pyTimestamp,
  curr_num_shares: decimalNumber,
  diff_num_shares: decimalNumber,
  tz: tzName,
  extra_params: pyDict.optional(),
};

const orderSchema = z.looseObject(orderFields);
const childOrderSchema = z.looseObject({
  ...orderFields,
  limit_price: decimalNumber.nullable().optional(),
  ccxt_id: z.union([idLike, z.array(idLike)]).optional(),
});

/** An OMS order (parent or child) as the legacy broker logged it (`Order.to_dict()`). */
export interface LegacyOrder {
  orderId: number;
  creationTimestamp: PyTimestamp;
  assetId: number;
  /** `market`, `limit`, `price@twap`, ... as logged. */
  type: string;
  startTimestamp: PyTimestamp;
  endTimestamp: PyTimestamp;
  currNumShares: Decimal;
  /** Signed: + buy, - sell. */
  diffNumShares: Decimal;
  /** Zone name: `America/New_York`, `UTC`, `pytz.FixedOffset(-240)`. */
  tz: string;
  extraParams: PyDict;
  /** Every logged field as decoded, in logged order (including the ones above). */
  fields: PyDict;
}

/** A child order: the order fields plus the limit-price inputs and the exchange id logged with it. */
export interface LegacyChildOrder extends LegacyOrder {
  limitPrice: Decimal | undefined;
  /** Exchange order ids from `ccxt_id` (a number or a list of them); empty when it is -1 (no response). */
  ccxtIds: string[];
}

/** A ccxt order structure as logged (order responses and order states), with its core fields checked. */
export const legacyCcxtOrderSchema = z.looseObject({ id: idLike, symbol: z.string(), type: z.string(), side: z.enum(["buy", "sell"]), amount: z.number() });
export type LegacyCcxtOrder = z.output<typeof legacyCcxtOrderSchema>;
/** A ccxt trade structure as logged (the legacy broker added `asset_id`). */
export const legacyCcxtTradeSchema = z.looseObject({ id: idLike, order: idLike.nullable().optional(), symbol: z.string(), side: z.enum(["buy", "sell"]), price: z.number(), amount: z.number(), timestamp: int });
export type LegacyCcxtTrade = z.output<typeof legacyCcxtTradeSchema>;
const failedSubmissionSchema = z.looseObject({ symbol: z.string(), empty: z.literal(true), id: z.literal(-1) });

/** What the exchange answered to a child order: an order, or a failed submission `{"symbol", "empty": true, "id": -1}`. */
export type LegacyOrderResponse = { kind: "order"; order: LegacyCcxtOrder } | { kind: "failed"; symbol: string; fields: PyDict };

const omsFillSchema = z.looseObject({ asset_id: int, fill_id: int.optional(), timestamp: z.union([pyTimestamp, z.string()]), num_shares: decimalNumber, price: decimalNumber });
export interface LegacyOmsFill {
  assetId: number;
  fillId: number | undefined;
  timestamp: PyTimestamp | string;
  numShares: Decimal;
  price: Decimal;
  fields: PyDict;
}

/** One bid/ask snapshot (a wave's lookback window, all assets), as the rows of the logged table. */
export interface LegacyBidAskSnapshot {
  columns: string[];
  rows: PyDict[];
}

export interface LegacyBrokerLog {
  dir: string;
  brokerConfig: PyDict | undefined;
  args: PyDict | undefined;
  parentOrders: LegacyRecord<LegacyOrder>[];
  childOrders: LegacyRecord<LegacyChildOrder>[];
  childOrderResponses: LegacyRecord<LegacyOrderResponse>[];
  /** Exchange order states at wave end. */
  ccxtFills: LegacyRecord<LegacyCcxtOrder>[];
  ccxtTrades: LegacyRecord<LegacyCcxtTrade>[];
  omsFills: LegacyRecord<LegacyOmsFill>[];
  bidAsk: LegacyRecord<LegacyBidAskSnapshot>[];
  exchangeMarkets: LegacyRecord<PyDict>[];
  leverageInfo: LegacyRecord<PyDict>[];
  positions: LegacyRecord<PyDict>[];
  balances: LegacyRecord<PyDict>[];
  reduceOnlyChildOrders: LegacyRecord<LegacyChildOrder>[];
  reduceOnlyChildOrderResponses: LegacyRecord<LegacyOrderResponse>[];
  skipped: LegacySkipped[];
}

// ---------------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------------

interface Doc {
  rel: string;
  full: string;
  decoded: DecodedDocument;
}

/** One value to validate: a whole document, or an item of a list document. */
interface Item {
  doc: Doc;
  path: (string | number)[];
  value: PyValue;
}

function sortByName(names: string[]): string[] {
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function listStreamFiles(dir: string, rel: string, skipped: LegacySkipped[], opts: { csv: boolean; parentCopies: boolean }): string[] {
  const abs = join(dir, rel);
  if (!existsSync(abs)) return [];
  if (!statSync(abs).isDirectory()) throw new LegacyBrokerLogError(`${abs}: expected a folder`);
  const out: string[] = [];
  for (const name of sortByName(readdirSync(abs))) {
    const r = `${rel}/${name}`;
    if (name.startsWith(".")) {
      skipped.push({ file: r, reason: "hidden file" });
      continue;
    }
    if (statSync(join(abs, name)).isDirectory()) {
      skipped.push({ file: r, reason: "a folder inside a stream folder" });
      continue;
    }
    if (/\.(json|jsonl|txt)$/.test(name) || (opts.csv && name.endsWith(".csv"))) {
      out.push(r);
      continue;
    }
    if (opts.parentCopies && /\.json\.[^/]+$/.test(name)) {
      skipped.push({ file: r, reason: "superseded copy of a bar's parent orders (the legacy broker renamed the previous version when it re-logged the bar)" });
      continue;
    }
    throw new LegacyBrokerLogError(`${join(abs, name)}: unsupported file; expected ${opts.csv ? ".csv, " : ""}.json (one document), or .jsonl / .txt (one document a line)`);
  }
  return out;
}

function readDocs(dir: string, rel: string): Doc[] {
  const full = join(dir, rel);
  const text = readFileSync(full, "utf8");
  const decode = (t: string, line: number): Doc => {
    try {
      return { rel, full, decoded: decodeJsonpickle(parseJsonDocument(t, full, line), full) };
    } catch (e) {
      if (e instanceof JsonpickleError) throw new LegacyBrokerLogError(e.message);
      throw e;
    }
  };
  if (rel.endsWith(".json")) return [decode(text, 1)];
  const docs: Doc[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line.trim() !== "") docs.push(decode(line, i + 1));
  });
  return docs;
}

function itemsOf(docs: Doc[], list: boolean): Item[] {
  const out: Item[] = [];
  for (const doc of docs) {
    const v = doc.decoded.value;
    if (list && Array.isArray(v)) (v as readonly PyValue[]).forEach((x, i) => out.push({ doc, path: [i], value: x }));
    else out.push({ doc, path: [], value: v });
  }
  return out;
}

function sourceOf(item: Item): LegacySource {
  return { file: item.doc.rel, line: item.doc.decoded.lineOf(item.path) };
}

function validate<S extends z.ZodType>(item: Item, schema: S, what: string): z.output<S> {
  const r = schema.safeParse(item.value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const path = issue?.path ?? [];
  const line = item.doc.decoded.lineOf([...item.path, ...path]);
  const field = path.length > 0 ? ` field "${path.map(String).join(".")}"` : "";
  throw new LegacyBrokerLogError(`${item.doc.full}:${line}: ${what}${field}: ${issue?.message ?? "invalid"}`);
}

/** For schemas without transforms: checks the value and returns it as logged (keys in logged order). */
function checkAsIs<S extends z.ZodType>(item: Item, schema: S, what: string): z.output<S> {
  validate(item, schema, what);
  return item.value as z.output<S>;
}

function toOrder(o: z.output<typeof orderSchema>, fields: PyDict): LegacyOrder {
  return {
    orderId: o.order_id,
    creationTimestamp: o.creation_timestamp,
    assetId: o.asset_id,
    type: o.type_,
    startTimestamp: o.start_timestamp,
    endTimestamp: o.end_timestamp,
    currNumShares: o.curr_num_shares,
    diffNumShares: o.diff_num_shares,
    tz: o.tz,
    extraParams: o.extra_params ?? {},
    fields,
  };
}

function toChildOrder(item: Item): LegacyChildOrder {
  const c = validate(item, childOrderSchema, "child order");
  const ids = c.ccxt_id === undefined ? [] : Array.isArray(c.ccxt_id) ? c.ccxt_id : [c.ccxt_id];
  return {
    ...toOrder(c, item.value as PyDict),
    limitPrice: c.limit_price ?? undefined,
    ccxtIds: ids.map(String).filter((id) => id !== "-1"),
  };
}

function toResponse(item: Item): LegacyOrderResponse {
  if (isPyDict(item.value) && item.value["empty"] === true) {
    const f = validate(item, failedSubmissionSchema, "failed submission");
    return { kind: "failed", symbol: f.symbol, fields: item.value };
  }
  return { kind: "order", order: checkAsIs(item, legacyCcxtOrderSchema, "ccxt order response") };
}

function parseCsv(dir: string, rel: string): LegacyRecord<LegacyBidAskSnapshot> {
  const full = join(dir, rel);
  const text = readFileSync(full, "utf8");
  const records: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let quoted = false;
  let atFieldStart = true;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === "")) records.push({ line: recordLine, fields });
    fields = [];
    field = "";
    atFieldStart = true;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && atFieldStart) {
      quoted = true;
      atFieldStart = false;
    } else if (c === ",") {
      fields.push(field);
      field = "";
      atFieldStart = true;
    } else if (c === "\n") {
      endRecord();
      line++;
      recordLine = line;
    } else if (c === "\r" && text[i + 1] === "\n") {
      continue;
    } else {
      field += c;
      atFieldStart = false;
    }
  }
  if (quoted) throw new LegacyBrokerLogError(`${full}:${recordLine}: unterminated quoted field`);
  if (field !== "" || fields.length > 0) endRecord();
  const header = records.shift();
  if (header === undefined) throw new LegacyBrokerLogError(`${full}:1: empty CSV file (expected a header row)`);
  const columns = header.fields;
  const rows = records.map((r) => {
    if (r.fields.length !== columns.length) throw new LegacyBrokerLogError(`${full}:${r.line}: ${r.fields.length} fields, but the header has ${columns.length}`);
    const row: Record<string, PyValue> = {};
    columns.forEach((col, i) => {
      const v = r.fields[i] as string;
      row[col] = v === "" ? null : /^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v) ? Number(v) : v;
    });
    return row;
  });
  return { source: { file: rel, line: 1 }, value: { columns, rows } };
}

function bidAskFromDoc(item: Item): LegacyBidAskSnapshot {
  const rows = validate(item, z.array(pyDict, { message: "expected a list of rows (dicts)" }), "bid/ask snapshot");
  const columns: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  return { columns, rows };
}

function readRootJson(dir: string, name: string): PyDict | undefined {
  const full = join(dir, name);
  if (!existsSync(full)) return undefined;
  const [doc] = readDocs(dir, name);
  if (doc === undefined) return undefined;
  return validate({ doc, path: [], value: doc.decoded.value }, pyDict, name);
}

const STREAM_DIRS = [
  "oms_parent_orders",
  "oms_child_orders",
  "ccxt_child_order_responses",
  "child_order_fills",
  "bid_ask",
  "exchange_markets",
  "leverage_info",
  "positions",
  "balances",
  "reduce_only",
] as const;
const ROOT_FILES = ["broker_config.json", "args.json"];

/** Reads a legacy broker log folder into typed records, stream by stream, in file-name order. */
export function importLegacyBrokerLog(dir: string): LegacyBrokerLog {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new LegacyBrokerLogError(`${dir}: no such legacy broker log folder`);
  const skipped: LegacySkipped[] = [];
  for (const name of sortByName(readdirSync(dir))) {
    if (!(STREAM_DIRS as readonly string[]).includes(name) && !ROOT_FILES.includes(name)) skipped.push({ file: name, reason: "not part of the legacy broker log layout" });
  }
  const nested = (parent: string, known: readonly string[]): void => {
    const abs = join(dir, parent);
    if (!existsSync(abs)) return;
    for (const name of sortByName(readdirSync(abs))) if (!known.includes(name)) skipped.push({ file: `${parent}/${name}`, reason: "not part of the legacy broker log layout" });
  };
  nested("child_order_fills", ["ccxt_fills", "ccxt_trades", "oms_fills"]);
  nested("reduce_only", ["oms_child_orders", "ccxt_child_order_responses"]);

  const items = (rel: string, list: boolean, parentCopies = false): Item[] =>
    itemsOf(
      listStreamFiles(dir, rel, skipped, { csv: false, parentCopies }).flatMap((f) => readDocs(dir, f)),
      list,
    );
  const dicts = (rel: string, list: boolean, what: string): LegacyRecord<PyDict>[] => items(rel, list).map((it) => ({ source: sourceOf(it), value: checkAsIs(it, pyDict, what) }));

  const bidAsk: LegacyRecord<LegacyBidAskSnapshot>[] = [];
  for (const f of listStreamFiles(dir, "bid_ask", skipped, { csv: true, parentCopies: false })) {
    if (f.endsWith(".csv")) bidAsk.push(parseCsv(dir, f));
    else for (const it of itemsOf(readDocs(dir, f), false)) bidAsk.push({ source: sourceOf(it), value: bidAskFromDoc(it) });
  }

  return {
    dir,
    brokerConfig: readRootJson(dir, "broker_config.json"),
    args: readRootJson(dir, "args.json"),
    parentOrders: items("oms_parent_orders", true, true).map((it) => ({ source: sourceOf(it), value: toOrder(validate(it, orderSchema, "parent order"), it.value as PyDict) })),
    childOrders: items("oms_child_orders", false).map((it) => ({ source: sourceOf(it), value: toChildOrder(it) })),
    childOrderResponses: items("ccxt_child_order_responses", false).map((it) => ({ source: sourceOf(it), value: toResponse(it) })),
    ccxtFills: items("child_order_fills/ccxt_fills", true).map((it) => ({ source: sourceOf(it), value: checkAsIs(it, legacyCcxtOrderSchema, "ccxt order state") })),
    ccxtTrades: items("child_order_fills/ccxt_trades", true).map((it) => ({ source: sourceOf(it), value: checkAsIs(it, legacyCcxtTradeSchema, "ccxt trade") })),
    omsFills: items("child_order_fills/oms_fills", true).map((it) => {
      const f = validate(it, omsFillSchema, "OMS fill");
      return { source: sourceOf(it), value: { assetId: f.asset_id, fillId: f.fill_id, timestamp: f.timestamp, numShares: f.num_shares, price: f.price, fields: it.value as PyDict } };
    }),
    bidAsk,
    exchangeMarkets: dicts("exchange_markets", false, "exchange markets"),
    leverageInfo: dicts("leverage_info", false, "leverage info"),
    positions: dicts("positions", true, "position"),
    balances: dicts("balances", false, "balances"),
    reduceOnlyChildOrders: items("reduce_only/oms_child_orders", false).map((it) => ({ source: sourceOf(it), value: toChildOrder(it) })),
    reduceOnlyChildOrderResponses: items("reduce_only/ccxt_child_order_responses", false).map((it) => ({ source: sourceOf(it), value: toResponse(it) })),
    skipped,
  };
}

// ---------------------------------------------------------------------------------------------
// Conversion to the tradeloop broker log
// ---------------------------------------------------------------------------------------------

/** A legacy order as a tradeloop parent order (text form; nanoseconds are cut to microseconds). */
export function legacyToParentOrder(o: LegacyOrder): ParentOrder {
  if (!(PARENT_ORDER_TYPES as readonly string[]).includes(o.type)) throw new LegacyBrokerLogError(`order ${o.orderId}: type ${JSON.stringify(o.type)} is not one of ${PARENT_ORDER_TYPES.join(", ")}`);
  return {
    orderId: o.orderId,
    creationTimestamp: o.creationTimestamp.toTimestamp(),
    assetId: o.assetId,
    type: o.type as ParentOrderType,
    startTimestamp: o.startTimestamp.toTimestamp(),
    endTimestamp: o.endTimestamp.toTimestamp(),
    currNumShares: o.currNumShares,
    diffNumShares: o.diffNumShares,
    tz: o.tz,
    extraParams: jsonSafe(o.extraParams) as Record<string, unknown>,
    hasExtraParams: true,
  };
}

/**
 * Decoded values as plain JSON: timestamps as ISO 8601 text, time zones as names, big integers
 * and decimals as strings, NaN and infinities as null (JSON has neither).
 */
export function jsonSafe(v: unknown): unknown {
  if (v instanceof PyTimestamp) return v.iso;
  if (v instanceof PyTimeZone) return v.name;
  if (v instanceof Decimal) return v.toString();
  if (typeof v === "bigint") return v.toString();
  if (typeof v === "number") return Number.isFinite(v) ? v : null;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = jsonSafe(x);
    return out;
  }
  return v;
}

/**
 * A ccxt structure logged by Python as the JavaScript ccxt would hold it: `None` and NaN are
 * absent (undefined in JS ccxt), ids are strings; `info` (the exchange's raw answer) is kept as is.
 */
function ccxtJs(v: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === "info") {
      out[k] = jsonSafe(x);
      continue;
    }
    if (x === null || (typeof x === "number" && Number.isNaN(x))) continue;
    if ((k === "id" || k === "order" || k === "clientOrderId") && (typeof x === "number" || typeof x === "bigint")) out[k] = String(x);
    else if (k === "trades" && Array.isArray(x)) out[k] = (x as readonly unknown[]).map((t) => (isPyDict(t) ? ccxtJs(t) : jsonSafe(t)));
    else if (isPyDict(x)) out[k] = ccxtJs(x);
    else out[k] = jsonSafe(x);
  }
  return out;
}

function where(s: LegacySource): string {
  return `${s.file}:${s.line}`;
}

export interface ConvertReport {
  outDir: string;
  /** Records written per tradeloop stream. */
  written: Partial<Record<BrokerLogStream, number>>;
  /** Whole JSON documents written beside the streams. */
  documents: string[];
  skipped: LegacySkipped[];
  warnings: string[];
}

/**
 * Converts a legacy broker log folder into a tradeloop broker log folder (broker-log.ts). Every
 * record keeps `source` ("<legacy file>:<line>"); the mapping, per stream:
 * - oms_parent_orders: `{bar, symbol, text, source, legacy}`; `bar` is the index of the parent-order
 *   file in name order (the legacy broker wrote one per bar); `symbol` comes from the child orders
 *   and trades of the same asset ("" when none names it).
 * - oms_child_orders / reduce_only_oms_child_orders: `{event: "legacy_child_order", orderId,
 *   clientOrderId?, exchangeOrderId?, assetId, symbol?, type, side, amount, limitPrice?,
 *   limitInputs?, status, timestamp, source, legacy}`; client id and symbol come from the response
 *   logged under the same file name. No `parentOrderId`, `bar` or `wave`: the legacy child order
 *   does not carry them, so readBrokerLog's typed child view leaves these records out.
 * - ccxt_child_order_responses / reduce_only_...: `{clientOrderId, assetId?, response, source}`, or
 *   for a failed submission `{assetId?, symbol, empty: true, id: -1, source, legacy}`.
 * - ccxt_fills `{bar: -1, wave: -1, batch, clientOrderId, order, source}` and ccxt_trades
 *   `{bar: -1, wave: -1, batch, assetId?, trade, source}`: the legacy log has no bar or wave
 *   numbers (-1 = unknown); `batch` is the index of the legacy file (one per wave collected).
 *   Order states and trades are checked against the tradeloop reader's ccxt schemas.
 * - bid_ask: one record per legacy snapshot `{snapshot, rows, columns, data, source}`.
 * - exchange_markets: one record per market `{symbol, assetId?, market, source}`; leverage_info
 *   `{tiers, source}`; positions `{positions, source}` per file; balances `{balances, source}`.
 * - OMS fills lack the parent order id and fees the tradeloop `oms_fills` stream requires: they
 *   go to the document `legacy_oms_fills.json`. broker_config.json is copied; args.json becomes
 *   experiment_args.json; `legacy_import.json` lists what was written, skipped and warned about.
 * Refuses an output folder that already holds broker log streams (appending would mix logs).
 */
export function convertLegacyBrokerLog(dir: string, outDir: string): ConvertReport {
  const log = importLegacyBrokerLog(dir);
  for (const s of BROKER_LOG_STREAMS) {
    if (existsSync(join(outDir, `${s}.jsonl`))) throw new LegacyBrokerLogError(`${outDir}: already holds a broker log (${s}.jsonl); convert into an empty folder`);
  }
  const warnings: string[] = [];
  const written: Partial<Record<BrokerLogStream, number>> = {};
  const documents: string[] = [];

  // Asset id <-> symbol, from the pairs (child order, response) logged under one file name and from trades.
  const symbolOf = new Map<number, string>();
  const learn = (assetId: number, symbol: string, from: string): void => {
    const known = symbolOf.get(assetId);
    if (known === undefined) symbolOf.set(assetId, symbol);
    else if (known !== symbol) warnings.push(`${from}: asset ${assetId} is ${symbol} here but ${known} earlier; keeping ${known}`);
  };
  const responseByName = (responses: LegacyRecord<LegacyOrderResponse>[], folder: string): Map<string, LegacyRecord<LegacyOrderResponse>> =>
    new Map(responses.map((r) => [r.source.file.slice(folder.length + 1), r]));
  const childByName = (children: LegacyRecord<LegacyChildOrder>[], folder: string): Map<string, LegacyRecord<LegacyChildOrder>> =>
    new Map(children.map((c) => [c.source.file.slice(folder.length + 1), c]));
  const pairs = [
    { children: log.childOrders, responses: log.childOrderResponses, childFolder: "oms_child_orders", responseFolder: "ccxt_child_order_responses", reduceOnly: false },
    { children: log.reduceOnlyChildOrders, responses: log.reduceOnlyChildOrderResponses, childFolder: "reduce_only/oms_child_orders", responseFolder: "reduce_only/ccxt_child_order_responses", reduceOnly: true },
  ];
  for (const p of pairs) {
    const responses = responseByName(p.responses, p.responseFolder);
    for (const c of p.children) {
      const r = responses.get(c.source.file.slice(p.childFolder.length + 1));
      if (r === undefined) continue;
      learn(c.value.assetId, r.value.kind === "order" ? r.value.order.symbol : r.value.symbol, where(c.source));
    }
  }
  for (const t of log.ccxtTrades) {
    const assetId = t.value["asset_id"];
    if (typeof assetId === "number") learn(assetId, t.value.symbol, where(t.source));
  }

  const out = new BrokerLogWriter(outDir);
  const append = (stream: BrokerLogStream, record: Record<string, unknown>): void => {
    out.append(stream, record);
    written[stream] = (written[stream] ?? 0) + 1;
  };
  try {
    // Parent orders: one legacy file per bar.
    const parentFiles = sortByName([...new Set(log.parentOrders.map((p) => p.source.file))]);
    for (const p of log.parentOrders) {
      const bar = parentFiles.indexOf(p.source.file);
      const symbol = symbolOf.get(p.value.assetId);
      if (symbol === undefined) warnings.push(`${where(p.source)}: no symbol known for asset ${p.value.assetId}`);
      const record: Record<string, unknown> = { bar, symbol: symbol ?? "" };
      if ((PARENT_ORDER_TYPES as readonly string[]).includes(p.value.type)) {
        const order = legacyToParentOrder(p.value);
        let text = formatOrder(order);
        try {
          parseOrder(text);
        } catch {
          warnings.push(`${where(p.source)}: extra_params do not survive the text form; written without them (kept in "legacy")`);
          text = formatOrder({ ...order, hasExtraParams: false });
        }
        record["text"] = text;
      } else {
        warnings.push(`${where(p.source)}: order type ${JSON.stringify(p.value.type)} has no tradeloop text form; written without "text"`);
      }
      append("oms_parent_orders", { ...record, source: where(p.source), legacy: jsonSafe(p.value.fields) });
    }

    for (const p of pairs) {
      const responses = responseByName(p.responses, p.responseFolder);
      const children = childByName(p.children, p.childFolder);
      for (const c of p.children) {
        const r = responses.get(c.source.file.slice(p.childFolder.length + 1));
        const o = c.value;
        const response = r?.value.kind === "order" ? r.value.order : undefined;
        const clientOrderId = response?.["clientOrderId"];
        const record: Record<string, unknown> = {
          event: "legacy_child_order",
          orderId: o.orderId,
          clientOrderId: typeof clientOrderId === "string" ? clientOrderId : undefined,
          exchangeOrderId: o.ccxtIds.at(-1),
          assetId: o.assetId,
          symbol: symbolOf.get(o.assetId),
          type: o.type,
          side: o.diffNumShares.isNegative() ? "sell" : "buy",
          amount: o.diffNumShares.abs().toFixed(),
          limitPrice: o.limitPrice?.toFixed(),
          limitInputs: limitInputsOf(o.fields),
          status: o.ccxtIds.length > 0 ? "submitted" : "rejected",
          timestamp: o.creationTimestamp.epochMs,
          reduceOnly: p.reduceOnly ? true : undefined,
          source: where(c.source),
          legacy: jsonSafe(o.fields),
        };
        append(p.reduceOnly ? "reduce_only_oms_child_orders" : "oms_child_orders", record);
      }
      for (const r of p.responses) {
        const child = children.get(r.source.file.slice(p.responseFolder.length + 1));
        const assetId = child?.value.assetId;
        const stream = p.reduceOnly ? "reduce_only_ccxt_child_order_responses" : "ccxt_child_order_responses";
        if (r.value.kind === "failed") {
          append(stream, { assetId, symbol: r.value.symbol, empty: true, id: -1, source: where(r.source), legacy: jsonSafe(r.value.fields) });
        } else {
          const response = ccxtJs(r.value.order);
          append(stream, { clientOrderId: response["clientOrderId"], assetId, response, source: where(r.source) });
        }
      }
    }

    const batchOf = (records: LegacyRecord<unknown>[]): ((s: LegacySource) => number) => {
      const files = sortByName([...new Set(records.map((r) => r.source.file))]);
      return (s) => files.indexOf(s.file);
    };
    const fillBatch = batchOf(log.ccxtFills);
    for (const f of log.ccxtFills) {
      const order = checked(ccxtJs(f.value), ccxtOrderSchema, f.source, dir, "ccxt order state");
      const clientOrderId = order["clientOrderId"];
      append("ccxt_fills", { bar: -1, wave: -1, batch: fillBatch(f.source), clientOrderId: typeof clientOrderId === "string" ? clientOrderId : "", order, source: where(f.source) });
    }
    const tradeBatch = batchOf(log.ccxtTrades);
    for (const t of log.ccxtTrades) {
      const trade = checked(ccxtJs(t.value), ccxtTradeSchema, t.source, dir, "ccxt trade");
      const assetId = t.value["asset_id"];
      append("ccxt_trades", { bar: -1, wave: -1, batch: tradeBatch(t.source), assetId: typeof assetId === "number" ? assetId : undefined, trade, source: where(t.source) });
    }

    log.bidAsk.forEach((b, snapshot) => append("bid_ask", { snapshot, rows: b.value.rows.length, columns: b.value.columns, data: jsonSafe(b.value.rows), source: where(b.source) }));
    for (const m of log.exchangeMarkets) {
      const entries = Object.entries(m.value);
      if (entries.length > 0 && entries.every(([, v]) => isPyDict(v))) {
        const assetOf = new Map([...symbolOf].map(([a, s]) => [s, a]));
        for (const [symbol, market] of entries) append("exchange_markets", { symbol, assetId: assetOf.get(symbol), market: jsonSafe(market), source: where(m.source) });
      } else {
        append("exchange_markets", { markets: jsonSafe(m.value), source: where(m.source) });
      }
    }
    for (const l of log.leverageInfo) append("leverage_info", { tiers: jsonSafe(l.value), source: where(l.source) });
    const positionFiles = sortByName([...new Set(log.positions.map((p) => p.source.file))]);
    for (const file of positionFiles) {
      const ps = log.positions.filter((p) => p.source.file === file);
      append("positions", { positions: ps.map((p) => jsonSafe(p.value)), source: where((ps[0] as LegacyRecord<PyDict>).source) });
    }
    for (const b of log.balances) append("balances", { balances: jsonSafe(b.value), source: where(b.source) });

    if (log.omsFills.length > 0) {
      out.writeJson(
        "legacy_oms_fills.json",
        log.omsFills.map((f) => ({
          assetId: f.value.assetId,
          symbol: symbolOf.get(f.value.assetId),
          fillId: f.value.fillId,
          timestamp: f.value.timestamp instanceof PyTimestamp ? f.value.timestamp.epochMs : f.value.timestamp,
          numShares: f.value.numShares.toFixed(),
          price: f.value.price.toFixed(),
          source: where(f.source),
        })),
      );
      documents.push("legacy_oms_fills.json");
    }
    if (log.brokerConfig !== undefined) {
      out.writeJson("broker_config.json", jsonSafe(log.brokerConfig));
      documents.push("broker_config.json");
    }
    if (log.args !== undefined) {
      out.writeJson("experiment_args.json", jsonSafe(log.args));
      documents.push("experiment_args.json");
    }
    documents.push("legacy_import.json");
    out.writeJson("legacy_import.json", { source: dir, written, documents, skipped: log.skipped, warnings });
  } finally {
    out.close();
  }
  return { outDir, written, documents, skipped: log.skipped, warnings };
}

function checked<S extends z.ZodType>(value: Record<string, unknown>, schema: S, source: LegacySource, dir: string, what: string): Record<string, unknown> {
  const r = schema.safeParse(value);
  if (r.success) return value;
  const issue = r.error.issues[0];
  throw new LegacyBrokerLogError(`${join(dir, source.file)}:${source.line}: ${what} cannot be written as a tradeloop record: field "${issue?.path.map(String).join(".") ?? "?"}": ${issue?.message ?? "invalid"}`);
}

/** The limit-price inputs the legacy broker logged beside a child order, under tradeloop names. */
function limitInputsOf(f: PyDict): Record<string, unknown> | undefined {
  const num = (k: string): number | undefined => {
    const v = f[k];
    return typeof v === "number" ? v : undefined;
  };
  const used = (k: string): "latest" | "mean" | undefined => {
    const v = f[k];
    return typeof v === "string" ? (v.startsWith("latest") ? "latest" : "mean") : undefined;
  };
  const inputs: Record<string, unknown> = {
    computer: num("passivity_factor") !== undefined ? "passivity" : undefined,
    latestBid: num("latest_bid_price"),
    latestAsk: num("latest_ask_price"),
    meanBid: num("bid_price_mean"),
    meanAsk: num("ask_price_mean"),
    bidUsed: used("used_bid_price"),
    askUsed: used("used_ask_price"),
    passivityFactor: num("passivity_factor"),
    limitPrice: typeof f["limit_price"] === "number" ? new Decimal(f["limit_price"].toString()).toFixed() : undefined,
  };
  return Object.values(inputs).some((v) => v !== undefined) ? inputs : undefined;
}
