// Builds what a run trades with, from its resolved config: the clock, the market data the model
// reads (and the broker prices child orders from), and the exchange client orders go to. One
// function per combination the run modes allow (DOMAIN.md section 9); everything else in the system
// is the same code whichever is chosen.

import type { Clock } from "../core/clock.js";
import { RealClock, SimulatedClock } from "../core/clock.js";
import { ScaledClock } from "../core/scaled-clock.js";
import { ExchangeEngine } from "../exchange/engine.js";
import { SyntheticMarket } from "../exchange/market/synthetic-market.js";
import { syntheticUniverse, type SyntheticUniverse } from "../exchange/market/synthetic-universe.js";
import { createCcxtClient, keyVariables } from "../exchanges/ccxt-client.js";
import { EmbeddedVenueClient } from "../exchanges/embedded-venue-client.js";
import type { ExchangeClient } from "../exchanges/exchange-client.js";
import { InstantFillClient } from "../exchanges/instant-fill-client.js";
import type { BidAskFeed } from "../marketdata/bid-ask-feed.js";
import { ExchangeClientFeed } from "../marketdata/exchange-client-feed.js";
import { MarketDataStore } from "../marketdata/market-data-store.js";
import { loadRecordedMarketData, type RecordedFileType } from "../marketdata/recorded-files.js";
import { generateSyntheticHistory } from "../marketdata/synthetic-history.js";
import { SyntheticHistoryStream } from "../marketdata/synthetic-history-stream.js";
import { VenueMarketFeed } from "../marketdata/venue-feed.js";
import type { CcxtMarket } from "../oms/ccxt-types.js";
import { ConfigError, type SystemConfig } from "./config.js";
import { feedHealthCheck } from "./feed-health.js";
import { readRecordedMarkets } from "./recorded-markets.js";
import { checkReplayCoverage } from "./replay-coverage.js";

/** What the run's model reads beyond bars and bid/ask. */
export interface DataNeeds {
  /** L2 snapshots (the model's usesL2); a store built here for a model without leaves them out. */
  l2: boolean;
}

export interface TradingSetup {
  clock: Clock;
  /** Market data for the model and the broker; filled live or loaded up front. */
  store: MarketDataStore;
  /** Bid/ask as the broker reads it: the store, once a live feed has taken the sample due now. */
  bidAsk: BidAskFeed;
  client: ExchangeClient;
  symbols: string[];
  /** Start feeds and markets; for a simulated clock also runs the warm-up up to `startMs`. */
  start(): Promise<void>;
  stop(): void;
  /** At each bar boundary: lets a live feed publish what closed at that instant. */
  beforeBar(t: number): void;
  /** Markets written beside recorded data, so a replay knows precision and limits. */
  markets(): Promise<Record<string, CcxtMarket>>;
  /** At each bar boundary: warnings about the data since the previous bar; throws on an outage. */
  dataWarnings(t: number): string[];
}

/** Where a replay finds its markets: written by the recorder, read by reconciliation. */
export { MARKETS_FILE } from "./recorded-markets.js";

export interface SetupOptions {
  /** Synthetic history made on a worker thread while the run trades; by default when large. */
  historyInWorker?: boolean;
}

export async function buildTradingSetup(cfg: SystemConfig, warmupStartMs: number, needs: DataNeeds, opts: SetupOptions = {}): Promise<TradingSetup> {
  const clock = makeClock(cfg, warmupStartMs);
  const ds = cfg.data.source;
  const bk = cfg.broker.kind;
  if (ds === "venue" && (bk === "embedded" || bk === "instant_fill")) return venueSetup(cfg, clock, warmupStartMs, needs);
  if (ds === "synthetic" && bk === "instant_fill") {
    const history = syntheticHistory(cfg, warmupStartMs, needs, opts.historyInWorker);
    return instantSetup(cfg, clock, history.store, universeMarkets(universeOf(cfg)), history);
  }
  if (ds === "files" && bk === "instant_fill") {
    const types: RecordedFileType[] = needs.l2 ? ["ohlcv", "bid_ask", "l2"] : ["ohlcv", "bid_ask"];
    const store = await loadRecordedMarketData(cfg.data.dir, { fromMs: warmupStartMs, toMs: cfg.end, types });
    const markets = readRecordedMarkets(cfg.data.dir);
    await checkReplayCoverage(cfg.data.dir, store, Object.keys(markets), { startMs: cfg.start, endMs: cfg.end, barMs: cfg.barMinutes * 60_000 });
    return instantSetup(cfg, clock, store, async () => markets);
  }
  if (ds === "exchange" && bk === "ccxt") return ccxtSetup(cfg, clock);
  throw new ConfigError(`system config: data.source ${ds} with broker.kind ${bk} is not a supported combination`);
}

function makeClock(cfg: SystemConfig, warmupStartMs: number): Clock {
  switch (cfg.clock.kind) {
    case "simulated":
      return new SimulatedClock(warmupStartMs);
    case "real":
      return new RealClock();
    case "scaled":
      return new ScaledClock(cfg.start, cfg.clock.speed);
  }
}

function universeOf(cfg: SystemConfig): SyntheticUniverse {
  if (cfg.universe.kind !== "synthetic") throw new ConfigError(`system config: universe.kind ${cfg.universe.kind} needs data.source exchange (a real venue lists its symbols); the simulator uses universe.kind synthetic`);
  return syntheticUniverse(cfg.universe.assets, cfg.universe.seed);
}

function universeMarkets(u: SyntheticUniverse): () => Promise<Record<string, CcxtMarket>> {
  // The simulator's own listing is the source of precision and limits for its instruments.
  const engine = new ExchangeEngine({ clock: new SimulatedClock(0), instruments: u.instruments });
  const client = new EmbeddedVenueClient(engine, { account: engine.createAccount("listing") });
  return () => client.loadMarkets();
}

/**
 * Symbol-hours from which a run's synthetic history is generated on a worker thread while it
 * trades (~0.4 ms each at the default snapshot interval, most of it the trades between snapshots):
 * below, generating it first costs less than starting the worker (~0.2 s).
 */
const HISTORY_IN_WORKER_SYMBOL_HOURS = 500;

/** A run's synthetic history: its store, and what the store must hold before a bar (see SyntheticHistoryStream). */
interface RunHistory {
  store: MarketDataStore;
  ensureThrough?(t: number): void;
  close?(): void;
}

function syntheticHistory(cfg: SystemConfig, fromMs: number, needs: DataNeeds, inWorker: boolean | undefined): RunHistory {
  const u = universeOf(cfg);
  const seed = cfg.data.source === "synthetic" ? cfg.data.seed : cfg.seed;
  const snapshotIntervalMs = (cfg.data.source === "synthetic" ? cfg.data.snapshotSeconds : 1) * 1000;
  // The instruments' own ticks and lots, so generated prices sit on the grid the markets list.
  const symbols = u.symbols.map((sym, i) => ({ ...sym, tickSize: String(u.instruments[i]?.tickSize), lotSize: String(u.instruments[i]?.lotSize) }));
  const spec = { symbols, fromMs, toMs: cfg.end, seed, barIntervalsMs: [60_000], snapshotIntervalMs };
  if (!(inWorker ?? (symbols.length * (cfg.end - fromMs)) / 3_600_000 >= HISTORY_IN_WORKER_SYMBOL_HOURS)) return { store: generateSyntheticHistory(spec, { storeL2: needs.l2 }) };
  const stream = new SyntheticHistoryStream(spec, { storeL2: needs.l2 });
  return { store: stream.store, ensureThrough: (t) => stream.ensureThrough(t), close: () => stream.close() };
}

function venueSetup(cfg: SystemConfig, clock: Clock, warmupStartMs: number, needs: DataNeeds): TradingSetup {
  const u = universeOf(cfg);
  const engine = new ExchangeEngine({ clock, instruments: u.instruments });
  const market = new SyntheticMarket(engine, { seed: cfg.seed, symbols: u.symbols });
  const account = engine.createAccount("system");
  engine.deposit(account, "USDT", cfg.initialCash);
  const latency = cfg.broker.kind === "embedded" && cfg.broker.latencyMs > 0 ? { orderEntry: { kind: "fixed" as const, ms: cfg.broker.latencyMs }, cancel: { kind: "fixed" as const, ms: cfg.broker.latencyMs } } : undefined;
  const faults = cfg.broker.kind === "embedded" ? cfg.broker.faults : undefined;
  const venue = new EmbeddedVenueClient(engine, { account, ...(latency === undefined ? {} : { latency }), ...(faults === undefined ? {} : { faults }) });
  const symbols = u.instruments.map((i) => i.symbol);
  // Keeps enough history for the model's look-back and the broker's bid/ask window, not the day.
  const store = new MarketDataStore({ symbols, keepMs: Math.max(cfg.start - warmupStartMs, 0) + 2 * cfg.barMinutes * 60_000 + 3_600_000 });
  const feed = new VenueMarketFeed(engine, clock, symbols, store, { l2: needs.l2 });
  const catchUp = (): void => feed.catchUp();
  // Orders go to the venue's book, or (instant_fill) fill in full at the mid of its live quotes.
  let client: ExchangeClient = venue;
  return {
    clock, store, symbols, bidAsk: readAfter(store, catchUp),
    get client(): ExchangeClient {
      return client;
    },
    async start() {
      if (cfg.broker.kind === "instant_fill") client = instantFillClient(cfg, clock, store, await venue.loadMarkets(), catchUp);
      if (!(clock instanceof SimulatedClock)) warmUpOnCopy(cfg, u, store, needs, warmupStartMs, clock);
      // Anchored at the warm-up start: a live session resumed later in the day finds the prices
      // where its market had taken them, not back at their initial values.
      market.start({ originMs: warmupStartMs });
      feed.start();
      if (clock instanceof SimulatedClock) clock.runUntil(cfg.start);
    },
    stop() {
      feed.stop();
      market.stop();
    },
    beforeBar: (t) => feed.flush(t),
    markets: () => venue.loadMarkets(),
    // The embedded venue runs in process: its feed cannot fail to reach it.
    dataWarnings: () => [],
  };
}

/**
 * A live session on the embedded venue (real or scaled clock) has no market before it starts, and
 * the model needs its warm-up bars: the venue is simulated up to now on a copy (same instruments,
 * seed and price origin, on a simulated clock) whose feed fills the store. The copy simulates only
 * the window the model looks back over; before it, its price models are stepped from the origin as
 * the live market's are (SyntheticMarket.start), so the history ends at the fair prices the live
 * market then starts from.
 */
function warmUpOnCopy(cfg: SystemConfig, u: SyntheticUniverse, store: MarketDataStore, needs: DataNeeds, originMs: number, live: Clock): void {
  const barMs = cfg.barMinutes * 60_000;
  let nowMs = live.now();
  const fromMs = Math.max(originMs, nowMs - (cfg.start - originMs) - 2 * barMs);
  if (nowMs <= fromMs) return;
  const clock = new SimulatedClock(fromMs);
  const engine = new ExchangeEngine({ clock, instruments: u.instruments });
  const market = new SyntheticMarket(engine, { seed: cfg.seed, symbols: u.symbols });
  const feed = new VenueMarketFeed(engine, clock, u.instruments.map((i) => i.symbol), store, { l2: needs.l2 });
  market.start({ originMs });
  feed.start();
  // The live clock runs on while the copy computes (a scaled one fast): catch up until the copy is
  // within a second of it, so the history reaches the moment the live feed takes over. A clock
  // faster than the copy can simulate is given up on after a few rounds, leaving a gap.
  for (let round = 0; round < 20 && clock.now() < nowMs - 1_000; round++) {
    clock.runUntil(nowMs);
    nowMs = live.now();
  }
  feed.flush(clock.now());
  feed.stop();
  market.stop();
}

/**
 * The store as a bid/ask feed that lets a live feed take the sample due now before each read (see
 * VenueMarketFeed.catchUp): what a wave reads is then the row the recording keeps for its instant.
 */
function readAfter(store: MarketDataStore, catchUp: () => void): BidAskFeed {
  return {
    rows: (symbol, fromMs, toMs) => {
      catchUp();
      return store.rows(symbol, fromMs, toMs);
    },
    window: (symbol, fromMs, toMs, into) => {
      catchUp();
      return store.window(symbol, fromMs, toMs, into);
    },
  };
}

/** The paper broker: every order fills in full at once, at the mid of the store's latest bid/ask. */
function instantFillClient(cfg: SystemConfig, clock: Clock, store: MarketDataStore, markets: Record<string, CcxtMarket>, catchUp: () => void = () => undefined): InstantFillClient {
  return new InstantFillClient({
    clock, markets, feeRate: cfg.broker.kind === "instant_fill" ? cfg.broker.feeRate : 0, initialBalances: { USDT: cfg.initialCash },
    // The broker asks about a wave's orders within its bar: two bars (at least an hour) is ample.
    historyMs: Math.max(3_600_000, 2 * cfg.barMinutes * 60_000),
    quote: (s) => {
      catchUp();
      const q = store.latestBidAsk(s, clock.now());
      return q === undefined ? undefined : { bid: q.bid, ask: q.ask };
    },
  });
}

function instantSetup(cfg: SystemConfig, clock: Clock, store: MarketDataStore, markets: () => Promise<Record<string, CcxtMarket>>, history: Omit<RunHistory, "store"> = {}): TradingSetup {
  let client: InstantFillClient | undefined;
  const symbols = [...store.symbols];
  // Data still being made must reach past everything a bar reads (its waves, to the next bar).
  const barMs = cfg.barMinutes * 60_000;
  return {
    clock, store, symbols, bidAsk: store,
    get client(): ExchangeClient {
      if (client === undefined) throw new Error("trading setup: start() was not called");
      return client;
    },
    async start() {
      // A quote read between bars (a resumed run's recovery) waits for its data too.
      const ensure = history.ensureThrough;
      client = instantFillClient(cfg, clock, store, await markets(), ensure === undefined ? undefined : () => ensure(clock.now()));
      history.ensureThrough?.(cfg.start + 2 * barMs);
      if (clock instanceof SimulatedClock) clock.runUntil(cfg.start);
    },
    stop() {
      history.close?.();
    },
    beforeBar(t) {
      history.ensureThrough?.(t + 2 * barMs);
    },
    markets,
    dataWarnings: () => [],
  };
}

async function ccxtSetup(cfg: SystemConfig, clock: Clock): Promise<TradingSetup> {
  if (cfg.broker.kind !== "ccxt" || cfg.data.source !== "exchange") throw new ConfigError("system config: prod needs broker.kind ccxt and data.source exchange");
  const vars = keyVariables(cfg.broker.exchangeId);
  if (process.env[vars.apiKey] === undefined || process.env[vars.secret] === undefined) {
    throw new ConfigError(`prod: no API keys for ${cfg.broker.exchangeId}: set ${vars.apiKey} and ${vars.secret} in the environment`);
  }
  if (cfg.universe.kind !== "symbols") throw new ConfigError("system config: prod trades listed symbols: set universe {kind: symbols, symbols: [...]}");
  const client = await createCcxtClient(cfg.broker.baseUrl === undefined ? { exchangeId: cfg.broker.exchangeId } : { exchangeId: cfg.broker.exchangeId, baseUrl: cfg.broker.baseUrl });
  const symbols = [...cfg.universe.symbols];
  const store = new MarketDataStore({ symbols, keepMs: 2 * 3_600_000 + 2 * cfg.barMinutes * 60_000 });
  const feed = new ExchangeClientFeed(client, clock, symbols, store, { pollMs: cfg.data.pollMs });
  const dataWarnings = feedHealthCheck(feed, `${cfg.broker.exchangeId} (ccxt)`, cfg.data.maxOutageSeconds * 1000);
  return {
    clock, store, client, symbols, bidAsk: store,
    async start() {
      feed.start();
    },
    stop() {
      feed.stop();
    },
    beforeBar: (t) => feed.flush(t),
    markets: () => client.loadMarkets(),
    dataWarnings,
  };
}
