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
});
