// Integer tick and lot counts to the numbers stored in market data rows, exactly: a count times
// `mantissa / 10^scale` divided as one IEEE operation gives the double nearest the decimal value,
// the same number as parsing the instrument's decimal text, without building any string.

import type { Step } from "../core/units.js";

/** Exact powers of ten as literals (10^22 is the last one a double holds exactly). */
const POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/** A converter from step counts to numbers for one step (price tick or quantity lot). */
export function stepToNumber(step: Step): (count: number) => number {
  const m = step.mantissa;
  const p = POW10[step.scale];
  if (p === undefined) {
    const scale = step.scale;
    return (n) => Number(`${n * m}e-${scale}`);
  }
  // count * mantissa stays an exact integer below 2^53 for any price or size a book holds.
  return (n) => (n * m) / p;
}
