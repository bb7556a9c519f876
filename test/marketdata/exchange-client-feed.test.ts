// The prod data source (ExchangeClientFeed) polling a real ExchangeClient: the embedded venue's
// client over a synthetic market on a SimulatedClock. Bid/ask rows are the book's top at each poll,
// minute bars are built from the polled mids and published at the minute's end, and a failed poll
// is recorded as a gap while polling goes on.

import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS } from "../../src/exchange/market/default-instruments.js";
import { SyntheticMarket } from "../../src/exchange/market/synthetic-market.js";
import { EmbeddedVenueClient } from "../../src/exchanges/embedded-venue-client.js";
import { NetworkError } from "../../src/exchanges/errors.js";
import { ExchangeClientFeed, KEPT_ERRORS } from "../../src/marketdata/exchange-client-feed.js";
import { MarketDataStore } from "../../src/marketdata/market-data-store.js";
import { MINUTE_MS } from "../../src/marketdata/types.js";
import { advance } from "../helpers/advance-clock.js";

const T0 = Date.UTC(2024, 0, 2);
const SYMBOLS = DEFAULT_INSTRUMENTS.slice(0, 2).map((i) => i.symbol as string);


function setup() {
  const clock = new SimulatedClock(T0);
  const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
  const market = new SyntheticMarket(engine, { seed: 5, symbols: DEFAULT_SYNTHETIC_SYMBOLS });
  const client = new EmbeddedVenueClient(engine, { account: engine.createAccount("reader") });
  const store = new MarketDataStore({ symbols: SYMBOLS });
  market.start();
  return { clock, engine, market, client, store };
}

describe("exchange client feed (prod market data)", () => {
  it("stores the top of the book at each poll and minute bars of the polled mids, known at the minute's end", async () => {
    const { clock, engine, market, client, store } = setup();
    const tops: { symbol: string; t: number; bid: number; ask: number }[] = [];
    // The book's top as the engine has it when each poll reads it.
    const fetch = client.fetchOrderBook.bind(client);
    client.fetchOrderBook = async (symbol: string, limit?: number) => {
      const book = await fetch(symbol, limit);
      tops.push({ symbol, t: clock.now(), bid: book.bids[0]?.[0] as number, ask: book.asks[0]?.[0] as number });
      return book;
    };
    const feed = new ExchangeClientFeed(client, clock, SYMBOLS, store, { pollMs: 1_000 });
    feed.start();
    await advance(clock, T0 + 3 * MINUTE_MS + 500);
    feed.stop();
    market.stop();
    expect(engine.instruments().length).toBeGreaterThan(0);
    for (const symbol of SYMBOLS) {
      const rows = store.bidAsk(symbol, T0, clock.now());
      const polled = tops.filter((x) => x.symbol === symbol);
      expect(rows.length).toBe(polled.length);
      expect(rows.length).toBeGreaterThanOrEqual(180);
      rows.forEach((r, i) => {
        expect([r.bid, r.ask]).toEqual([polled[i]?.bid, polled[i]?.ask]);
        expect(r.bid).toBeLessThan(r.ask);
      });
      // Three closed minutes, each from the mids polled in it, known only at its end.
      const bars = store.bars(symbol, MINUTE_MS, T0, clock.now());
      expect(bars.map((b) => b.start)).toEqual([T0, T0 + MINUTE_MS, T0 + 2 * MINUTE_MS]);
      for (const b of bars) {
        const mids = polled.filter((x) => x.t >= b.start && x.t < b.end).map((x) => (x.bid + x.ask) / 2);
        expect([b.open, b.high, b.low, b.close]).toEqual([mids[0], Math.max(...mids), Math.min(...mids), mids.at(-1)]);
        expect(b.knowledgeTime).toBe(b.end);
        expect(store.bars(symbol, MINUTE_MS, T0, b.end - 1).some((x) => x.start === b.start)).toBe(false);
      }
    }
  });

  it("records a failed poll as a gap and goes on polling", async () => {
    const { clock, market, client, store } = setup();
    const fetch = client.fetchOrderBook.bind(client);
    let calls = 0;
    client.fetchOrderBook = async (symbol: string, limit?: number) => {
      if (calls++ === 3) throw new NetworkError("embedded: connection reset");
      return fetch(symbol, limit);
    };
    const failed: string[] = [];
    const feed = new ExchangeClientFeed(client, clock, SYMBOLS, store, { pollMs: 1_000, onError: (s) => failed.push(s) });
    feed.start();
    await advance(clock, T0 + 10_500);
    feed.stop();
    market.stop();
    expect(feed.errors.map((e) => [e.symbol, e.message])).toEqual([[SYMBOLS[1], "embedded: connection reset"]]);
    expect(failed).toEqual([SYMBOLS[1]]);
    // One row fewer for that symbol: the gap, and polling went on after it.
    expect(store.bidAsk(SYMBOLS[0] as string, T0, clock.now()).length - store.bidAsk(SYMBOLS[1] as string, T0, clock.now()).length).toBe(1);
    expect(store.bidAsk(SYMBOLS[1] as string, T0 + 2_000, clock.now()).length).toBeGreaterThan(5);
  });

  it("does not open a published minute again when the exchange's book time trails the local clock", async () => {
    const { clock, market, client, store } = setup();
    const fetch = client.fetchOrderBook.bind(client);
    // As a real exchange's: a few hundred ms behind the local clock, so the poll just after a
    // minute boundary carries a time inside the minute that was just published.
    client.fetchOrderBook = async (symbol: string, limit?: number) => ({ ...(await fetch(symbol, limit)), timestamp: clock.now() - 300 });
    const feed = new ExchangeClientFeed(client, clock, SYMBOLS, store, { pollMs: 1_000 });
    feed.start();
    await advance(clock, T0 + 3 * MINUTE_MS + 500);
    feed.flush(clock.now());
    feed.stop();
    market.stop();
    for (const symbol of SYMBOLS) {
      const bars = store.allBars(symbol, MINUTE_MS);
      // Each minute once (the first poll's book time, 300 ms before T0, opened the minute before).
      expect(bars.map((b) => b.start)).toEqual([T0 - MINUTE_MS, T0, T0 + MINUTE_MS, T0 + 2 * MINUTE_MS]);
      for (const b of bars) expect(b.knowledgeTime).toBe(b.end);
    }
  });

  it("reports failed polls and since when no symbol has had data; keeps only the latest errors", async () => {
    const { clock, market, client, store } = setup();
    const fetch = client.fetchOrderBook.bind(client);
    const down = (t: number): boolean => t >= T0 + 20_000 && t < T0 + 90_000;
    client.fetchOrderBook = async (symbol: string, limit?: number) => {
      if (down(clock.now())) throw new NetworkError("embedded: connection reset");
      return fetch(symbol, limit);
    };
    const feed = new ExchangeClientFeed(client, clock, SYMBOLS, store, { pollMs: 1_000 });
    feed.start();
    await advance(clock, T0 + 10_500);
    expect(feed.report()).toEqual({ polls: 22, failedPolls: 0, failing: [], downSince: undefined });
    await advance(clock, T0 + 80_500);
    const out = feed.report();
    // Rounds at 11..19 s succeeded, 20..80 s failed.
    expect([out.polls, out.failedPolls]).toEqual([2 * 70, 2 * 61]);
    expect(out.failing).toEqual(SYMBOLS.map((symbol) => ({ symbol, message: "embedded: connection reset" })));
    // The last successful poll, in the round at 19 s (the clock moves in 250 ms steps here).
    expect(out.downSince).toBeGreaterThanOrEqual(T0 + 19_000);
    expect(out.downSince).toBeLessThan(T0 + 20_000);
    // 2 symbols x 61 failed rounds, of which the latest KEPT_ERRORS are kept.
    expect(feed.errors).toHaveLength(KEPT_ERRORS);
    expect(feed.errors.at(-1)?.at).toBeGreaterThanOrEqual(T0 + 80_000);
    await advance(clock, T0 + 100_500);
    feed.stop();
    market.stop();
    const back = feed.report();
    expect([back.failing, back.downSince]).toEqual([[], undefined]);
    expect(back.failedPolls).toBeGreaterThan(0);
  });
});
