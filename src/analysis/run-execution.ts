// Execution quality and timing of one run, read from its system log and broker log, for the
// reconciliation (DOMAIN.md sections 7 and 8): per parent order the target, the fill, the slippage
// against the arrival price (the mark when the target was set) and the fees; per TWAP wave the fill
// rate and maker share; per bar the model's time and how long after the bar the first order left.
// Order timestamps are on the run's own clock, so a simulated run's delays replay exactly; model
// time is measured (timing.jsonl) and is reported as such.

import { join } from "node:path";
import { Decimal } from "decimal.js";
import { z } from "zod";
import { BrokerLogError } from "../oms/broker-log.js";
import { parseOrder } from "../oms/parent-order.js";
import { JsonlError, JsonlFollower, readJsonlTyped } from "../storage/jsonl.js";
import type { SystemLog } from "../system/system-log-loader.js";
import { SYSTEM_LOG_FILES } from "../system/system-log.js";
import { ExactSum, fillsBy, numOf, toDec, toNum, type Num } from "./exact-num.js";
import type { ExecutionSummary, ParentExecution, WaveQuality } from "./execution-quality.js";
import { barAssetKey, type ReconcileLog } from "./reconcile-log.js";

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
  nextMark: Decimal | undefined;
  netWealth: Decimal | undefined;
}

/**
 * A parent order with what became of it, as runExecution reads it: exact values either as Decimals
 * (ParentOutcome) or as the text the log holds (parentRows).
 */
export interface ParentRow {
  bar: number;
  timestamp: number;
  assetId: number;
  parentOrderId: number;
  symbol: string;
  targetShares: Num;
  filledShares: Num;
  fillPrice: Num | undefined;
  arrivalPrice: Num;
  fees: Num;
  hasFill: boolean;
  /** The asset's mark at the next bar, when known (execution-quality.ts: opportunity cost). */
  nextMark: Num | undefined;
  /** Net wealth at the order's bar, when the portfolio has it (tracking error in bps). */
  netWealth: Num | undefined;
}

/** A portfolio bar as BarContext reads it: both log readers' rows have these members. */
interface MarkedBar {
  bar: number;
  netWealth: Num | Decimal;
  assets: readonly { assetId: number; price: Num | Decimal }[];
}

/**
 * Per bar of a run: the next bar's mark of an asset and the bar's net wealth. The next bar is the
 * next one in the portfolio (a resumed run may skip bars); its mark is the price of the asset's
 * target row there, or, at the last bar (no targets), the portfolio's mark.
 */
export class BarContext {
  private readonly next = new Map<number, MarkedBar>();
  private readonly wealth = new Map<number, Num | Decimal>();
  private lastPrices: { bar: MarkedBar; byAsset: Map<number, Num | Decimal> } | undefined;

  constructor(
    portfolio: readonly MarkedBar[],
    private readonly targetPrice: (bar: number, assetId: number) => Num | Decimal | undefined,
  ) {
    for (let i = 0; i < portfolio.length; i++) {
      const b = portfolio[i] as MarkedBar;
      this.wealth.set(b.bar, b.netWealth);
      const n = portfolio[i + 1];
      if (n !== undefined) this.next.set(b.bar, n);
    }
  }

  nextMark(bar: number, assetId: number): Num | Decimal | undefined {
    const n = this.next.get(bar);
    if (n === undefined) return undefined;
    const p = this.targetPrice(n.bar, assetId);
    if (p !== undefined) return p;
    if (this.lastPrices?.bar !== n) this.lastPrices = { bar: n, byAsset: new Map(n.assets.map((a) => [a.assetId, a.price])) };
    const mark = this.lastPrices.byAsset.get(assetId);
    // The portfolio writes 0 for an asset it holds no more and has no price for: not a mark.
    return mark === undefined || toNum(mark) === 0 ? undefined : mark;
  }

  netWealth(bar: number): Num | Decimal | undefined {
    return this.wealth.get(bar);
  }
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
  /** The bar's underfills' realized opportunity cost (execution-quality.ts), quote currency. */
  opportunityCost: number;
  /** Sum of |tracking error notional| over the bar's parents, and in bps of the bar's net wealth. */
  trackingErrorNotional: number;
  trackingErrorBps: number | null;
}

export interface AssetExecution {
  assetId: number;
  symbol: string;
  parents: number;
  /** Sum over the run of |target trade| and |executed| shares. */
  targetShares: Decimal;
  executedShares: Decimal;
  /** Sum over the run of the underfill shares and their realized opportunity cost. */
  underfillShares: number;
  opportunityCost: number;
}

export interface RunExecution {
  summary: ExecutionSummary;
  perBar: BarExecution[];
  perAsset: AssetExecution[];
}

const ORDER_FIELDS = /\border_id=(\d+) .*\basset_id=(\d+) .*\bdiff_num_shares=([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(?: |$)/;

/**
 * The three fields reconciliation needs from an order's text form (DOMAIN.md section 1). The full
 * parser (oms/parent-order.ts parseOrder) reads timestamps, time zones and extra_params too, which
 * cost more than the rest of the reconciliation on a day of 1-minute bars; an order that does not
 * match here is handed to it, so a bad line still fails with parseOrder's own words.
 */
export function orderFields(text: string, where: string): { orderId: number; assetId: number; diff: Decimal } {
  const o = orderText(text, where);
  return { orderId: o.orderId, assetId: o.assetId, diff: new Decimal(o.diff) };
}

/** orderFields with the shares as the order's own text (exact-num.ts), not a Decimal. */
export function orderText(text: string, where: string): { orderId: number; assetId: number; diff: Num } {
  const m = ORDER_FIELDS.exec(text);
  if (m === null || !text.startsWith("Order: ")) {
    const p = parseOrder(text, where);
    return { orderId: p.orderId, assetId: p.assetId, diff: p.diffNumShares };
  }
  return { orderId: Number(m[1]), assetId: Number(m[2]), diff: m[3] as string };
}

/** parentOutcomes from the reconciliation's reader of a log (reconcile-log.ts), values as logged. */
export function parentRows(log: ReconcileLog, symbolOf: ReadonlyMap<number, string>): ParentRow[] {
  const marks = new BarContext(log.portfolio, (bar, assetId) => log.arrival.get(barAssetKey(bar, assetId)));
  const fillOf = fillsBy(log.fills, (f) => f.parentOrderId);
  const ordersFile = join(log.dir, `${SYSTEM_LOG_FILES.orders}.jsonl`);
  const out = new Array<ParentRow>(log.orders.length);
  for (let i = 0; i < log.orders.length; i++) {
    const o = log.orders[i] as ReconcileLog["orders"][number];
    const price = log.arrival.get(barAssetKey(o.bar, o.assetId));
    if (price === undefined) throw new RunExecutionError(`${ordersFile}:${i + 1}: parent ${o.orderId} (asset ${o.assetId}) has no target row with a price at bar ${o.bar} in targets.jsonl`);
    const f = fillOf.get(o.orderId);
    out[i] = {
      bar: o.bar,
      timestamp: o.timestamp,
      assetId: o.assetId,
      parentOrderId: o.orderId,
      symbol: symbolOf.get(o.assetId) ?? String(o.assetId),
      targetShares: o.diff,
      filledShares: f?.numShares ?? "0",
      fillPrice: f?.price,
      arrivalPrice: price,
      fees: f?.fees ?? "0",
      hasFill: f !== undefined,
      nextMark: marks.nextMark(o.bar, o.assetId) as Num | undefined,
      netWealth: marks.netWealth(o.bar) as Num | undefined,
    };
  }
  return out;
}

/** Parent orders of a run (orders.jsonl) joined with their fills and arrival prices (targets.jsonl). */
export function parentOutcomes(log: SystemLog, symbolOf: ReadonlyMap<number, string>): ParentOutcome[] {
  // Keyed by bar x 2^32 + asset id (asset ids are 32-bit hashes): exact, and no string per row.
  const key = (bar: number, assetId: number): number => bar * 4294967296 + assetId;
  const arrival = new Map<number, string>();
  for (const t of log.targets) for (const r of t.rows) if (r.price !== undefined) arrival.set(key(t.bar, r.assetId), r.price);
  const fillOf = fillsBy(log.fills, (f) => f.parentOrderId);
  const ordersFile = join(log.dir, `${SYSTEM_LOG_FILES.orders}.jsonl`);
  const zero = new Decimal(0);
  const marks = new BarContext(log.portfolio, (bar, assetId) => arrival.get(key(bar, assetId)));
  const decimalOf = (v: Num | Decimal | undefined): Decimal | undefined => (v === undefined ? undefined : new Decimal(v));
  return log.orders.map((o, i) => {
    const p = orderFields(o.text, `${ordersFile}:${i + 1}`);
    const price = arrival.get(key(o.bar, p.assetId));
    if (price === undefined) throw new RunExecutionError(`${ordersFile}:${i + 1}: parent ${p.orderId} (asset ${p.assetId}) has no target row with a price at bar ${o.bar} in targets.jsonl`);
    const f = fillOf.get(p.orderId);
    return {
      bar: o.bar,
      timestamp: o.timestamp,
      assetId: p.assetId,
      parentOrderId: p.orderId,
      symbol: symbolOf.get(p.assetId) ?? String(p.assetId),
      targetShares: p.diff,
      filledShares: f === undefined ? zero : toDec(f.numShares),
      fillPrice: f === undefined ? undefined : toDec(f.price),
      arrivalPrice: new Decimal(price),
      fees: f === undefined ? zero : toDec(f.fees),
      hasFill: f !== undefined,
      nextMark: decimalOf(marks.nextMark(o.bar, p.assetId)),
      netWealth: decimalOf(marks.netWealth(o.bar)),
    };
  });
}

/**
 * The records of a JSON-lines stream that `keepLine` (a cheap test on the raw text) lets through,
 * each reduced to `pick` of it; `pick` names a bad field by throwing a FieldError. Errors name the
 * file and line. Broker logs of a day hold hundreds of thousands of lines of which a reconciliation
 * needs a few fields: parsing only the lines wanted, with no schema object per record, is most of
 * its speed. The stream may still be written: `poll()` takes the records completed so far,
 * `finish()` the rest. A torn last line (a run killed mid-write) is skipped, as the loaders do when
 * asked to; a missing file has no records.
 */
export class StreamFieldsFollower<T> {
  private readonly rows: T[] = [];
  private readonly follower: JsonlFollower;

  constructor(
    private readonly file: string,
    pick: (r: Record<string, unknown>) => T,
    keepLine?: (line: string) => boolean,
  ) {
    this.follower = new JsonlFollower(
      file,
      (rec, line) => {
        if (rec === null || typeof rec !== "object") throw new BrokerLogError(`${file}:${line}: not a JSON object`);
        try {
          this.rows.push(pick(rec as Record<string, unknown>));
        } catch (e) {
          if (e instanceof FieldError) throw new BrokerLogError(`${file}:${line}: field "${e.field}": ${e.message}`);
          throw e;
        }
      },
      { keepLine: (line) => line !== "" && (keepLine === undefined || keepLine(line)) },
    );
  }

  poll(): void {
    this.brokerErrors(() => this.follower.poll());
  }

  finish(): T[] {
    this.brokerErrors(() => this.follower.finish({ tolerateTruncatedTail: true }));
    return this.rows;
  }

  private brokerErrors(read: () => void): void {
    try {
      read();
    } catch (e) {
      if (e instanceof JsonlError) throw new BrokerLogError(e.message);
      throw e;
    }
  }
}

export class FieldError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** The keys of a field path ("order.amount"), split once per path rather than once per record. */
const PATH_KEYS = new Map<string, readonly string[]>();

function valueAt(r: Record<string, unknown>, path: string): unknown {
  let keys = PATH_KEYS.get(path);
  if (keys === undefined) {
    keys = path.split(".");
    PATH_KEYS.set(path, keys);
  }
  let v: unknown = r;
  for (const k of keys) v = v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

function numberAt(r: Record<string, unknown>, path: string): number {
  const v = valueAt(r, path);
  if (typeof v !== "number" || !Number.isFinite(v)) throw new FieldError(path, `expected a number, got ${JSON.stringify(v)}`);
  return v;
}

/** A decimal as logged (text such as "1.25", read as exact-num.ts reads it), as the double nearest it. */
function decimalTextAt(r: Record<string, unknown>, path: string): number {
  const v = valueAt(r, path);
  const n = numOf(v);
  if (n === undefined) throw new FieldError(path, `expected a decimal, got ${JSON.stringify(v)}`);
  return toNum(n);
}

function optionalStringAt(r: Record<string, unknown>, path: string): string | undefined {
  const v = valueAt(r, path);
  if (v !== undefined && typeof v !== "string") throw new FieldError(path, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

/** One child order's wave, size and fill, with the maker/taker split of its (bar, wave). */
export interface ChildWaveFill {
  wave: number;
  amount: number;
  filled: number;
  /** Traded amounts of the child's (bar, wave), carried by its first child only. */
  makerAmount: number;
  takerAmount: number;
  /**
   * For slippage and fees per wave, when known (a broker experiment's waves): the filled cost and
   * fees (quote currency), the parent's arrival price and side. A wave is priced when all its rows are.
   */
  priced?: { filledCost: number; fees: number; arrivalPrice: number; side: 1 | -1 };
}

/** Per child order of a wave (rejected ones too, filled 0): its size, fill, and the maker/taker split (broker log streams). */
export function waveFills(brokerLogDir: string): ChildWaveFill[] {
  return new WaveFillsFollower(brokerLogDir).finish();
}

/** waveFills for a broker log that may still be written (see StreamFieldsFollower). */
export class WaveFillsFollower {
  private readonly states: StreamFieldsFollower<{ bar: number; wave: number; amount: number; filled: number }>;
  private readonly trades: StreamFieldsFollower<{ bar: number; wave: number; amount: number; maker: boolean }>;
  /** Children the exchange never took (rejected, or no bid/ask to price them): sent, filled 0. */
  private readonly rejected: StreamFieldsFollower<{ wave: number; amount: number }>;

  constructor(brokerLogDir: string) {
    this.states = new StreamFieldsFollower(join(brokerLogDir, "ccxt_fills.jsonl"), (r) => ({ bar: numberAt(r, "bar"), wave: numberAt(r, "wave"), amount: numberAt(r, "order.amount"), filled: numberAt(r, "order.filled") }));
    this.trades = new StreamFieldsFollower(join(brokerLogDir, "ccxt_trades.jsonl"), (r) => ({ bar: numberAt(r, "bar"), wave: numberAt(r, "wave"), amount: numberAt(r, "trade.amount"), maker: optionalStringAt(r, "trade.takerOrMaker") === "maker" }));
    this.rejected = new StreamFieldsFollower(
      join(brokerLogDir, "oms_child_orders.jsonl"),
      (r) => ({ wave: numberAt(r, "wave"), amount: decimalTextAt(r, "amount") }),
      (line) => line.includes('"event":"rejected"'),
    );
  }

  poll(): void {
    this.states.poll();
    this.trades.poll();
    this.rejected.poll();
  }

  finish(): ChildWaveFill[] {
    const states = this.states.finish();
    const trades = this.trades.finish();
    const rejected = this.rejected.finish();
    // One key per (bar, wave): a number when both are small integers (no string per record), else text.
    const waveKey = (bar: number, wave: number): number | string => (Number.isInteger(bar) && Number.isInteger(wave) && wave >= 0 && wave < 1e6 && Math.abs(bar) < 1e9 ? bar * 1e6 + wave : `${bar}:${wave}`);
    const byWave = new Map<number | string, { maker: number; taker: number }>();
    for (const t of trades) {
      const k = waveKey(t.bar, t.wave);
      let agg = byWave.get(k);
      if (agg === undefined) {
        agg = { maker: 0, taker: 0 };
        byWave.set(k, agg);
      }
      if (t.maker) agg.maker += t.amount;
      else agg.taker += t.amount;
    }
    const seen = new Set<number | string>();
    const out: ChildWaveFill[] = states.map((st) => {
      const k = waveKey(st.bar, st.wave);
      const agg = seen.has(k) ? undefined : byWave.get(k);
      seen.add(k);
      return { wave: st.wave, amount: st.amount, filled: st.filled, makerAmount: agg?.maker ?? 0, takerAmount: agg?.taker ?? 0 };
    });
    // A rejected child was part of its wave too, with nothing filled: the wave's fill rate counts it.
    for (const r of rejected) out.push({ wave: r.wave, amount: r.amount, filled: 0, makerAmount: 0, takerAmount: 0 });
    return out;
  }
}

/** One parent order's execution quality in floats: the formulas of execution-quality.ts (parentQuality). */
export interface ParentMetrics {
  /** Signed target and filled shares. */
  target: number;
  filled: number;
  fillRate: number | null;
  /** |filled| x fill price (0 when nothing filled). */
  filledNotional: number;
  /** side * (fill price - arrival) / arrival (x 1e4: bps); undefined when nothing filled. */
  slippage: number | undefined;
  fees: number;
  feesBps: number | undefined;
  underfill: number;
  opportunityCost: number | undefined;
  trackingErrorShares: number;
  trackingErrorNotional: number;
  trackingErrorBps: number | undefined;
}

export function parentMetrics(p: ParentRow): ParentMetrics {
  const target = toNum(p.targetShares);
  const filled = toNum(p.filledShares);
  const arrival = toNum(p.arrivalPrice);
  const side = target > 0 ? 1 : -1;
  const underfill = Math.max(0, Math.abs(target) - Math.abs(filled));
  const trackingErrorShares = filled - target;
  const trackingErrorNotional = trackingErrorShares * arrival;
  const netWealth = p.netWealth === undefined ? 0 : toNum(p.netWealth);
  const fees = toNum(p.fees);
  const filledPrice = p.fillPrice === undefined || filled === 0 ? undefined : toNum(p.fillPrice);
  const filledNotional = filledPrice === undefined ? 0 : Math.abs(filled) * filledPrice;
  return {
    target,
    filled,
    fillRate: target === 0 ? null : Math.abs(filled) / Math.abs(target),
    filledNotional,
    slippage: filledPrice === undefined ? undefined : (side * (filledPrice - arrival)) / arrival,
    fees,
    feesBps: filledNotional === 0 ? undefined : (1e4 * fees) / filledNotional,
    underfill,
    // Nothing unfilled costs exactly 0 (not -0 when the price fell).
    opportunityCost: p.nextMark === undefined ? undefined : underfill === 0 ? 0 : side * underfill * (toNum(p.nextMark) - arrival),
    trackingErrorShares,
    trackingErrorNotional,
    trackingErrorBps: netWealth === 0 ? undefined : (1e4 * Math.abs(trackingErrorNotional)) / netWealth,
  };
}

/**
 * Execution quality of a run: the formulas of execution-quality.ts (summarizeExecution), summed in
 * floats: these are statistics, not balances, and exact sums over the 100,000 parents and children
 * of a day of 1-minute bars cost seconds. Per bar and per asset too (the per-asset share totals stay
 * exact: they are compared as shares).
 */
export function runExecution(parents: readonly ParentRow[], waves: readonly ChildWaveFill[]): RunExecution {
  const perBar: BarExecution[] = [];
  const perAsset = new Map<number, { assetId: number; symbol: string; parents: number; target: ExactSum; executed: ExactSum; underfill: number; opportunityCost: number }>();
  const run = { target: 0, filled: 0, notional: 0, slip: 0, fees: 0, opportunityCost: 0, marked: 0, tracking: 0 };
  type BarSums = { bar: number; timestamp: number; parents: number; target: number; filled: number; notional: number; slip: number; fees: number; opportunityCost: number; tracking: number; netWealth: number | undefined };
  let cur: BarSums | undefined;
  const flush = (): void => {
    if (cur === undefined) return;
    perBar.push({
      bar: cur.bar, timestamp: cur.timestamp, parents: cur.parents, fillRate: cur.target === 0 ? null : cur.filled / cur.target,
      slippageBps: cur.notional === 0 ? null : (1e4 * cur.slip) / cur.notional, feesBps: cur.notional === 0 ? null : (1e4 * cur.fees) / cur.notional, filledNotional: cur.notional,
      opportunityCost: cur.opportunityCost, trackingErrorNotional: cur.tracking,
      trackingErrorBps: cur.netWealth === undefined || cur.netWealth === 0 ? null : (1e4 * cur.tracking) / cur.netWealth,
    });
    run.target += cur.target;
    run.filled += cur.filled;
    run.notional += cur.notional;
    run.slip += cur.slip;
    run.fees += cur.fees;
    run.opportunityCost += cur.opportunityCost;
    run.tracking += cur.tracking;
  };
  for (const p of parents) {
    if (cur === undefined || cur.bar !== p.bar) {
      flush();
      cur = { bar: p.bar, timestamp: p.timestamp, parents: 0, target: 0, filled: 0, notional: 0, slip: 0, fees: 0, opportunityCost: 0, tracking: 0, netWealth: p.netWealth === undefined ? undefined : toNum(p.netWealth) };
    }
    const m = parentMetrics(p);
    cur.parents++;
    cur.target += Math.abs(m.target);
    cur.filled += Math.abs(m.filled);
    if (m.opportunityCost !== undefined) {
      cur.opportunityCost += m.opportunityCost;
      run.marked++;
    }
    cur.tracking += Math.abs(m.trackingErrorNotional);
    if (m.slippage !== undefined) {
      cur.notional += m.filledNotional;
      // Weighted by traded notional.
      cur.slip += m.slippage * m.filledNotional;
      cur.fees += m.fees;
    }
    let a = perAsset.get(p.assetId);
    if (a === undefined) {
      a = { assetId: p.assetId, symbol: p.symbol, parents: 0, target: new ExactSum(), executed: new ExactSum(), underfill: 0, opportunityCost: 0 };
      perAsset.set(p.assetId, a);
    }
    a.parents++;
    a.underfill += m.underfill;
    a.opportunityCost += m.opportunityCost ?? 0;
    a.target.addAbs(p.targetShares);
    a.executed.addAbs(p.filledShares);
  }
  flush();
  type WaveSums = { children: number; amount: number; filled: number; maker: number; taker: number; priced: boolean; notional: number; slip: number; fees: number };
  const byWave = new Map<number, WaveSums>();
  for (const w of waves) {
    let agg = byWave.get(w.wave);
    if (agg === undefined) {
      agg = { children: 0, amount: 0, filled: 0, maker: 0, taker: 0, priced: true, notional: 0, slip: 0, fees: 0 };
      byWave.set(w.wave, agg);
    }
    agg.children++;
    agg.amount += w.amount;
    agg.filled += w.filled;
    agg.maker += w.makerAmount;
    agg.taker += w.takerAmount;
    if (w.priced === undefined) agg.priced = false;
    else if (w.filled !== 0) {
      // As per parent: side * (average price - arrival) / arrival, weighted by the filled cost.
      const { filledCost, fees, arrivalPrice, side } = w.priced;
      const price = filledCost / Math.abs(w.filled);
      agg.notional += filledCost;
      agg.slip += ((side * (price - arrivalPrice)) / arrivalPrice) * filledCost;
      agg.fees += fees;
    }
  }
  let maker = 0;
  let taker = 0;
  const perWave: WaveQuality[] = [...byWave.entries()].sort((x, y) => x[0] - y[0]).map(([wave, w]) => {
    maker += w.maker;
    taker += w.taker;
    const q: WaveQuality = { wave, children: w.children, fillRate: w.amount === 0 ? 0 : w.filled / w.amount, makerShare: w.maker + w.taker === 0 ? NaN : w.maker / (w.maker + w.taker) };
    if (w.priced) {
      q.slippageBps = w.notional === 0 ? NaN : (1e4 * w.slip) / w.notional;
      q.feesBps = w.notional === 0 ? NaN : (1e4 * w.fees) / w.notional;
    }
    return q;
  });
  const summary: ExecutionSummary = {
    parents: parents.length,
    fillRate: run.target === 0 ? 0 : run.filled / run.target,
    slippageBps: run.notional === 0 ? NaN : (1e4 * run.slip) / run.notional,
    feesBps: run.notional === 0 ? NaN : (1e4 * run.fees) / run.notional,
    makerShare: maker + taker === 0 ? NaN : maker / (maker + taker),
    filledNotional: run.notional,
    opportunityCost: run.marked === 0 ? NaN : run.opportunityCost,
    trackingErrorNotional: run.tracking,
    perWave,
  };
  const assets = [...perAsset.values()].map((a) => ({ assetId: a.assetId, symbol: a.symbol, parents: a.parents, targetShares: a.target.value(), executedShares: a.executed.value(), underfillShares: a.underfill, opportunityCost: a.opportunityCost }));
  return { summary, perBar, perAsset: assets.sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : 0)) };
}

// ---- timing ----

const timingSchema = z.object({ bar: z.number().int(), timestamp: z.number(), wallMs: z.number(), modelMs: z.number().optional() });

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
/** The first-attempt child orders being sent (oms_child_orders), as runTiming reads them. */
export interface ChildSend {
  bar: number;
  wave: number;
  attempt: number;
  submittedAt: number;
}

/** Follows the child orders being sent of a broker log (runTiming's input; see StreamFieldsFollower). */
export function childSendsFollower(brokerLogDir: string): StreamFieldsFollower<ChildSend> {
  return new StreamFieldsFollower(
    join(brokerLogDir, "oms_child_orders.jsonl"),
    (r) => ({ bar: numberAt(r, "bar"), wave: numberAt(r, "wave"), attempt: numberAt(r, "attempt"), submittedAt: numberAt(r, "submittedAt") }),
    // Only first attempts being sent; acknowledgements and other events are most of the stream.
    (line) => line.includes('"event":"sending"'),
  );
}

/** `sends`: the broker log's child sends when the caller has read them already (childSendsFollower). */
export function runTiming(log: Pick<SystemLog, "dir" | "brokerLogDir"> & { targets: readonly { bar: number; timestamp: number }[] }, opts: { measured: boolean }, sends?: readonly ChildSend[]): RunTiming {
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
  const children = (sends ?? childSendsFollower(log.brokerLogDir).finish()).filter((c) => c.attempt === 0);
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
