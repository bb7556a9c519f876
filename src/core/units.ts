// Exact conversion between decimal amounts (strings or decimal.js values) and integer counts of a
// step (price ticks, quantity lots, asset units). Money never passes through a binary float here.

import { Decimal } from "decimal.js";

/** A positive decimal step written as `mantissa * 10^-scale` with an integer mantissa. */
export interface Step {
  readonly mantissa: number;
  readonly scale: number;
  readonly text: string;
}

const DECIMAL_RE = /^([+-]?)(\d+)(?:\.(\d+))?$/;
const MAX_SCALE = 18;

export class UnitsError extends Error {
  override readonly name = "UnitsError";
}

/** Parses a step such as "0.01", "0.5" or "1". Throws UnitsError on a non-positive or odd value. */
export function parseStep(value: string | Decimal | number): Step {
  const text = toPlainString(value);
  const m = DECIMAL_RE.exec(text);
  if (m === null || m[1] === "-") throw new UnitsError(`step must be a positive decimal, got "${text}"`);
  const frac = (m[3] ?? "").replace(/0+$/, "");
  const scale = frac.length;
  if (scale > MAX_SCALE) throw new UnitsError(`step "${text}" has more than ${MAX_SCALE} decimals`);
  const mantissa = Number((m[2] ?? "0") + frac);
  if (!Number.isSafeInteger(mantissa) || mantissa <= 0) throw new UnitsError(`step must be a positive decimal, got "${text}"`);
  return { mantissa, scale, text: new Decimal(text).toFixed() };
}

/**
 * Converts a decimal amount to a whole number of steps. Returns undefined when the amount is not an
 * exact multiple of the step (off tick / off lot) or is too large to be held exactly.
 */
export function toSteps(value: string | Decimal | number, step: Step): number | undefined {
  const text = toPlainString(value);
  const m = DECIMAL_RE.exec(text);
  if (m === null) return undefined;
  const sign = m[1] === "-" ? -1 : 1;
  const intPart = m[2] ?? "0";
  let frac = m[3] ?? "";
  if (frac.length > step.scale) {
    const extra = frac.slice(step.scale);
    if (!/^0*$/.test(extra)) return undefined;
    frac = frac.slice(0, step.scale);
  } else {
    frac = frac.padEnd(step.scale, "0");
  }
  const scaled = Number(intPart + frac);
  if (!Number.isSafeInteger(scaled)) return undefined;
  if (scaled % step.mantissa !== 0) return undefined;
  const steps = scaled / step.mantissa;
  return steps === 0 ? 0 : sign * steps;
}

/** Formats a whole number of steps back to a canonical decimal string ("12.5", "0.001", "-3"). */
export function fromSteps(steps: number, step: Step): string {
  if (!Number.isSafeInteger(steps)) throw new UnitsError(`fromSteps: ${steps} is not a safe integer`);
  const scaled = steps * step.mantissa;
  if (!Number.isSafeInteger(scaled)) return new Decimal(steps).mul(step.text).toFixed();
  return formatScaled(scaled, step.scale);
}

/** Formats an integer `n * 10^-scale` as a plain decimal string without trailing zeros. */
export function formatScaled(n: number, scale: number): string {
  // Trailing zeros come off the integer (no string search), then the point goes in.
  let m = n;
  let s = scale;
  while (s > 0 && m % 10 === 0) {
    m /= 10;
    s--;
  }
  if (m === 0) return "0";
  const neg = m < 0;
  let digits = String(Math.abs(m));
  if (s === 0) return neg ? "-" + digits : digits;
  if (digits.length <= s) digits = "0".repeat(s - digits.length + 1) + digits;
  const text = digits.slice(0, digits.length - s) + "." + digits.slice(digits.length - s);
  return neg ? "-" + text : text;
}

/** Steps as an exact decimal.js value. */
export function stepsToDecimal(steps: number, step: Step): Decimal {
  return new Decimal(steps).mul(step.text);
}

/** How many `fine` steps make one `coarse` step, when that is a whole number; else undefined. */
export function stepRatio(coarse: Step, fine: Step): number | undefined {
  const r = new Decimal(coarse.text).div(fine.text);
  return r.isInteger() && r.gt(0) && r.lte(Number.MAX_SAFE_INTEGER) ? r.toNumber() : undefined;
}

function toPlainString(value: string | Decimal | number): string {
  if (typeof value === "string") return value.trim();
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return String(value);
    return new Decimal(value).toFixed();
  }
  return value.toFixed();
}
