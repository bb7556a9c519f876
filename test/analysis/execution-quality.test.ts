// Execution quality of one parent order against cases worked out by hand (DOMAIN.md section 7):
// fill rate, slippage, fees, and the underfill's opportunity cost and tracking error.

import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { parentQuality, summarizeExecution, type ParentExecution } from "../../src/analysis/execution-quality.js";
import { BarContext } from "../../src/analysis/run-execution.js";

function parent(p: Partial<ParentExecution> & Pick<ParentExecution, "targetShares" | "filledShares">): ParentExecution {
  return { parentOrderId: 1, symbol: "A/USDT", fillPrice: new Decimal(101), arrivalPrice: new Decimal(100), fees: new Decimal(0), ...p };
}

describe("parent execution quality", () => {
  it("a buy filled 6 of 10: underfill 4, its opportunity cost at the next mark, tracking error in shares, notional and bps of net wealth", () => {
    const q = parentQuality(parent({ targetShares: new Decimal(10), filledShares: new Decimal(6), fees: new Decimal("0.303"), nextMark: new Decimal(103), netWealth: new Decimal(10_000) }));
    expect(q.fillRate).toBe(0.6);
    // side * (101 - 100) = 1 per share, 1 / 100 = 100 bps; fees 0.303 / (6 * 101) = 5 bps.
    expect(q.slippagePerShare).toBe(1);
    expect(q.slippageBps).toBe(100);
    expect(q.feesBps).toBeCloseTo(5, 12);
    // 4 unfilled shares missed 103 - 100 each: 12; 6 - 10 = -4 shares, -400 at arrival, 400 / 10000.
    expect(q.underfillShares).toBe(4);
    expect(q.opportunityCost).toBe(12);
    expect(q.trackingErrorShares).toBe(-4);
    expect(q.trackingErrorNotional).toBe(-400);
    expect(q.trackingErrorBps).toBe(400);
  });

  it("a sell filled 7 of 10 whose price then fell: the underfill cost 3 x 2", () => {
    const q = parentQuality(parent({ targetShares: new Decimal(-10), filledShares: new Decimal(-7), fillPrice: new Decimal(49.5), arrivalPrice: new Decimal(50), nextMark: new Decimal(48), netWealth: new Decimal(1000) }));
    expect(q.underfillShares).toBe(3);
    expect(q.opportunityCost).toBe(6);
    // -7 - (-10) = +3 shares short of the target, 150 at arrival: 1500 bps of 1000.
    expect(q.trackingErrorShares).toBe(3);
    expect(q.trackingErrorNotional).toBe(150);
    expect(q.trackingErrorBps).toBe(1500);
  });

  it("a full fill has no underfill; without a next mark or net wealth those terms are unknown, not zero", () => {
    const full = parentQuality(parent({ targetShares: new Decimal(5), filledShares: new Decimal(5), nextMark: new Decimal(90) }));
    expect([full.underfillShares, full.opportunityCost, full.trackingErrorShares, full.trackingErrorNotional]).toEqual([0, 0, 0, 0]);
    const none = parentQuality(parent({ targetShares: new Decimal(5), filledShares: new Decimal(0), fillPrice: undefined }));
    expect(none.underfillShares).toBe(5);
    expect(none.opportunityCost).toBeUndefined();
    expect(none.trackingErrorBps).toBeUndefined();
  });

  it("prices a wave from its children's filled cost against their parents' arrival prices", () => {
    const d = (x: number | string): Decimal => new Decimal(x);
    const wave = (filled: number, cost: number, fees: number, arrival: number, side: 1 | -1) => ({
      wave: 0, childAmount: d(10), filled: d(filled), makerAmount: d(filled), takerAmount: d(0), priced: { filledCost: d(cost), fees: d(fees), arrivalPrice: d(arrival), side },
    });
    // A buy filled 4 at 101 (cost 404) against 100: +100 bps on 404; a sell filled 2 at 49 (cost 98)
    // against 50: side -1 * (49 - 50) / 50 = +200 bps on 98. Weighted: (0.01 * 404 + 0.02 * 98) / 502.
    const s = summarizeExecution([], [wave(4, 404, 0.404, 100, 1), wave(2, 98, 0.196, 50, -1)]);
    expect(s.perWave[0]?.slippageBps).toBeCloseTo((1e4 * (0.01 * 404 + 0.02 * 98)) / 502, 9);
    expect(s.perWave[0]?.feesBps).toBeCloseTo((1e4 * 0.6) / 502, 9);
    // Unpriced waves (a reconciliation's) carry no slippage.
    expect(summarizeExecution([], [{ wave: 0, childAmount: d(1), filled: d(1), makerAmount: d(1), takerAmount: d(0) }]).perWave[0]?.slippageBps).toBeUndefined();
  });

  it("the summary sums opportunity cost over parents with a next mark and |tracking error notional| over all", () => {
    const s = summarizeExecution(
      [
        parent({ targetShares: new Decimal(10), filledShares: new Decimal(6), nextMark: new Decimal(103) }),
        parent({ parentOrderId: 2, targetShares: new Decimal(-10), filledShares: new Decimal(-7), arrivalPrice: new Decimal(50), fillPrice: new Decimal(49.5), nextMark: new Decimal(48) }),
        parent({ parentOrderId: 3, targetShares: new Decimal(2), filledShares: new Decimal(0), fillPrice: undefined }),
      ],
      [],
    );
    expect(s.opportunityCost).toBe(18);
    // 400 + 150 + 2 x 100
    expect(s.trackingErrorNotional).toBe(750);
    // Without any next mark (a broker-only experiment) the cost is unknown, not 0.
    expect(summarizeExecution([parent({ targetShares: new Decimal(10), filledShares: new Decimal(6) })], []).opportunityCost).toBeNaN();
  });

  it("the next bar's mark: the target row's price, else the portfolio's, never the 0 it writes for a flat asset without a price", () => {
    const portfolio = [
      { bar: 0, netWealth: "1000", assets: [] },
      { bar: 1, netWealth: "1001", assets: [{ assetId: 7, price: "0" }, { assetId: 8, price: "12.5" }] },
    ];
    const ctx = new BarContext(portfolio, (bar, assetId) => (bar === 1 && assetId === 9 ? "3" : undefined));
    expect(ctx.nextMark(0, 7)).toBeUndefined();
    expect(ctx.nextMark(0, 8)).toBe("12.5");
    expect(ctx.nextMark(0, 9)).toBe("3");
    expect(ctx.nextMark(1, 8)).toBeUndefined();
    expect(ctx.netWealth(1)).toBe("1001");
  });
});
