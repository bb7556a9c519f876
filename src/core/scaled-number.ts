// Exact decimal arithmetic on doubles for the hot paths that start from numbers (quotes, amounts)
// and end in numbers (ccxt structures): a double's shortest text is an integer mantissa times a
// power of ten, and integer arithmetic in doubles is exact below 2^53. Every step checks that it
// stayed exact; callers fall back to WideDecimal (decimal.js's arithmetic on BigInt) when one did
// not, so results are decimal.js's to the bit. (decimal.js reads a number through its shortest
// text, and its toNumber() is the double nearest the exact value, which one IEEE division of two
// exact integers also gives.)

import { Decimal } from "decimal.js";
import { formatScaled } from "./units.js";
import { WideDecimal } from "./wide-decimal.js";

const SAFE = 9007199254740992; // 2^53
const POW10: number[] = [];
for (let i = 0, p = 1; i <= 22; i++, p *= 10) POW10.push(p);

/** value = m / 10^s, with |m| < 2^53 and 0 <= s <= 22; no negative zero (JSON and decimal text write -0 as 0). */
export interface Scaled {
  m: number;
  s: number;
}

/**
 * The finite double `x` as its shortest decimal text reads (String(x), as decimal.js reads a
 * number), or undefined when that does not fit (beyond 2^53, more than 22 decimals).
 */
export function scaledOf(x: number): Scaled | undefined {
  if (Number.isInteger(x)) return Math.abs(x) < SAFE ? { m: x === 0 ? 0 : x, s: 0 } : undefined;
  const t = String(x);
  const e = t.indexOf("e");
  // Below 1e-6 the shortest text is "d.ddde-N": the mantissa's digits over 10^(decimals + N).
  const body = e < 0 ? t : t.slice(0, e);
  const shift = e < 0 ? 0 : -Number(t.slice(e + 1));
  if (shift < 0) return undefined;
  const dot = body.indexOf(".");
  const s = (dot < 0 ? 0 : body.length - dot - 1) + shift;
  if (s > 22) return undefined;
  const m = dot < 0 ? Number(body) : Number(body.slice(0, dot) + body.slice(dot + 1));
  return Math.abs(m) < SAFE ? { m, s } : undefined;
}

const PLAIN = /^-?\d+(?:\.\d+)?$/;

/** Plain decimal text ("-12.5", "3") as a Scaled, or undefined when it does not fit. */
export function scaledOfText(t: string): Scaled | undefined {
  if (!PLAIN.test(t)) return undefined;
  const dot = t.indexOf(".");
  const s = dot < 0 ? 0 : t.length - dot - 1;
  const m = dot < 0 ? Number(t) : Number(t.slice(0, dot) + t.slice(dot + 1));
  return Math.abs(m) < SAFE && s <= 22 ? { m: m === 0 ? 0 : m, s } : undefined;
}

/** a x 10^d when that stays exact, else NaN. */
function up(a: number, d: number): number {
  if (d === 0) return a;
  if (d > 22) return NaN;
  const r = a * (POW10[d] as number);
  return Math.abs(r) < SAFE ? r : NaN;
}

/** a + b, exact, or undefined. */
export function scaledAdd(a: Scaled, b: Scaled): Scaled | undefined {
  const s = Math.max(a.s, b.s);
  const m = up(a.m, s - a.s) + up(b.m, s - b.s);
  return Math.abs(m) < SAFE ? { m, s } : undefined;
}

/** a x b, exact (its digits fit a double, so decimal.js's 20-digit precision did not round it), or undefined. */
export function scaledMul(a: Scaled, b: Scaled): Scaled | undefined {
  const m = a.m * b.m;
  const s = a.s + b.s;
  return Math.abs(m) < SAFE && s <= 22 ? { m: m === 0 ? 0 : m, s } : undefined;
}

/** a / 2, exact, or undefined. */
export function scaledHalf(a: Scaled): Scaled | undefined {
  if (a.m % 2 === 0) return { m: a.m / 2, s: a.s };
  const m = a.m * 5;
  return Math.abs(m) < SAFE && a.s < 22 ? { m, s: a.s + 1 } : undefined;
}

/** The double nearest the value (decimal.js's toNumber()). */
export function scaledToNumber(a: Scaled): number {
  return a.s === 0 ? a.m : a.m / (POW10[a.s] as number);
}

/** Normal notation, as decimal.js's toFixed() writes the value (no trailing zeros, "0" for zero). */
export function scaledText(a: Scaled): string {
  return formatScaled(a.m, a.s);
}

/** -a. */
export function scaledNeg(a: Scaled): Scaled {
  return { m: a.m === 0 ? 0 : -a.m, s: a.s };
}

export function scaledToDecimal(a: Scaled): Decimal {
  return new Decimal(scaledText(a));
}

export function scaledToWide(a: Scaled): WideDecimal {
  return new WideDecimal(BigInt(a.m), a.s);
}

/** An exact decimal: a Scaled while it fits, a WideDecimal once a step would not. */
export type Exact = Scaled | WideDecimal;

export function exactToWide(x: Exact): WideDecimal {
  return x instanceof WideDecimal ? x : scaledToWide(x);
}

/** a + b as decimal.js gives it: scaled when both are and the sum fits, else WideDecimal. */
export function exactAdd(a: Exact, b: Exact): Exact {
  if (!(a instanceof WideDecimal) && !(b instanceof WideDecimal)) {
    const r = scaledAdd(a, b);
    if (r !== undefined) return r;
  }
  return exactToWide(a).add(exactToWide(b));
}

export function exactNeg(x: Exact): Exact {
  return x instanceof WideDecimal ? x.neg() : scaledNeg(x);
}

/**
 * An exact running total: a scaled integer while every step fits, a WideDecimal from the first one
 * that would not (then for good, so the result never depends on where the switch happened).
 */
export class ScaledTotal {
  private total: Exact = { m: 0, s: 0 };

  constructor(initial?: string) {
    if (initial !== undefined) this.total = scaledOfText(initial) ?? WideDecimal.of(initial);
  }

  add(x: Exact): void {
    this.total = exactAdd(this.total, x);
  }

  /**
   * Adds `sign` x the number as decimal.js reads it (ccxt's amounts and costs: numbers whose
   * shortest text is the decimal the exchange sent); undefined counts as 0.
   */
  addNumber(x: number | undefined, sign: 1 | -1 = 1): void {
    if (x === undefined || x === 0) return;
    const sc = scaledOf(x);
    if (sc !== undefined) this.add(sign === 1 ? sc : scaledNeg(sc));
    else this.add(sign === 1 ? WideDecimal.of(x) : WideDecimal.of(x).neg());
  }

  isZero(): boolean {
    const t = this.total;
    return t instanceof WideDecimal ? t.isZero() : t.m === 0;
  }

  /** Whether the total equals the number as decimal.js reads it. */
  equalsNumber(x: number | undefined): boolean {
    const v = x ?? 0;
    const t = this.total;
    if (!(t instanceof WideDecimal)) {
      const sc = scaledOf(v);
      if (sc !== undefined) {
        const diff = scaledAdd(t, scaledNeg(sc));
        if (diff !== undefined) return diff.m === 0;
      }
    }
    // A total is finite; a double beyond its range (an overflowed toNumber()) equals none.
    return Number.isFinite(v) && this.value().equals(WideDecimal.of(v));
  }

  value(): WideDecimal {
    return exactToWide(this.total);
  }

  /** The double nearest the total (decimal.js's toNumber()), without making a WideDecimal while it is scaled. */
  toNumber(): number {
    const t = this.total;
    return t instanceof WideDecimal ? t.toNumber() : scaledToNumber(t);
  }
}

/** Compares a and b exactly: -1, 0 or 1, or undefined when aligning their scales would not fit. */
export function scaledCompare(a: Scaled, b: Scaled): number | undefined {
  const s = Math.max(a.s, b.s);
  const x = up(a.m, s - a.s);
  const y = up(b.m, s - b.s);
  if (Number.isNaN(x) || Number.isNaN(y)) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Significant digits `digits` (most significant first, no leading zero) of a value
 * 0.d1d2... x 10^exp, rounded half up (away from zero on a tie, decimal.js's default) to `sd`
 * digits. Returns the rounded digits (trailing zeros kept) and the exponent, which a carry out of
 * the first digit raises by one.
 */
function roundDigitsHalfUp(digits: number[], exp: number, sd: number): { digits: number[]; exp: number } {
  if (digits.length <= sd) return { digits, exp };
  const kept = digits.slice(0, sd);
  if ((digits[sd] as number) >= 5) {
    let i = sd - 1;
    while (i >= 0 && kept[i] === 9) kept[i--] = 0;
    if (i < 0) {
      kept.unshift(1);
      kept.pop();
      return { digits: kept, exp: exp + 1 };
    }
    kept[i] = (kept[i] as number) + 1;
  }
  return { digits: kept, exp };
}

/** sign x 0.d1d2... x 10^exp as a Scaled, or undefined when it does not fit. */
function scaledOfDigits(sign: 1 | -1, digits: readonly number[], exp: number): Scaled | undefined {
  let m = 0;
  for (const d of digits) m = m * 10 + d;
  if (m >= SAFE) return undefined;
  // value = m x 10^(exp - digits.length)
  let e = exp - digits.length;
  if (m === 0) return { m: 0, s: 0 };
  // Trailing zeros would only take headroom from later sums and products.
  while (e < 0 && m % 10 === 0) {
    m /= 10;
    e++;
  }
  if (e >= 0) {
    const r = up(m, e);
    return Number.isNaN(r) ? undefined : { m: sign * r, s: 0 };
  }
  return -e > 22 ? undefined : { m: sign * m, s: -e };
}

/**
 * new Decimal(x).toSignificantDigits(sd) for a finite double (decimal.js reads it through its
 * shortest text; rounding half up), or undefined when the result does not fit.
 */
export function scaledOfDoubleSig(x: number, sd: number): Scaled | undefined {
  if (!Number.isFinite(x)) return undefined;
  if (x === 0) return { m: 0, s: 0 };
  const t = String(Math.abs(x));
  const e = t.indexOf("e");
  const body = e < 0 ? t : t.slice(0, e);
  const shift = e < 0 ? 0 : Number(t.slice(e + 1));
  const dot = body.indexOf(".");
  const intLen = dot < 0 ? body.length : dot;
  const all = dot < 0 ? body : body.slice(0, dot) + body.slice(dot + 1);
  let lead = 0;
  while (lead < all.length && all.charCodeAt(lead) === 48) lead++;
  const digits: number[] = [];
  for (let i = lead; i < all.length; i++) digits.push(all.charCodeAt(i) - 48);
  // value = 0.<digits> x 10^exp
  const r = roundDigitsHalfUp(digits, intLen - lead + shift, sd);
  return scaledOfDigits(x < 0 ? -1 : 1, r.digits, r.exp);
}

/**
 * floor(num / den) of non-negative integers below 2^53, exact: the double quotient may round across
 * an integer, and the remainder says which side of it the true quotient is.
 */
function floorDiv(num: number, den: number): number {
  const q = Math.floor(num / den);
  const r = num - q * den;
  return r < 0 ? q - 1 : r >= den ? q + 1 : q;
}

/**
 * a / b rounded to `precision` significant digits half up (decimal.js's division at its precision),
 * then to `sd` digits half up (its toSignificantDigits): the same double rounding, digit for digit.
 * b must be positive. Undefined when the division or the result does not fit.
 */
export function scaledQuotientSig(a: Scaled, b: Scaled, precision: number, sd: number): Scaled | undefined {
  // Every product below (quotient x divisor, remainder x 10) must stay under 2^53.
  if (b.m <= 0 || b.m > 9e14 || Math.abs(a.m) > 8e15) return undefined;
  if (a.m === 0) return { m: 0, s: 0 };
  const num = Math.abs(a.m);
  const den = b.m;
  const q = floorDiv(num, den);
  let r = num - q * den;
  const digits: number[] = [];
  let exp: number;
  if (q > 0) {
    const qt = String(q);
    for (let i = 0; i < qt.length; i++) digits.push(qt.charCodeAt(i) - 48);
    exp = qt.length;
  } else {
    exp = 0;
  }
  // One digit past the precision decides its rounding (half up: a digit of 5 or more rounds up).
  while (digits.length <= precision) {
    r *= 10;
    const d = floorDiv(r, den);
    r -= d * den;
    if (digits.length === 0 && d === 0) exp--;
    else digits.push(d);
  }
  const atPrecision = roundDigitsHalfUp(digits, exp, precision);
  const rounded = roundDigitsHalfUp(atPrecision.digits, atPrecision.exp, sd);
  // The quotient of the mantissas is scaled by 10^(b.s - a.s).
  return scaledOfDigits(a.m < 0 ? -1 : 1, rounded.digits, rounded.exp + b.s - a.s);
}

/**
 * decimal.js's x.div(step).toDecimalPlaces(0, ROUND_HALF_EVEN).mul(step): x on the step's grid.
 * decimal.js rounds the quotient to 20 significant digits first, which never matters here: for
 * that rounding to make or break a tie, |x| / step = q + r / t would have to lie within half a
 * unit of its 20th digit of q + 1/2, so t > 10^(20 - digits(q)) and |x| >= q t > 10^19 / 2, far
 * beyond the integers below 2^53 this works in. Undefined when a value does not fit.
 */
export function scaledNearestMultiple(x: Scaled, step: Scaled): Scaled | undefined {
  if (step.m <= 0) return undefined;
  const s = Math.max(x.s, step.s);
  const p = up(Math.abs(x.m), s - x.s);
  const t = up(step.m, s - step.s);
  if (Number.isNaN(p) || Number.isNaN(t)) return undefined;
  const q = floorDiv(p, t);
  const twice = 2 * (p - q * t);
  const n = twice < t ? q : twice > t ? q + 1 : q % 2 === 0 ? q : q + 1;
  return scaledMul({ m: x.m < 0 && n !== 0 ? -n : n, s: 0 }, step);
}

/** x rounded half to even to `decimals` decimals (0 or more), exact. */
export function scaledRoundHalfEven(x: Scaled, decimals: number): Scaled {
  if (x.s <= decimals) return x;
  const p = POW10[x.s - decimals] as number;
  const a = Math.abs(x.m);
  let q = floorDiv(a, p);
  const r = a - q * p;
  if (2 * r > p || (2 * r === p && q % 2 === 1)) q++;
  return { m: q === 0 ? 0 : x.m < 0 ? -q : q, s: decimals };
}
