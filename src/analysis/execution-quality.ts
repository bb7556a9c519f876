// Execution quality of parent orders and TWAP waves (DOMAIN.md section 7): fill rate, slippage
// against the arrival price, fees in bps of traded notional, maker/taker share per wave; and what
// the part left unfilled cost or tracked:
// - underfill shares: |target| - |filled| when less was filled than targeted, else 0;
// - realized opportunity cost of the underfill: side * underfill * (next mark - arrival price), in
//   the quote currency, the mark being the asset's at the next bar, when the order window ended
//   (positive: the unfilled part would have gained that much; negative: not trading it saved it);
// - tracking error: filled - target shares (signed), its notional at the arrival price, and that
//   notional in bps of the portfolio's net wealth at the bar.

import { Decimal } from "decimal.js";

export interface ParentExecution {
  parentOrderId: number;
  symbol: string;
  /** Signed target shares (+ buy). */
  targetShares: Decimal;
  /** Signed filled shares. */
  filledShares: Decimal;
  fillPrice: Decimal | undefined;
  arrivalPrice: Decimal;
  fees: Decimal;
  /** The asset's mark at the next bar (the end of the order's window), when known. */
  nextMark?: Decimal;
  /** The portfolio's net wealth at the order's bar, when known. */
  netWealth?: Decimal;
}

export interface ParentQuality {
  parentOrderId: number;
  symbol: string;
  fillRate: number;
  slippagePerShare: number | undefined;
  slippageBps: number | undefined;
  feesBps: number | undefined;
  underfillShares: number;
  opportunityCost: number | undefined;
  trackingErrorShares: number;
  trackingErrorNotional: number;
  trackingErrorBps: number | undefined;
}

export interface WaveFill {
  wave: number;
  childAmount: Decimal;
  filled: Decimal;
  makerAmount: Decimal;
  takerAmount: Decimal;
  /** For slippage and fees per wave, when known: the children's filled cost and fees (quote currency), their parent's arrival price and side. */
  priced?: { filledCost: Decimal; fees: Decimal; arrivalPrice: Decimal; side: 1 | -1 };
}

export interface WaveQuality {
  wave: number;
  children: number;
  fillRate: number;
  makerShare: number;
  /** Notional-weighted slippage of the wave's fills against arrival, and fees, in bps (when the waves are priced). */
  slippageBps?: number;
  feesBps?: number;
}

export interface ExecutionSummary {
  parents: number;
  fillRate: number;
  /** Notional-weighted slippage against arrival, bps (positive = worse than arrival). */
  slippageBps: number;
  feesBps: number;
  makerShare: number;
  filledNotional: number;
  /** Sum of the underfills' realized opportunity cost (quote currency), over parents with a next mark; NaN when none has one. */
  opportunityCost: number;
  /** Sum of |tracking error notional| (quote currency). */
  trackingErrorNotional: number;
  perWave: WaveQuality[];
}

/** The underfill and tracking error terms of one parent, exact (see the header for the formulas). */
function shortfall(p: ParentExecution): { underfill: Decimal; opportunityCost: Decimal | undefined; trackingShares: Decimal; trackingNotional: Decimal } {
  const side = p.targetShares.isPositive() ? 1 : -1;
  const gap = p.targetShares.abs().sub(p.filledShares.abs());
  const underfill = gap.isPositive() ? gap : new Decimal(0);
  // Nothing unfilled costs exactly 0 (a product would give -0 when the price fell).
  const opportunityCost = p.nextMark === undefined ? undefined : underfill.isZero() ? underfill : underfill.mul(p.nextMark.sub(p.arrivalPrice)).mul(side);
  const trackingShares = p.filledShares.sub(p.targetShares);
  return { underfill, opportunityCost, trackingShares, trackingNotional: trackingShares.mul(p.arrivalPrice) };
}

export function parentQuality(p: ParentExecution): ParentQuality {
  const target = p.targetShares.abs();
  const fillRate = target.isZero() ? 0 : p.filledShares.abs().div(target).toNumber();
  const sf = shortfall(p);
  const gaps = {
    underfillShares: sf.underfill.toNumber(),
    opportunityCost: sf.opportunityCost?.toNumber(),
    trackingErrorShares: sf.trackingShares.toNumber(),
    trackingErrorNotional: sf.trackingNotional.toNumber(),
    trackingErrorBps: p.netWealth === undefined || p.netWealth.isZero() ? undefined : sf.trackingNotional.abs().div(p.netWealth).mul(1e4).toNumber(),
  };
  if (p.fillPrice === undefined || p.filledShares.isZero()) {
    return { parentOrderId: p.parentOrderId, symbol: p.symbol, fillRate, slippagePerShare: undefined, slippageBps: undefined, feesBps: undefined, ...gaps };
  }
  const side = p.targetShares.isPositive() ? 1 : -1;
  const slip = p.fillPrice.sub(p.arrivalPrice).mul(side);
  const notional = p.filledShares.abs().mul(p.fillPrice);
  return {
    parentOrderId: p.parentOrderId,
    symbol: p.symbol,
    fillRate,
    slippagePerShare: slip.toNumber(),
    slippageBps: slip.div(p.arrivalPrice).mul(1e4).toNumber(),
    feesBps: notional.isZero() ? undefined : p.fees.div(notional).mul(1e4).toNumber(),
    ...gaps,
  };
}

export function summarizeExecution(parents: readonly ParentExecution[], waves: readonly WaveFill[]): ExecutionSummary {
  let target = new Decimal(0);
  let filled = new Decimal(0);
  let notional = new Decimal(0);
  let slipNotional = new Decimal(0);
  let fees = new Decimal(0);
  let opportunityCost = new Decimal(0);
  let marked = 0;
  let trackingNotional = new Decimal(0);
  for (const p of parents) {
    target = target.add(p.targetShares.abs());
    filled = filled.add(p.filledShares.abs());
    const sf = shortfall(p);
    if (sf.opportunityCost !== undefined) {
      opportunityCost = opportunityCost.add(sf.opportunityCost);
      marked++;
    }
    trackingNotional = trackingNotional.add(sf.trackingNotional.abs());
    if (p.fillPrice === undefined || p.filledShares.isZero()) continue;
    const n = p.filledShares.abs().mul(p.fillPrice);
    const side = p.targetShares.isPositive() ? 1 : -1;
    notional = notional.add(n);
    slipNotional = slipNotional.add(p.fillPrice.sub(p.arrivalPrice).mul(side).div(p.arrivalPrice).mul(n));
    fees = fees.add(p.fees);
  }
  const byWave = new Map<number, { children: number; amount: Decimal; filled: Decimal; maker: Decimal; taker: Decimal; priced: boolean; notional: Decimal; slip: Decimal; fees: Decimal }>();
  for (const w of waves) {
    const zero = new Decimal(0);
    const agg = byWave.get(w.wave) ?? { children: 0, amount: zero, filled: zero, maker: zero, taker: zero, priced: true, notional: zero, slip: zero, fees: zero };
    agg.children++;
    agg.amount = agg.amount.add(w.childAmount);
    agg.filled = agg.filled.add(w.filled);
    agg.maker = agg.maker.add(w.makerAmount);
    agg.taker = agg.taker.add(w.takerAmount);
    if (w.priced === undefined) agg.priced = false;
    else if (!w.filled.isZero()) {
      // As per parent: side * (average price - arrival) / arrival, weighted by the filled cost.
      const { filledCost, fees, arrivalPrice, side } = w.priced;
      const price = filledCost.div(w.filled.abs());
      agg.notional = agg.notional.add(filledCost);
      agg.slip = agg.slip.add(price.sub(arrivalPrice).mul(side).div(arrivalPrice).mul(filledCost));
      agg.fees = agg.fees.add(fees);
    }
    byWave.set(w.wave, agg);
  }
  let maker = new Decimal(0);
  let taker = new Decimal(0);
  const perWave: WaveQuality[] = [...byWave.entries()].sort((a, b) => a[0] - b[0]).map(([wave, a]) => {
    maker = maker.add(a.maker);
    taker = taker.add(a.taker);
    const traded = a.maker.add(a.taker);
    const q: WaveQuality = { wave, children: a.children, fillRate: a.amount.isZero() ? 0 : a.filled.div(a.amount).toNumber(), makerShare: traded.isZero() ? NaN : a.maker.div(traded).toNumber() };
    if (a.priced) {
      q.slippageBps = a.notional.isZero() ? NaN : a.slip.div(a.notional).mul(1e4).toNumber();
      q.feesBps = a.notional.isZero() ? NaN : a.fees.div(a.notional).mul(1e4).toNumber();
    }
    return q;
  });
  const traded = maker.add(taker);
  return {
    parents: parents.length,
    fillRate: target.isZero() ? 0 : filled.div(target).toNumber(),
    slippageBps: notional.isZero() ? NaN : slipNotional.div(notional).mul(1e4).toNumber(),
    feesBps: notional.isZero() ? NaN : fees.div(notional).mul(1e4).toNumber(),
    makerShare: traded.isZero() ? NaN : maker.div(traded).toNumber(),
    filledNotional: notional.toNumber(),
    opportunityCost: marked === 0 ? NaN : opportunityCost.toNumber(),
    trackingErrorNotional: trackingNotional.toNumber(),
    perWave,
  };
}
