// Resuming a live run whose process died in the middle of a bar. The resumed loop trades from the
// next bar boundary on and never sends that bar again, so the children the dead process sent in it
// would be forgotten while the exchange holds them: each is looked up by its client order id, one
// still open is cancelled, and what filled is folded per parent (DOMAIN.md section 5) into fills
// the portfolio takes. The books then hold what the exchange holds. The same goes for the closing
// orders of an end-of-session flattening the process died in.

import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { classifyExchangeError } from "../exchanges/errors.js";
import type { ExchangeClient } from "../exchanges/exchange-client.js";
import type { CcxtOrder, CcxtTrade } from "../oms/ccxt-types.js";
import { foldParentFill, type FeeCurrencies, type ParentFill } from "../oms/fills.js";
import { readJsonFile, writeJsonAtomic } from "../storage/jsonl.js";
import { RESUME_PENDING_FILE, type Checkpoint } from "./checkpoint.js";
import { SYSTEM_LOG_FILES } from "./system-log.js";

/** A child the dead process logged as sending after its checkpoint. */
export interface SentChild {
  clientOrderId: string;
  symbol: string;
  assetId: number;
  parentOrderId: number;
  bar: number;
}

/** What the exchange filled of one parent's recovered children. */
export interface RecoveredFill {
  bar: number;
  parentOrderId: number;
  assetId: number;
  symbol: string;
  children: number;
  /** The children folded (foldParentFill): signed shares, VWAP, fees in the quote currency. */
  fill: ParentFill;
}

export interface Recovery {
  fills: RecoveredFill[];
  /** Children the exchange never received. */
  notFound: number;
  /** Children found open and cancelled. */
  cancelled: number;
  /**
   * Children the exchange still reports open after the cancel (their fill so far is in `fills`):
   * for the broker to go on collecting as left open (Broker.adoptLeftOpen), with their trades.
   */
  stillOpen: { child: SentChild; state: CcxtOrder; trades: CcxtTrade[] }[];
}

/**
 * The children logged as "sending" after the checkpoint (a torn last line is the kill's): the
 * bar's children in oms_child_orders, and the closing orders of an end-of-session flattening in
 * reduce_only_oms_child_orders (their records carry the bar and parent id their fills take).
 */
export function childrenSentAfter(logDir: string, cp: Checkpoint): SentChild[] {
  const out: SentChild[] = [];
  const seen = new Set<string>();
  for (const stream of ["oms_child_orders", "reduce_only_oms_child_orders"] as const) {
    const rel = `${SYSTEM_LOG_FILES.brokerLog}/${stream}.jsonl`;
    const file = join(logDir, rel);
    for (const c of recordsAfter(file, cp.files[rel] ?? 0)) {
      if (c.event !== "sending" || typeof c.clientOrderId !== "string" || seen.has(c.clientOrderId)) continue;
      if (typeof c.symbol !== "string" || typeof c.assetId !== "number" || typeof c.parentOrderId !== "number" || typeof c.bar !== "number") {
        throw new Error(`${file}: child ${c.clientOrderId} after the checkpoint lacks its symbol, assetId, parentOrderId or bar`);
      }
      seen.add(c.clientOrderId);
      out.push({ clientOrderId: c.clientOrderId, symbol: c.symbol, assetId: c.assetId, parentOrderId: c.parentOrderId, bar: c.bar });
    }
  }
  return out;
}

/** The JSON records of a JSON-lines file from byte `from` on; only its last line may be torn. */
function recordsAfter(file: string, from: number): (Partial<SentChild> & { event?: unknown })[] {
  if (!existsSync(file)) return [];
  const size = statSync(file).size;
  if (size <= from) return [];
  const buf = Buffer.alloc(size - from);
  const fd = openSync(file, "r");
  try {
    readSync(fd, buf, 0, buf.length, from);
  } finally {
    closeSync(fd);
  }
  const lines = buf.toString("utf8").split("\n");
  const out: (Partial<SentChild> & { event?: unknown })[] = [];
  lines.forEach((line, i) => {
    if (line === "") return;
    try {
      out.push(JSON.parse(line) as Partial<SentChild> & { event?: unknown });
    } catch (e) {
      // Only the last line may be cut off by the kill.
      if (i === lines.length - 1) return;
      throw new Error(`${file}: a line after the checkpoint is not JSON: ${(e as Error).message}`, { cause: e });
    }
  });
  return out;
}

/**
 * Looks each child up at the exchange, cancels the open ones and folds what filled per parent with
 * their trades, as the broker folds any parent (fills.ts foldParentFill). Exchange errors other
 * than "no such order" are not caught: the resume fails and is retried, rather than trading on
 * books that may miss a position.
 */
export async function recoverSentChildren(client: ExchangeClient, sent: readonly SentChild[], markets: Readonly<Record<string, FeeCurrencies>>): Promise<Recovery> {
  const byParent = new Map<number, { child: SentChild; states: CcxtOrder[]; children: SentChild[] }>();
  let notFound = 0;
  let cancelled = 0;
  for (const child of sent) {
    let order = await lookUp(client, child);
    if (order === undefined) {
      notFound++;
      continue;
    }
    if (order.status === "open") {
      try {
        await client.cancelOrder(order.id, child.symbol);
        cancelled++;
      } catch (e) {
        // Filled or gone between the lookup and the cancel: its final state is read below.
        if (classifyExchangeError(e) !== "not_found") throw e;
      }
      order = (await lookUp(client, child)) ?? order;
    }
    const p = byParent.get(child.parentOrderId) ?? { child, states: [], children: [] };
    if (p.child.symbol !== child.symbol) throw new Error(`resume: children ${p.child.clientOrderId} (${p.child.symbol}) and ${child.clientOrderId} (${child.symbol}) are logged under one parent ${child.parentOrderId}: a parent trades one symbol`);
    p.states.push(order);
    p.children.push(child);
    byParent.set(child.parentOrderId, p);
  }
  const fills: RecoveredFill[] = [];
  const stillOpen: Recovery["stillOpen"] = [];
  for (const [parentOrderId, { child, states, children }] of byParent) {
    const market = markets[child.symbol];
    if (market === undefined) throw new Error(`resume: child ${child.clientOrderId}: symbol ${child.symbol} is not listed by ${client.id}`);
    const since = Math.min(...states.map((o) => o.timestamp));
    const trades = await client.fetchMyTrades(child.symbol, since);
    const fill = foldParentFill(parentOrderId, states, trades, market);
    if (fill !== undefined) fills.push({ bar: child.bar, parentOrderId, assetId: child.assetId, symbol: child.symbol, children: states.length, fill });
    states.forEach((state, k) => {
      if (state.status === "open") stillOpen.push({ child: children[k] as SentChild, state, trades: trades.filter((t) => t.order === state.id) });
    });
  }
  return { fills, notFound, cancelled, stillOpen };
}

async function lookUp(client: ExchangeClient, child: SentChild): Promise<CcxtOrder | undefined> {
  try {
    return await client.fetchOrderByClientId(child.clientOrderId, child.symbol);
  } catch (e) {
    if (classifyExchangeError(e) === "not_found") return undefined;
    throw e;
  }
}

/**
 * The first parent order id after a restore: past every logged order and every parent the dead
 * process gave children in its cut-off bar (their order rows were cut away, but recovered fills
 * and the exchange still name them).
 */
export function nextParentId(orders: readonly { orderId: number }[], sent: readonly SentChild[]): number {
  let max = -1;
  for (const o of orders) max = Math.max(max, o.orderId);
  for (const c of sent) max = Math.max(max, c.parentOrderId);
  return max + 1;
}

/**
 * `found` merged into the children an earlier try of this resume kept in RESUME_PENDING_FILE (its
 * cut took their records away), saved there again; the resume removes the file once they are booked.
 */
export function keepPendingSent(logDir: string, cp: Checkpoint, found: readonly SentChild[]): SentChild[] {
  const file = join(logDir, RESUME_PENDING_FILE);
  const saved = existsSync(file) ? (readJsonFile(file) as { checkpoint?: unknown; sent?: SentChild[] } | undefined) : undefined;
  // Kept for this very checkpoint only: a resume that booked them wrote a new one (and then died
  // before it removed the file), and booking them again would count them twice.
  const kept = saved !== undefined && JSON.stringify(saved.checkpoint) === JSON.stringify(cp) ? (saved.sent ?? []) : [];
  const ids = new Set(kept.map((c) => c.clientOrderId));
  const all = [...kept, ...found.filter((c) => !ids.has(c.clientOrderId))];
  writeJsonAtomic(file, { checkpoint: cp, sent: all });
  return all;
}
