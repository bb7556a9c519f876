// Exact decimals on BigInt that give decimal.js's results to the digit, for the hot paths that
// keep running money totals (the portfolio's cash, holdings and marks). decimal.js rounds every
// sum, difference and product to 20 significant digits, half up; so does this, and nothing else
// differs: the value is an integer mantissa over a power of ten, and BigInt arithmetic on it is
// exact. A BigInt operation costs a tenth of a decimal.js one, and a total that outgrows 2^53 (a
// day of cash to 12 decimals does) stays on this path instead of falling back to decimal.js.

import { Decimal } from "decimal.js";

/** decimal.js's defaults, which this code base never changes. */
const PRECISION = 20;
/** decimal.js writes exponential notation for a leading digit at 10^-7 or below, or 10^21 or above. */
const TO_EXP_NEG = -7;
const TO_EXP_POS = 21;

/**
 * Money never comes near it; the bound keeps a mistyped exponent ("1e999999999") from making a
 * BigInt of a billion digits in the first sum.
 */
const MAX_EXPONENT = 10_000;

const POW10: bigint[] = [];
for (let i = 0n, p = 1n; i <= 64n; i++, p *= 10n) POW10.push(p);
const LIMIT = POW10[PRECISION] as bigint;

function pow10(k: number): bigint {
  return k < POW10.length ? (POW10[k] as bigint) : 10n ** BigInt(k);
}

/** Decimal digits of a positive bigint known to have at least `from`. */
function digitCount(a: bigint, from = 1): number {
  let n = from;
  while (n < POW10.length && a >= (POW10[n] as bigint)) n++;
  return n < POW10.length ? n : a.toString().length;
}

const PLAIN = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

export class WideDecimal {
  /** value = m x 10^-s; s may be negative once rounding has dropped integer digits. Use `of` for values from outside. */
  constructor(
    readonly m: bigint,
    readonly s: number,
  ) {}

  static readonly ZERO = new WideDecimal(0n, 0);

  /** A value as decimal.js reads it (its text, its number's shortest text, or a Decimal), unrounded, as new Decimal(v) is. */
  static of(v: WideDecimal | Decimal | string | number): WideDecimal {
    if (v instanceof WideDecimal) return v;
    if (typeof v === "number") {
      if (!Number.isFinite(v)) throw new RangeError(`WideDecimal: ${v} is not a finite number`);
      if (Number.isSafeInteger(v)) return new WideDecimal(BigInt(v), 0);
      return WideDecimal.of(String(v));
    }
    if (typeof v === "string") return ofText(v) ?? WideDecimal.of(new Decimal(v));
    return ofDecimal(v);
  }

  add(b: WideDecimal): WideDecimal {
    if (this.s === b.s) return rounded(this.m + b.m, this.s);
    if (this.s > b.s) return rounded(this.m + b.m * pow10(this.s - b.s), this.s);
    return rounded(this.m * pow10(b.s - this.s) + b.m, b.s);
  }

  sub(b: WideDecimal): WideDecimal {
    return this.add(b.neg());
  }

  mul(b: WideDecimal): WideDecimal {
    return rounded(this.m * b.m, this.s + b.s);
  }

  neg(): WideDecimal {
    return this.m === 0n ? this : new WideDecimal(-this.m, this.s);
  }

  abs(): WideDecimal {
    return this.m < 0n ? new WideDecimal(-this.m, this.s) : this;
  }

  isZero(): boolean {
    return this.m === 0n;
  }

  /** Strictly above zero (zero has no sign here, as it has none in the texts decimal.js writes). */
  isPositive(): boolean {
    return this.m > 0n;
  }

  isNegative(): boolean {
    return this.m < 0n;
  }

  /** this / b as decimal.js divides: 20 significant digits, half up. */
  div(b: WideDecimal): WideDecimal {
    if (b.m === 0n) throw new RangeError("WideDecimal: division by zero");
    if (this.m === 0n) return WideDecimal.ZERO;
    const negative = this.m < 0n !== b.m < 0n;
    const num = this.m < 0n ? -this.m : this.m;
    const den = b.m < 0n ? -b.m : b.m;
    // Scale the numerator so the integer quotient has at least PRECISION + 1 digits: the digit
    // after the 20th decides half-up rounding, and it is exact in an integer quotient.
    const shift = Math.max(0, PRECISION + 1 - (digitCount(num) - digitCount(den)) + 1);
    const q = (num * pow10(shift)) / den;
    return rounded(negative ? -q : q, this.s - b.s + shift);
  }

  /** this / b as decimal.js's div().toNumber(). */
  divToNumber(b: WideDecimal): number {
    return this.div(b).toNumber();
  }

  /** Exact comparison: -1, 0 or 1. */
  cmp(b: WideDecimal): number {
    const x = this.s >= b.s ? this.m : this.m * pow10(b.s - this.s);
    const y = b.s >= this.s ? b.m : b.m * pow10(this.s - b.s);
    return x < y ? -1 : x > y ? 1 : 0;
  }

  equals(b: WideDecimal): boolean {
    return this.cmp(b) === 0;
  }

  /** The double nearest the value (decimal.js's toNumber()). */
  toNumber(): number {
    if (this.s === 0 && this.m > -9007199254740992n && this.m < 9007199254740992n) return Number(this.m);
    return Number(this.toString());
  }

  /** decimal.js's toString(): normal notation, exponential for tiny or huge values; "0" for zero. */
  toString(): string {
    if (this.m === 0n) return "0";
    const { negative, c, e } = significand(this.m, this.s);
    const body = e <= TO_EXP_NEG || e >= TO_EXP_POS ? exponential(c, e) : normal(c, e);
    return negative ? "-" + body : body;
  }

  /** decimal.js's toFixed() without arguments: normal notation, no rounding. */
  toFixed(): string {
    if (this.m === 0n) return "0";
    const { negative, c, e } = significand(this.m, this.s);
    return negative ? "-" + normal(c, e) : normal(c, e);
  }

  /** Logs write the value as decimal.js's text, as they do a Decimal. */
  toJSON(): string {
    return this.toString();
  }

  toDecimal(): Decimal {
    return new Decimal(this.toString());
  }
}

/** m x 10^-s rounded to PRECISION significant digits, half up (away from zero on a tie). */
function rounded(m: bigint, s: number): WideDecimal {
  const a = m < 0n ? -m : m;
  if (a < LIMIT) return new WideDecimal(m, s);
  const k = digitCount(a, PRECISION + 1) - PRECISION;
  const p = pow10(k);
  let q = a / p;
  if ((a - q * p) * 2n >= p) q++;
  return new WideDecimal(m < 0n ? -q : q, s - k);
}

function ofText(t: string): WideDecimal | undefined {
  const g = PLAIN.exec(t);
  if (g === null) return undefined;
  const int = g[2] as string;
  const frac = g[3] ?? "";
  if (int === "" && frac === "") return undefined;
  const exp = g[4] === undefined ? 0 : Number(g[4]);
  if (Math.abs(exp) > MAX_EXPONENT) throw new RangeError(`WideDecimal: ${t} is beyond 10^±${MAX_EXPONENT}`);
  const digits = int + frac;
  const m = BigInt(digits === "" ? "0" : digits);
  return new WideDecimal(g[1] === "-" ? -m : m, frac.length - exp);
}

/**
 * A Decimal from its base-1e7 words (d), the exponent of its leading digit (e) and its sign (s),
 * without its text.
 */
function ofDecimal(x: Decimal): WideDecimal {
  const d = x.d as readonly number[] | null;
  if (d === null) throw new RangeError(`WideDecimal: ${x.toString()} is not a finite number`);
  const w0 = d[0] as number;
  if (w0 === 0) return WideDecimal.ZERO;
  let digits = w0 < 10 ? 1 : w0 < 100 ? 2 : w0 < 1e3 ? 3 : w0 < 1e4 ? 4 : w0 < 1e5 ? 5 : w0 < 1e6 ? 6 : 7;
  let m: bigint;
  if (d.length === 1) m = BigInt(w0);
  else if (d.length === 2) m = BigInt(w0 * 1e7 + (d[1] as number));
  else {
    let t = String(w0);
    for (let i = 1; i < d.length; i++) t += String(d[i]).padStart(7, "0");
    m = BigInt(t);
  }
  digits += 7 * (d.length - 1);
  if (Math.abs(x.e) > MAX_EXPONENT) throw new RangeError(`WideDecimal: ${x.toString()} is beyond 10^±${MAX_EXPONENT}`);
  return new WideDecimal(x.s < 0 ? -m : m, digits - 1 - x.e);
}

/** The digits of m x 10^-s (m not 0) without trailing zeros, and the exponent of the leading one. */
function significand(m: bigint, s: number): { negative: boolean; c: string; e: number } {
  const negative = m < 0n;
  const all = (negative ? -m : m).toString();
  let end = all.length;
  while (all.charCodeAt(end - 1) === 48) end--;
  return { negative, c: end === all.length ? all : all.slice(0, end), e: all.length - 1 - s };
}

/** Digits `c` (no trailing zero) with leading-digit exponent e, in normal notation. */
function normal(c: string, e: number): string {
  if (e < 0) return "0." + "0".repeat(-e - 1) + c;
  if (e + 1 >= c.length) return c + "0".repeat(e + 1 - c.length);
  return c.slice(0, e + 1) + "." + c.slice(e + 1);
}

function exponential(c: string, e: number): string {
  return (c.length > 1 ? c[0] + "." + c.slice(1) : c) + "e" + (e < 0 ? "-" : "+") + String(Math.abs(e));
}
