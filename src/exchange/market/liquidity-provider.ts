// A market maker that keeps a realistic book around the model price: a number of levels each side,
// a spread, log-normal sizes, and a periodic refresh. Its price grid is fixed (levels at multiples
// of the level spacing), and the spread around the model price picks which of its levels are
// quoted. On refresh it leaves the quotes that are still on the quoted levels where they are, so
// resting quotes keep their queue position: an order that joins a level behind them fills only
// after flow has eaten through them. A quote that left the grid is moved (amended, losing its
// priority) to a level the grid misses, as a real market maker re-prices its orders instead of
// cancelling one and sending another; quotes left over are cancelled and levels left over get new
// quotes. A quote's size is drawn once, when it is placed (log-normal notional), and scaled to the
// depth of whatever level it sits on: a moved quote keeps its draw, as a maker re-pricing an order
// keeps its size, and a day of ~4 M amends does not redraw ~4 M sizes.

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
  /** Quotes moved to another level by a refresh (an amend: same order, new price and size). */
  quotesMoved: number;
  quotesCanceled: number;
  rejected: number;
}

/**
 * Live quotes of one side in the order they were placed: price in ticks, engine order id, and the
 * size drawn when the quote was placed (notional at the top level, before the depth factor).
 */
class QuoteList {
  readonly price: Float64Array;
  readonly id: Float64Array;
  readonly base: Float64Array;
  count = 0;

  constructor(capacity: number) {
    this.price = new Float64Array(capacity);
    this.id = new Float64Array(capacity);
    this.base = new Float64Array(capacity);
  }

  push(price: number, id: number, base: number): void {
    const i = this.count++;
    this.price[i] = price;
    this.id[i] = id;
    this.base[i] = base;
  }

  /** Removes the quote with this order id, keeping the others in placement order. */
  remove(orderId: number): boolean {
    const n = this.count;
    for (let i = 0; i < n; i++) {
      if (this.id[i] !== orderId) continue;
      this.price.copyWithin(i, i + 1, n);
      this.id.copyWithin(i, i + 1, n);
      this.base.copyWithin(i, i + 1, n);
      this.count = n - 1;
      return true;
    }
    return false;
  }
}

export class LiquidityProvider {
  private readonly cfg: Liquidity;
  /**
   * Live quotes per side: price in ticks and order id. Typed arrays, because refresh runs every
   * second for every symbol and must not allocate. A side never holds more than `levels` quotes:
   * refresh leaves only grid prices, and a price is quoted at most once.
   */
  private readonly quotes: [QuoteList, QuoteList];
  /**
   * Scratch of a refresh, per side: the off-grid quotes inside the new top (toward the other side)
   * and beyond it, in list order (ids, and their size draws beside them), and the grid levels no
   * quote sits on, nearest first.
   */
  private readonly inside: [QuoteList, QuoteList];
  private readonly beyond: [QuoteList, QuoteList];
  private readonly missing: [Float64Array, Float64Array];
  /** Per side, missing[lo..hi) are the levels still to fill. */
  private readonly missLo = [0, 0];
  private readonly missHi = [0, 0];
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
  readonly stats: LiquidityStats = { quotesPlaced: 0, quotesMoved: 0, quotesCanceled: 0, rejected: 0 };

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
    this.inside = [new QuoteList(levels), new QuoteList(levels)];
    this.beyond = [new QuoteList(levels), new QuoteList(levels)];
    this.missing = [new Float64Array(levels), new Float64Array(levels)];
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

  /**
   * Re-centres the quote grid on `fairPrice` (a float in price units).
   *
   * The grid is anchored to absolute prices: every level is a multiple of the level spacing (in
   * ticks), the top bid the highest multiple at or below fair - half spread, the top ask the lowest
   * at or above fair + half (at least one spacing above the bid). Anchoring at fair - half itself
   * would shift every level whenever the price moved by one tick, and the whole book would be
   * re-quoted nearly every second; on the fixed grid a quote stays put, keeping its place in the
   * queue, until the price has moved a whole level, as a real market maker's does. With a spacing
   * of one tick this is the same grid as anchoring at fair - half.
   */
  refresh(fairPrice: number): void {
    const tick = this.tick;
    const spacing = this.spacing;
    const fair = fairPrice / tick;
    const half = Math.max(1, (fair * this.cfg.halfSpreadBps) / 1e4);
    const topBid = Math.max(spacing, Math.floor((fair - half) / spacing) * spacing);
    const topAsk = Math.max(topBid + spacing, Math.ceil((fair + half) / spacing) * spacing);
    // The grid did not move and no level is missing (a side holds only grid prices, each once, so
    // a full count means every level is there): nothing to cancel, nothing to place.
    if (
      topBid === this.lastTopBid && topAsk === this.lastTopAsk &&
      this.quotes[SELL].count === this.levels &&
      this.quotes[BUY].count === this.fullCount(BUY, topBid)
    ) {
      return;
    }
    // A side whose top did not move and that misses no level keeps every quote where it is.
    if (topBid === this.lastTopBid && this.quotes[BUY].count === this.fullCount(BUY, topBid)) this.keepAll(BUY);
    else this.sortOut(BUY, topBid);
    if (topAsk === this.lastTopAsk && this.quotes[SELL].count === this.levels) this.keepAll(SELL);
    else this.sortOut(SELL, topAsk);
    this.lastTopBid = topBid;
    this.lastTopAsk = topAsk;
    // Off-grid quotes inside the new tops first, both sides: they go to the far end of their own
    // side (away from the other side, so they cross nothing of ours), or are cancelled when no
    // level is missing. Then the ones beyond the grid move to the missing levels nearest the top,
    // which no stale quote of ours faces any more. Levels still missing get new quotes.
    this.moveOffGrid(BUY, topBid, this.inside[BUY], true);
    this.moveOffGrid(SELL, topAsk, this.inside[SELL], true);
    this.moveOffGrid(BUY, topBid, this.beyond[BUY], false);
    this.moveOffGrid(SELL, topAsk, this.beyond[SELL], false);
    this.fillMissing(BUY, topBid);
    this.fillMissing(SELL, topAsk);
  }

  /** Quotes a side holds when every grid level from `top` is quoted (bids stop above price 0). */
  private fullCount(side: Side, top: number): number {
    return side === BUY ? Math.min(this.levels, Math.floor((top - 1) / this.spacing) + 1) : this.levels;
  }

  /** What `sortOut` finds on a side whose quotes all sit on the grid, one per level: nothing to do. */
  private keepAll(side: Side): void {
    this.inside[side].count = 0;
    this.beyond[side].count = 0;
    this.missLo[side] = 0;
    this.missHi[side] = 0;
  }

  /**
   * Keeps the side's quotes that are on the grid from `top` (in list order), sorts the others into
   * inside and beyond, and lists the levels no kept quote sits on, nearest the top first.
   */
  private sortOut(side: Side, top: number): void {
    const q = this.quotes[side];
    const prices = q.price;
    const ids = q.id;
    const bases = q.base;
    const n = q.count;
    const inside = this.inside[side];
    const beyond = this.beyond[side];
    const present = this.present;
    const stamp = ++this.stamp;
    const spacing = this.spacing;
    const gridSpan = this.levels * spacing;
    // Bids stop above price 0.
    const lowestPrice = side === BUY ? 1 : -Infinity;
    inside.count = 0;
    beyond.count = 0;
    let kept = 0;
    for (let i = 0; i < n; i++) {
      const price = prices[i] as number;
      // Distance from the top toward the far end of the side, negative inside the new top. Ticks
      // are integers far below 2^52: these differences and quotients are exact.
      const away = side === BUY ? top - price : price - top;
      if (away < 0) {
        inside.push(price, ids[i] as number, bases[i] as number);
        continue;
      }
      if (away < gridSpan && price >= lowestPrice) {
        // An integer quotient, not a remainder of doubles: that is a call to fmod.
        const level = spacing === 1 ? away : away / spacing;
        if (level === Math.floor(level)) {
          prices[kept] = price;
          ids[kept] = ids[i] as number;
          bases[kept] = bases[i] as number;
          kept++;
          present[level] = stamp;
          continue;
        }
      }
      beyond.push(price, ids[i] as number, bases[i] as number);
    }
    q.count = kept;
    const missing = this.missing[side];
    let m = 0;
    for (let i = 0; i < this.levels; i++) {
      if (side === BUY && top - i * spacing < 1) break;
      if (present[i] !== stamp) missing[m++] = i;
    }
    this.missLo[side] = 0;
    this.missHi[side] = m;
  }

  /**
   * Moves the side's off-grid quotes listed in `off` to missing levels, taking the level farthest
   * from the top (`far`, for quotes inside the new top) or nearest it; a quote with no level left,
   * or one the engine will not move there, is cancelled.
   */
  private moveOffGrid(side: Side, top: number, off: QuoteList, far: boolean): void {
    const missing = this.missing[side];
    for (let i = 0, n = off.count; i < n; i++) {
      const id = off.id[i] as number;
      const lo = this.missLo[side] as number;
      const hi = this.missHi[side] as number;
      if (lo < hi && this.move(side, id, off.base[i] as number, top, missing[far ? hi - 1 : lo] as number)) {
        if (far) this.missHi[side] = hi - 1;
        else this.missLo[side] = lo + 1;
      } else {
        this.cancel(id);
      }
    }
  }

  private fillMissing(side: Side, top: number): void {
    const missing = this.missing[side];
    const spacing = this.spacing;
    for (let j = this.missLo[side] as number, hi = this.missHi[side] as number; j < hi; j++) {
      const level = missing[j] as number;
      this.place(side, side === BUY ? top - level * spacing : top + level * spacing, level);
    }
  }

  /** A quote's size at a level, in lots: its drawn notional, growing away from the top. */
  private lotsAt(base: number, price: number, levelIndex: number): number {
    const notional = base * (this.growth[levelIndex] as number);
    return Math.max(this.inst.minQtyLots, Math.round(notional / (price * this.tick) / this.lot));
  }

  /**
   * Moves a quote to a grid level, its drawn size scaled to the level. False when the engine would
   * not amend it that way (it would cross someone's order, or be rejected): the caller cancels it,
   * and the level stays missing for a new quote, which then trades or is rejected as any order would.
   */
  private move(side: Side, orderId: number, base: number, top: number, levelIndex: number): boolean {
    const price = side === BUY ? top - levelIndex * this.spacing : top + levelIndex * this.spacing;
    const lots = this.lotsAt(base, price, levelIndex);
    if (!this.engine.requote(this.account, orderId, price, lots)) return false;
    this.stats.quotesMoved++;
    this.quotes[side].push(price, orderId, base);
    return true;
  }

  private cancel(orderId: number): void {
    this.cancelling = orderId;
    this.engine.cancelOrder(this.account, orderId);
    this.cancelling = -1;
    this.stats.quotesCanceled++;
  }

  private place(side: Side, price: number, levelIndex: number): void {
    const base = this.rng.logNormal(this.cfg.medianNotional, this.cfg.sizeSigma);
    const lots = this.lotsAt(base, price, levelIndex);
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
    if (status === "new" || status === "partially_filled") this.quotes[side].push(price, id, base);
  }

  private forget(orderId: number): void {
    if (!this.quotes[BUY].remove(orderId)) this.quotes[SELL].remove(orderId);
  }
}
