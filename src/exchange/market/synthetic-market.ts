// A synthetic market: per instrument a seeded price model, a liquidity provider quoting around it
// and background takers sending market orders at Poisson times, leaning toward the model price
// (so trades walk the book toward it). Everything runs on the engine's clock: no real timers, and
// the same seed gives the same event stream byte for byte.

import { z } from "zod";
import { Rng } from "../../core/rng.js";
import type { ExchangeEngine, OrderUnits } from "../engine.js";
import type { Instrument } from "../instrument.js";
import { BUY, NO_PRICE, SELL, STP_CANCEL_TAKER } from "../order-book.js";
import { LiquidityProvider, liquiditySchema } from "./liquidity-provider.js";
import { createPriceModel, priceModelSchema, type PriceModel } from "./price-models.js";

export const takerFlowSchema = z
  .object({
    /** Mean number of taker orders per minute. */
    ordersPerMinute: z.number().nonnegative().default(30),
    /** Median taker order size in quote currency (log-normal). */
    medianNotional: z.number().positive().default(1_500),
    sizeSigma: z.number().nonnegative().default(0.8),
    /** How strongly takers lean toward the model price: 0 is a fair coin. */
    pressure: z.number().nonnegative().default(0.5),
  })
  .strict();

export const syntheticSymbolSchema = z
  .object({
    symbol: z.string(),
    initialPrice: z.number().positive(),
    model: priceModelSchema.prefault({ kind: "gbm" }),
    liquidity: liquiditySchema.prefault({}),
    flow: takerFlowSchema.prefault({}),
  })
  .strict();

export const syntheticMarketSchema = z
  .object({
    seed: z.number().int().default(1),
    symbols: z.array(syntheticSymbolSchema).min(1),
    /** Funds given to the maker and taker accounts, per asset (large, so they rarely run dry). */
    funding: z.record(z.string(), z.string()).default({}),
  })
  .strict();

export type SyntheticMarketSpec = z.input<typeof syntheticMarketSchema>;
export type SyntheticSymbolSpec = z.input<typeof syntheticSymbolSchema>;

export interface SyntheticStats {
  takerOrders: number;
  takerRejected: number;
  quotesPlaced: number;
  /** Quotes the makers moved to another level (amended) instead of cancelling and re-placing. */
  quotesMoved: number;
  quotesCanceled: number;
  makerRejected: number;
}

interface SymbolDriver {
  inst: Instrument;
  model: PriceModel;
  lp: LiquidityProvider;
  flow: z.output<typeof takerFlowSchema>;
  flowRng: Rng;
  /** Tick and lot sizes as numbers, parsed once (takers arrive all day long). */
  tick: number;
  lot: number;
}

export class SyntheticMarket {
  readonly makerAccount: number;
  readonly takerAccount: number;
  private readonly drivers: SymbolDriver[] = [];
  private running = false;
  private takerOrders = 0;
  private takerRejected = 0;
  /** One taker request object, refilled per arrival (the engine does not keep it). */
  private readonly takerOrder: OrderUnits;

  constructor(
    private readonly engine: ExchangeEngine,
    spec: SyntheticMarketSpec,
  ) {
    const cfg = syntheticMarketSchema.parse(spec);
    const root = new Rng(cfg.seed);
    // Nobody queries the background accounts' finished orders: do not keep them.
    this.makerAccount = engine.createAccount("synthetic-maker", { keepClosedOrders: false });
    this.takerAccount = engine.createAccount("synthetic-taker", { keepClosedOrders: false });
    this.takerOrder = { account: this.takerAccount, symbol: 0, side: BUY, price: 0, qty: 0, market: true, stp: STP_CANCEL_TAKER };
    const funding = { ...defaultFunding(engine, cfg.symbols), ...cfg.funding };
    for (const [asset, amount] of Object.entries(funding)) {
      engine.deposit(this.makerAccount, asset, amount);
      engine.deposit(this.takerAccount, asset, amount);
    }
    const lpBySymbol: (LiquidityProvider | undefined)[] = [];
    for (const s of cfg.symbols) {
      const inst = engine.instrument(s.symbol);
      if (inst === undefined) throw new RangeError(`synthetic market: symbol "${s.symbol}" is not an instrument of the engine`);
      const model = createPriceModel(s.model, s.initialPrice, root.fork());
      const lp = new LiquidityProvider(engine, inst, this.makerAccount, s.liquidity, root.fork());
      lpBySymbol[inst.index] = lp;
      this.drivers.push({ inst, model, lp, flow: s.flow, flowRng: root.fork(), tick: Number(inst.tick.text), lot: Number(inst.lot.text) });
    }
    // The makers only need to know which of their quotes are gone: one close watcher for all
    // symbols, routed by symbol index (an event subscription would build an event per quote).
    engine.watchClosed(this.makerAccount, (orderId, symbol) => lpBySymbol[symbol]?.forgetClosed(orderId));
  }

  /** The current model (fair) price of a symbol. */
  fairPrice(symbol: string): number | undefined {
    return this.drivers.find((d) => d.inst.symbol === symbol)?.model.price;
  }

  get stats(): SyntheticStats {
    let quotesPlaced = 0;
    let quotesMoved = 0;
    let quotesCanceled = 0;
    let makerRejected = 0;
    for (const d of this.drivers) {
      quotesPlaced += d.lp.stats.quotesPlaced;
      quotesMoved += d.lp.stats.quotesMoved;
      quotesCanceled += d.lp.stats.quotesCanceled;
      makerRejected += d.lp.stats.rejected;
    }
    return { takerOrders: this.takerOrders, takerRejected: this.takerRejected, quotesPlaced, quotesMoved, quotesCanceled, makerRejected };
  }

  /**
   * Quotes the initial books and schedules refreshes and taker arrivals on the engine's clock.
   *
   * The fair prices step on a grid of refresh intervals from `originMs` (default: now). A market
   * started after its origin (a live session resumed after its process died) first steps its price
   * models through the intervals already past, so it quotes the fair prices the market had reached
   * rather than the initial ones: each model draws from its own random stream, so the path is the
   * one the first process followed. On a simulated clock a market starts at its origin and nothing
   * changes.
   *
   * Refreshes are batched: the symbols that share a refresh interval are refreshed by one timer per
   * tick, in symbol order, instead of one timer per symbol (25 symbols at 1 s: 25 heap pushes and
   * pops a simulated second saved). The first tick still has one timer per symbol, because those
   * are interleaved with the first taker arrivals in the order they were set; from then on the
   * per-symbol timers of a tick were set back to back, so one timer in their place fires them in
   * the same order relative to every other timer of that instant.
   */
  start(opts: { originMs?: number } = {}): void {
    if (this.running) return;
    this.running = true;
    const clock = this.engine.clock;
    const now = clock.now();
    const origin = opts.originMs !== undefined && opts.originMs < now ? opts.originMs : now;
    // Per refresh interval: its symbols, the timer callback of a tick, how many first-tick timers
    // have yet to fire, and the grid time of the next tick (ticks stay on the grid on a wall clock,
    // whose timers fire late, so the steps taken by any time are the grid points passed).
    const groups = new Map<number, { drivers: SymbolDriver[]; tick: () => void; firstLeft: number; next: number }>();
    for (const d of this.drivers) {
      const ms = d.lp.refreshMs;
      let g = groups.get(ms);
      if (g === undefined) {
        const drivers: SymbolDriver[] = [];
        const group = { drivers, tick: (): void => undefined, firstLeft: 0, next: origin + (Math.floor((now - origin) / ms) + 1) * ms };
        group.tick = (): void => {
          if (!this.running) return;
          for (let i = 0; i < drivers.length; i++) {
            const x = drivers[i] as SymbolDriver;
            x.lp.refresh(x.model.step(ms));
          }
          group.next += ms;
          clock.setTimer(group.next, group.tick);
        };
        g = group;
        groups.set(ms, g);
      }
      g.drivers.push(d);
      g.firstLeft++;
    }
    for (const d of this.drivers) {
      const ms = d.lp.refreshMs;
      for (let k = Math.floor((now - origin) / ms); k > 0; k--) d.model.step(ms);
      d.lp.refresh(d.model.price);
      const g = groups.get(ms) as { tick: () => void; firstLeft: number; next: number };
      const first = (): void => {
        if (!this.running) return;
        d.lp.refresh(d.model.step(ms));
        if (--g.firstLeft === 0) {
          g.next += ms;
          clock.setTimer(g.next, g.tick);
        }
      };
      clock.setTimer(g.next, first);
      if (d.flow.ordersPerMinute > 0) {
        const meanGapMs = 60_000 / d.flow.ordersPerMinute;
        const arrive = (): void => {
          if (!this.running) return;
          this.sendTaker(d);
          clock.setTimer(clock.now() + Math.max(1, Math.round(d.flowRng.exponential(meanGapMs))), arrive);
        };
        clock.setTimer(clock.now() + Math.max(1, Math.round(d.flowRng.exponential(meanGapMs))), arrive);
      }
    }
  }

  /** Stops scheduling (timers already set return without acting). */
  stop(): void {
    this.running = false;
  }

  private sendTaker(d: SymbolDriver): void {
    const book = this.engine.book(d.inst.index);
    const bid = book.bestBid();
    const ask = book.bestAsk();
    if (bid === NO_PRICE || ask === NO_PRICE) return;
    const tick = d.tick;
    const mid = ((bid + ask) / 2) * tick;
    const spread = Math.max(tick, (ask - bid) * tick);
    const lean = Math.max(-0.4, Math.min(0.4, (d.flow.pressure * (d.model.price - mid)) / spread / 4));
    const side = d.flowRng.next() < 0.5 + lean ? BUY : SELL;
    const notional = d.flowRng.logNormal(d.flow.medianNotional, d.flow.sizeSigma);
    const lots = Math.max(d.inst.minQtyLots, Math.round(notional / mid / d.lot));
    this.takerOrders++;
    const o = this.takerOrder;
    o.symbol = d.inst.index;
    o.side = side;
    o.qty = lots;
    if (this.engine.submitUnits(o) === 0) this.takerRejected++;
  }
}

/**
 * Enough of every asset the symbols use that the background accounts practically never run dry,
 * while staying far below 2^53 units (money is held in exact integers).
 */
function defaultFunding(engine: ExchangeEngine, symbols: readonly { symbol: string; initialPrice: number }[]): Record<string, string> {
  const QUOTE_FUNDING = 10_000_000;
  const out: Record<string, string> = {};
  for (const s of symbols) {
    const inst = engine.instrument(s.symbol);
    if (inst === undefined) continue;
    out[inst.quote.name] = String(QUOTE_FUNDING);
    if (inst.kind === "spot") out[inst.base.name] = String(Math.ceil(QUOTE_FUNDING / s.initialPrice));
  }
  return out;
}
