import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WideDecimal } from "../../src/core/wide-decimal.js";

/** Decimal text of every size: up to 30 digits, anywhere from 10^-40 to 10^40, either sign. */
const decimalText: fc.Arbitrary<string> = fc
  .tuple(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: -40, max: 40 }))
  .map(([m, e]) => new Decimal(m.toString()).mul(new Decimal(10).pow(e)).toString());

/** Money as the portfolio sees it: amounts, prices, fees and their running totals. */
const moneyText: fc.Arbitrary<string> = fc
  .tuple(fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }), fc.integer({ min: 0, max: 14 }))
  .map(([m, places]) => new Decimal(m).div(new Decimal(10).pow(places)).toFixed());

const anyText = fc.oneof(decimalText, moneyText);

/** Same value, same texts, same double (decimal.js writes -0 as "0" and so has no sign to compare). */
function same(w: WideDecimal, d: Decimal): void {
  expect(w.toString()).toBe(d.toString());
  expect(w.toFixed()).toBe(d.toFixed());
  expect(w.toNumber()).toBe(d.toNumber() + 0);
  expect(w.isZero()).toBe(d.isZero());
  expect(w.isPositive()).toBe(d.isPositive() && !d.isZero());
  expect(w.isNegative()).toBe(d.isNegative() && !d.isZero());
}

describe("WideDecimal gives decimal.js's results to the digit", () => {
  it("reads text, numbers and Decimals as decimal.js does", () => {
    fc.assert(
      fc.property(anyText, (t) => {
        same(WideDecimal.of(t), new Decimal(t));
        same(WideDecimal.of(new Decimal(t)), new Decimal(t));
        const n = Number(t);
        same(WideDecimal.of(n), new Decimal(n));
      }),
      { numRuns: 2000 },
    );
  });

  it("adds, subtracts and multiplies with decimal.js's rounding (20 digits, half up)", () => {
    fc.assert(
      fc.property(anyText, anyText, (x, y) => {
        const a = WideDecimal.of(x);
        const b = WideDecimal.of(y);
        const dx = new Decimal(x);
        const dy = new Decimal(y);
        same(a.add(b), dx.add(dy));
        same(a.sub(b), dx.sub(dy));
        same(a.mul(b), dx.mul(dy));
        same(a.neg(), dx.neg());
        same(a.abs(), dx.abs());
      }),
      { numRuns: 3000 },
    );
  });

  it("keeps agreeing along a running total, where every step rounds", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(moneyText, moneyText, fc.boolean()), { minLength: 1, maxLength: 60 }), (steps) => {
        let w = WideDecimal.of("1000000");
        let d = new Decimal("1000000");
        for (const [x, y, buy] of steps) {
          const wn = WideDecimal.of(x).mul(WideDecimal.of(y));
          const dn = new Decimal(x).mul(y);
          w = buy ? w.sub(wn) : w.add(wn);
          d = buy ? d.sub(dn) : d.add(dn);
          same(w, d);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("divides as decimal.js's div() and compares as its cmp()", () => {
    fc.assert(
      fc.property(anyText, anyText, (x, y) => {
        const dx = new Decimal(x);
        const dy = new Decimal(y);
        expect(WideDecimal.of(x).cmp(WideDecimal.of(y))).toBe(dx.cmp(dy));
        expect(WideDecimal.of(x).equals(WideDecimal.of(y))).toBe(dx.equals(dy));
        if (dy.isZero()) return;
        same(WideDecimal.of(x).div(WideDecimal.of(y)), dx.div(dy));
        expect(WideDecimal.of(x).divToNumber(WideDecimal.of(y))).toBe(dx.div(dy).toNumber() + 0);
      }),
      { numRuns: 3000 },
    );
  });

  it("rounds ties away from zero and carries out of the last digit", () => {
    // 21 significant digits ending in 5: half up.
    same(WideDecimal.of("1.00000000000000000005").add(WideDecimal.ZERO), new Decimal("1.00000000000000000005").add(0));
    same(WideDecimal.of("99999999999999999999.5").add(WideDecimal.of("0")), new Decimal("99999999999999999999.5").add(0));
    same(WideDecimal.of("-99999999999999999999.5").mul(WideDecimal.of("1")), new Decimal("-99999999999999999999.5").mul(1));
    expect(WideDecimal.of("0.00000012").toString()).toBe("1.2e-7");
    expect(WideDecimal.of("123e20").toString()).toBe("1.23e+22");
  });

  it("writes itself into JSON as decimal.js's text", () => {
    expect(JSON.stringify({ a: WideDecimal.of("-0.000000015"), b: WideDecimal.of("12.50") })).toBe(JSON.stringify({ a: new Decimal("-0.000000015"), b: new Decimal("12.50") }));
  });

  it("refuses what is not a finite number", () => {
    expect(() => WideDecimal.of(Number.NaN)).toThrow(/not a finite number/);
    expect(() => WideDecimal.of("abc")).toThrow();
    expect(() => WideDecimal.of("1e999999999")).toThrow(/beyond 10/);
    expect(() => WideDecimal.of(new Decimal("1e-20000"))).toThrow(/beyond 10/);
    expect(() => WideDecimal.of("1").divToNumber(WideDecimal.ZERO)).toThrow(/division by zero/);
  });
});
