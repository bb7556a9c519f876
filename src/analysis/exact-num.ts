// Exact decimals for the reconciliation's hot loops without a Decimal per value. A value read from a
// log stays the text it was logged as (`Num`: decimal text, or a Decimal where one was computed); it
// becomes a float for statistics (Number(text) is the same double as Decimal's toNumber) and a
// Decimal only where an exact result needs one. The exact checks and sums run on scaled integers in
// doubles (a value of at most 15 significant digits is an integer mantissa times a power of ten, and
// integer arithmetic in doubles is exact below 2^53): every step checks that it stayed exact, and
// falls back to decimal.js when it would not, so results are those of decimal.js to the digit.

import { Decimal } from "decimal.js";

/** An exact decimal value: the text a log holds (as Decimal parses it) or a Decimal. */
export type Num = Decimal | string;

const PLAIN = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * A logged decimal (text, or a number in older logs) as a Num, or undefined when Decimal does not read
 * it as a number. Plain decimal text is kept as is; anything else Decimal reads (hex, Infinity...)
 * becomes a Decimal, so Number() is never asked to read what only Decimal can.
 */
export function numOf(v: unknown): Num | undefined {
  if (typeof v === "string") {
    if (PLAIN.test(v)) return v;
    try {
      return new Decimal(v);
    } catch {
      return undefined;
    }
  }
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : undefined;
  return undefined;
}

export function toDec(x: Num): Decimal {
  return typeof x === "string" ? new Decimal(x) : x;
}

/** The double nearest the value (the same as Decimal's toNumber). */
export function toNum(x: Num): number {
  return typeof x === "string" ? Number(x) : decimalToNumber(x);
}

/**
 * Decimal's toNumber without its text: a value of at most 15 significant digits is an integer below
 * 2^53 times a power of ten within 10^22, and one IEEE multiplication or division of two exact
 * operands rounds correctly, so the double is the nearest one, as Number() of the text gives.
 * Decimal's digits are base-1e7 words (d), the exponent of the leading digit (e) and the sign (s).
 */
export function decimalToNumber(x: Decimal): number {
  const d = x.d as readonly number[] | null;
  if (d === null || d.length > 3) return x.toNumber();
  const w0 = d[0] as number;
  if (w0 === 0) return x.s < 0 ? -0 : 0;
  let m = w0;
  let digits = w0 < 10 ? 1 : w0 < 100 ? 2 : w0 < 1e3 ? 3 : w0 < 1e4 ? 4 : w0 < 1e5 ? 5 : w0 < 1e6 ? 6 : 7;
  for (let i = 1; i < d.length; i++) {
    m = m * 1e7 + (d[i] as number);
    digits += 7;
  }
  if (m >= SAFE) return x.toNumber();
  const p = x.e - digits + 1;
  let r: number;
  if (p === 0) r = m;
  else if (p > 0 && p <= 22) r = m * (POW10[p] as number);
  else if (p < 0 && p >= -22) r = m / (POW10[-p] as number);
  else return x.toNumber();
  return x.s < 0 ? -r : r;
}

/** Normal notation, as Decimal's toFixed() writes it. */
export function fixed(x: Num): string {
  return toDec(x).toFixed();
}

const SAFE = 9007199254740992; // 2^53: integers below it are exact in a double
const POW10: number[] = [];
for (let i = 0, p = 1; i <= 22; i++, p *= 10) POW10.push(p);

// The last scaled value read: value = M / 10^S.
let M = 0;
let S = 0;

/** Reads x as a safe integer mantissa M and a scale S (into M, S); false when it does not fit. */
function scaled(x: Num): boolean {
  if (typeof x !== "string") return false;
  const n = x.length;
  let i = 0;
  let neg = false;
  const c0 = x.charCodeAt(0);
  if (c0 === 45) {
    neg = true;
    i = 1;
  } else if (c0 === 43) i = 1;
  let m = 0;
  let sig = 0;
  let dot = -1;
  let any = false;
  for (; i < n; i++) {
    const c = x.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      any = true;
      if (m !== 0 || c !== 48) sig++;
      m = m * 10 + (c - 48);
    } else if (c === 46 && dot < 0) dot = i;
    else return false;
  }
  if (!any || sig > 15) return false;
  M = neg ? -m : m;
  S = dot < 0 ? 0 : n - dot - 1;
  return S <= 22;
}

/** a x 10^d when it stays exact, else NaN. */
function up(a: number, d: number): number {
  if (d === 0) return a;
  if (d > 22) return NaN;
  const r = a * (POW10[d] as number);
  return Math.abs(r) < SAFE ? r : NaN;
}

function exact(r: number): number {
  return Math.abs(r) < SAFE ? r : NaN;
}

/** Whether two values are equal (exactly). */
export function numEq(a: Num, b: Num): boolean {
  if (typeof a === "string" && typeof b === "string") {
    if (a === b) return true;
    if (scaled(a)) {
      const ma = M;
      const sa = S;
      if (scaled(b)) {
        const s = Math.max(sa, S);
        const x = up(ma, s - sa);
        const y = up(M, s - S);
        if (!Number.isNaN(x) && !Number.isNaN(y)) return x === y;
      }
    }
  }
  return toDec(a).eq(toDec(b));
}

/**
 * An exact running sum of decimals (and of products of two), in a scaled integer while it fits and
 * in decimal.js from the first step that would not.
 */
export class ExactSum {
  private m = 0;
  private s = 0;
  private dec: Decimal | undefined;

  add(x: Num): this {
    if (this.dec === undefined && scaled(x) && this.addScaled(M, S)) return this;
    this.dec = this.value().add(toDec(x));
    return this;
  }

  /** Adds |x|. */
  addAbs(x: Num): this {
    if (this.dec === undefined && scaled(x) && this.addScaled(Math.abs(M), S)) return this;
    this.dec = this.value().add(toDec(x).abs());
    return this;
  }

  /** Adds a x b. */
  addProduct(a: Num, b: Num): this {
    if (this.dec === undefined && scaled(a)) {
      const ma = M;
      const sa = S;
      if (scaled(b)) {
        const p = exact(ma * M);
        if (!Number.isNaN(p) && this.addScaled(p, sa + S)) return this;
      }
    }
    this.dec = this.value().add(toDec(a).mul(toDec(b)));
    return this;
  }

  private addScaled(m: number, s: number): boolean {
    let acc = this.m;
    let sc = this.s;
    if (s > sc) {
      acc = up(acc, s - sc);
      sc = s;
    } else if (s < sc) m = up(m, sc - s);
    const r = exact(acc + m);
    if (Number.isNaN(r)) return false;
    this.m = r;
    this.s = sc;
    return true;
  }

  value(): Decimal {
    if (this.dec !== undefined) return this.dec;
    // The scaled integer as text (exact: no division).
    const neg = this.m < 0 || Object.is(this.m, -0);
    let digits = String(Math.abs(this.m));
    if (this.s === 0) return new Decimal(neg && this.m !== 0 ? `-${digits}` : digits);
    if (digits.length <= this.s) digits = "0".repeat(this.s - digits.length + 1) + digits;
    const text = `${neg && this.m !== 0 ? "-" : ""}${digits.slice(0, digits.length - this.s)}.${digits.slice(digits.length - this.s)}`;
    return new Decimal(text);
  }

  /** Whether the sum equals x (exactly). */
  eq(x: Num): boolean {
    if (this.dec === undefined && scaled(x)) {
      const s = Math.max(this.s, S);
      const a = up(this.m, s - this.s);
      const b = up(M, s - S);
      if (!Number.isNaN(a) && !Number.isNaN(b)) return a === b;
    }
    return this.value().eq(toDec(x));
  }
}

/** a x b = c, exactly. */
export function productEq(a: Num, b: Num, c: Num): boolean {
  if (scaled(a)) {
    const ma = M;
    const sa = S;
    if (scaled(b)) {
      const p = exact(ma * M);
      const sp = sa + S;
      if (!Number.isNaN(p) && scaled(c)) {
        const s = Math.max(sp, S);
        const x = up(p, s - sp);
        const y = up(M, s - S);
        if (!Number.isNaN(x) && !Number.isNaN(y)) return x === y;
      }
    }
  }
  return toDec(a).mul(toDec(b)).eq(toDec(c));
}

/**
 * Whether the terms, each with its sign (+1 or -1), sum to zero, exactly; `otherwise` decides (in
 * decimal.js, in the caller's order of operations) when a term does not fit a scaled integer.
 */
export function sumIsZero(terms: readonly Num[], signs: readonly number[], otherwise: () => boolean): boolean {
  let acc = 0;
  let sc = 0;
  for (let i = 0; i < terms.length; i++) {
    if (!scaled(terms[i] as Num)) return otherwise();
    let m = (signs[i] as number) * M;
    if (S > sc) {
      acc = up(acc, S - sc);
      sc = S;
    } else if (S < sc) m = up(m, sc - S);
    acc = exact(acc + m);
    if (Number.isNaN(acc)) return otherwise();
  }
  return acc === 0;
}

/** |a| >= |b|, exactly (doubles decide unless they are equal: rounding to a double keeps order). */
export function absGte(a: Num, b: Num): boolean {
  const x = Math.abs(toNum(a));
  const y = Math.abs(toNum(b));
  if (x !== y) return x > y;
  return toDec(a).abs().gte(toDec(b).abs());
}

/** The exact part of a parent fill as a log holds it. */
export interface FillAmounts {
  numShares: Num;
  price: Num;
  fees: Num;
}

/**
 * Fills keyed by `key`, those with the same key folded into one: shares and fees summed, the price
 * the average of the parts weighted by their absolute shares (Decimal's 20 digits; a late buy and
 * the bar's own sell net out in the shares, not in the price). A parent has two fills when a child
 * left open by it filled after it finished and was booked as a late fill (Broker.collectLateFills);
 * every other fill is kept as it is, with no Decimal made.
 */
export function fillsBy<F extends FillAmounts>(fills: readonly F[], key: (f: F) => number): Map<number, Omit<F, keyof FillAmounts> & FillAmounts> {
  const out = new Map<number, Omit<F, keyof FillAmounts> & FillAmounts>();
  for (const f of fills) {
    const k = key(f);
    const seen = out.get(k);
    if (seen === undefined) {
      out.set(k, f);
      continue;
    }
    const gross = toDec(seen.numShares).abs().add(toDec(f.numShares).abs());
    const cost = toDec(seen.numShares).abs().mul(toDec(seen.price)).add(toDec(f.numShares).abs().mul(toDec(f.price)));
    const merged: FillAmounts = { numShares: toDec(seen.numShares).add(toDec(f.numShares)), price: gross.isZero() ? toDec(f.price) : cost.div(gross), fees: toDec(seen.fees).add(toDec(f.fees)) };
    out.set(k, { ...seen, ...merged });
  }
  return out;
}
