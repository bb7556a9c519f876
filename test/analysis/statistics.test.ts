import { describe, expect, it } from "vitest";
import { maxDrawdown, mean, pearson, std, summaryStatistics } from "../../src/analysis/statistics.js";

describe("summary statistics (hand-computed)", () => {
  it("computes the basic moments and drawdown", () => {
    expect(mean([1, 2, 3, 4])).toBe(2.5);
    expect(std([1, 2, 3, 4])).toBeCloseTo(Math.sqrt(5 / 3), 12);
    expect(maxDrawdown([5, -3, 2, -6, 1])).toBe(7); // peak 5 -> trough -2
    expect(maxDrawdown([1, 1, 1])).toBe(0);
    expect(pearson([1, 2, 3], [2, 4, 6])).toBeCloseTo(1, 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
  });

  it("annualizes with 365 days and expresses figures as % of mean gmv", () => {
    const day = 24 * 3600 * 1000;
    const s = summaryStatistics({ barMs: day, pnl: [10, -5, 15, 0], gmv: [1000, 1000, 1000, 1000], nmv: [100, -100, 300, -300], grossVolume: [200, 0, 400, 200] });
    const mu = 5;
    const sd = std([10, -5, 15, 0]);
    expect(s.sharpeRatio).toBeCloseTo((mu / sd) * Math.sqrt(365), 10);
    expect(s.annualizedReturn.dollars).toBeCloseTo(mu * 365, 10);
    expect(s.annualizedReturn.pctOfGmv).toBeCloseTo(182.5, 10);
    expect(s.annualizedVolatility.dollars).toBeCloseTo(sd * Math.sqrt(365), 10);
    expect(s.maxDrawdown.dollars).toBe(5);
    expect(s.maxDrawdown.pctOfGmv).toBeCloseTo(0.5, 12);
    expect(s.turnoverMean.dollars).toBe(200);
    expect(s.marketBiasMean.dollars).toBe(0);
    expect(s.pnlPerGrossVolumeBps).toBeCloseTo((1e4 * 20) / 800, 10);
    expect(s.totalPnl).toBe(20);
  });
});
