// Execution quality and timing of one run, read from its system log and broker log, for the
// reconciliation (DOMAIN.md sections 7 and 8): per parent order the target, the fill, the slippage
// against the arrival price (the mark when the target was set) and the fees; per TWAP wave the fill
// rate and maker share; per bar the model's time and how long after the bar the first order left.
// Order timestamps are on the run's own clock, so a simulated run's delays replay exactly; model
// time is measured (timing.jsonl) and is reported as such.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { z } from "zod";
import { BrokerLogError } from "../oms/broker-log.js";
import { parseOrder } from "../oms/parent-order.js";
import { JsonlError, readJsonlTyped } from "../storage/jsonl.js";
import type { SystemLog } from "../system/system-log-loader.js";
import { SYSTEM_LOG_FILES } from "../system/system-log.js";
import { summarizeExecution, type ExecutionSummary, type ParentExecution, type WaveFill } from "./execution-quality.js";

export class RunExecutionError extends Error {
  override readonly name = "RunExecutionError";
}

/** One parent order of a run with what became of it. */
export interface ParentOutcome extends ParentExecution {
  bar: number;
  timestamp: number;
  assetId: number;
  /** Whether fills.jsonl has a fill for it (a parent can fill 0 and have none). */
  hasFill: boolean;
}

export interface BarExecution {
  bar: number;
  timestamp: number;
  parents: number;
  /** |filled| / |target| over the bar's parents. */
  fillRate: number | null;
  /** Notional-weighted slippage against arrival, bps (positive: worse than arrival). */
  slippageBps: number | null;
  feesBps: number | null;
  filledNotional: number;
}

export interface AssetExecution {
  assetId: number;
  symbol: string;
  parents: number;
  /** Sum over the run of |target trade| and |executed| shares. */
  targetShares: Decimal;
  executedShares: Decimal;
}

export interface RunExecution {
  parents: ParentOutcome[];
  summary: ExecutionSummary;
  perBar: BarExecution[];
  perAsset: AssetExecution[];
}

/** Parent orders of a run (orders.jsonl) joined with their fills and arrival prices (targets.jsonl). */
export function parentOutcomes(log: SystemLog, symbolOf: ReadonlyMap<number, string>): ParentOutcome[] {
  const arrival = new Map<string, string>();
  for (const t of log.targets) for (const r of t.rows) if (r.price !== undefined) arrival.set(`${t.bar}:${r.assetId}`, r.price);
  const fillOf = new Map<number, SystemLog["fills"][number]>();
  for (const f of log.fills) fillOf.set(f.parentOrderId, f);
  const ordersFile = join(log.dir, `${SYSTEM_LOG_FILES.orders}.jsonl`);
  return log.orders.map((o, i) => {
    const p = parseOrder(o.text, `${ordersFile}:${i + 1}`);
    const price = arrival.get(`${o.bar}:${p.assetId}`);
    if (price === undefined) throw new RunExecutionError(`${ordersFile}:${i + 1}: parent ${p.orderId} (asset ${p.assetId}) has no target row with a price at bar ${o.bar} in targets.jsonl`);
    const f = fillOf.get(p.orderId);
    return {
      bar: o.bar,
      timestamp: o.timestamp,
      assetId: p.assetId,
      parentOrderId: p.orderId,
      symbol: symbolOf.get(p.assetId) ?? String(p.assetId),
      targetShares: p.diffNumShares,
      filledShares: f?.numShares ?? new Decimal(0),
      fillPrice: f?.price,
      arrivalPrice: new Decimal(price),
      fees: f?.fees ?? new Decimal(0),
      hasFill: f !== undefined,
    };
  });
}

const orderStateSchema = z.object({ bar: z.number(), wave: z.number(), clientOrderId: z.string(), order: z.object({ amount: z.number(), filled: z.number() }).passthrough() });
const tradeSchema = z.object({ bar: z.number(), wave: z.number(), trade: z.object({ amount: z.number(), takerOrMaker: z.enum(["maker", "taker"]).optional() }).passthrough() });

function readStream<T>(dir: string, stream: string, schema: z.ZodType<T>, keep?: (r: Record<string, unknown>) => boolean): T[] {
  try {
    return readJsonlTyped(join(dir, `${stream}.jsonl`), schema, { tolerateTruncatedTail: true }, keep).records;
  } catch (e) {
    if (e instanceof JsonlError) throw new BrokerLogError(e.message);
    throw e;
  }
}

/** Per child order of a TWAP wave: its size, fill, and maker/taker split (broker log streams). */
export function waveFills(brokerLogDir: string): WaveFill[] {
  if (!existsSync(brokerLogDir)) return [];
  const states = readStream(brokerLogDir, "ccxt_fills", orderStateSchema);
  const byWave = new Map<string, { maker: Decimal; taker: Decimal }>();
  for (const t of readStream(brokerLogDir, "ccxt_trades", tradeSchema)) {
    const k = `${t.bar}:${t.wave}`;
    const agg = byWave.get(k) ?? { maker: new Decimal(0), taker: new Decimal(0) };
    if (t.trade.takerOrMaker === "maker") agg.maker = agg.maker.add(String(t.trade.amount));
    else agg.taker = agg.taker.add(String(t.trade.amount));
    byWave.set(k, agg);
  }
  // Maker/taker is known per trade, not per child: it is carried once per (bar, wave).
  const seen = new Set<string>();
  return states.map((s) => {
    const k = `${s.bar}:${s.wave}`;
    const agg = seen.has(k) ? undefined : byWave.get(k);
    seen.add(k);
    return { wave: s.wave, childAmount: new Decimal(String(s.order.amount)), filled: new Decimal(String(s.order.filled)), makerAmount: agg?.maker ?? new Decimal(0), takerAmount: agg?.taker ?? new Decimal(0) };
  });
}

export function runExecution(parents: readonly ParentOutcome[], waves: readonly WaveFill[]): RunExecution {
  const summary = summarizeExecution(parents, waves);
  const perBar: BarExecution[] = [];
  const perAsset = new Map<number, AssetExecution>();
  let k = 0;
  while (k < parents.length) {
    const first = parents[k] as ParentOutcome;
    let j = k;
    while (j < parents.length && (parents[j] as ParentOutcome).bar === first.bar) j++;
    const s = summarizeExecution(parents.slice(k, j), []);
    perBar.push({
      bar: first.bar, timestamp: first.timestamp, parents: j - k, fillRate: s.parents === 0 ? null : s.fillRate,
      slippageBps: finiteOrNull(s.slippageBps), feesBps: finiteOrNull(s.feesBps), filledNotional: s.filledNotional,
    });
    k = j;
  }
  for (const p of parents) {
    const a = perAsset.get(p.assetId) ?? { assetId: p.assetId, symbol: p.symbol, parents: 0, targetShares: new Decimal(0), executedShares: new Decimal(0) };
    a.parents++;
    a.targetShares = a.targetShares.add(p.targetShares.abs());
    a.executedShares = a.executedShares.add(p.filledShares.abs());
    perAsset.set(p.assetId, a);
  }
  return { parents: [...parents], summary, perBar, perAsset: [...perAsset.values()].sort((a, b) => a.symbol.localeCompare(b.symbol)) };
}

// ---- timing ----

const timingSchema = z.object({ bar: z.number().int(), timestamp: z.number(), wallMs: z.number(), modelMs: z.number().optional() });
const childSendSchema = z.object({ bar: z.number(), wave: z.number(), attempt: z.number(), event: z.string(), submittedAt: z.number(), waveStart: z.number() }).passthrough();

export interface BarTiming {
  bar: number;
  timestamp: number;
  /** Measured: the model's time at this bar (sum over its nodes), from timing.jsonl. */
  measuredModelMs: number | undefined;
  /** On the run's clock: first child order sent after the bar, ms after the bar's timestamp. */
  orderDelayMs: number | undefined;
  /** On the run's clock: the latest first-attempt child of the bar's first wave, ms after the bar. */
  lastOrderDelayMs: number | undefined;
}

export interface Distribution {
  count: number;
  mean: number | null;
  p95: number | null;
  max: number | null;
}

export interface RunTiming {
  perBar: BarTiming[];
  measuredModelMs: Distribution;
  orderDelayMs: Distribution;
  lastOrderDelayMs: Distribution;
}

export function distribution(values: readonly number[]): Distribution {
  if (values.length === 0) return { count: 0, mean: null, p95: null, max: null };
  const sorted = [...values].sort((a, b) => a - b);
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const p95 = sorted[Math.min(sorted.length - 1, Math.ceil(0.95 * sorted.length) - 1)] as number;
  return { count: values.length, mean, p95, max: sorted[sorted.length - 1] as number };
}

/**
 * Model time per bar (timing.jsonl, measured) and order delay after the bar (broker log child
 * orders, on the run's clock) for the bars that ran the model.
 */
export function runTiming(log: SystemLog, opts: { measured: boolean }): RunTiming {
  const timingFile = join(log.dir, `${SYSTEM_LOG_FILES.timing}.jsonl`);
  let timing: z.output<typeof timingSchema>[] = [];
  if (opts.measured) {
    try {
      timing = readJsonlTyped(timingFile, timingSchema, { tolerateTruncatedTail: true }).records;
    } catch (e) {
      if (e instanceof JsonlError) throw new RunExecutionError(e.message);
      throw e;
    }
  }
  const modelMs = new Map(timing.filter((t) => t.modelMs !== undefined).map((t) => [t.bar, t.modelMs as number]));
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  const firstWave = new Map<number, number>();
  const children = existsSync(log.brokerLogDir) ? readStream(log.brokerLogDir, "oms_child_orders", childSendSchema, (r) => r["event"] === "sending" && r["attempt"] === 0) : [];
  for (const c of children) {
    const w = firstWave.get(c.bar);
    if (w === undefined || c.wave < w) {
      firstWave.set(c.bar, c.wave);
      last.delete(c.bar);
    }
    if (c.wave > (firstWave.get(c.bar) as number)) continue;
    first.set(c.bar, Math.min(first.get(c.bar) ?? Infinity, c.submittedAt));
    last.set(c.bar, Math.max(last.get(c.bar) ?? -Infinity, c.submittedAt));
  }
  const perBar: BarTiming[] = log.targets.map((t) => {
    const f = first.get(t.bar);
    const l = last.get(t.bar);
    return { bar: t.bar, timestamp: t.timestamp, measuredModelMs: modelMs.get(t.bar), orderDelayMs: f === undefined ? undefined : f - t.timestamp, lastOrderDelayMs: l === undefined ? undefined : l - t.timestamp };
  });
  const pick = (f: (b: BarTiming) => number | undefined): number[] => perBar.flatMap((b) => (f(b) === undefined ? [] : [f(b) as number]));
  return { perBar, measuredModelMs: distribution(pick((b) => b.measuredModelMs)), orderDelayMs: distribution(pick((b) => b.orderDelayMs)), lastOrderDelayMs: distribution(pick((b) => b.lastOrderDelayMs)) };
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
