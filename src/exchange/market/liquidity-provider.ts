// A market maker that keeps a realistic book around the model price: a number of levels each side,
// a spread, log-normal sizes, and a periodic refresh. On refresh it cancels only the quotes that
// left its price grid and adds the missing ones, so resting quotes keep their queue position: an
// order that joins a level behind them fills only after flow has eaten through them.

import { z } from "zod";
import type { Rng } from "../../core/rng.js";
import type { ExchangeEngine } from "../engine.js";
import type { ExchangeEvent } from "../events.js";
import type { Instrument } from "../instrument.js";
import { BUY, SELL, STP_CANCEL_TAKER, type Side } from "../order-book.js";

export const liquiditySchema = z
  .object({
    /** Price levels quoted on each side. */
    levels: z.number().int().min(1).max(500).default(10),
    /** Half of the quoted spread around the model price, in basis points (at least one tick). */
    halfSpreadBps: z.number().nonnegative().default(2),
    /** Distance between quoted levels, in ticks. */
    levelSpacingTicks: z.number().int().min(1).default(1),
    /** Median quote size in quote currency (log-normal). */
    medianNotional: z.number().positive().default(2_000),
    sizeSigma: z.number().nonnegative().default(0.6),
    /** Sizes grow by this factor per level away from the touch. */
    depthGrowth: z.number().min(1).default(1.15),
    refreshMs: z.number().int().min(10).default(1_000),
  })
  .strict();

export type LiquiditySpec = z.input<typeof liquiditySchema>;
type Liquidity = z.output<typeof liquiditySchema>;

export interface LiquidityStats {
  quotesPlaced: number;
  quotesCanceled: number;
  rejected: number;
}

export class LiquidityProvider {
  private readonly cfg: Liquidity;
  /** Live quotes per side: price in ticks -> order id. */
  private readonly quotes: [Map<number, number>, Map<number, number>] = [new Map(), new Map()];
  private readonly byOrder = new Map<number, { side: Side; price: number }>();
  readonly stats: LiquidityStats = { quotesPlaced: 0, quotesCanceled: 0, rejected: 0 };

  constructor(
    private readonly engine: ExchangeEngine,
    private readonly inst: Instrument,
    readonly account: number,
    spec: LiquiditySpec,
    private readonly rng: Rng,
  ) {
    this.cfg = liquiditySchema.parse(spec);
  }

  /**
   * Feeds the provider the engine's events so it knows which quotes are gone. A SyntheticMarket
   * routes its own account's events here (one subscription for all symbols); a standalone
   * provider can subscribe itself with `attach`.
   */
  onEvent(e: ExchangeEvent): void {
    if ((e.type === "filled" || e.type === "canceled" || e.type === "expired") && e.account === this.account) this.forget(e.orderId);
  }

  attach(): () => void {
    return this.engine.subscribe((e) => this.onEvent(e));
  }

  get refreshMs(): number {
    return this.cfg.refreshMs;
  }

  /** Re-centres the quote grid on `fairPrice` (a float in price units). */
  refresh(fairPrice: number): void {
    const tick = Number(this.inst.tick.text);
    const fair = fairPrice / tick;
    const half = Math.max(1, (fair * this.cfg.halfSpreadBps) / 1e4);
    const topBid = Math.max(1, Math.floor(fair - half));
    const topAsk = Math.max(topBid + 1, Math.ceil(fair + half));
    const want: [Set<number>, Set<number>] = [new Set(), new Set()];
    for (let i = 0; i < this.cfg.levels; i++) {
      const b = topBid - i * this.cfg.levelSpacingTicks;
      if (b >= 1) want[BUY].add(b);
      want[SELL].add(topAsk + i * this.cfg.levelSpacingTicks);
    }
    // Cancel first, both sides, so new quotes never meet our own stale ones.
    for (const side of [BUY, SELL] as const) {
      for (const [price, orderId] of [...this.quotes[side]]) {
        if (!want[side].has(price)) {
          this.engine.cancelOrder(this.account, orderId);
          this.forget(orderId);
          this.stats.quotesCanceled++;
        }
      }
    }
    for (const side of [BUY, SELL] as const) {
      const prices = [...want[side]];
      for (let i = 0; i < prices.length; i++) {
        const price = prices[i] as number;
        if (this.quotes[side].has(price)) continue;
        this.place(side, price, i);
      }
    }
  }

  private place(side: Side, price: number, levelIndex: number): void {
    const notional = this.rng.logNormal(this.cfg.medianNotional, this.cfg.sizeSigma) * this.cfg.depthGrowth ** levelIndex;
    const tick = Number(this.inst.tick.text);
    const lot = Number(this.inst.lot.text);
    const lots = Math.max(this.inst.minQtyLots, Math.round(notional / (price * tick) / lot));
    const r = this.engine.submit({ account: this.account, symbol: this.inst.index, side, price, qty: lots, stp: STP_CANCEL_TAKER });
    if (!r.ok) {
      this.stats.rejected++;
      return;
    }
    this.stats.quotesPlaced++;
    if (r.status === "new" || r.status === "partially_filled") {
      this.quotes[side].set(price, r.orderId);
      this.byOrder.set(r.orderId, { side, price });
    }
  }

  private forget(orderId: number): void {
    const q = this.byOrder.get(orderId);
    if (q === undefined) return;
    this.byOrder.delete(orderId);
    if (this.quotes[q.side].get(q.price) === orderId) this.quotes[q.side].delete(q.price);
  }

}
