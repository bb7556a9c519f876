import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";
import { averagePriceText, ExchangeEngine } from "../../src/exchange/engine.js";
import { feeOf, Instrument, InstrumentError, instrumentSpecSchema, type InstrumentSpec } from "../../src/exchange/instrument.js";
import { parseStep } from "../../src/core/units.js";
import { PERP_SPEC, SPOT_SPEC, T0 } from "./helpers.js";

const usdt8 = { index: 1, name: "USDT", unit: parseStep("0.00000001") };
const btc8 = { index: 0, name: "BTC", unit: parseStep("0.00000001") };

function compile(spec: InstrumentSpec, base = btc8, quote = usdt8): Instrument {
  return new Instrument(0, instrumentSpecSchema.parse(spec), base, quote);
}

describe("Instrument", () => {
  it("compiles a spec to integers", () => {
    const i = compile(SPOT_SPEC);
    expect(i.tick).toEqual({ mantissa: 1, scale: 1, text: "0.1" });
    expect(i.lot).toEqual({ mantissa: 1, scale: 3, text: "0.001" });
    // 0.1 x 0.001 = 0.0001 USDT = 10^4 units of 10^-8.
    expect(i.notionalFactor).toBe(10_000);
    // 0.001 BTC = 10^5 units of 10^-8.
    expect(i.lotFactor).toBe(100_000);
    expect(i.minQtyLots).toBe(1); // minQty "0" still means one lot
    expect(i.minNotionalUnits).toBe(5 * 1e8);
    expect(i.makerFeeRate).toBe(20_000); // 0.0002 * 1e8
    expect(i.takerFeeRate).toBe(40_000);
    expect(i.referenceTicks).toBeUndefined();
    expect([i.bandUp, i.bandDown]).toEqual([5, 0.2]);
    const p = compile(PERP_SPEC);
    expect([p.maxLeverage, p.defaultLeverage, p.takerFeeRate]).toEqual([20, 10, 50_000]);
    expect(compile({ ...SPOT_SPEC, minQty: "0.005", referencePrice: "100.05" }).minQtyLots).toBe(5);
    expect(compile({ ...SPOT_SPEC, referencePrice: "100.05" }).referenceTicks).toBe(1000); // half to even
  });

  it("converts prices and quantities exactly and flags off-step values", () => {
    const i = compile(SPOT_SPEC);
    expect(i.priceToTicks("100.1")).toBe(1001);
    expect(i.priceToTicks("100.15")).toBeUndefined();
    expect(i.qtyToLots("0.25")).toBe(250);
    expect(i.qtyToLots("0.0005")).toBeUndefined();
    expect(i.formatPrice(1001)).toBe("100.1");
    expect(i.formatQty(250)).toBe("0.25");
    expect(i.formatQuote(123_456_789)).toBe("1.23456789");
    expect(i.formatBase(100_000)).toBe("0.001");
  });

  it("rounds prices half to even and floors quantities toward zero", () => {
    const i = compile(SPOT_SPEC);
    expect(i.roundPrice("100.05")).toBe(1000);
    expect(i.roundPrice("100.15")).toBe(1002);
    expect(i.roundPrice("100.149")).toBe(1001);
    expect(i.floorQty("0.0019")).toBe(1);
    expect(i.floorQty("-0.0019")).toBe(-1);
  });

  it("explains specs it cannot hold", () => {
    const usdt2 = { index: 1, name: "USDT", unit: parseStep("0.01") };
    expect(() => compile(SPOT_SPEC, btc8, usdt2)).toThrow(/finer than USDT's unit/);
    const btc2 = { index: 0, name: "BTC", unit: parseStep("0.01") };
    expect(() => compile(SPOT_SPEC, btc2, usdt8)).toThrow(/lotSize 0.001 is finer than BTC's unit/);
    expect(() => compile({ ...SPOT_SPEC, minQty: "0.0015" })).toThrow(/minQty/);
    expect(() => compile({ ...SPOT_SPEC, takerFee: "0.02" })).toThrow(/above 1%/);
    expect(() => compile({ ...SPOT_SPEC, makerFee: "0.000000001" })).toThrow(/more than 8 decimals/);
    expect(() => compile({ ...PERP_SPEC, defaultLeverage: 30 })).toThrow(/exceeds maxLeverage/);
    expect(() => compile({ ...SPOT_SPEC, tickSize: "0" })).toThrow(InstrumentError);
    expect(() => compile({ ...SPOT_SPEC, minNotional: "0.000000001" })).toThrow(/minNotional/);
  });

  it("the engine names the instrument and field of a bad spec", () => {
    const clock = new SimulatedClock(T0);
    expect(() => new ExchangeEngine({ clock, instruments: [{ ...SPOT_SPEC, symbol: "btc-usdt" }] })).toThrow(/instrument #0 \(btc-usdt\): field "symbol"/);
    expect(() => new ExchangeEngine({ clock, instruments: [SPOT_SPEC, { ...PERP_SPEC, tickSize: "-1" }] })).toThrow(/instrument #1 .*field "tickSize"/);
    expect(() => new ExchangeEngine({ clock, instruments: [SPOT_SPEC, SPOT_SPEC] })).toThrow(/defined twice/);
    expect(() => new ExchangeEngine({ clock, instruments: [{ ...SPOT_SPEC, extra: 1 } as InstrumentSpec] })).toThrow(InstrumentError);
  });
});

describe("feeOf", () => {
  it("charges rate / 1e8 of the amount, rounded half up", () => {
    expect(feeOf(12_345, 20_000)).toBe(2); // 2.469
    expect(feeOf(2_500, 20_000)).toBe(1); // 0.5 rounds up
    expect(feeOf(2_499, 20_000)).toBe(0); // 0.4998
    expect(feeOf(5_000_000_000, 40_000)).toBe(2_000_000); // 50 USDT at 0.04 % = 0.02 USDT
    expect(feeOf(0, 40_000)).toBe(0);
    expect(feeOf(1_000, 0)).toBe(0);
  });

  it("is exact where amount x rate leaves the safe integer range", () => {
    // 123456789012345 * 12345 / 1e8 = 15240740603.57... (checked with exact rationals).
    expect(feeOf(123_456_789_012_345, 12_345)).toBe(15_240_740_604);
    expect(feeOf(9_007_199_254_740_991, 1_000_000)).toBe(90_071_992_547_410); // 1 % of 2^53 - 1, .91 rounds up
  });

  it("writes an order's average fill price as decimal.js's cost / filled x tick, one price or several", () => {
    const inst = compile({ ...SPOT_SPEC, tickSize: "0.01" });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 100_000 })), { minLength: 1, maxLength: 4 }), fc.boolean(), (fills, onePrice) => {
        const priced = onePrice ? fills.map(([, lots]) => [fills[0]?.[0] as number, lots] as const) : fills;
        const cost = priced.reduce((a, [ticks, lots]) => a + ticks * lots, 0);
        const filled = priced.reduce((a, [, lots]) => a + lots, 0);
        expect(averagePriceText(cost, filled, inst)).toBe(new Decimal(cost).div(filled).mul(inst.tick.text).toFixed());
      }),
      { numRuns: 2000 },
    );
  });
});
