import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../../src/core/clock.js";
import { Rng } from "../../../src/core/rng.js";
import { ExchangeEngine } from "../../../src/exchange/engine.js";
import { DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS } from "../../../src/exchange/market/default-instruments.js";
import { LiquidityProvider } from "../../../src/exchange/market/liquidity-provider.js";
import { SyntheticMarket } from "../../../src/exchange/market/synthetic-market.js";
import { BUY, SELL } from "../../../src/exchange/order-book.js";
import { btcMakerEngine } from "./btc-maker-engine.js";

const START = Date.UTC(2024, 0, 2, 0, 0, 0);

function runMarket(seed: number, minutes: number): { hash: string; events: number; trades: number; lines: string[] } {
  const clock = new SimulatedClock(START);
  const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
  const market = new SyntheticMarket(engine, { seed, symbols: DEFAULT_SYNTHETIC_SYMBOLS });
  const h = createHash("sha256");
  const lines: string[] = [];
  let events = 0;
  let trades = 0;
  engine.subscribe((e) => {
    const line = JSON.stringify(e);
    h.update(line + "\n");
    if (lines.length < 50) lines.push(line);
    events++;
    if (e.type === "trade") trades++;
  });
  market.start();
  clock.runUntil(START + minutes * 60_000);
  return { hash: h.digest("hex"), events, trades, lines };
}

describe("synthetic market", () => {
  it("gives a byte-identical event stream for the same seed", () => {
    const a = runMarket(42, 3);
    const b = runMarket(42, 3);
    expect(a.events).toBeGreaterThan(1000);
    expect(a.trades).toBeGreaterThan(50);
    expect(b.hash).toBe(a.hash);
  });

  it("gives a different stream for another seed", () => {
    expect(runMarket(43, 1).hash).not.toBe(runMarket(42, 1).hash);
  });

  it("keeps a two-sided, uncrossed book with several levels around the model price", () => {
    const clock = new SimulatedClock(START);
    const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
    const market = new SyntheticMarket(engine, { seed: 5, symbols: DEFAULT_SYNTHETIC_SYMBOLS });
    market.start();
    for (let minute = 1; minute <= 5; minute++) {
      clock.runUntil(START + minute * 60_000);
      for (const inst of engine.instruments()) {
        const book = engine.book(inst.index);
        expect(book.bestBid()).toBeGreaterThan(0);
        expect(book.bestAsk()).toBeGreaterThan(book.bestBid());
        expect(book.depth(BUY, 20).length).toBeGreaterThanOrEqual(10);
        expect(book.depth(SELL, 20).length).toBeGreaterThanOrEqual(10);
        const fair = market.fairPrice(inst.symbol) as number;
        const mid = ((book.bestBid() + book.bestAsk()) / 2) * Number(inst.tick.text);
        expect(Math.abs(mid - fair) / fair).toBeLessThan(0.002);
      }
    }
    expect(market.stats.takerOrders).toBeGreaterThan(100);
    expect(market.stats.makerRejected).toBe(0);
  });
});

describe("a market started after its origin (a live session resumed)", () => {
  const symbols = DEFAULT_INSTRUMENTS.map((i) => i.symbol as string);

  function market(at: number): { clock: SimulatedClock; market: SyntheticMarket; engine: ExchangeEngine } {
    const clock = new SimulatedClock(at);
    const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
    return { clock, engine, market: new SyntheticMarket(engine, { seed: 9, symbols: DEFAULT_SYNTHETIC_SYMBOLS }) };
  }

  it("quotes the fair prices the market had reached, and steps on with the same path", () => {
    const first = market(START);
    first.market.start({ originMs: START });
    first.clock.runUntil(START + 37 * 60_000 + 400);
    const reached = symbols.map((s) => first.market.fairPrice(s));
    const initial = market(START).market;
    expect(reached).not.toEqual(symbols.map((s) => initial.fairPrice(s)));

    // The second process starts 400 ms after the grid point it resumes on.
    const resumed = market(START + 37 * 60_000 + 400);
    resumed.market.start({ originMs: START });
    expect(symbols.map((s) => resumed.market.fairPrice(s))).toEqual(reached);
    const book = resumed.engine.book(0);
    const fair = resumed.market.fairPrice(symbols[0] as string) as number;
    const tick = Number(DEFAULT_INSTRUMENTS[0]?.tickSize);
    expect(book.bestBid() * tick).toBeLessThanOrEqual(fair);
    expect(book.bestAsk() * tick).toBeGreaterThanOrEqual(fair);

    // Both step on the same grid: 20 minutes later the fair prices still agree.
    first.clock.runUntil(START + 57 * 60_000 + 400);
    resumed.clock.runUntil(START + 57 * 60_000 + 400);
    expect(symbols.map((s) => resumed.market.fairPrice(s))).toEqual(symbols.map((s) => first.market.fairPrice(s)));
  });

  it("started at its origin (or with none) behaves as before", () => {
    const a = market(START);
    const b = market(START);
    a.market.start();
    b.market.start({ originMs: START });
    a.clock.runUntil(START + 5 * 60_000);
    b.clock.runUntil(START + 5 * 60_000);
    expect(b.market.stats).toEqual(a.market.stats);
    expect(symbols.map((s) => b.market.fairPrice(s))).toEqual(symbols.map((s) => a.market.fairPrice(s)));
  });
});

describe("queue position", () => {
  // A flat market (zero volatility, no background flow): only our own scripted takers trade.
  function flatMarket() {
    const { engine, maker, inst } = btcMakerEngine(START);
    const lp = new LiquidityProvider(engine, inst, maker, { levels: 3, halfSpreadBps: 1, medianNotional: 50_000, sizeSigma: 0 }, new Rng(1));
    lp.attach();
    lp.refresh(50_000);
    const user = engine.createAccount("user");
    engine.deposit(user, "USDT", "1000000");
    const taker = engine.createAccount("taker");
    engine.deposit(taker, "BTC", "100");
    return { engine, lp, user, taker, inst };
  }

  it("fills a passive order only after the quotes ahead of it in the queue are consumed", () => {
    const { engine, lp, user, taker, inst } = flatMarket();
    const book = engine.book(inst.index);
    const bid = book.bestBid();
    const ahead = book.levelQty(bid);
    expect(ahead).toBeGreaterThan(0);
    const r = engine.submit({ account: user, symbol: inst.index, side: BUY, price: bid, qty: 100 });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    // The market trades at our price, but only through the maker's earlier quote: we do not fill.
    engine.submit({ account: taker, symbol: inst.index, side: SELL, price: bid, qty: ahead - 1, tif: 1 });
    expect(engine.getOrder(r.orderId)?.filled).toBe("0");
    engine.submit({ account: taker, symbol: inst.index, side: SELL, price: bid, qty: 1, tif: 1 });
    expect(engine.getOrder(r.orderId)?.filled).toBe("0");
    expect(book.levelQty(bid)).toBe(100);
    // The maker re-quotes the emptied part of the level: its new quote queues behind ours.
    lp.refresh(50_000);
    expect(book.levelQty(bid)).toBeGreaterThan(100);
    engine.submit({ account: taker, symbol: inst.index, side: SELL, price: bid, qty: 40, tif: 1 });
    expect(engine.getOrder(r.orderId)?.filled).toBe("0.04");
    expect(engine.getOrder(r.orderId)?.status).toBe("partially_filled");
  });
});

describe("re-centring", () => {
  function maker(levels: number) {
    const clock = new SimulatedClock(START);
    const engine = new ExchangeEngine({
      clock,
      instruments: [{ symbol: "BTC/USDT", kind: "spot", base: "BTC", quote: "USDT", tickSize: "0.1", lotSize: "0.001", makerFee: "0", takerFee: "0" }],
    });
    const account = engine.createAccount("maker");
    engine.deposit(account, "USDT", "10000000");
    engine.deposit(account, "BTC", "1000");
    const inst = engine.instrument("BTC/USDT");
    if (inst === undefined) throw new Error("no instrument");
    const lp = new LiquidityProvider(engine, inst, account, { levels, halfSpreadBps: 1, medianNotional: 50_000, sizeSigma: 0.5 }, new Rng(5));
    lp.attach();
    return { engine, lp, account, book: engine.book(inst.index) };
  }
  const ids = (engine: ExchangeEngine, account: number): number[] => engine.openOrders(account).map((o) => o.orderId);

  it("moves off-grid quotes to the missing levels (same orders), leaving kept quotes in place", () => {
    const { engine, lp, account, book } = maker(5);
    const prices = (side: typeof BUY | typeof SELL): number[] => book.depth(side, 10).map((l) => l.price);
    lp.refresh(50_000);
    const first = ids(engine, account);
    expect(first).toHaveLength(10);
    expect(prices(BUY)).toEqual([499_950, 499_949, 499_948, 499_947, 499_946]);
    const kept = book.levelHandles(499_948);
    // A few ticks up: the bottom bids and the lowest asks leave the grid and come back at its
    // other end as the same orders; the quotes still on the grid keep their place.
    lp.refresh(50_000.3);
    expect(prices(BUY)).toEqual([499_952, 499_951, 499_950, 499_949, 499_948]);
    expect(prices(SELL)).toEqual([500_054, 500_055, 500_056, 500_057, 500_058]);
    expect(lp.stats).toMatchObject({ quotesPlaced: 10, quotesCanceled: 0, rejected: 0 });
    expect(lp.stats.quotesMoved).toBe(6);
    expect(ids(engine, account)).toEqual(first);
    expect(kept).toHaveLength(1);
    expect(book.levelHandles(499_948)).toEqual(kept);
    // A jump beyond the whole grid moves every quote.
    lp.refresh(51_000);
    expect(lp.stats.quotesMoved).toBe(16);
    expect(ids(engine, account)).toEqual(first);
    expect(prices(BUY)[0]).toBe(509_949);
    expect(prices(SELL)[0]).toBe(510_051);
  });
});
