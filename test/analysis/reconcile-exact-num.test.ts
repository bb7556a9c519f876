// The reconciliation's exact decimals without a Decimal per value (src/analysis/exact-num.ts): every
// check and sum agrees with decimal.js, on values that fit a scaled integer and on those that do not
// (long mantissas, exponents, Decimals), so reconciliation results are unchanged to the digit.

import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { absGte, decimalToNumber, ExactSum, fixed, numEq, numOf, productEq, sumIsZero, toNum, type Num } from "../../src/analysis/exact-num.js";

/** A deterministic generator of decimal texts of every shape the logs hold, and some they do not. */
function texts(seed: number, n: number): string[] {
  let x = seed >>> 0;
  const rnd = (): number => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 4294967296;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const k = rnd();
    const digits = 1 + Math.floor(rnd() * (k < 0.8 ? 12 : 24));
    let d = "";
    for (let j = 0; j < digits; j++) d += String(Math.floor(rnd() * 10));
    const dot = Math.floor(rnd() * (digits + 1));
    let t = dot === digits ? d : `${d.slice(0, dot)}.${d.slice(dot)}`;
    if (t.startsWith(".")) t = `0${t}`;
    if (rnd() < 0.5) t = `-${t}`;
    if (k > 0.95) t = `${t}e${Math.floor(rnd() * 20) - 10}`;
    if (k < 0.05) t = "0";
    out.push(new Decimal(t).toString());
  }
  return out;
}

const vals = texts(7, 400);
const pairs = vals.map((v, i) => [v, vals[(i * 7 + 3) % vals.length] as string] as const);

describe("exact-num", () => {
  it("reads logged decimals as Decimal does, and refuses what it refuses", () => {
    expect(numOf("1.50")).toBe("1.50");
    expect(numOf(2.5)).toBe("2.5");
    expect(numOf("abc")).toBeUndefined();
    expect(numOf(null)).toBeUndefined();
    expect(numOf("0x1f")).toBeInstanceOf(Decimal);
    expect(toNum(numOf("0x1f") as Num)).toBe(31);
    for (const v of vals) {
      expect(toNum(v)).toBe(new Decimal(v).toNumber());
      expect(Object.is(decimalToNumber(new Decimal(v)), new Decimal(v).toNumber())).toBe(true);
      const product = new Decimal(v).mul("3.7").toSignificantDigits(12);
      expect(decimalToNumber(product)).toBe(product.toNumber());
    }
    for (const v of ["-0", "0", "1e-30", "123456789012345678", "0.1", "-2.5e21", "99999999999999.9"]) expect(Object.is(decimalToNumber(new Decimal(v)), new Decimal(v).toNumber())).toBe(true);
  });

  it("equality, products and signed sums agree with decimal.js", () => {
    for (const [a, b] of pairs) {
      expect(numEq(a, b)).toBe(new Decimal(a).eq(b));
      expect(numEq(a, new Decimal(a).toFixed())).toBe(true);
      const p = new Decimal(a).mul(b);
      expect(productEq(a, b, p.toString())).toBe(true);
      const off = p.add("0.000001").toString();
      expect(productEq(a, b, off)).toBe(new Decimal(a).mul(b).eq(off));
      const s = new Decimal(a).add(b);
      const decide = (): boolean => new Decimal(s).eq(new Decimal(a).add(b));
      expect(sumIsZero([s.toString(), a, b], [1, -1, -1], decide)).toBe(true);
      const t = s.add("1e-9");
      expect(sumIsZero([t.toString(), a, b], [1, -1, -1], () => t.eq(new Decimal(a).add(b)))).toBe(t.eq(new Decimal(a).add(b)));
      expect(absGte(a, b)).toBe(new Decimal(a).abs().gte(new Decimal(b).abs()));
    }
    expect(numEq("1.0", "1")).toBe(true);
    expect(numEq("1e2", "100")).toBe(true);
    expect(numEq(new Decimal("0.3"), "0.30")).toBe(true);
    expect(absGte("-2", "2.0")).toBe(true);
  });

  it("sums as decimal.js adds, term by term, also past a scaled integer's range", () => {
    const exact = new ExactSum();
    const abs = new ExactSum();
    const prod = new ExactSum();
    let d = new Decimal(0);
    let da = new Decimal(0);
    let dp = new Decimal(0);
    for (const [a, b] of pairs) {
      exact.add(a);
      abs.addAbs(a);
      prod.addProduct(a, b);
      d = d.add(a);
      da = da.add(new Decimal(a).abs());
      dp = dp.add(new Decimal(a).mul(b));
    }
    expect(exact.value().toFixed()).toBe(d.toFixed());
    expect(abs.value().toFixed()).toBe(da.toFixed());
    expect(prod.value().toFixed()).toBe(dp.toFixed());
    expect(exact.eq(d.toString())).toBe(true);
    // Small sums stay scaled integers: the text is Decimal's own.
    const small = new ExactSum().add("-0.059013").add("0.0177").add("0.041313");
    expect(small.value().toFixed()).toBe("0");
    expect(new ExactSum().add("-1.25").add("0.005").value().toFixed()).toBe("-1.245");
    expect(new ExactSum().add("0.001").value().toFixed()).toBe("0.001");
    expect(new ExactSum().value().toFixed()).toBe("0");
    expect(fixed("1e-7")).toBe("0.0000001");
  });
});
