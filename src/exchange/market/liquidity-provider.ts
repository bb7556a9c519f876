// A market maker that keeps a realistic book around the model price: a number of levels each side,
// a spread, log-normal sizes, and a periodic refresh. On refresh it cancels only the quotes that
// left its price grid and adds the missing ones, so resting quotes keep their queue position: an
// order that joins a level behind them fills only after flow has eaten through them.

import { z } from "zod";
import type { Rng } from "../../core/rng.js";
import type { ExchangeEngine, OrderUnits } from "../engine.js";
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

/** Live quotes of one side in the order they were placed: price in ticks and engine order id. */
class QuoteList {
  readonly price: Float64Array;
  readonly id: Float64Array;
  count = 0;

  constructor(capacity: number) {
    this.price = new Float64Array(capacity);
    this.id = new Float64Array(capacity);
  }

  /** Removes the quote with this order id, keeping the others in placement order. */
  remove(orderId: number): boolean {
    const n = this.count;
    for (let i = 0; i < n; i++) {
      if (this.id[i] !== orderId) continue;
      this.price.copyWithin(i, i + 1, n);
      this.id.copyWithin(i, i + 1, n);
      this.count = n - 1;
      return true;
    }
    return false;
  }
}

export class LiquidityProvider {
  private readonly cfg: Liquidity;
  /**
   * Live quotes per side, in placement order: refresh cancels in that order, as it did when they
   * were kept in insertion-ordered Maps, so the event stream is unchanged. Typed arrays, because
   * refresh runs every second for every symbol and must not allocate. A side never holds more than
   * `levels` quotes: refresh leaves only wanted prices, and a price is quoted at most once.
   */
  private readonly quotes: [QuoteList, QuoteList];
  /** Order ids refresh is about to cancel (scratch, in cancel order). */
  private readonly doomed: Float64Array;
  /**
   * Per level index of the grid: equal to `stamp` when a kept quote already sits there (scratch;
   * a new stamp per use empties it without clearing).
   */
  private readonly present: Float64Array;
  private stamp = 0;
  /** depthGrowth ** level, computed once (the same doubles as computing it per quote). */
  private readonly growth: Float64Array;
  private readonly tick: number;
  private readonly lot: number;
  private readonly levels: number;
  private readonly spacing: number;
  /** One request object, refilled per quote (the engine does not keep it). */
  private readonly order: OrderUnits;
  /** The grid tops of the last refresh (ticks). */
  private lastTopBid = -1;
  private lastTopAsk = -1;
  /** The order refresh is cancelling right now (-1: none). */
  private cancelling = -1;
  readonly stats: LiquidityStats = { quotesPlaced: 0, quotesCanceled: 0, rejected: 0 };

  constructor(
    private readonly engine: ExchangeEngine,
    private readonly inst: Instrument,
    readonly account: number,
    spec: LiquiditySpec,
    private readonly rng: Rng,
  ) {
    this.cfg = liquiditySchema.parse(spec);
    const levels = this.cfg.levels;
    this.quotes = [new QuoteList(levels), new QuoteList(levels)];
    this.doomed = new Float64Array(levels);
    this.present = new Float64Array(levels);
    this.growth = new Float64Array(levels);
    for (let i = 0; i < levels; i++) this.growth[i] = this.cfg.depthGrowth ** i;
    this.levels = levels;
    this.spacing = this.cfg.levelSpacingTicks;
    this.tick = Number(inst.tick.text);
    this.lot = Number(inst.lot.text);
    this.order = { account, symbol: inst.index, side: BUY, price: 0, qty: 0, stp: STP_CANCEL_TAKER };
  }

  /**
   * Feeds the provider the engine's events so it knows which quotes are gone (for a caller that
   * already has the events; `forgetClosed` is the cheaper feed).
   */
  onEvent(e: ExchangeEvent): void {
    if ((e.type === "filled" || e.type === "canceled" || e.type === "expired") && e.account === this.account) this.forget(e.orderId);
  }

  /**
   * Tells the provider that one of its account's orders closed. A SyntheticMarket routes its
   * maker account's closes here (one engine watcher for all symbols); a standalone provider
   * watches for itself with `attach`.
   */
  forgetClosed(orderId: number): void {
    // Quotes refresh cancels are dropped from the lists before the cancel: nothing to look for.
    if (orderId !== this.cancelling) this.forget(orderId);
  }

  attach(): () => void {
    return this.engine.watchClosed(this.account, (orderId, symbol) => {
      if (symbol === this.inst.index) this.forgetClosed(orderId);
    });
  }

  get refreshMs(): number {
    return this.cfg.refreshMs;
  }

  /** Re-centres the quote grid on `fairPrice` (a float in price units). */
  refresh(fairPrice: number): void {
    const tick = this.tick;
    const fair = fairPrice / tick;
    const half = Math.max(1, (fair * this.cfg.halfSpreadBps) / 1e4);
    const topBid = Math.max(1, Math.floor(fair - half));
    const topAsk = Math.max(topBid + 1, Math.ceil(fair + half));
    // The grid did not move and no level is missing (a side holds only grid prices, each once, so
    // a full count means every level is there): nothing to cancel, nothing to place.
    if (
      topBid === this.lastTopBid && topAsk === this.lastTopAsk &&
      this.quotes[SELL].count === this.levels &&
      this.quotes[BUY].count === Math.min(this.levels, Math.floor((topBid - 1) / this.spacing) + 1)
    ) {
      return;
    }
    this.lastTopBid = topBid;
    this.lastTopAsk = topAsk;
    // Cancel first, both sides, so new quotes never meet our own stale ones.
    this.cancelOffGrid(BUY, topBid);
    this.cancelOffGrid(SELL, topAsk);
    this.fillGrid(BUY, topBid);
    this.fillGrid(SELL, topAsk);
  }

  /** Level index of `price` on the side's grid from `top`, or -1 when the grid does not hold it. */
  private levelOf(side: Side, top: number, price: number): number {
    const spacing = this.spacing;
    const away = side === BUY ? top - price : price - top;
    if (away < 0) return -1;
    // One-tick grids are the common case, and a remainder costs more than the rest of this check.
    let i = away;
    if (spacing !== 1) {
      if (away % spacing !== 0) return -1;
      i = away / spacing;
    }
    if (i >= this.levels || (side === BUY && price < 1)) return -1;
    return i;
  }

  private cancelOffGrid(side: Side, top: number): void {
    const q = this.quotes[side];
    const n = q.count;
    let kept = 0;
    let doomed = 0;
    // Drop the off-grid quotes from the list first: the cancel events then find nothing to forget.
    for (let i = 0; i < n; i++) {
      const price = q.price[i] as number;
      if (this.levelOf(side, top, price) >= 0) {
        q.price[kept] = price;
        q.id[kept] = q.id[i] as number;
        kept++;
      } else {
        this.doomed[doomed++] = q.id[i] as number;
      }
    }
    q.count = kept;
    for (let i = 0; i < doomed; i++) {
      this.cancelling = this.doomed[i] as number;
      this.engine.cancelOrder(this.account, this.cancelling);
      this.cancelling = -1;
      this.stats.quotesCanceled++;
    }
  }

  private fillGrid(side: Side, top: number): void {
    const q = this.quotes[side];
    const present = this.present;
    const stamp = ++this.stamp;
    for (let i = 0; i < q.count; i++) present[this.levelOf(side, top, q.price[i] as number)] = stamp;
    const spacing = this.spacing;
    for (let i = 0; i < this.levels; i++) {
      const price = side === BUY ? top - i * spacing : top + i * spacing;
      if (price < 1) break;
      if (present[i] === stamp) continue;
      this.place(side, price, i);
    }
  }

  private place(side: Side, price: number, levelIndex: number): void {
    const notional = this.rng.logNormal(this.cfg.medianNotional, this.cfg.sizeSigma) * (this.growth[levelIndex] as number);
    const lots = Math.max(this.inst.minQtyLots, Math.round(notional / (price * this.tick) / this.lot));
    const o = this.order;
    o.side = side;
    o.price = price;
    o.qty = lots;
    const id = this.engine.submitUnits(o);
    if (id === 0) {
      this.stats.rejected++;
      return;
    }
    this.stats.quotesPlaced++;
    const status = this.engine.lastStatus;
    if (status === "new" || status === "partially_filled") {
      const list = this.quotes[side];
      list.price[list.count] = price;
      list.id[list.count] = id;
      list.count++;
    }
  }

  private forget(orderId: number): void {
    if (!this.quotes[BUY].remove(orderId)) this.quotes[SELL].remove(orderId);
  }
}
