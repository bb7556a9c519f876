import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import * as limitPrice from "../../src/oms/limit-price.js";
import { bidAskSeriesOf, type BidAskRow } from "../../src/marketdata/bid-ask-series.js";
import { passivityPriceText, roundPriceHalfEven } from "../../src/oms/limit-price.js";

// The computers read columns (BidAskSeries); the cases here are written as rows.
const passivityLimitPrice = (rows: readonly BidAskRow[], ...rest: DropFirst<Parameters<typeof limitPrice.passivityLimitPrice>>) => limitPrice.passivityLimitPrice(bidAskSeriesOf(rows), ...rest);
const volatilityLimitPrice = (rows: readonly BidAskRow[], ...rest: DropFirst<Parameters<typeof limitPrice.volatilityLimitPrice>>) => limitPrice.volatilityLimitPrice(bidAskSeriesOf(rows), ...rest);
const totalVolatility = (rows: readonly BidAskRow[], frequencySeconds: number) => limitPrice.totalVolatility(bidAskSeriesOf(rows), frequencySeconds);
type DropFirst<T extends unknown[]> = T extends [unknown, ...infer R] ? R : never;

describe("passivity limit price (DOMAIN golden cases)", () => {
  it("latest 51/61 (means 50.5/60.5), pf 0.1, buy -> 60.0", () => {
    const rows: BidAskRow[] = [
      { timestamp: 0, bid: 50, ask: 60 },
      { timestamp: 1000, bid: 51, ask: 61 },
    ];
    const r = passivityLimitPrice(rows, "buy", { passivityFactor: 0.1, priceDecimals: 2 });
    expect(r.meanBid).toBe(50.5);
    expect(r.meanAsk).toBe(60.5);
    expect(r.bidUsed).toBe("latest");
    expect(r.askUsed).toBe("latest");
    expect(r.limitPrice).toBe("60");
    expect(Number(r.limitPrice)).toBe(60.0);
  });

  it("bid 4.12, ask 4.121, pf 0.55, buy -> 4.12045", () => {
    const r = passivityLimitPrice([{ timestamp: 0, bid: 4.12, ask: 4.121 }], "buy", { passivityFactor: 0.55, priceDecimals: 5 });
    expect(r.limitPrice).toBe("4.12045");
  });

  it("pf 1 buys at the bid, pf 0 at the ask, sells mirror", () => {
    const rows = [{ timestamp: 0, bid: 100, ask: 101 }];
    expect(passivityLimitPrice(rows, "buy", { passivityFactor: 1, priceDecimals: 2 }).limitPrice).toBe("100");
    expect(passivityLimitPrice(rows, "buy", { passivityFactor: 0, priceDecimals: 2 }).limitPrice).toBe("101");
    expect(passivityLimitPrice(rows, "sell", { passivityFactor: 1, priceDecimals: 2 }).limitPrice).toBe("101");
    expect(passivityLimitPrice(rows, "sell", { passivityFactor: 0.5, priceDecimals: 2 }).limitPrice).toBe("100.5");
  });

  it("uses the mean when the latest strays more than max deviation", () => {
    const rows = [
      { timestamp: 0, bid: 100, ask: 101 },
      { timestamp: 1, bid: 100, ask: 101 },
      { timestamp: 2, bid: 110, ask: 101 },
    ];
    const r = passivityLimitPrice(rows, "buy", { passivityFactor: 1, priceDecimals: 4 });
    expect(r.bidUsed).toBe("mean");
    expect(r.askUsed).toBe("latest");
    expect(r.limitPrice).toBe("103.3333");
  });

  it("rounds half to even", () => {
    const rows = [{ timestamp: 0, bid: 1.0, ask: 1.05 }];
    // mid 1.025 -> 1.02 (half to even), mid 1.035 -> 1.04
    expect(passivityLimitPrice(rows, "buy", { passivityFactor: 0.5, priceDecimals: 2 }).limitPrice).toBe("1.02");
    expect(passivityLimitPrice([{ timestamp: 0, bid: 1.03, ask: 1.04 }], "buy", { passivityFactor: 0.5, priceDecimals: 2 }).limitPrice).toBe("1.04");
  });

  it("rejects an empty window and a bad factor", () => {
    expect(() => passivityLimitPrice([], "buy", { passivityFactor: 0.5, priceDecimals: 2 })).toThrow(/no bid\/ask/);
    expect(() => passivityLimitPrice([{ timestamp: 0, bid: 1, ask: 2 }], "buy", { passivityFactor: 1.5, priceDecimals: 2 })).toThrow(/passivity/);
  });
});

describe("volatility limit price", () => {
  it("golden: sell, last bid 0.3708, total_vol 0.000267716930635328, vm 0.75, 1-minute waves, precision 3 -> 0.371", () => {
    const rows = [{ timestamp: 0, bid: 0.3708, ask: 0.3709 }];
    const r = volatilityLimitPrice(rows, "sell", { volatilityMultiple: 0.75, frequencySeconds: 60, priceDecimals: 3, waveId: 0 }, 0.000267716930635328);
    expect(r.limitPrice).toBe("0.371");
  });

  it("computes total volatility from 100 ms forward-filled bins", () => {
    // Bid moves +1 at 200 ms, ask never moves: bins 0..3 -> bid diffs [0, 1, 0], ask diffs [0, 0, 0].
    const rows: BidAskRow[] = [
      { timestamp: 0, bid: 10, ask: 11 },
      { timestamp: 200, bid: 11, ask: 11 },
      { timestamp: 399, bid: 11, ask: 11 },
    ];
    const vol = totalVolatility(rows, 60);
    // sqrt((1 + 0) / (3 + 3)) * sqrt(60 * 10) = 10
    expect(vol).toBeCloseTo(10, 12);
    const buy = volatilityLimitPrice(rows, "buy", { volatilityMultiple: [0.5, 1], frequencySeconds: 60, priceDecimals: 4, waveId: 1 });
    expect(buy.limitPrice).toBe("1");
    const sell = volatilityLimitPrice(rows, "sell", { volatilityMultiple: [0.5, 1], frequencySeconds: 60, priceDecimals: 4, waveId: 0 });
    expect(sell.limitPrice).toBe("16");
    expect(() => volatilityLimitPrice(rows, "buy", { volatilityMultiple: [0.5], frequencySeconds: 60, priceDecimals: 4, waveId: 3 })).toThrow(/wave 3/);
  });

  it("prices the passivity mix as decimal.js does, quote for quote", () => {
    const quote = fc.oneof(
      fc.tuple(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 0, max: 8 })).map(([m, p]) => m / 10 ** p),
      fc.double({ min: 1e-6, max: 1e6, noNaN: true }),
    );
    const factor = fc.oneof(fc.constantFrom(0, 0.25, 0.5, 0.75, 1), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(quote, quote, factor, fc.integer({ min: 0, max: 10 }), (near, far, pf, decimals) => {
        const d = new Decimal(pf);
        const expected = roundPriceHalfEven(new Decimal(near).mul(d).add(new Decimal(far).mul(new Decimal(1).sub(d))), decimals).toFixed();
        expect(passivityPriceText(near, far, pf, decimals)).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
