// Execution quality of parent orders and TWAP waves (DOMAIN.md section 7): fill rate, slippage
// against the arrival price, fees in bps of traded notional, maker/taker share per wave.

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
}

export interface ParentQuality {
  parentOrderId: number;
  symbol: string;
  fillRate: number;
  slippagePerShare: number | undefined;
  slippageBps: number | undefined;
  feesBps: number | undefined;
}

export interface WaveFill {
  wave: number;
  childAmount: Decimal;
  filled: Decimal;
  makerAmount: Decimal;
  takerAmount: Decimal;
}

export interface WaveQuality {
  wave: number;
  children: number;
  fillRate: number;
  makerShare: number;
}

export interface ExecutionSummary {
  parents: number;
  fillRate: number;
  /** Notional-weighted slippage against arrival, bps (positive = worse than arrival). */
  slippageBps: number;
  feesBps: number;
  makerShare: number;
  filledNotional: number;
  perWave: WaveQuality[];
}

export function parentQuality(p: ParentExecution): ParentQuality {
  const target = p.targetShares.abs();
  const fillRate = target.isZero() ? 0 : p.filledShares.abs().div(target).toNumber();
  if (p.fillPrice === undefined || p.filledShares.isZero()) {
    return { parentOrderId: p.parentOrderId, symbol: p.symbol, fillRate, slippagePerShare: undefined, slippageBps: undefined, feesBps: undefined };
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
  };
}

export function summarizeExecution(parents: readonly ParentExecution[], waves: readonly WaveFill[]): ExecutionSummary {
  let target = new Decimal(0);
  let filled = new Decimal(0);
  let notional = new Decimal(0);
  let slipNotional = new Decimal(0);
  let fees = new Decimal(0);
  for (const p of parents) {
    target = target.add(p.targetShares.abs());
    filled = filled.add(p.filledShares.abs());
    if (p.fillPrice === undefined || p.filledShares.isZero()) continue;
    const n = p.filledShares.abs().mul(p.fillPrice);
    const side = p.targetShares.isPositive() ? 1 : -1;
    notional = notional.add(n);
    slipNotional = slipNotional.add(p.fillPrice.sub(p.arrivalPrice).mul(side).div(p.arrivalPrice).mul(n));
    fees = fees.add(p.fees);
  }
  const byWave = new Map<number, { children: number; amount: Decimal; filled: Decimal; maker: Decimal; taker: Decimal }>();
  for (const w of waves) {
    const agg = byWave.get(w.wave) ?? { children: 0, amount: new Decimal(0), filled: new Decimal(0), maker: new Decimal(0), taker: new Decimal(0) };
    agg.children++;
    agg.amount = agg.amount.add(w.childAmount);
    agg.filled = agg.filled.add(w.filled);
    agg.maker = agg.maker.add(w.makerAmount);
    agg.taker = agg.taker.add(w.takerAmount);
    byWave.set(w.wave, agg);
  }
  let maker = new Decimal(0);
  let taker = new Decimal(0);
  const perWave: WaveQuality[] = [...byWave.entries()].sort((a, b) => a[0] - b[0]).map(([wave, a]) => {
    maker = maker.add(a.maker);
    taker = taker.add(a.taker);
    const traded = a.maker.add(a.taker);
    return { wave, children: a.children, fillRate: a.amount.isZero() ? 0 : a.filled.div(a.amount).toNumber(), makerShare: traded.isZero() ? NaN : a.maker.div(traded).toNumber() };
  });
  const traded = maker.add(taker);
  return {
    parents: parents.length,
    fillRate: target.isZero() ? 0 : filled.div(target).toNumber(),
    slippageBps: notional.isZero() ? NaN : slipNotional.div(notional).mul(1e4).toNumber(),
    feesBps: notional.isZero() ? NaN : fees.div(notional).mul(1e4).toNumber(),
    makerShare: traded.isZero() ? NaN : maker.div(traded).toNumber(),
    filledNotional: notional.toNumber(),
    perWave,
  };
}
