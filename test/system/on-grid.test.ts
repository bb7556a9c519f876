import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { onGrid } from "../../src/system/bar-loop.js";

/** decimal.js's definition, which onGrid reproduces in scaled integers where they fit. */
function reference(price: number, step: Decimal): Decimal {
  return new Decimal(price).div(step).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).mul(step);
}

/** Ticks as exchanges set them: 1, 2, 5, 25 or 10 x a power of ten. */
const tick: fc.Arbitrary<Decimal> = fc
  .tuple(fc.constantFrom(1, 2, 5, 25, 10), fc.integer({ min: -10, max: 3 }))
  .map(([m, e]) => new Decimal(m).mul(new Decimal(10).pow(e)));

/** Float prices: on the grid but for float noise, between ticks, at half ticks, and anything at all. */
const price: fc.Arbitrary<number> = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 99_999_999 }), fc.integer({ min: 0, max: 10 })).map(([m, d]) => (m / 10 ** d) * (1 + 1e-16)),
  fc.tuple(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 0, max: 8 })).map(([m, d]) => (m + 0.5) / 10 ** d),
  fc.double({ min: 1e-9, max: 1e9, noNaN: true }),
);

describe("onGrid", () => {
  it("puts a float price on its tick as decimal.js does (20-digit quotient, half to even), to the digit", () => {
    fc.assert(
      fc.property(price, tick, (p, step) => {
        expect(onGrid(p, step).toString()).toBe(reference(p, step).toString());
      }),
      { numRuns: 5000 },
    );
  });

  it("reads a float's noise as the tick it stands for and sends halves to the even tick", () => {
    expect(onGrid(0.1 + 0.2, new Decimal("0.1")).toString()).toBe("0.3");
    expect(onGrid(0.25, new Decimal("0.1")).toString()).toBe("0.2");
    expect(onGrid(0.35, new Decimal("0.1")).toString()).toBe("0.4");
    expect(onGrid(12345.678, new Decimal("0.5")).toString()).toBe("12345.5");
  });
});
