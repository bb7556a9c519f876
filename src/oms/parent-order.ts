// Parent orders: what the system wants traded for one asset over [start, end), and their text form
// (one order a line, DOMAIN.md section 1), which parses and prints back to the same text.

import { Decimal } from "decimal.js";
import { formatTimestamp, parseTimestamp, type Timestamp, TimestampError } from "../core/timestamp.js";

export type ParentOrderType = "market" | "limit" | "price@twap";
export const PARENT_ORDER_TYPES: readonly ParentOrderType[] = ["market", "limit", "price@twap"];

export interface ParentOrder {
  orderId: number;
  creationTimestamp: Timestamp;
  assetId: number;
  type: ParentOrderType;
  startTimestamp: Timestamp;
  endTimestamp: Timestamp;
  /** Holdings when the order was created. */
  currNumShares: Decimal;
  /** Signed: + buy, - sell. */
  diffNumShares: Decimal;
  tz: string;
  extraParams: Record<string, unknown>;
  /** Whether the text form carried `extra_params` (older text does not); kept for exact round-trips. */
  hasExtraParams?: boolean;
}

const KEYS = [
  "order_id",
  "creation_timestamp",
  "asset_id",
  "type_",
  "start_timestamp",
  "end_timestamp",
  "curr_num_shares",
  "diff_num_shares",
  "tz",
  "extra_params",
] as const;

export class OrderTextError extends Error {
  override readonly name = "OrderTextError";
}

/** Parses every `Order: ...` in a text. Line breaks inside an order are allowed (they are folded). */
export function parseOrders(text: string, source = "<text>"): ParentOrder[] {
  const folded = text.replace(/\s+/g, " ").trim();
  if (folded === "") return [];
  const parts = folded.split(/(?=Order: )/).map((p) => p.trim()).filter((p) => p !== "");
  return parts.map((p, i) => parseOrder(p, `${source}: order #${i + 1}`));
}

export function parseOrder(line: string, where = "<order>"): ParentOrder {
  const text = line.replace(/\s+/g, " ").trim();
  if (!text.startsWith("Order: ")) throw new OrderTextError(`${where}: expected a line starting with "Order: ", got "${text.slice(0, 40)}"`);
  const body = text.slice("Order: ".length);
  // Values may contain spaces (timestamps), so split on the known keys rather than on spaces.
  const keyRe = new RegExp(`(?:^| )(${KEYS.join("|")})=`, "g");
  const found: { key: string; start: number; valueStart: number }[] = [];
  for (let m = keyRe.exec(body); m !== null; m = keyRe.exec(body)) {
    found.push({ key: m[1] as string, start: m.index, valueStart: m.index + m[0].length });
  }
  const values = new Map<string, string>();
  found.forEach((f, i) => {
    const end = i + 1 < found.length ? (found[i + 1] as { start: number }).start : body.length;
    if (values.has(f.key)) throw new OrderTextError(`${where}: field ${f.key} appears twice`);
    values.set(f.key, body.slice(f.valueStart, end).trim());
  });
  const need = (k: string): string => {
    const v = values.get(k);
    if (v === undefined) throw new OrderTextError(`${where}: field ${k} is missing`);
    return v;
  };
  const int = (k: string): number => {
    const v = need(k);
    if (!/^\d+$/.test(v)) throw new OrderTextError(`${where}: field ${k} must be a whole number, got "${v}"`);
    return Number(v);
  };
  const ts = (k: string): Timestamp => {
    try {
      return parseTimestamp(need(k));
    } catch (e) {
      if (e instanceof TimestampError) throw new OrderTextError(`${where}: field ${k}: ${e.message}`);
      throw e;
    }
  };
  const num = (k: string): Decimal => {
    const v = need(k);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v)) throw new OrderTextError(`${where}: field ${k} must be a number, got "${v}"`);
    return new Decimal(v);
  };
  const type = need("type_");
  if (!(PARENT_ORDER_TYPES as readonly string[]).includes(type)) {
    throw new OrderTextError(`${where}: field type_ must be one of ${PARENT_ORDER_TYPES.join(", ")}, got "${type}"`);
  }
  const extra = values.get("extra_params");
  return {
    orderId: int("order_id"),
    creationTimestamp: ts("creation_timestamp"),
    assetId: int("asset_id"),
    type: type as ParentOrderType,
    startTimestamp: ts("start_timestamp"),
    endTimestamp: ts("end_timestamp"),
    currNumShares: num("curr_num_shares"),
    diffNumShares: num("diff_num_shares"),
    tz: need("tz"),
    extraParams: extra === undefined ? {} : parsePythonDict(extra, `${where}: field extra_params`),
    hasExtraParams: extra !== undefined,
  };
}

export function formatOrder(o: ParentOrder): string {
  const text =
    `Order: order_id=${o.orderId} creation_timestamp=${formatTimestamp(o.creationTimestamp)} asset_id=${o.assetId} type_=${o.type}` +
    ` start_timestamp=${formatTimestamp(o.startTimestamp)} end_timestamp=${formatTimestamp(o.endTimestamp)}` +
    ` curr_num_shares=${pythonFloat(o.currNumShares)} diff_num_shares=${pythonFloat(o.diffNumShares)} tz=${o.tz}`;
  return o.hasExtraParams === false ? text : `${text} extra_params=${formatPythonDict(o.extraParams)}`;
}

/**
 * Prints a number the way Python's str() prints a float ("0.0", "-33.958", "1e-05", "1e+16",
 * "-0.0"): positional notation for decimal exponents from -4 to 15, otherwise scientific with at
 * least two exponent digits. The digits are the Decimal's own, so a value read from text prints back
 * as it was read.
 */
export function pythonFloat(d: Decimal): string {
  if (d.isZero()) return d.isNegative() ? "-0.0" : "0.0";
  if (d.e < -4 || d.e >= 16) return d.toExponential().replace(/e([+-])(\d)$/, "e$10$2");
  if (d.isInteger()) return d.toFixed(1);
  return d.toFixed();
}

/** Reads a Python dict literal of JSON-like values (`{}`, `{'a': 1, 'b': [True, None]}`). */
function parsePythonDict(text: string, where: string): Record<string, unknown> {
  const json = text
    .replace(/'/g, '"')
    .replace(/\bTrue\b/g, "true")
    .replace(/\bFalse\b/g, "false")
    .replace(/\bNone\b/g, "null");
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw new OrderTextError(`${where}: "${text}" is not a dict literal`);
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new OrderTextError(`${where}: "${text}" is not a dict`);
  return v as Record<string, unknown>;
}

function formatPythonDict(d: Record<string, unknown>): string {
  // Almost every order has no extra params.
  if (isEmpty(d)) return "{}";
  const py = (v: unknown): string => {
    if (v === null || v === undefined) return "None";
    if (v === true) return "True";
    if (v === false) return "False";
    if (typeof v === "string") return `'${v}'`;
    if (Array.isArray(v)) return `[${v.map(py).join(", ")}]`;
    if (typeof v === "object") return formatPythonDict(v as Record<string, unknown>);
    return String(v);
  };
  return `{${Object.entries(d).map(([k, v]) => `'${k}': ${py(v)}`).join(", ")}}`;
}

/** No enumerable key (own or inherited): then Object.entries is empty too. */
function isEmpty(d: Record<string, unknown>): boolean {
  for (const _k in d) return false;
  return true;
}
