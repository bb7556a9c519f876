// The research portfolio against a case worked out by hand: two assets, three bars, no volatility
// scaling, so the weights, shares and PnL can be written down.

import { WideDecimal } from "../../src/core/wide-decimal.js";
import { describe, expect, it } from "vitest";
import { buildResearchPortfolio } from "../../src/analysis/research-portfolio.js";

const A = 1;
const B = 2;
const universe = [{ assetId: A, symbol: "A/USDT" }, { assetId: B, symbol: "B/USDT" }];
const marks = (a: string | undefined, b: string | undefined): Map<number, WideDecimal> => {
  const m = new Map<number, WideDecimal>();
  if (a !== undefined) m.set(A, WideDecimal.of(a));
  if (b !== undefined) m.set(B, WideDecimal.of(b));
  return m;
};
const targets = { grossExposure: 1000, volatilityScaling: false, dollarNeutral: false, maxWeight: 1 };

describe("research portfolio", () => {
  it("trades the whole target at the bar's mark, without fees, and earns holdings x price change", () => {
    const r = buildResearchPortfolio({
      timestamps: [0, 300_000, 600_000],
      universe,
      // bar 0: weights +0.5 / -0.5 -> 500 / -500 USD; bar 1: weights 0.25 / 0.75 -> 250 / 750 USD.
      predictions: [{ "A/USDT": 1, "B/USDT": -1 }, { "A/USDT": 1, "B/USDT": 3 }],
      volatility: [undefined, undefined],
      marks: [marks("10", "20"), marks("11", "19"), marks("12", "20")],
      targets,
      initialCash: "100000",
    });
    expect(r.bars).toHaveLength(3);
    expect(r.bars[0]?.pnl).toBeUndefined();
    // Bar 0 buys 50 A at 10 and sells 25 B at 20: cash unchanged, nothing held yet at the mark.
    expect(r.targets[0]?.targetShares.get(A)?.toFixed()).toBe("50");
    expect(r.targets[0]?.targetShares.get(B)?.toFixed()).toBe("-25");
    const b1 = r.bars[1];
    expect(b1?.cash.toFixed()).toBe("100000");
    // Bar 1: 50 x (11 - 10) + (-25) x (19 - 20) = 50 + 25.
    expect(b1?.pnl?.toFixed()).toBe("75");
    expect(b1?.assets.find((a) => a.assetId === A)?.executedTradesShares.toFixed()).toBe("50");
    expect(b1?.fees.toFixed()).toBe("0");
    // Bar 1 targets: 250 / 11 and 750 / 19 to 12 significant digits (the run's own sizing rule).
    expect(r.targets[1]?.targetShares.get(A)?.toFixed()).toBe("22.7272727273");
    expect(r.targets[1]?.targetShares.get(B)?.toFixed()).toBe("39.4736842105");
    expect(r.targets[1]?.tradeShares.get(A)?.toFixed()).toBe("-27.2727272727");
    // Bar 2: 22.7272727273 x (12 - 11) + 39.4736842105 x (20 - 19).
    expect(r.bars[2]?.pnl?.toFixed()).toBe("62.2009569378");
    expect(r.bars[2]?.assets.find((a) => a.assetId === B)?.holdingsNotional.toFixed()).toBe("789.47368421");
  });

  it("a held asset without a new mark is sized, traded and valued at its last mark, as the run does; a NaN prediction weighs nothing", () => {
    const r = buildResearchPortfolio({
      timestamps: [0, 300_000, 600_000],
      universe,
      predictions: [{ "A/USDT": 1, "B/USDT": 1 }, { "A/USDT": null, "B/USDT": 1 }],
      volatility: [undefined, undefined],
      marks: [marks("10", "20"), marks("10", undefined), marks("10", "21")],
      targets,
      initialCash: "1000",
    });
    // Bar 1 has no mark for B, held at 25 (500 / 20): valued at 20, and, as the run carries a held
    // asset's last mark into its targets (bar-loop.ts), sized at 20: weight 1 -> 1000 / 20 = 50 B.
    expect(r.bars[1]?.assets.find((a) => a.assetId === B)?.price.toFixed()).toBe("20");
    expect(r.targets[1]?.targetShares.get(B)?.toFixed()).toBe("50");
    expect(r.targets[1]?.tradeShares.get(B)?.toFixed()).toBe("25");
    // A's prediction is NaN: weight 0, so A is sold out at bar 1.
    expect(r.targets[1]?.targetShares.get(A)?.toFixed()).toBe("0");
    // Bar 2: 50 B x (21 - 20).
    expect(r.bars[2]?.pnl?.toFixed()).toBe("50");
  });

  it("an asset neither held nor marked keeps no position", () => {
    const r = buildResearchPortfolio({
      timestamps: [0, 300_000],
      universe,
      predictions: [{ "A/USDT": 1, "B/USDT": 1 }],
      volatility: [undefined],
      marks: [marks("10", undefined), marks("10", "20")],
      targets,
      initialCash: "1000",
    });
    expect(r.targets[0]?.targetShares.get(B)?.toFixed()).toBe("0");
    expect(r.targets[0]?.tradeShares.has(B)).toBe(false);
  });
});
