// The research portfolio of a reconciliation (DOMAIN.md section 8): what the model's predictions
// would have earned with perfect execution. Each bar the predictions become target positions by the
// run's own target rules (volatility scaling, dollar neutrality, weight cap, gross exposure) but
// without exchange limits; the whole trade fills at the bar's mark price, with no fee and no delay,
// and the positions are marked at the next bar. Money is exact, the run's own Portfolio's, so the
// three portfolios of a reconciliation compare column for column.

import { Decimal } from "decimal.js";
import { WideDecimal } from "../core/wide-decimal.js";
import { loadRecordedMarketData } from "../marketdata/recorded-files.js";
import { MINUTE_MS } from "../marketdata/types.js";
import { Portfolio, type MoneyValue, type PortfolioBar } from "../oms/portfolio.js";
import { onGrid } from "../system/bar-loop.js";
import { sizeTargetShares, targetWeights, type TargetConfig } from "../system/targets.js";

export interface ResearchAsset {
  assetId: number;
  symbol: string;
}

export interface ResearchInputs {
  /** Bar timestamps 0..N: bars 0..N-1 trade, bar N only marks (as in the run). */
  timestamps: readonly number[];
  /** The universe in the run's order (the order of its target rows: weights are summed in it). */
  universe: readonly ResearchAsset[];
  /** Per trading bar: the model's prediction per symbol (null: logged NaN; absent: none). */
  predictions: readonly (Readonly<Record<string, number | null>> | undefined)[];
  /** Per trading bar: the volatility the run scaled each symbol by, when it scaled. */
  volatility: readonly (ReadonlyMap<string, number> | undefined)[];
  /** Per bar 0..N: mark price per asset id (an asset without one keeps its last mark). */
  marks: readonly ReadonlyMap<number, WideDecimal>[];
  targets: TargetConfig;
  initialCash: MoneyValue;
}

export interface ResearchBarTargets {
  bar: number;
  /** Target holdings per asset id after the bar's trade (what the next bar holds). */
  targetShares: Map<number, WideDecimal>;
  /** Trade per asset id at the bar's mark (0 trades left out). */
  tradeShares: Map<number, WideDecimal>;
}

export interface ResearchPortfolio {
  bars: PortfolioBar[];
  targets: ResearchBarTargets[];
}

export class ResearchPortfolioError extends Error {
  override readonly name = "ResearchPortfolioError";
}

export function buildResearchPortfolio(inp: ResearchInputs): ResearchPortfolio {
  const n = inp.timestamps.length - 1;
  if (n < 0) throw new ResearchPortfolioError("research portfolio: no bars");
  if (inp.marks.length !== n + 1) throw new ResearchPortfolioError(`research portfolio: ${inp.marks.length} bars of marks for ${n + 1} bar timestamps`);
  const portfolio = new Portfolio(inp.initialCash);
  const bars: PortfolioBar[] = [];
  const targets: ResearchBarTargets[] = [];
  const lastMark = new Map<number, WideDecimal>();
  for (let i = 0; i <= n; i++) {
    const t = inp.timestamps[i] as number;
    const marks = inp.marks[i] as ReadonlyMap<number, WideDecimal>;
    for (const [id, p] of marks) lastMark.set(id, p);
    const prices = new Map<number, WideDecimal>();
    for (const a of inp.universe) {
      const p = marks.get(a.assetId) ?? (portfolio.shares(a.assetId).isZero() ? undefined : lastMark.get(a.assetId));
      if (p !== undefined) prices.set(a.assetId, p);
    }
    bars.push(portfolio.markBar(t, prices));
    if (i === n) break;
    const pred = inp.predictions[i];
    const vol = inp.volatility[i];
    const weights = targetWeights(
      inp.universe.map((a) => {
        const p = pred?.[a.symbol];
        return { prediction: p === undefined ? undefined : p === null ? NaN : p, volatility: vol?.get(a.symbol) };
      }),
      inp.targets,
    );
    const bt: ResearchBarTargets = { bar: i, targetShares: new Map(), tradeShares: new Map() };
    inp.universe.forEach((a, k) => {
      const held = portfolio.shares(a.assetId);
      // The bar's mark, or for a held asset without one the last mark, as the run sizes it.
      const price = prices.get(a.assetId);
      // No price at all: the model cannot size the position, so it stays as it is.
      if (price === undefined || !price.isPositive()) {
        bt.targetShares.set(a.assetId, held);
        return;
      }
      // The run's own sizing before exchange limits (targets.ts computeTargets), to the digit.
      const target = sizeTargetShares(weights[k] as number, inp.targets.grossExposure, price);
      bt.targetShares.set(a.assetId, target);
      const trade = target.sub(held);
      if (trade.isZero()) return;
      bt.tradeShares.set(a.assetId, trade);
      portfolio.applyFill(a.assetId, trade, price, WideDecimal.ZERO);
    });
    targets.push(bt);
  }
  return { bars, targets };
}

/** The bar loop's look-back for the newest close (known-data.ts lastClose). */
const MARK_LOOKBACK_MS = 60 * MINUTE_MS;

export interface MarkAsset extends ResearchAsset {
  /** The exchange's price tick: marks go onto its grid, as the run's marks do. */
  priceStep: Decimal;
}

/**
 * Mark prices at each bar timestamp from the market data a run recorded: the newest 1-minute close
 * known at the bar, on the price grid, exactly as the bar loop marks its portfolio.
 */
export async function barMarksFromRecording(marketDataDir: string, assets: readonly MarkAsset[], timestamps: readonly number[]): Promise<Map<number, WideDecimal>[]> {
  const first = timestamps[0];
  const last = timestamps[timestamps.length - 1];
  if (first === undefined || last === undefined) return [];
  // The bar loop looks back an hour for the newest close; a bar opening at `last` is not known yet.
  const store = await loadRecordedMarketData(marketDataDir, { fromMs: first - MARK_LOOKBACK_MS - MINUTE_MS, toMs: last, types: ["ohlcv"], symbols: assets.map((a) => a.symbol) });
  return timestamps.map((t) => {
    const m = new Map<number, WideDecimal>();
    for (const a of assets) {
      // lastClose(store, symbol, t) without building its hour of bars: the newest bar known at t,
      // if it started within the hour it looks back.
      const bar = store.lastBars(a.symbol, MINUTE_MS, 1, t)[0];
      if (bar !== undefined && bar.start >= t - MARK_LOOKBACK_MS) m.set(a.assetId, onGrid(bar.close, a.priceStep));
    }
    return m;
  });
}

/** A research bar as the reconciliation compares it with the logged ones: each value as the text a log holds. */
export interface ResearchTextBar {
  timestamp: number;
  pnl: string | undefined;
  fees: string;
  gmv: string;
  nmv: string;
  grossVolume: string;
  netWealth: string;
  assets: {
    assetId: number;
    holdingsShares: string;
    price: string;
    holdingsNotional: string;
    executedTradesShares: string;
    executedTradesNotional: string;
    pnl: string | undefined;
    fees: string;
  }[];
}

export function researchBarsAsText(bars: readonly PortfolioBar[]): ResearchTextBar[] {
  return bars.map((b) => ({
    timestamp: b.timestamp, pnl: b.pnl?.toString(), fees: b.fees.toString(), gmv: b.gmv.toString(), nmv: b.nmv.toString(), grossVolume: b.grossVolume.toString(), netWealth: b.netWealth.toString(),
    assets: b.assets.map((a) => ({
      assetId: a.assetId, holdingsShares: a.holdingsShares.toString(), price: a.price.toString(), holdingsNotional: a.holdingsNotional.toString(),
      executedTradesShares: a.executedTradesShares.toString(), executedTradesNotional: a.executedTradesNotional.toString(), pnl: a.pnl?.toString(), fees: a.fees.toString(),
    })),
  }));
}
