// Reads a broker log directory back into typed records. Every record is validated; a bad one
// fails with `<file>:<line>: <field>: <problem>`. Used by replay, reconciliation and reports.

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
