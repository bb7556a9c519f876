// The per-bar loop of the production system (seed 002): at each bar boundary mark the portfolio,
// run the model on the data known at that moment, turn predictions into targets and parent orders,
// and let the broker execute them over the next bar. Every step is logged as it happens. The loop
// only waits on the Clock, so the same code runs a simulated day in seconds or a real day in a day.

import { Decimal } from "decimal.js";
import type { Clock } from "../core/clock.js";
import { scaledNearestMultiple, scaledOf, scaledOfText, scaledToWide, type Scaled } from "../core/scaled-number.js";
import { WideDecimal } from "../core/wide-decimal.js";
import type { MarketDataSource } from "../marketdata/types.js";
import type { Broker } from "../oms/broker.js";
import { formatOrder } from "../oms/parent-order.js";
import type { MarketLimits } from "../oms/exchange-limits.js";
import type { Portfolio, PortfolioBar } from "../oms/portfolio.js";
import type { PortfolioSeriesBar } from "./run-summary.js";
import { knownDataAt, lastClose, realizedVolatility } from "./known-data.js";
import { runDag, topologicalOrder, type ModelDefinition, type NodeOutput } from "./model-dag.js";
import type { SystemLogWriter } from "./system-log.js";
import { computeTargets, parentOrdersFor, type TargetConfig, type ParentOrderType } from "./targets.js";

/** Bars of returns behind the realized volatility used for scaling when a model gives none. */
const VOLATILITY_BARS = 24;

export interface UniverseAsset {
  assetId: number;
  symbol: string;
  limits: MarketLimits;
  /** Price tick: feeds hand prices over as floats, marks go back onto the exchange's grid. */
  priceStep: Decimal;
}

export interface BarLoopParts {
  clock: Clock;
  data: MarketDataSource;
  model: ModelDefinition;
  modelParams: unknown;
  broker: Broker;
  portfolio: Portfolio;
  universe: readonly UniverseAsset[];
  writer: SystemLogWriter;
  targets: TargetConfig;
  orderType: ParentOrderType;
  /** Called at each bar boundary before reading data (a live feed closes its bars). */
  beforeBar?: (t: number) => void;
  /** Called after beforeBar: warnings about the data since the previous bar (a live feed's failed polls). */
  dataWarnings?: (t: number) => readonly string[];
  /** Stops the loop at the next bar boundary (or during the wait for it) once aborted. */
  signal?: AbortSignal;
  /** Continue an interrupted run after its last logged bar (real and scaled clocks). */
  resume?: BarLoopResume;
  /**
   * A fresh live session started late (on the real clock) does not trade the bars whose boundary
   * is more than half a bar behind it: it starts at the next bar, with a warning, as a resumed one does.
   */
  skipPassedBars?: boolean;
  /**
   * Close every position at the session's end (order.flattenAtEnd): the closing trades are applied
   * to the portfolio and logged as fills of the last trading bar before the final mark, so the
   * final portfolio is flat and the PnL and fees include their cost.
   */
  flattenAtEnd?: boolean;
  /** Called after each bar is logged (checkpoints, progress). */
  afterBar?: (bar: number, total: number, t: number, portfolio: PortfolioBar) => void;
}

export interface BarLoopResume {
  /** The last bar the interrupted run finished. */
  lastBar: number;
  lastPortfolio: PortfolioBar;
  nextOrderId: number;
}

export interface BarLoopResult {
  /** The portfolio of every bar without its per-asset rows (those are in portfolio.jsonl). */
  bars: PortfolioSeriesBar[];
  parentOrders: number;
  parentFills: number;
  warnings: string[];
}

export class LateStartError extends Error {
  override readonly name = "LateStartError";
  /** A session that is over stays over: a task runner does not retry it (orchestration/task.ts isPermanent). */
  readonly retryable = false;
}

/**
 * The first bar a fresh live session started at `now` trades: bars more than half a bar in the
 * past are not traded. Throws LateStartError when the session is over.
 */
export function firstLiveBar(now: number, startMs: number, endMs: number, barMs: number): number {
  const first = Math.max(0, Math.ceil((now - startMs - barMs / 2) / barMs));
  if (first > Math.round((endMs - startMs) / barMs)) throw new LateStartError(`the session ${new Date(startMs).toISOString()} .. ${new Date(endMs).toISOString()} is over (now ${new Date(now).toISOString()}): nothing left to trade`);
  return first;
}

export async function runBarLoop(parts: BarLoopParts, startMs: number, endMs: number, barMs: number): Promise<BarLoopResult> {
  const { clock, data, model, broker, portfolio, universe, writer } = parts;
  const nodes = topologicalOrder(model.name, model.nodes(parts.modelParams));
  const total = Math.round((endMs - startMs) / barMs);
  const symbols = universe.map((u) => u.symbol);
  const symbolOf = new Map(universe.map((u) => [u.assetId, u.symbol]));
  // Only the run-level figures of each bar are kept for the summary: the per-asset rows of a
  // 100-asset day were ~150k objects of Decimals, most of the heap, and made every GC slower.
  const bars: PortfolioSeriesBar[] = [];
  let lastBar: PortfolioBar | undefined;
  /** The bar of lastBar's mark. */
  let lastMarkBar = -1;
  const warnings: string[] = [];
  let nextOrderId = 0;
  let parentFills = 0;
  let first = 0;
  if (parts.resume !== undefined) {
    lastBar = parts.resume.lastPortfolio;
    lastMarkBar = parts.resume.lastBar;
    bars.push(seriesBar(lastBar));
    nextOrderId = parts.resume.nextOrderId;
    // Bars whose boundary passed while no process ran are gone: trading resumes at the next one.
    first = Math.max(parts.resume.lastBar + 1, Math.ceil((clock.now() - startMs) / barMs));
    if (first > parts.resume.lastBar + 1) warn(`bars ${parts.resume.lastBar + 1}..${first - 1} were missed while the run was down; resuming at bar ${first}`);
  } else if (parts.skipPassedBars === true) {
    // Trading bars whose time has passed would send their orders in a burst, at today's prices.
    const now = clock.now();
    first = firstLiveBar(now, startMs, endMs, barMs);
    if (first > 0) warn(`started at ${new Date(now).toISOString()}, after the session's start: bars 0..${first - 1} are past and not traded; trading starts at bar ${first}`);
  }
  for (let i = first; i <= total; i++) {
    const t = startMs + i * barMs;
    const wall0 = performance.now();
    parts.signal?.throwIfAborted();
    if (clock.now() < t) await sleepUntilOrAborted(clock, t, parts.signal);
    parts.beforeBar?.(t);
    for (const w of parts.dataWarnings?.(t) ?? []) warn(`bar ${i}: ${w}`);
    if (lastBar !== undefined) {
      // What children left open by earlier parents filled since: booked under the bar of the last
      // mark, as that bar's own fills (they move the portfolio from it to the next), before the
      // flattening (which cancels them) and this mark. At a resumed run's first bar too: the
      // children it took over may have filled while no process ran.
      const under = lastMarkBar;
      const late = await broker.collectLateFills(under);
      for (const { assetId, fill: f, clientOrderId } of late) {
        portfolio.applyFill(assetId, f.numShares, f.price, f.fees);
        writer.append("fills", { bar: under, timestamp: f.timestamp, assetId, parentOrderId: f.parentOrderId, numShares: f.numShares, price: f.price, fees: f.fees, late: true });
        warn(`bar ${i}: child ${clientOrderId} of parent ${f.parentOrderId}, left open when its parent finished, ${f.numShares.isNegative() ? "sold" : "bought"} ${f.numShares.abs().toString()} more at ${f.price.toString()}: booked as a late fill under bar ${under}`);
      }
      parentFills += late.length;
    }
    if (i === total && parts.flattenAtEnd === true) {
      // Logged under the last trading bar: a bar's fills are what moves the portfolio from its
      // mark to the next one, and this mark is the last.
      const flat = await broker.flattenAccount("end", { bar: i - 1, firstParentOrderId: nextOrderId });
      nextOrderId += flat.parentOrderIds;
      for (const { assetId, fill: f } of flat.fills) {
        portfolio.applyFill(assetId, f.numShares, f.price, f.fees);
        writer.append("fills", { bar: i - 1, timestamp: f.timestamp, assetId, parentOrderId: f.parentOrderId, numShares: f.numShares, price: f.price, fees: f.fees });
      }
      parentFills += flat.fills.length;
      writer.log(clock.now(), `flattened: ${flat.closed.length} positions closed, ${flat.failed.length} failed; their ${flat.fills.length} fills applied to the portfolio before the final mark`);
      for (const f of flat.failed) warn(`flatten ${f.symbol}: ${f.error}`);
      // The exchange account was flattened, not the books: a resumed session's fresh simulated
      // account never held what the portfolio carried over from before the restart.
      const left = universe.filter((u) => !portfolio.shares(u.assetId).isZero());
      if (left.length > 0) warn(`flatten: the portfolio still holds ${left.map((u) => `${portfolio.shares(u.assetId).toFixed()} ${u.symbol}`).join(", ")} after the exchange account was flattened (positions the account does not hold, e.g. carried over by a resume onto a fresh simulated account)`);
    }
    const prices = new Map<number, WideDecimal>();
    for (const u of universe) {
      const c = lastClose(data, u.symbol, t);
      if (c !== undefined) prices.set(u.assetId, onGrid(c, u.priceStep));
    }
    const missing = universe.filter((u) => !prices.has(u.assetId) && !portfolio.shares(u.assetId).isZero());
    for (const u of missing) {
      // Marking a held asset at zero would fake a loss: carry the last mark and say so.
      const prev = lastBar?.assets.find((a) => a.assetId === u.assetId)?.price;
      if (prev === undefined) throw new Error(`bar ${i}: no price known for ${u.symbol}, which the portfolio holds`);
      prices.set(u.assetId, prev);
      warn(`bar ${i}: no new price for ${u.symbol}; marked at the previous price ${prev.toFixed()}`);
    }
    const pbar = portfolio.markBar(t, prices);
    lastBar = pbar;
    lastMarkBar = i;
    bars.push(seriesBar(pbar));
    writer.append("portfolio", portfolioRecord(i, pbar, symbolOf));
    // On disk at the bar, not after its orders have worked (a TWAP bar's waves last until the next
    // bar): a live session's PnL observer draws the bar at its own slot.
    writer.flush();
    if (i === total) {
      writer.append("timing", { bar: i, timestamp: t, wallMs: performance.now() - wall0 });
      writer.flush();
      parts.afterBar?.(i, total, t, pbar);
      break;
    }

    const known = knownDataAt(data, t, model.usesL2 ? undefined : model.name);
    const dag = runDag(nodes, { now: t, barMs, symbols, data: known });
    for (const [node, out] of dag.outputs) writer.dagOutput(node, { bar: i, timestamp: t, values: out });
    for (const p of dag.profile) writer.append("dag_profiling", { bar: i, timestamp: t, ...p });
    const prediction = dag.outputs.get(model.predictionNode) ?? {};
    // Volatility scaling uses the model's own "volatility" node when it has one, else the realized
    // volatility of bar returns, so every model's targets are scaled the same way.
    const volatility: NodeOutput = { ...(dag.outputs.get("volatility") ?? {}) };
    if (parts.targets.volatilityScaling) {
      for (const u of universe) {
        if (volatility[u.symbol] !== undefined || prediction[u.symbol] === undefined) continue;
        const v = realizedVolatility(known.closes(u.symbol, barMs, VOLATILITY_BARS + 1));
        if (v !== undefined) volatility[u.symbol] = v;
      }
    }
    const targetRows = computeTargets(
      universe.map((u) => ({
        assetId: u.assetId, symbol: u.symbol, prediction: prediction[u.symbol], volatility: volatility[u.symbol],
        price: prices.get(u.assetId), holdings: portfolio.shares(u.assetId), limits: u.limits,
      })),
      parts.targets,
    );
    writer.append("targets", { bar: i, timestamp: t, rows: targetRows });
    const orders = parentOrdersFor(targetRows, t, t + barMs, parts.orderType, nextOrderId);
    nextOrderId += orders.length;
    for (const o of orders) writer.append("orders", { bar: i, timestamp: t, orderId: o.orderId, text: formatOrder(o) });
    const submitWall = performance.now();
    // The model's outputs, targets and parent orders are on disk before any of them is sent.
    writer.flush();
    writer.log(t, `bar ${i}: ${Object.keys(prediction).length} predictions, ${orders.length} parent orders`);
    const fills = await broker.submitOrders(orders, i);
    const assetOf = new Map(orders.map((o) => [o.orderId, o.assetId]));
    for (const f of fills) {
      const assetId = assetOf.get(f.parentOrderId);
      if (assetId === undefined) throw new Error(`broker returned a fill for unknown parent ${f.parentOrderId}`);
      portfolio.applyFill(assetId, f.numShares, f.price, f.fees);
      writer.append("fills", { bar: i, timestamp: f.timestamp, assetId, parentOrderId: f.parentOrderId, numShares: f.numShares, price: f.price, fees: f.fees });
    }
    parentFills += fills.length;
    writer.append("timing", { bar: i, timestamp: t, wallMs: submitWall - wall0, modelMs: dag.profile.reduce((a, p) => a + p.durationMs, 0) });
    writer.flush();
    parts.afterBar?.(i, total, t, pbar);
  }
  return { bars, parentOrders: nextOrderId, parentFills, warnings };

  function warn(message: string): void {
    warnings.push(message);
    writer.log(clock.now(), `WARNING ${message}`);
  }
}

function seriesBar(p: PortfolioBar): PortfolioSeriesBar {
  return { timestamp: p.timestamp, pnl: p.pnl, gmv: p.gmv, nmv: p.nmv, grossVolume: p.grossVolume, fees: p.fees, netWealth: p.netWealth };
}

export function portfolioRecord(bar: number, p: PortfolioBar, symbolOf: ReadonlyMap<number, string>): unknown {
  return {
    bar,
    timestamp: p.timestamp,
    cash: p.cash,
    nmv: p.nmv,
    gmv: p.gmv,
    netWealth: p.netWealth,
    leverage: p.leverage,
    grossVolume: p.grossVolume,
    netVolume: p.netVolume,
    pnl: p.pnl ?? null,
    fees: p.fees,
    assets: p.assets.map((a) => ({
      assetId: a.assetId, symbol: symbolOf.get(a.assetId), holdingsShares: a.holdingsShares, price: a.price, holdingsNotional: a.holdingsNotional,
      executedTradesShares: a.executedTradesShares, executedTradesNotional: a.executedTradesNotional, pnl: a.pnl ?? null, fees: a.fees,
    })),
  };
}

/** The step as a Scaled (null when it does not fit one), per step object: a run has one per symbol. */
const stepsScaled = new WeakMap<Decimal, Scaled | null>();

/**
 * A float price as the exact multiple of the tick it stands for (0.30000000000000004 -> 0.3):
 * decimal.js's price.div(step).toDecimalPlaces(0, ROUND_HALF_EVEN).mul(step), its 20-digit
 * quotient included, in scaled integers when they fit (a run marks every asset every bar).
 */
export function onGrid(price: number, step: Decimal): WideDecimal {
  let st = stepsScaled.get(step);
  if (st === undefined) {
    st = scaledOfText(step.toFixed()) ?? null;
    stepsScaled.set(step, st);
  }
  const p = st === null ? undefined : scaledOf(price);
  const onTicks = st === null || p === undefined ? undefined : scaledNearestMultiple(p, st);
  if (onTicks !== undefined) return scaledToWide(onTicks);
  return WideDecimal.of(new Decimal(price).div(step).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).mul(step));
}

/** A live run waits hours for its next bar: an abort (hand-off, lost lock) must not wait with it. */
async function sleepUntilOrAborted(clock: Clock, t: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal === undefined) return clock.sleepUntil(t);
  signal.throwIfAborted();
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason)));
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    await Promise.race([clock.sleepUntil(t), aborted]);
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
  }
}
