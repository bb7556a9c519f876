// A live feed's failed polls reach the run: a warning per bar with a count, and a stop once every
// symbol has had no data for longer than data.maxOutageSeconds (the feed polls the embedded venue's
// client, made to fail with network errors for a while).

import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { ExchangeEngine } from "../../src/exchange/engine.js";
import { DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS } from "../../src/exchange/market/default-instruments.js";
import { SyntheticMarket } from "../../src/exchange/market/synthetic-market.js";
import { EmbeddedVenueClient } from "../../src/exchanges/embedded-venue-client.js";
import { NetworkError } from "../../src/exchanges/errors.js";
import { ExchangeClientFeed } from "../../src/marketdata/exchange-client-feed.js";
import { MarketDataStore } from "../../src/marketdata/market-data-store.js";
import { MINUTE_MS } from "../../src/marketdata/types.js";
import { resolveConfig } from "../../src/system/config.js";
import { feedHealthCheck, MarketDataOutageError } from "../../src/system/feed-health.js";
import { advance } from "../helpers/advance-clock.js";

const T0 = Date.UTC(2024, 0, 2);
const SYMBOLS = DEFAULT_INSTRUMENTS.slice(0, 2).map((i) => i.symbol as string);


/** A feed whose polls of `failing` symbols throw while `down(t)`. */
function feedWithOutage(down: (t: number) => boolean, failing: readonly string[] = SYMBOLS) {
  const clock = new SimulatedClock(T0);
  const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
  const market = new SyntheticMarket(engine, { seed: 5, symbols: DEFAULT_SYNTHETIC_SYMBOLS });
  const client = new EmbeddedVenueClient(engine, { account: engine.createAccount("reader") });
  const fetch = client.fetchOrderBook.bind(client);
  client.fetchOrderBook = async (symbol: string, limit?: number) => {
    if (failing.includes(symbol) && down(clock.now())) throw new NetworkError("binanceusdm GET /fapi/v1/depth: connection reset");
    return fetch(symbol, limit);
  };
  const feed = new ExchangeClientFeed(client, clock, SYMBOLS, new MarketDataStore({ symbols: SYMBOLS }), { pollMs: 1_000 });
  market.start();
  feed.start();
  return { clock, feed, stop: () => (feed.stop(), market.stop()) };
}

describe("feed health at each bar", () => {
  it("says nothing while every poll works", async () => {
    const { clock, feed, stop } = feedWithOutage(() => false);
    const check = feedHealthCheck(feed, "binanceusdm (ccxt)", 300_000);
    await advance(clock, T0 + MINUTE_MS);
    expect(check(T0 + MINUTE_MS)).toEqual([]);
    stop();
  });

  it("warns with a count when some polls failed, naming the symbols still failing", async () => {
    const { clock, feed, stop } = feedWithOutage((t) => t >= T0 + 30_000, [SYMBOLS[1] as string]);
    const check = feedHealthCheck(feed, "binanceusdm (ccxt)", 300_000);
    await advance(clock, T0 + MINUTE_MS);
    expect(check(T0 + MINUTE_MS)).toEqual([`market data from binanceusdm (ccxt): 30 of 120 polls failed since the previous bar (still failing: ${SYMBOLS[1]}; last error: binanceusdm GET /fapi/v1/depth: connection reset)`]);
    stop();
  });

  it("stops the run once no symbol has had data for longer than the allowed outage", async () => {
    const { clock, feed, stop } = feedWithOutage((t) => t >= T0 + 30_000);
    const check = feedHealthCheck(feed, "binanceusdm (ccxt)", 120_000);
    await advance(clock, T0 + MINUTE_MS);
    expect(check(T0 + MINUTE_MS)).toHaveLength(1);
    await advance(clock, T0 + 2 * MINUTE_MS);
    expect(check(T0 + 2 * MINUTE_MS)).toEqual([expect.stringMatching(/120 of 120 polls failed/)]);
    await advance(clock, T0 + 3 * MINUTE_MS);
    expect(() => check(T0 + 3 * MINUTE_MS)).toThrow(MarketDataOutageError);
    expect(() => check(T0 + 3 * MINUTE_MS)).toThrow(/every poll has failed since 2024-01-02T00:00:29\.\d{3}Z \(151 s, more than the 120 s allowed by data\.maxOutageSeconds; last error: .*connection reset\): stopping rather than trading on stale prices/);
    stop();
  });

  it("the allowed outage is data.maxOutageSeconds, 300 s by default", () => {
    const prod = { model: { name: "momentum" }, mode: "prod" as const, confirmProd: true, start: "2024-01-02T00:00:00Z", end: "2024-01-02T01:00:00Z", universe: { kind: "symbols" as const, symbols: ["BTC/USDT:USDT"] } };
    expect(resolveConfig(prod).data).toEqual({ source: "exchange", pollMs: 1_000, maxOutageSeconds: 300 });
    expect(resolveConfig({ ...prod, data: { source: "exchange", maxOutageSeconds: 60 } }).data).toEqual({ source: "exchange", pollMs: 1_000, maxOutageSeconds: 60 });
  });
});
