import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { mayBeUnderMinimum, minimumAmount } from "../../src/oms/broker.js";
import type { CcxtMarket } from "../../src/oms/ccxt-types.js";

function marketWith(minAmount: number | undefined, minCost: number | undefined): CcxtMarket {
  return { limits: { amount: { min: minAmount }, cost: { min: minCost } } } as unknown as CcxtMarket;
}

/** A decimal with `digits` significant digits and `places` decimals, as the number a market or quote carries. */
const decimalNumber = (maxInt: number, places: number): fc.Arbitrary<number> =>
  fc.integer({ min: 1, max: maxInt }).map((m) => Number(new Decimal(m).div(new Decimal(10).pow(places)).toFixed()));

describe("mayBeUnderMinimum (the broker's shortcut past the exact minimum)", () => {
  it("never clears an amount under the exact minimum, and clears most amounts well above it", () => {
    let cleared = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.option(decimalNumber(1_000_000, 6), { nil: undefined }),
        fc.option(decimalNumber(100_000, 2), { nil: undefined }),
        fc.constantFrom("1", "0.5", "0.1", "0.001", "0.00001"),
        decimalNumber(10_000_000, 4),
        fc.integer({ min: -3, max: 3 }),
        (minAmount, minCost, stepText, price, offset) => {
          const market = marketWith(minAmount, minCost);
          const step = new Decimal(stepText);
          const minimum = minimumAmount(market, step, new Decimal(price));
          // Amounts on the step grid around the exact minimum (or around 1 when there is none).
          const base = minimum ?? new Decimal(1).div(step).ceil().mul(step);
          const amount = base.add(step.mul(offset));
          if (!amount.isPositive()) return;
          runs++;
          if (!mayBeUnderMinimum(market, amount.toNumber(), price)) {
            cleared++;
            expect(minimum === undefined || amount.gte(minimum), `${amount.toFixed()} cleared under ${minimum?.toFixed()}`).toBe(true);
          } else if (minimum !== undefined && amount.gte(minimum.mul(1.000001))) {
            // A millionth above the minimum is never a close call for doubles.
            expect.fail(`${amount.toFixed()} at ${price} not cleared above the minimum ${minimum.toFixed()}`);
          }
        },
      ),
      { numRuns: 3000 },
    );
    expect(cleared).toBeGreaterThan(runs / 4);
  });

  it("is exact at the boundary: the minimum itself is never reported under, one step below always", () => {
    const market = marketWith(0.001, 5);
    const step = new Decimal("0.001");
    const min = minimumAmount(market, step, new Decimal(100.01)) as Decimal;
    expect(min.toFixed()).toBe("0.05");
    expect(mayBeUnderMinimum(market, min.sub(step).toNumber(), 100.01)).toBe(true);
    expect(min.sub(step).lt(min)).toBe(true);
  });
});
