// Summary statistics of a run from its per-bar portfolio series (DOMAIN.md section 6). Floats are
// fine here: these are statistics, not balances. Crypto trades every day: a year is 365 days.

const YEAR_MS = 365 * 24 * 3600 * 1000;

export interface BarSeries {
  barMs: number;
  /** PnL per bar (bars without a PnL, such as the first, are left out by the caller). */
  pnl: readonly number[];
  gmv: readonly number[];
  nmv: readonly number[];
  grossVolume: readonly number[];
}

export interface DollarAndPercent {
  dollars: number;
  /** As a percentage of mean GMV; NaN when mean GMV is 0. */
  pctOfGmv: number;
}

export interface SummaryStatistics {
  bars: number;
  totalPnl: number;
  sharpeRatio: number;
  annualizedReturn: DollarAndPercent;
  annualizedVolatility: DollarAndPercent;
  maxDrawdown: DollarAndPercent;
  meanPnl: DollarAndPercent;
  stdPnl: DollarAndPercent;
  turnoverMean: DollarAndPercent;
  turnoverStd: DollarAndPercent;
  marketBiasMean: DollarAndPercent;
  marketBiasStd: DollarAndPercent;
  meanGmv: number;
  pnlPerGrossVolumeBps: number;
}

export function mean(x: readonly number[]): number {
  if (x.length === 0) return NaN;
  let s = 0;
  for (const v of x) s += v;
  return s / x.length;
}

/** Sample standard deviation (n - 1). */
export function std(x: readonly number[]): number {
  if (x.length < 2) return NaN;
  const m = mean(x);
  let s = 0;
  for (const v of x) s += (v - m) ** 2;
  return Math.sqrt(s / (x.length - 1));
}

/** Largest peak-to-trough fall of the cumulative sum, as a positive number (0 when it never falls). */
export function maxDrawdown(pnl: readonly number[]): number {
  let cum = 0;
  let peak = 0;
  let worst = 0;
  for (const v of pnl) {
    cum += v;
    if (cum > peak) peak = cum;
    if (peak - cum > worst) worst = peak - cum;
  }
  return worst;
}

export function pearson(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 2) return NaN;
  const ma = mean(a.slice(0, n));
  const mb = mean(b.slice(0, n));
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    const x = (a[i] as number) - ma;
    const y = (b[i] as number) - mb;
    num += x * y;
    da += x * x;
    db += y * y;
  }
  return da === 0 || db === 0 ? NaN : num / Math.sqrt(da * db);
}

export function summaryStatistics(s: BarSeries): SummaryStatistics {
  const barsPerYear = YEAR_MS / s.barMs;
  const meanGmv = mean(s.gmv);
  const pct = (dollars: number): DollarAndPercent => ({ dollars, pctOfGmv: meanGmv > 0 ? (100 * dollars) / meanGmv : NaN });
  const mu = mean(s.pnl);
  const sd = std(s.pnl);
  const totalPnl = s.pnl.reduce((a, b) => a + b, 0);
  const totalGross = s.grossVolume.reduce((a, b) => a + b, 0);
  return {
    bars: s.pnl.length,
    totalPnl,
    sharpeRatio: sd > 0 ? (mu / sd) * Math.sqrt(barsPerYear) : NaN,
    annualizedReturn: pct(mu * barsPerYear),
    annualizedVolatility: pct(sd * Math.sqrt(barsPerYear)),
    maxDrawdown: pct(maxDrawdown(s.pnl)),
    meanPnl: pct(mu),
    stdPnl: pct(sd),
    turnoverMean: pct(mean(s.grossVolume)),
    turnoverStd: pct(std(s.grossVolume)),
    marketBiasMean: pct(mean(s.nmv)),
    marketBiasStd: pct(std(s.nmv)),
    meanGmv,
    pnlPerGrossVolumeBps: totalGross > 0 ? (1e4 * totalPnl) / totalGross : NaN,
  };
}
