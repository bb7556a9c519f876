// Reads a broker log directory back into typed records. Every record is validated; a bad one
// fails with `<file>:<line>: <field>: <problem>`. readBrokerLog gives the main streams at once;
// readBrokerLogStream any one stream by its schema. Used by replay, reconciliation and reports.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { z } from "zod";
import { JsonlError, readJsonFile, readJsonlTyped } from "../storage/jsonl.js";
import { BrokerLogError, type BrokerLogStream, type LoadOptions } from "./broker-log.js";
import { parseOrder, type ParentOrder } from "./parent-order.js";

const num = z.number();
const str = z.string();
/** A decimal as logged (string, or number from older logs), parsed exactly. */
export const decimalText = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return new Decimal(String(v));
  } catch {
    ctx.addIssue({ code: "custom", message: `"${String(v)}" is not a number` });
    return z.NEVER;
  }
});

const feeSchema = z.object({ cost: num, currency: str }).passthrough();
export const ccxtTradeSchema = z
  .object({ id: str, order: str.optional(), timestamp: num, symbol: str, side: z.enum(["buy", "sell"]), price: num, amount: num, cost: num, fee: feeSchema.optional(), takerOrMaker: z.enum(["maker", "taker"]).optional() })
  .passthrough();
export const ccxtOrderSchema = z
  .object({ id: str, clientOrderId: str.optional(), timestamp: num, symbol: str, type: str, side: z.enum(["buy", "sell"]), amount: num, filled: num, remaining: num, cost: num, status: str })
  .passthrough();

const childSchema = z
  .object({
    clientOrderId: str,
    parentOrderId: num,
    assetId: num,
    symbol: str,
    bar: num,
    wave: num,
    attempt: num,
    side: z.enum(["buy", "sell"]),
    amount: str,
    limitPrice: str,
    status: z.enum(["submitted", "rejected", "unknown", "skipped"]),
    event: str,
    exchangeOrderId: str.optional(),
    error: str.optional(),
    waveStart: num,
    submittedAt: num,
    ackAt: num.optional(),
  })
  .passthrough();

const parentFillSchema = z
  .object({ bar: num, assetId: num, symbol: str, parentOrderId: num, numShares: decimalText, price: decimalText, timestamp: num, fees: decimalText })
  .passthrough();

const emptyResponseSchema = z.object({ clientOrderId: str, symbol: str, empty: z.literal(true), id: z.literal(-1), error: str, retry: z.boolean().optional() }).passthrough();

/**
 * The schema of each stream's records (DOMAIN.md section 11), for readBrokerLogStream. Streams that
 * hold more than one kind of record (a child when sent, then events about it) have a union.
 */
export const BROKER_LOG_SCHEMAS = {
  oms_parent_orders: z.union([
    z.object({ bar: num, text: str, symbol: str }).passthrough(),
    z.object({ event: z.literal("child_added"), bar: num, parentOrderId: num, clientOrderId: str }).passthrough(),
  ]),
  oms_child_orders: z.union([
    childSchema,
    z.object({ event: z.literal("acknowledged"), clientOrderId: str, exchangeOrderId: str, ackAt: num, status: str }).passthrough(),
    z.object({ event: z.literal("adopted"), clientOrderId: str }).passthrough(),
    z.object({ event: z.enum(["cancel_failed", "cancel_gave_up"]), exchangeOrderId: str, symbol: str, error: str.optional() }).passthrough(),
    // A child left open by its parent that a bar boundary could not collect (Broker.collectLateFills).
    z.object({ event: z.literal("late_collect_failed"), clientOrderId: str, exchangeOrderId: str, symbol: str, error: str }).passthrough(),
    // Where a child left open by its parent stands, with what of it is booked (left-open-log.ts).
    z.object({ event: z.enum(["left_open", "late_booked", "left_open_done"]), clientOrderId: str, exchangeOrderId: str, symbol: str, filled: num, cost: num }).passthrough(),
  ]),
  ccxt_child_order_responses: z.union([z.object({ clientOrderId: str, response: ccxtOrderSchema }).passthrough(), emptyResponseSchema]),
  ccxt_fills: z.object({ bar: num, wave: num, clientOrderId: str, order: ccxtOrderSchema }).passthrough(),
  ccxt_trades: z.object({ bar: num, wave: num, trade: ccxtTradeSchema }).passthrough(),
  oms_fills: parentFillSchema,
  bid_ask: z.object({ bar: num, wave: num, timestamp: num, symbol: str, rows: num, bid: num.optional(), ask: num.optional(), knowledgeTime: num.optional() }).passthrough(),
  exchange_markets: z.object({ assetId: num, symbol: str, market: z.object({ symbol: str, base: str, quote: str, precision: z.object({ amount: num, price: num }).passthrough() }).passthrough() }).passthrough(),
  leverage_info: z.object({ timestamp: num, tiers: z.record(str, z.array(z.record(str, z.unknown()))) }).passthrough(),
  positions: z.object({ timestamp: num, positions: z.array(z.object({ symbol: str }).passthrough()) }).passthrough(),
  balances: z.object({ timestamp: num, balances: z.record(str, z.object({ free: num, used: num, total: num }).passthrough()) }).passthrough(),
  reduce_only_oms_child_orders: z
    .object({ clientOrderId: str, symbol: str, side: z.enum(["buy", "sell"]), amount: str, type: z.literal("market"), reduceOnly: z.literal(true), timestamp: num, event: z.enum(["sending", "rejected"]), error: str.optional() })
    .passthrough(),
  reduce_only_ccxt_child_order_responses: z.union([z.object({ clientOrderId: str, response: ccxtOrderSchema }).passthrough(), emptyResponseSchema]),
  fill_check_issues: z.object({ bar: num, parentOrderId: num, childOrderId: str.optional(), message: str }).passthrough(),
} satisfies Record<BrokerLogStream, z.ZodType>;

export type BrokerLogRecord<S extends BrokerLogStream> = z.output<(typeof BROKER_LOG_SCHEMAS)[S]>;

/** Every record of one stream, validated by its schema; a bad one fails with `<file>:<line>: <field>: <problem>`; a stream not written has none. */
export function readBrokerLogStream<S extends BrokerLogStream>(dir: string, stream: S, opts: LoadOptions = {}): BrokerLogRecord<S>[] {
  if (!existsSync(join(dir, `${stream}.jsonl`))) return [];
  // The generic lookup loses the link between a stream and its schema's output; the map above fixes it.
  return parseStream(dir, stream, BROKER_LOG_SCHEMAS[stream] as unknown as z.ZodType<BrokerLogRecord<S>>, opts, []);
}

export type LoggedChildOrder = z.output<typeof childSchema>;
export type LoggedParentFill = z.output<typeof parentFillSchema>;
export type LoggedTrade = z.output<typeof ccxtTradeSchema> & { bar: number; wave: number };
export type LoggedOrderState = z.output<typeof ccxtOrderSchema> & { bar: number; wave: number; clientOrderId: string };

export interface BrokerLog {
  dir: string;
  config: Record<string, unknown> | undefined;
  experimentArgs: Record<string, unknown> | undefined;
  parentOrders: { bar: number; symbol: string; order: ParentOrder }[];
  childOrders: LoggedChildOrder[];
  orderStates: LoggedOrderState[];
  trades: LoggedTrade[];
  parentFills: LoggedParentFill[];
  /** Torn last lines skipped (only with tolerateTruncatedTail). */
  truncated: { file: string; line: number }[];
}

function parseStream<T>(dir: string, stream: BrokerLogStream, schema: z.ZodType<T>, opts: LoadOptions, truncated: BrokerLog["truncated"], filter?: (r: Record<string, unknown>) => boolean): T[] {
  try {
    const loaded = readJsonlTyped(join(dir, `${stream}.jsonl`), schema, opts, filter);
    if (loaded.truncatedTail !== undefined) truncated.push(loaded.truncatedTail);
    return loaded.records;
  } catch (e) {
    if (e instanceof JsonlError) throw new BrokerLogError(e.message);
    throw e;
  }
}

function readJson(path: string): Record<string, unknown> | undefined {
  try {
    return readJsonFile(path) as Record<string, unknown> | undefined;
  } catch (e) {
    if (e instanceof JsonlError) throw new BrokerLogError(e.message);
    throw e;
  }
}

export function readBrokerLog(dir: string, opts: LoadOptions = {}): BrokerLog {
  if (!existsSync(dir)) throw new BrokerLogError(`${dir}: no such broker log directory`);
  const truncated: BrokerLog["truncated"] = [];
  const parentLines = parseStream(dir, "oms_parent_orders", z.object({ bar: num, text: str, symbol: str }).passthrough(), opts, truncated, (r) => typeof r["text"] === "string");
  const parentOrders = parentLines.map((p, i) => {
    try {
      return { bar: p.bar, symbol: p.symbol, order: parseOrder(p.text) };
    } catch (e) {
      throw new BrokerLogError(`${join(dir, "oms_parent_orders.jsonl")}: parent #${i + 1}: ${(e as Error).message}`);
    }
  });
  const childOrders = parseStream(dir, "oms_child_orders", childSchema, opts, truncated, (r) => typeof r["clientOrderId"] === "string" && typeof r["parentOrderId"] === "number");
  const orderStates = parseStream(dir, "ccxt_fills", z.object({ bar: num, wave: num, clientOrderId: str, order: ccxtOrderSchema }), opts, truncated).map((r) => ({ ...r.order, bar: r.bar, wave: r.wave, clientOrderId: r.clientOrderId }));
  const trades = parseStream(dir, "ccxt_trades", z.object({ bar: num, wave: num, trade: ccxtTradeSchema }), opts, truncated).map((r) => ({ ...r.trade, bar: r.bar, wave: r.wave }));
  const parentFills = parseStream(dir, "oms_fills", parentFillSchema, opts, truncated);
  return {
    dir,
    config: readJson(join(dir, "broker_config.json")),
    experimentArgs: readJson(join(dir, "experiment_args.json")),
    parentOrders,
    childOrders,
    orderStates,
    trades,
    parentFills,
    truncated,
  };
}
