// The portfolio: cash and holdings per asset, fed parent fills and marked to market once per bar
// (DOMAIN.md section 6). Money is exact: WideDecimal, decimal.js's results to the digit at a tenth of
// its cost (a 100-asset day marks 144k asset bars); leverage is a float ratio.

import type { Decimal } from "decimal.js";
import { WideDecimal } from "../core/wide-decimal.js";

/** What the portfolio reads money from: decimal.js values, their text, numbers, or its own. */
export type MoneyValue = WideDecimal | Decimal | string | number;

/** Exact values print as decimal.js's text (toString, and in JSON) and read as doubles (toNumber). */
export interface AssetBar {
  assetId: number;
  holdingsShares: WideDecimal;
  price: WideDecimal;
  holdingsNotional: WideDecimal;
  executedTradesShares: WideDecimal;
  executedTradesNotional: WideDecimal;
  /** (notional_t - notional_{t-1}) - executed_trades_notional_t; undefined on the first bar. */
  pnl: WideDecimal | undefined;
  fees: WideDecimal;
}

export interface PortfolioBar {
  /** Bar end, epoch ms. */
  timestamp: number;
  assets: AssetBar[];
  cash: WideDecimal;
  nmv: WideDecimal;
  gmv: WideDecimal;
  netWealth: WideDecimal;
  leverage: number;
  grossVolume: WideDecimal;
  netVolume: WideDecimal;
  pnl: WideDecimal | undefined;
  fees: WideDecimal;
}

export class PortfolioError extends Error {
  override readonly name = "PortfolioError";
}

const ZERO = WideDecimal.ZERO;

export class Portfolio {
  private cash: WideDecimal;
  private readonly holdings = new Map<number, WideDecimal>();
  private readonly lastNotional = new Map<number, WideDecimal>();
  private pendingShares = new Map<number, WideDecimal>();
  private pendingNotional = new Map<number, WideDecimal>();
  private pendingFees = new Map<number, WideDecimal>();
  private bars = 0;
  private lastTimestamp = -Infinity;

  constructor(initialCash: MoneyValue, initialHoldings: ReadonlyMap<number, MoneyValue> = new Map()) {
    this.cash = WideDecimal.of(initialCash);
    for (const [a, s] of initialHoldings) this.holdings.set(a, WideDecimal.of(s));
  }

  /**
   * The portfolio as it stood after a logged bar: cash, holdings and their marks, so the next bar's
   * PnL is measured from that bar (resuming an interrupted live run).
   */
  static restore(bar: { timestamp: number; cash: MoneyValue; assets: readonly { assetId: number; holdingsShares: MoneyValue; holdingsNotional: MoneyValue }[] }, barsDone: number): Portfolio {
    const p = new Portfolio(bar.cash);
    for (const a of bar.assets) {
      const shares = WideDecimal.of(a.holdingsShares);
      if (!shares.isZero()) p.holdings.set(a.assetId, shares);
      p.lastNotional.set(a.assetId, WideDecimal.of(a.holdingsNotional));
    }
    p.bars = barsDone;
    p.lastTimestamp = bar.timestamp;
    return p;
  }

  get currentCash(): WideDecimal {
    return this.cash;
  }

  shares(assetId: number): WideDecimal {
    return this.holdings.get(assetId) ?? ZERO;
  }

  holdingsSnapshot(): Map<number, WideDecimal> {
    return new Map(this.holdings);
  }

  /** Records a parent fill: signed shares at a price, with fees in the quote currency. */
  applyFill(assetId: number, shares: MoneyValue, price: MoneyValue, fees: MoneyValue = 0): void {
    const s = WideDecimal.of(shares);
    const notional = s.mul(WideDecimal.of(price));
    const f = WideDecimal.of(fees);
    this.holdings.set(assetId, this.shares(assetId).add(s));
    this.cash = this.cash.sub(notional).sub(f);
    this.pendingShares.set(assetId, (this.pendingShares.get(assetId) ?? ZERO).add(s));
    this.pendingNotional.set(assetId, (this.pendingNotional.get(assetId) ?? ZERO).add(notional));
    this.pendingFees.set(assetId, (this.pendingFees.get(assetId) ?? ZERO).add(f));
  }

  /**
   * Closes a bar: marks every held or traded asset at `prices` and returns the bar's rows. An asset
   * with holdings but no price is an error (a silent zero would fake a loss).
   */
  markBar(timestamp: number, prices: ReadonlyMap<number, MoneyValue>): PortfolioBar {
    if (timestamp <= this.lastTimestamp) throw new PortfolioError(`bar ${new Date(timestamp).toISOString()} is not after the previous bar`);
    const ids = new Set<number>([...this.holdings.keys(), ...this.pendingShares.keys(), ...this.lastNotional.keys()]);
    const assets: AssetBar[] = [];
    let nmv = ZERO;
    let gmv = ZERO;
    let gross = ZERO;
    let net = ZERO;
    let pnl = ZERO;
    let fees = ZERO;
    for (const id of [...ids].sort((a, b) => a - b)) {
      const shares = this.shares(id);
      const p = prices.get(id);
      if (p === undefined && !shares.isZero()) throw new PortfolioError(`no mark price for asset ${id}, which the portfolio holds`);
      const price = p === undefined ? ZERO : WideDecimal.of(p);
      const notional = shares.mul(price);
      const execShares = this.pendingShares.get(id) ?? ZERO;
      const execNotional = this.pendingNotional.get(id) ?? ZERO;
      const f = this.pendingFees.get(id) ?? ZERO;
      const prev = this.lastNotional.get(id);
      const assetPnl = this.bars === 0 ? undefined : notional.sub(prev ?? ZERO).sub(execNotional);
      assets.push({ assetId: id, holdingsShares: shares, price, holdingsNotional: notional, executedTradesShares: execShares, executedTradesNotional: execNotional, pnl: assetPnl, fees: f });
      nmv = nmv.add(notional);
      gmv = gmv.add(notional.abs());
      gross = gross.add(execNotional.abs());
      net = net.add(execNotional);
      if (assetPnl !== undefined) pnl = pnl.add(assetPnl);
      fees = fees.add(f);
      this.lastNotional.set(id, notional);
    }
    const netWealth = nmv.add(this.cash);
    const bar: PortfolioBar = {
      timestamp,
      assets,
      cash: this.cash,
      nmv,
      gmv,
      netWealth,
      leverage: netWealth.isZero() ? 0 : gmv.divToNumber(netWealth),
      grossVolume: gross,
      netVolume: net,
      pnl: this.bars === 0 ? undefined : pnl,
      fees,
    };
    this.pendingShares = new Map();
    this.pendingNotional = new Map();
    this.pendingFees = new Map();
    this.bars++;
    this.lastTimestamp = timestamp;
    return bar;
  }
}

type LoggedAsset = { assetId: number; holdingsShares: MoneyValue; price: MoneyValue; holdingsNotional: MoneyValue; executedTradesShares: MoneyValue; executedTradesNotional: MoneyValue; pnl: MoneyValue | null | undefined; fees: MoneyValue };

/** A bar read back from a log (decimal.js values or text) as markBar gave it. */
export function portfolioBarOf(b: {
  timestamp: number;
  cash: MoneyValue;
  nmv: MoneyValue;
  gmv: MoneyValue;
  netWealth: MoneyValue;
  leverage: number | null;
  grossVolume: MoneyValue;
  netVolume: MoneyValue;
  pnl: MoneyValue | null | undefined;
  fees: MoneyValue;
  assets: readonly LoggedAsset[];
}): PortfolioBar {
  const of = WideDecimal.of;
  const maybe = (v: MoneyValue | null | undefined): WideDecimal | undefined => (v === null || v === undefined ? undefined : of(v));
  return {
    timestamp: b.timestamp, cash: of(b.cash), nmv: of(b.nmv), gmv: of(b.gmv), netWealth: of(b.netWealth), leverage: b.leverage ?? 0,
    grossVolume: of(b.grossVolume), netVolume: of(b.netVolume), pnl: maybe(b.pnl), fees: of(b.fees),
    assets: b.assets.map((a) => ({
      assetId: a.assetId, holdingsShares: of(a.holdingsShares), price: of(a.price), holdingsNotional: of(a.holdingsNotional),
      executedTradesShares: of(a.executedTradesShares), executedTradesNotional: of(a.executedTradesNotional), pnl: maybe(a.pnl), fees: of(a.fees),
    })),
  };
}
