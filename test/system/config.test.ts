import { describe, expect, it } from "vitest";
import { resolveConfig, type SystemConfigInput } from "../../src/system/config.js";

const base: SystemConfigInput = {
  model: { name: "momentum" },
  start: "2024-01-02T00:00:00Z",
  end: "2024-01-02T02:00:00Z",
  barMinutes: 5,
};

describe("TWAP wave length (order.executionFrequencySeconds)", () => {
  it("refuses a wave as long as the bar: its only slot collects, so nothing is ever sent", () => {
    expect(() => resolveConfig({ ...base, barMinutes: 1, order: { executionFrequencySeconds: 60 } }, "c.json")).toThrow(/c\.json: order\.executionFrequencySeconds: a 60 s wave is not shorter than the 60 s 1-minute bar: .*no child would ever be sent/);
    expect(() => resolveConfig({ ...base, order: { executionFrequencySeconds: 600 } }, "c.json")).toThrow(/order\.executionFrequencySeconds: a 600 s wave is not shorter/);
  });

  it("refuses a wave under the 4 s skip rule (DOMAIN.md section 3): every wave would be skipped", () => {
    expect(() => resolveConfig({ ...base, order: { executionFrequencySeconds: 3 } }, "c.json")).toThrow(/c\.json: order\.executionFrequencySeconds: 3 s waves never trade: a wave with less than 4 s left is skipped/);
  });

  it("refuses a wave that does not divide the bar, which crashed the volatility computer mid-run", () => {
    const volatility = { limitPrice: "volatility" as const, volatilityMultiple: [0.5, 0.7] };
    expect(() => resolveConfig({ ...base, order: { ...volatility, executionFrequencySeconds: 120 } }, "c.json")).toThrow(/c\.json: order\.executionFrequencySeconds: 120 s does not divide the 300 s 5-minute bar/);
    expect(() => resolveConfig({ ...base, order: { executionFrequencySeconds: 45 } }, "c.json")).toThrow(/45 s does not divide the 300 s 5-minute bar/);
  });

  it("accepts the shortest and longest waves that trade, and the defaults of every bar length", () => {
    expect(resolveConfig({ ...base, order: { executionFrequencySeconds: 4 } }).order.executionFrequencySeconds).toBe(4);
    expect(resolveConfig({ ...base, order: { executionFrequencySeconds: 150 } }).order.executionFrequencySeconds).toBe(150);
    for (const barMinutes of [1, 2, 3, 4, 5, 15, 60, 1440]) {
      expect(() => resolveConfig({ ...base, barMinutes, start: "2024-01-02T00:00:00Z", end: "2024-01-03T00:00:00Z" }), `${barMinutes}-minute bars`).not.toThrow();
    }
  });
});
