import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  scaledAdd,
  scaledCompare,
  scaledHalf,
  scaledMul,
  scaledNearestMultiple,
  scaledNeg,
  scaledOf,
  scaledOfDoubleSig,
  scaledOfText,
  scaledQuotientSig,
  scaledText,
  scaledToNumber,
  ScaledTotal,
  type Scaled,
} from "../../src/core/scaled-number.js";
import { WideDecimal } from "../../src/core/wide-decimal.js";

/** Numbers as quotes and amounts carry them: an integer mantissa and up to 10 decimals, either sign. */
const decimalNumber: fc.Arbitrary<number> = fc
  .tuple(fc.integer({ min: -2_000_000_000, max: 2_000_000_000 }), fc.integer({ min: 0, max: 10 }))
  .map(([m, places]) => Number(new Decimal(m).div(new Decimal(10).pow(places)).toFixed()));

/** Any double, the awkward ones included (tiny, huge, 17-digit). */
const anyNumber: fc.Arbitrary<number> = fc.oneof(decimalNumber, fc.double({ noNaN: true, noDefaultInfinity: true }));

/** Scaled keeps no negative zero; JSON and decimal text write -0 as 0 anyway. */
function same(s: Scaled, d: Decimal): void {
  expect(scaledText(s)).toBe(d.toFixed());
  expect(scaledToNumber(s)).toBe(d.toNumber() + 0);
}

/** Prices and amounts a market quotes: up to 7 significant digits and 8 decimals. */
const marketNumber: fc.Arbitrary<number> = fc
  .tuple(fc.integer({ min: 1, max: 9_999_999 }), fc.integer({ min: 0, max: 8 }))
  .map(([m, places]) => Number(new Decimal(m).div(new Decimal(10).pow(places)).toFixed()));

describe("scaled numbers agree with decimal.js to the bit", () => {
  it("reads a number as decimal.js does, or declines", () => {
    fc.assert(
      fc.property(anyNumber, (x) => {
        const s = scaledOf(x);
        if (s !== undefined) same(s, new Decimal(x));
      }),
      { numRuns: 2000 },
    );
  });

  it("adds, multiplies, halves, negates and compares exactly, or declines", () => {
    fc.assert(
      fc.property(anyNumber, anyNumber, (x, y) => {
        const a = scaledOf(x);
        const b = scaledOf(y);
        if (a === undefined || b === undefined) return;
        const dx = new Decimal(x);
        const dy = new Decimal(y);
        const sum = scaledAdd(a, b);
        if (sum !== undefined) same(sum, dx.add(dy));
        const product = scaledMul(a, b);
        if (product !== undefined) same(product, dx.mul(dy));
        const half = scaledHalf(a);
        if (half !== undefined) same(half, dx.div(2));
        same(scaledNeg(a), dx.neg());
        const c = scaledCompare(a, b);
        if (c !== undefined) expect(c).toBe(dx.cmp(dy));
      }),
      { numRuns: 2000 },
    );
    expect(scaledCompare({ m: 5, s: 1 }, { m: 50, s: 2 })).toBe(0);
  });

  it("takes the fast path for the numbers a market carries", () => {
    let taken = 0;
    fc.assert(
      fc.property(marketNumber, marketNumber, (x, y) => {
        const a = scaledOf(x);
        const b = scaledOf(y);
        expect(a).toBeDefined();
        expect(b).toBeDefined();
        if (a !== undefined && b !== undefined && scaledAdd(a, b) !== undefined && scaledHalf(a) !== undefined) taken++;
      }),
      { numRuns: 200 },
    );
    expect(taken).toBe(200);
  });

  it("reads plain decimal text and refuses anything else", () => {
    expect(scaledOfText("-12.50")).toEqual({ m: -1250, s: 2 });
    expect(scaledOfText("3")).toEqual({ m: 3, s: 0 });
    expect(scaledOfText("1e-7")).toBeUndefined();
    expect(scaledOfText("12345678901234567890")).toBeUndefined();
    expect(scaledText({ m: -5, s: 3 })).toBe("-0.005");
    expect(scaledText({ m: 1200, s: 2 })).toBe("12");
  });

  it("keeps a running total equal to decimal.js's, across the switch to decimal.js", () => {
    fc.assert(
      fc.property(fc.array(anyNumber, { maxLength: 40 }), (xs) => {
        const total = new ScaledTotal("100.25");
        let expected = new Decimal("100.25");
        for (const x of xs) {
          expected = expected.add(x);
          const s = scaledOf(x);
          if (s === undefined) total.add(WideDecimal.of(x));
          else total.add(s);
        }
        expect(total.value().toFixed()).toBe(expected.toFixed());
        expect(Object.is(total.toNumber(), expected.toNumber())).toBe(true);
      }),
    );
  });

  it("adds signed numbers and compares with a number as decimal.js does", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.option(anyNumber, { nil: undefined }), fc.boolean()), { maxLength: 30 }), anyNumber, (xs, probe) => {
        const total = new ScaledTotal();
        let expected = new Decimal(0);
        for (const [x, negative] of xs) {
          total.addNumber(x, negative ? -1 : 1);
          const d = new Decimal(x === undefined || x === 0 ? 0 : x);
          expected = negative ? expected.sub(d) : expected.add(d);
        }
        expect(total.value().toString()).toBe(expected.toString());
        expect(total.isZero()).toBe(expected.isZero());
        expect(total.toNumber()).toBe(expected.toNumber());
        expect(total.equalsNumber(probe)).toBe(expected.equals(probe === 0 ? 0 : probe));
        expect(total.equalsNumber(expected.toNumber())).toBe(expected.equals(expected.toNumber()));
      }),
      { numRuns: 1000 },
    );
  });

  it("rounds a number to significant digits as decimal.js does, or declines", () => {
    let taken = 0;
    fc.assert(
      fc.property(anyNumber, fc.integer({ min: 1, max: 17 }), (x, sd) => {
        const s = scaledOfDoubleSig(x, sd);
        if (s === undefined) return;
        taken++;
        same(s, new Decimal(x).toSignificantDigits(sd));
      }),
      { numRuns: 3000 },
    );
    expect(taken).toBeGreaterThan(1000);
    // Half up on the magnitude, and a carry that adds a digit.
    expect(scaledText(scaledOfDoubleSig(-2.5, 1) as Scaled)).toBe("-3");
    expect(scaledText(scaledOfDoubleSig(99.96, 3) as Scaled)).toBe("100");
    expect(scaledText(scaledOfDoubleSig(1.5e-7, 1) as Scaled)).toBe("0.0000002");
  });

  it("divides with decimal.js's two roundings (at its precision, then to significant digits)", () => {
    const quotient = fc.tuple(
      fc.integer({ min: -9_999_999_999_999, max: 9_999_999_999_999 }),
      fc.integer({ min: 0, max: 12 }),
      fc.integer({ min: 1, max: 999_999_999 }),
      fc.integer({ min: 0, max: 8 }),
    );
    let taken = 0;
    fc.assert(
      fc.property(quotient, fc.integer({ min: 1, max: 24 }), fc.integer({ min: 1, max: 24 }), ([am, as, bm, bs], precision, sd) => {
        const a: Scaled = { m: am, s: as };
        const b: Scaled = { m: bm, s: bs };
        const Dp = Decimal.clone({ precision });
        const expected = new Dp(scaledText(a)).div(new Dp(scaledText(b))).toSignificantDigits(sd);
        const got = scaledQuotientSig(a, b, precision, sd);
        if (got === undefined) return;
        taken++;
        same(got, new Decimal(expected.toFixed()));
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(3000);
  });

  it("divides where the double rounding differs from one rounding (digits ...4999 then 5 or more)", () => {
    // 1 / 8 = 0.125: at precision 2 it is 0.13, then to 1 digit 0.1; rounding 0.125 once to 1 digit is 0.1 too.
    // 0.1249951... : at precision 5 it is 0.12500, then to 2 digits 0.13, where one rounding gives 0.12.
    const a: Scaled = { m: 1249951, s: 7 };
    const b: Scaled = { m: 1, s: 0 };
    expect(scaledText(scaledQuotientSig(a, b, 5, 2) as Scaled)).toBe("0.13");
    expect(new Decimal(scaledText(a)).toSignificantDigits(2).toFixed()).toBe("0.12");
    const D5 = Decimal.clone({ precision: 5 });
    expect(new D5("0.1249951").div(1).toSignificantDigits(2).toFixed()).toBe("0.13");
  });

  it("puts a value on a step's grid as decimal.js's div, toDecimalPlaces(0, half even), mul do", () => {
    // Steps of up to 13 digits, and values at a multiple and a half of them, nudged by a few units:
    // ties, and the nearest misses of a tie.
    const case_ = fc.tuple(fc.integer({ min: 1, max: 9_999_999_999_999 }), fc.integer({ min: 0, max: 16 }), fc.integer({ min: 0, max: 300 }), fc.integer({ min: -3, max: 3 }), fc.boolean());
    let taken = 0;
    fc.assert(
      fc.property(case_, ([tm, ts, n, nudge, negative]) => {
        const step: Scaled = { m: tm, s: ts };
        // (n + 1/2) x step + nudge units of 10^-(ts + 1), as a Scaled when it fits.
        const m = (2 * n + 1) * tm * 5 + nudge;
        if (!Number.isSafeInteger(m) || m <= 0) return;
        const x: Scaled = { m: negative ? -m : m, s: ts + 1 };
        const expected = new Decimal(scaledText(x)).div(scaledText(step)).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).mul(scaledText(step));
        const got = scaledNearestMultiple(x, step);
        if (got === undefined) return;
        taken++;
        expect(scaledText(got)).toBe(expected.toFixed());
      }),
      { numRuns: 4000 },
    );
    expect(taken).toBeGreaterThan(1000);
  });

});
