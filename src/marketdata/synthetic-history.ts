// Seeded synthetic market data history for simulations without recordings: for N symbols over
// [fromMs, toMs), bid/ask and L2 top-N snapshots every second (configurable) and 1-minute bars
// (5-minute and longer by aggregation), driven by the price models of the exchange simulator. The
// same spec and seed give identical data. No exchange engine runs: this is a generator of the
// data a recorder would have seen, fast enough for a day of 20 symbols in seconds.
//
// Order-book imbalance is made informative on purpose, so an L2-imbalance model has something to
// find. Each symbol carries a hidden order-flow "pressure" z: mostly small noise (an AR(1) with
// `noiseSd`), plus occasional episodes (Poisson, `episodesPerHour`, exponential length) during
// which it sits at +-U(`episodeLevel`). The pressure does two things:
// - it skews the book: bid quantities are multiplied by exp(bookSkew * z) and ask quantities by
//   exp(-bookSkew * z), so sum(bid qty) / sum(ask qty) is about exp(2 * bookSkew * z);
// - it pushes the next price moves: each step adds `predictiveness * z` one-step standard
//   deviations of drift to the log price (and buyers outnumber sellers among the trades).
// With the defaults an episode gives an imbalance above 3 (or below 0.33) and a drift of several
// standard deviations over its length in the same direction; outside episodes the imbalance
// crosses those thresholds only now and then, by noise, with no drift behind it.
// The drift is pulled back with a one-hour half-life, so over a day prices follow the price model.

import { z } from "zod";
import { Rng } from "../core/rng.js";
import { parseStep, type Step } from "../core/units.js";
import { createPriceModel, priceModelSchema, type PriceModel } from "../exchange/market/price-models.js";
import { syntheticSymbolSchema } from "../exchange/market/synthetic-market.js";
import { syntheticUniverse } from "../exchange/market/synthetic-universe.js";
import { BarAggregator } from "./bar-aggregation.js";
import { MarketDataStore } from "./market-data-store.js";
import { stepToNumber } from "./steps.js";
import type { Bar, MarketDataSink } from "./types.js";

const YEAR_MS = 365 * 24 * 3600 * 1000;
const HOUR_MS = 3_600_000;

export const imbalanceSchema = z
  .object({
    /** Mean number of pressure episodes per hour per symbol. */
    episodesPerHour: z.number().nonnegative().default(6),
    meanEpisodeSeconds: z.number().positive().default(45),
    /** The pressure during an episode is +- uniform in [min, max]. */
    episodeLevel: z.tuple([z.number().nonnegative(), z.number().nonnegative()]).default([1, 2]),
    /** Standard deviation of the background pressure noise. */
    noiseSd: z.number().nonnegative().default(0.35),
    noiseHalfLifeSeconds: z.number().positive().default(10),
    /** Log quantity skew per unit of pressure (bids up, asks down). */
    bookSkew: z.number().nonnegative().default(0.6),
    /** Drift per step per unit of pressure, in one-step standard deviations of the log price. */
    predictiveness: z.number().nonnegative().default(0.25),
  })
  .strict();

export const historySymbolSchema = syntheticSymbolSchema.extend({
  /** Price tick; by default 5 significant digits of the initial price, like the synthetic universe. */
  tickSize: z.string().optional(),
  /** Quantity lot; by default worth about 0.001-0.01 quote units, like the synthetic universe. */
  lotSize: z.string().optional(),
});

export const syntheticHistorySchema = z
  .object({
    seed: z.number().int().default(1),
    fromMs: z.number().int(),
    toMs: z.number().int(),
    /** Symbol settings (the synthetic market's), or a count for a seeded synthetic universe. */
    symbols: z.union([z.number().int().min(1).max(999), z.array(historySymbolSchema).min(1)]),
    snapshotIntervalMs: z.number().int().min(1).default(1_000),
    /** Bar lengths; the shortest is built from the snapshots' trades, the others by aggregation. */
    barIntervalsMs: z.array(z.number().int().positive()).min(1).default([60_000, 300_000]),
    /** Knowledge time of a snapshot = its exchange time + this. */
    snapshotLatencyMs: z.number().int().nonnegative().default(0),
    /** Knowledge time of a bar = its end + this. */
    barLatencyMs: z.number().int().nonnegative().default(0),
    l2Levels: z.number().int().min(1).max(50).default(5),
    imbalance: imbalanceSchema.prefault({}),
    /** Bounded memory for the returned store (see MarketDataStore). */
    keepMs: z.number().positive().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.toMs <= s.fromMs) ctx.addIssue({ code: "custom", path: ["toMs"], message: "toMs must be after fromMs" });
    const base = Math.min(...s.barIntervalsMs);
    if (base % s.snapshotIntervalMs !== 0) ctx.addIssue({ code: "custom", path: ["barIntervalsMs"], message: `the shortest bar (${base} ms) must be a multiple of snapshotIntervalMs` });
    for (const ms of s.barIntervalsMs) if (ms % base !== 0) ctx.addIssue({ code: "custom", path: ["barIntervalsMs"], message: `${ms} ms is not a multiple of the shortest bar (${base} ms)` });
    const [lo, hi] = s.imbalance.episodeLevel;
    if (hi < lo) ctx.addIssue({ code: "custom", path: ["imbalance", "episodeLevel"], message: "episodeLevel is [min, max]" });
  });

export type SyntheticHistorySpec = z.input<typeof syntheticHistorySchema>;
type Spec = z.output<typeof syntheticHistorySchema>;
type HistorySymbol = z.output<typeof historySymbolSchema>;

export interface SyntheticHistoryOptions {
  /** Also receives every row as it is generated (a RecordedMarketDataWriter, to write files). */
  recorder?: MarketDataSink;
  /**
   * Keep the L2 snapshots in the returned store (default true). A run whose model reads no L2 leaves
   * them out: most of the store's memory. They are generated all the same (the same seed gives
   * the same bid/ask either way), and the recorder, if any, still receives them.
   */
  storeL2?: boolean;
  /**
   * Hands the rows over as they are made instead of keeping them all: after the step at every
   * `everyMs` of generation (and once more at the end), `onChunk(store, throughMs)` is called once
   * every row known at or before `throughMs` is made (snapshots of exchange time up to it, bars that
   * end by it), and takes the rows out of the store (MarketDataStore.takeRows). See
   * SyntheticHistoryStream, which generates on another thread.
   */
  chunks?: { everyMs: number; onChunk: (store: MarketDataStore, throughMs: number, last: boolean) => void };
}

interface SymbolGen {
  symbol: string;
  model: PriceModel;
  price: (ticks: number) => number;
  qty: (lots: number) => number;
  /** Ticks per unit price and lots per unit quantity (inverse steps), for rounding. */
  ticksPerUnit: number;
  lotsPerUnit: number;
  bookRng: Rng;
  flowRng: Rng;
  pressureRng: Rng;
  sigmaStep: number;
  halfSpread: number;
  spacing: number;
  medianNotional: number;
  sizeSigma: number;
  /** depthGrowth^level, per level. */
  growth: Float64Array;
  tradeProb: number;
  tradesMean: number;
  medianTrade: number;
  tradeSigma: number;
  flowPressure: number;
  // State.
  drift: number;
  noise: number;
  episodeLeftMs: number;
  episodeLevel: number;
  pressure: number;
  bar: { start: number; open: number; high: number; low: number; close: number; lots: number; trades: number };
  lastCloseTicks: number;
  aggregator: BarAggregator;
}

/** Generates the history into a new MarketDataStore (and the recorder, if given). */
export function generateSyntheticHistory(spec: SyntheticHistorySpec, opts: SyntheticHistoryOptions = {}): MarketDataStore {
  const cfg = syntheticHistorySchema.parse(spec);
  const symbols = resolveSymbols(cfg);
  const store = new MarketDataStore({ symbols: symbols.map((s) => s.symbol), l2Levels: cfg.l2Levels, ...(cfg.keepMs === undefined ? {} : { keepMs: cfg.keepMs }) });
  const recorder = opts.recorder;
  const storeL2 = opts.storeL2 ?? true;
  // Depth beyond the touch is built only for someone who keeps it.
  const wholeBook = storeL2 || recorder !== undefined;
  const dt = cfg.snapshotIntervalMs;
  const baseMs = Math.min(...cfg.barIntervalsMs);
  const longer = [...new Set(cfg.barIntervalsMs)].filter((ms) => ms !== baseMs).sort((a, b) => a - b);
  const emitBar = (b: Bar): void => {
    store.addBar(b);
    recorder?.addBar(b);
  };
  const root = new Rng(cfg.seed);
  const imb = cfg.imbalance;
  const gens: SymbolGen[] = symbols.map((s) => makeGen(s, root, cfg, baseMs, longer, emitBar));

  const noisePhi = Math.pow(0.5, dt / (imb.noiseHalfLifeSeconds * 1000));
  const noiseInnovation = imb.noiseSd * Math.sqrt(1 - noisePhi * noisePhi);
  const driftDecay = Math.pow(0.5, dt / HOUR_MS);
  const episodeStartProb = 1 - Math.exp((-imb.episodesPerHour * dt) / HOUR_MS);
  const [levelLo, levelHi] = imb.episodeLevel;
  const levels = cfg.l2Levels;
  const bidBuf = new Float64Array(2 * levels);
  const askBuf = new Float64Array(2 * levels);
  const firstBar = Math.ceil(cfg.fromMs / baseMs) * baseMs;
  for (const g of gens) g.bar.start = firstBar;
  const chunks = opts.chunks;
  if (chunks !== undefined && !(chunks.everyMs > 0)) throw new RangeError(`synthetic history: chunks.everyMs must be positive, got ${chunks.everyMs}`);
  let nextChunk = cfg.fromMs + (chunks?.everyMs ?? Infinity) - dt;
  if (cfg.keepMs === undefined && chunks === undefined) reserveSnapshots(store, cfg, storeL2);

  for (let t = cfg.fromMs, step = 0; t < cfg.toMs; t += dt, step++) {
    for (const g of gens) {
      // Price: the model's path times the pressure drift, both moved one step (not at the first).
      if (step > 0) {
        g.model.step(dt);
        g.drift = g.drift * driftDecay + imb.predictiveness * g.sigmaStep * g.pressure;
      }
      const price = g.model.price * Math.exp(g.drift);

      // Pressure for this snapshot (its drift acts on the next step: the book leads the price).
      const pr = g.pressureRng;
      if (g.episodeLeftMs > 0) g.episodeLeftMs -= dt;
      else if (pr.next() < episodeStartProb) {
        g.episodeLeftMs = pr.exponential(imb.meanEpisodeSeconds * 1000);
        g.episodeLevel = (pr.bool(0.5) ? 1 : -1) * pr.uniform(levelLo, levelHi);
      }
      g.noise = noisePhi * g.noise + noiseInnovation * pr.normal();
      g.pressure = (g.episodeLeftMs > 0 ? g.episodeLevel : 0) + g.noise;

      // Book around the price, on ticks; quantities skewed by the pressure.
      const bidTicks = Math.max(1, Math.floor(price * (1 - g.halfSpread) * g.ticksPerUnit));
      const askTicks = Math.max(bidTicks + 1, Math.ceil(price * (1 + g.halfSpread) * g.ticksPerUnit));
      const skew = Math.exp(imb.bookSkew * g.pressure);
      // Levels quoted on the bid side: those above price zero.
      const nb = Math.min(levels, Math.floor((bidTicks - 1) / g.spacing) + 1);
      if (wholeBook) {
        for (let i = 0; i < nb; i++) {
          bidBuf[2 * i] = g.price(bidTicks - i * g.spacing);
          bidBuf[2 * i + 1] = g.qty(levelLots(g, price, i, skew));
        }
        for (let i = 0; i < levels; i++) {
          askBuf[2 * i] = g.price(askTicks + i * g.spacing);
          askBuf[2 * i + 1] = g.qty(levelLots(g, price, i, 1 / skew));
        }
      } else {
        // Only the touch is kept: the deeper sizes' draws are skipped, not computed, so the book
        // stream (and every later touch size) is the same as when the whole book is built.
        bidBuf[0] = g.price(bidTicks);
        bidBuf[1] = g.qty(levelLots(g, price, 0, skew));
        g.bookRng.skipNormals(nb - 1);
        askBuf[0] = g.price(askTicks);
        askBuf[1] = g.qty(levelLots(g, price, 0, 1 / skew));
        g.bookRng.skipNormals(levels - 1);
      }
      const kt = t + cfg.snapshotLatencyMs;
      const bid = bidBuf[0] as number;
      const ask = askBuf[0] as number;
      store.addBidAskValues(g.symbol, t, kt, bid, bidBuf[1] as number, ask, askBuf[1] as number);
      if (storeL2) store.addL2Values(g.symbol, t, kt, bidBuf, nb, askBuf, levels);
      if (recorder !== undefined) {
        recorder.addBidAsk({ symbol: g.symbol, exchangeTime: t, knowledgeTime: kt, bid, bidSize: bidBuf[1] as number, ask, askSize: askBuf[1] as number });
        const pairs = (buf: Float64Array, n: number): [number, number][] => Array.from({ length: n }, (_, i) => [buf[2 * i] as number, buf[2 * i + 1] as number]);
        recorder.addL2({ symbol: g.symbol, exchangeTime: t, knowledgeTime: kt, bids: pairs(bidBuf, nb), asks: pairs(askBuf, levels) });
      }

      // Trades until the next snapshot, at the touch, leaning with the pressure.
      if (t >= firstBar) {
        if (t >= g.bar.start + baseMs) closeBar(g, baseMs, cfg.barLatencyMs, emitBar);
        if (g.flowRng.next() < g.tradeProb) {
          const n = 1 + poisson(g.flowRng, g.tradesMean);
          const buyProb = 0.5 + 0.4 * g.flowPressure * Math.tanh(g.pressure);
          for (let k = 0; k < n; k++) {
            const buy = g.flowRng.next() < buyProb;
            const px = buy ? askTicks : bidTicks;
            const lots = Math.max(1, Math.round((g.flowRng.logNormal(g.medianTrade, g.tradeSigma) / price) * g.lotsPerUnit));
            addTrade(g, px, lots);
          }
        }
      }
    }
    if (chunks !== undefined && t >= nextChunk) {
      chunks.onChunk(store, t, false);
      nextChunk += chunks.everyMs;
    }
  }
  // The last bar only if the range covers it whole.
  for (const g of gens) if (g.bar.start + baseMs <= cfg.toMs && cfg.toMs > firstBar) closeBar(g, baseMs, cfg.barLatencyMs, emitBar);
  chunks?.onChunk(store, cfg.toMs, true);
  return store;
}

/** Makes room in `store` for every snapshot of the spec's window, per symbol of the store. */
export function reserveSnapshots(store: MarketDataStore, cfg: Pick<Spec, "fromMs" | "toMs" | "snapshotIntervalMs">, storeL2: boolean): void {
  const steps = Math.ceil((cfg.toMs - cfg.fromMs) / cfg.snapshotIntervalMs);
  for (const s of store.symbols) {
    store.reserve(s, "bid_ask", steps);
    if (storeL2) store.reserve(s, "l2", steps);
  }
}

/** The validated spec and its symbols, in generation order (the order of the store's symbols). */
export function resolveHistorySpec(spec: SyntheticHistorySpec): { cfg: Spec; symbols: string[] } {
  const cfg = syntheticHistorySchema.parse(spec);
  return { cfg, symbols: resolveSymbols(cfg).map((s) => s.symbol) };
}

function resolveSymbols(cfg: Spec): HistorySymbol[] {
  if (typeof cfg.symbols !== "number") return cfg.symbols;
  const u = syntheticUniverse(cfg.symbols, cfg.seed);
  return u.symbols.map((s, i) => {
    const inst = u.instruments[i];
    return historySymbolSchema.parse({ ...s, tickSize: inst?.tickSize, lotSize: inst?.lotSize });
  });
}

function pow10Text(exp: number): string {
  return exp >= 0 ? "1" + "0".repeat(exp) : "0." + "0".repeat(-exp - 1) + "1";
}

function makeGen(s: HistorySymbol, root: Rng, cfg: Spec, baseMs: number, longer: readonly number[], emitBar: (b: Bar) => void): SymbolGen {
  const mag = Math.floor(Math.log10(s.initialPrice));
  const tick: Step = parseStep(s.tickSize ?? pow10Text(mag - 4));
  const lot: Step = parseStep(s.lotSize ?? pow10Text(Math.min(3, Math.max(-6, Math.floor(Math.log10(0.01 / s.initialPrice))))));
  const model = createPriceModel(s.model, s.initialPrice, root.fork());
  const volatility = priceModelSchema.parse(s.model).volatility;
  const dt = cfg.snapshotIntervalMs;
  const tradesPerStep = (s.flow.ordersPerMinute * dt) / 60_000;
  return {
    symbol: s.symbol,
    model,
    price: stepToNumber(tick),
    qty: stepToNumber(lot),
    ticksPerUnit: 10 ** tick.scale / tick.mantissa,
    lotsPerUnit: 10 ** lot.scale / lot.mantissa,
    bookRng: root.fork(),
    flowRng: root.fork(),
    pressureRng: root.fork(),
    sigmaStep: volatility * Math.sqrt(dt / YEAR_MS),
    halfSpread: s.liquidity.halfSpreadBps / 10_000,
    spacing: s.liquidity.levelSpacingTicks,
    medianNotional: s.liquidity.medianNotional,
    sizeSigma: s.liquidity.sizeSigma,
    growth: Float64Array.from({ length: cfg.l2Levels }, (_, i) => Math.pow(s.liquidity.depthGrowth, i)),
    // Whether any trade happens in a step, then how many more (1 + Poisson with the conditional
    // mean): close to a Poisson count of the same mean, and the common empty step costs one draw.
    tradeProb: 1 - Math.exp(-tradesPerStep),
    tradesMean: Math.max(0, tradesPerStep - (1 - Math.exp(-tradesPerStep))) / Math.max(1e-12, 1 - Math.exp(-tradesPerStep)),
    medianTrade: s.flow.medianNotional,
    tradeSigma: s.flow.sizeSigma,
    flowPressure: Math.min(1, s.flow.pressure * 2),
    drift: 0,
    noise: 0,
    episodeLeftMs: 0,
    episodeLevel: 0,
    pressure: 0,
    bar: { start: 0, open: 0, high: 0, low: 0, close: 0, lots: 0, trades: 0 },
    lastCloseTicks: 0,
    aggregator: new BarAggregator(baseMs, longer, emitBar),
  };
}

function levelLots(g: SymbolGen, price: number, level: number, skew: number): number {
  const notional = g.medianNotional * (g.growth[level] as number) * Math.exp(g.sizeSigma * g.bookRng.normal()) * skew;
  return Math.max(1, Math.round((notional / price) * g.lotsPerUnit));
}

/** A Poisson draw by inversion (means here are small). */
function poisson(rng: Rng, mean: number): number {
  if (mean <= 0) return 0;
  const limit = Math.exp(-mean);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

function addTrade(g: SymbolGen, ticks: number, lots: number): void {
  const b = g.bar;
  if (b.trades === 0) {
    b.open = b.high = b.low = ticks;
  } else {
    if (ticks > b.high) b.high = ticks;
    if (ticks < b.low) b.low = ticks;
  }
  b.close = ticks;
  b.lots += lots;
  b.trades++;
}

/** Emits the open base bar (a minute without trades repeats the last close, volume 0) and opens the next. */
function closeBar(g: SymbolGen, baseMs: number, latencyMs: number, emit: (b: Bar) => void): void {
  const b = g.bar;
  if (b.trades === 0 && g.lastCloseTicks === 0) {
    // Nothing traded yet: no price to repeat; the bar is skipped (and so are the longer ones).
  } else {
    if (b.trades === 0) b.open = b.high = b.low = b.close = g.lastCloseTicks;
    const end = b.start + baseMs;
    const bar: Bar = {
      symbol: g.symbol, intervalMs: baseMs, start: b.start, end, knowledgeTime: end + latencyMs,
      open: g.price(b.open), high: g.price(b.high), low: g.price(b.low), close: g.price(b.close), volume: g.qty(b.lots),
    };
    emit(bar);
    g.aggregator.add(bar);
    g.lastCloseTicks = b.close;
  }
  b.start += baseMs;
  b.trades = 0;
  b.lots = 0;
}
