import fc from "fast-check";
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { Portfolio, PortfolioError } from "../../src/oms/portfolio.js";

const P = (entries: [number, string][]): Map<number, Decimal> => new Map(entries.map(([a, p]) => [a, new Decimal(p)]));

describe("portfolio (hand-computed)", () => {
  it("tracks cash, holdings, notional, pnl and fees bar by bar", () => {
    const pf = new Portfolio("1000");
    // Bar 1: buy 2 of asset 1 at 100, fee 0.2. Marked at 101.
    pf.applyFill(1, "2", "100", "0.2");
    const b1 = pf.markBar(1, P([[1, "101"]]));
    expect(b1.cash.toString()).toBe("799.8");
    expect(b1.assets[0]?.holdingsNotional.toString()).toBe("202");
    expect(b1.assets[0]?.executedTradesNotional.toString()).toBe("200");
    expect(b1.pnl).toBeUndefined();
    expect(b1.nmv.toString()).toBe("202");
    expect(b1.netWealth.toString()).toBe("1001.8");
    expect(b1.leverage).toBeCloseTo(202 / 1001.8, 12);
    expect(b1.fees.toString()).toBe("0.2");
    // Bar 2: sell 3 of asset 1 at 102 (now short 1), buy 5 of asset 2 at 10. Marks 103 and 9.
    pf.applyFill(1, "-3", "102", "0.3");
    pf.applyFill(2, "5", "10", "0.05");
    const b2 = pf.markBar(2, P([[1, "103"], [2, "9"]]));
    // asset 1: notional -103, previous 202, executed -306 -> pnl = (-103 - 202) + 306 = 1
    expect(b2.assets[0]?.pnl?.toString()).toBe("1");
    // asset 2: notional 45, previous 0, executed 50 -> pnl -5
    expect(b2.assets[1]?.pnl?.toString()).toBe("-5");
    expect(b2.pnl?.toString()).toBe("-4");
    expect(b2.cash.toString()).toBe("1055.45");
    expect(b2.nmv.toString()).toBe("-58");
    expect(b2.gmv.toString()).toBe("148");
    expect(b2.grossVolume.toString()).toBe("356");
    expect(b2.netVolume.toString()).toBe("-256");
    expect(b2.fees.toString()).toBe("0.35");
    // Net wealth changes by pnl minus fees: 1001.8 - 4 - 0.35
    expect(b2.netWealth.toString()).toBe("997.45");
  });

  it("refuses to mark a held asset without a price, and bars out of order", () => {
    const pf = new Portfolio(0);
    pf.applyFill(1, 1, 1);
    expect(() => pf.markBar(5, new Map())).toThrow(/no mark price for asset 1/);
    pf.markBar(5, P([[1, "1"]]));
    expect(() => pf.markBar(5, P([[1, "1"]]))).toThrow(PortfolioError);
  });

  it("gives the bars of a plain decimal.js reference to the digit, over random fills and marks", () => {
    /** DOMAIN.md section 6 in decimal.js alone, written apart: what a faster portfolio must still give. */
    class Reference {
      private cash: Decimal;
      private readonly holdings = new Map<number, Decimal>();
      private readonly last = new Map<number, Decimal>();
      private pending = new Map<number, { shares: Decimal; notional: Decimal; fees: Decimal }>();
      private bars = 0;
      constructor(cash: string) {
        this.cash = new Decimal(cash);
      }
      applyFill(id: number, shares: Decimal, price: Decimal, fees: Decimal): void {
        const notional = shares.mul(price);
        this.holdings.set(id, (this.holdings.get(id) ?? new Decimal(0)).add(shares));
        this.cash = this.cash.sub(notional).sub(fees);
        const p = this.pending.get(id) ?? { shares: new Decimal(0), notional: new Decimal(0), fees: new Decimal(0) };
        this.pending.set(id, { shares: p.shares.add(shares), notional: p.notional.add(notional), fees: p.fees.add(fees) });
      }
      markBar(prices: ReadonlyMap<number, Decimal>): unknown {
        const ids = [...new Set([...this.holdings.keys(), ...this.pending.keys(), ...this.last.keys()])].sort((a, b) => a - b);
        let nmv = new Decimal(0);
        let gmv = new Decimal(0);
        let gross = new Decimal(0);
        let net = new Decimal(0);
        let pnl = new Decimal(0);
        let fees = new Decimal(0);
        const assets = ids.map((id) => {
          const shares = this.holdings.get(id) ?? new Decimal(0);
          const price = prices.get(id) ?? new Decimal(0);
          const notional = shares.mul(price);
          const e = this.pending.get(id) ?? { shares: new Decimal(0), notional: new Decimal(0), fees: new Decimal(0) };
          const assetPnl = this.bars === 0 ? undefined : notional.sub(this.last.get(id) ?? 0).sub(e.notional);
          nmv = nmv.add(notional);
          gmv = gmv.add(notional.abs());
          gross = gross.add(e.notional.abs());
          net = net.add(e.notional);
          if (assetPnl !== undefined) pnl = pnl.add(assetPnl);
          fees = fees.add(e.fees);
          this.last.set(id, notional);
          return { assetId: id, holdingsShares: shares, price, holdingsNotional: notional, executedTradesShares: e.shares, executedTradesNotional: e.notional, pnl: assetPnl, fees: e.fees };
        });
        const netWealth = nmv.add(this.cash);
        const bar = { assets, cash: this.cash, nmv, gmv, netWealth, leverage: netWealth.isZero() ? 0 : gmv.div(netWealth).toNumber(), grossVolume: gross, netVolume: net, pnl: this.bars === 0 ? undefined : pnl, fees };
        this.pending = new Map();
        this.bars++;
        return bar;
      }
    }
    /** Decimal text with up to `digits` significant digits and `places` decimals (wide enough to leave the scaled path now and then). */
    const text = (digits: number, places: number): fc.Arbitrary<string> =>
      fc.tuple(fc.integer({ min: 1, max: 10 ** digits - 1 }), fc.integer({ min: 0, max: places })).map(([m, p]) => new Decimal(m).div(new Decimal(10).pow(p)).toFixed());
    const fill = fc.record({ asset: fc.integer({ min: 1, max: 4 }), shares: text(9, 8), sell: fc.boolean(), price: text(8, 6), fees: fc.oneof(fc.constant("0"), text(6, 10)) });
    const bars = fc.array(fc.record({ fills: fc.array(fill, { maxLength: 5 }), prices: fc.array(text(8, 6), { minLength: 4, maxLength: 4 }) }), { minLength: 1, maxLength: 12 });
    /** A bar as decimal.js's valueOf texts (which, unlike the logs' text, tell -0 from 0). */
    const view = (bar: unknown): string => JSON.stringify(bar);
    fc.assert(
      fc.property(fc.oneof(fc.constant("100000"), text(12, 4)), bars, (cash, script) => {
        const p = new Portfolio(cash);
        const ref = new Reference(cash);
        script.forEach((b, i) => {
          for (const f of b.fills) {
            const shares = new Decimal(f.sell ? "-" + f.shares : f.shares);
            p.applyFill(f.asset, shares, new Decimal(f.price), new Decimal(f.fees));
            ref.applyFill(f.asset, shares, new Decimal(f.price), new Decimal(f.fees));
          }
          const prices = new Map(b.prices.map((x, k) => [k + 1, new Decimal(x)] as const));
          const { timestamp: _t, ...got } = p.markBar(1_000 * (i + 1), prices);
          expect(view(got)).toBe(view(ref.markBar(prices)));
        });
      }),
      { numRuns: 400 },
    );
  });
});
