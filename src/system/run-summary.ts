// The run summary: period, bars, trades, PnL and the statistics of DOMAIN.md section 6, computed
// from the per-bar portfolio records. The run writes it at the end; `tradeloop show` recomputes it
// from the log, so a killed run (no summary.json) still gets one.

import { summaryStatistics, type SummaryStatistics } from "../analysis/statistics.js";

export interface PortfolioSeriesBar {
  timestamp: number;
  pnl: { toNumber(): number } | undefined;
  gmv: { toNumber(): number };
  nmv: { toNumber(): number };
  grossVolume: { toNumber(): number };
  fees: { toNumber(): number };
  netWealth: { toFixed(): string };
}

/** What a summary needs besides the bars: the run's identity and its counts. */
export interface RunSummaryFacts {
  model: string;
  mode: string;
  start: string;
  end: string;
  barMinutes: number;
  barsPlanned: number;
  barsDone: number;
  parentOrders: number;
  parentFills: number;
  childOrders: number;
  exchangeTrades: number;
  warnings: string[];
  complete: boolean;
}

export interface RunSummary extends RunSummaryFacts {
  totalPnl: number;
  totalFees: number;
  finalNetWealth: string | undefined;
  statistics: SummaryStatistics;
}

/** The summary of a run from its per-bar portfolio, for the run itself and for a reader of its log. */
export function buildRunSummary(facts: RunSummaryFacts, bars: readonly PortfolioSeriesBar[]): RunSummary {
  return {
    ...facts,
    totalPnl: bars.reduce((a, b) => a + (b.pnl?.toNumber() ?? 0), 0),
    totalFees: totalFees(bars),
    finalNetWealth: bars.at(-1)?.netWealth.toFixed(),
    statistics: portfolioStatistics(bars, facts.barMinutes * 60_000),
  };
}

export function portfolioStatistics(bars: readonly PortfolioSeriesBar[], barMs: number): SummaryStatistics {
  // The first bar has no PnL (nothing to compare with); statistics use the bars that have one.
  const withPnl = bars.filter((b) => b.pnl !== undefined);
  return summaryStatistics({
    barMs,
    pnl: withPnl.map((b) => (b.pnl as { toNumber(): number }).toNumber()),
    gmv: withPnl.map((b) => b.gmv.toNumber()),
    nmv: withPnl.map((b) => b.nmv.toNumber()),
    grossVolume: withPnl.map((b) => b.grossVolume.toNumber()),
  });
}

export function totalFees(bars: readonly PortfolioSeriesBar[]): number {
  return bars.reduce((a, b) => a + b.fees.toNumber(), 0);
}
