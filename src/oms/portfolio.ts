// The portfolio: cash and holdings per asset, fed parent fills and marked to market once per bar
// (DOMAIN.md section 6). Money is exact (decimal.js); leverage is a float ratio.

import { Decimal } from "decimal.js";

export interface AssetBar {
  assetId: number;
  holdingsShares: Decimal;
  price: Decimal;
  holdingsNotional: Decimal;
  executedTradesShares: Decimal;
  executedTradesNotional: Decimal;
  /** (notional_t - notional_{t-1}) - executed_trades_notional_t; undefined on the first bar. */
  pnl: Decimal | undefined;
  fees: Decimal;
}

export interface PortfolioBar {
  /** Bar end, epoch ms. */
  timestamp: number;
  assets: AssetBar[];
  cash: Decimal;
  nmv: Decimal;
  gmv: Decimal;
  netWealth: Decimal;
  leverage: number;
  grossVolume: Decimal;
  netVolume: Decimal;
  pnl: Decimal | undefined;
  fees: Decimal;
}

export class PortfolioError extends Error {
  override readonly name = "PortfolioError";
}

const ZERO = new Decimal(0);

export class Portfolio {
  private cash: Decimal;
  private readonly holdings = new Map<number, Decimal>();
  private readonly lastNotional = new Map<number, Decimal>();
  private pendingShares = new Map<number, Decimal>();
  private pendingNotional = new Map<number, Decimal>();
  private pendingFees = new Map<number, Decimal>();
  private bars = 0;
  private lastTimestamp = -Infinity;

  constructor(initialCash: Decimal.Value, initialHoldings: ReadonlyMap<number, Decimal.Value> = new Map()) {
    this.cash = new Decimal(initialCash);
    for (const [a, s] of initialHoldings) this.holdings.set(a, new Decimal(s));
  }

  /**
   * The portfolio as it stood after a logged bar: cash, holdings and their marks, so the next bar's
   * PnL is measured from that bar (resuming an interrupted live run).
   */
  static restore(bar: { timestamp: number; cash: Decimal.Value; assets: readonly { assetId: number; holdingsShares: Decimal.Value; holdingsNotional: Decimal.Value }[] }, barsDone: number): Portfolio {
    const p = new Portfolio(bar.cash);
    for (const a of bar.assets) {
      if (!new Decimal(a.holdingsShares).isZero()) p.holdings.set(a.assetId, new Decimal(a.holdingsShares));
      p.lastNotional.set(a.assetId, new Decimal(a.holdingsNotional));
    }
    p.bars = barsDone;
    p.lastTimestamp = bar.timestamp;
    return p;
  }

  get currentCash(): Decimal {
    return this.cash;
  }

  shares(assetId: number): Decimal {
    return this.holdings.get(assetId) ?? ZERO;
  }

  holdingsSnapshot(): Map<number, Decimal> {
    return new Map(this.holdings);
  }

  /** Records a parent fill: signed shares at a price, with fees in the quote currency. */
  applyFill(assetId: number, shares: Decimal.Value, price: Decimal.Value, fees: Decimal.Value = 0): void {
    const s = new Decimal(shares);
    const notional = s.mul(price);
    const f = new Decimal(fees);
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
  markBar(timestamp: number, prices: ReadonlyMap<number, Decimal.Value>): PortfolioBar {
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
      const price = new Decimal(p ?? 0);
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
      leverage: netWealth.isZero() ? 0 : gmv.div(netWealth).toNumber(),
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
