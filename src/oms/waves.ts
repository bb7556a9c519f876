// TWAP wave arithmetic (DOMAIN.md section 3): how many waves a parent order has, which wave a time
// falls in, when to stop submitting, and how big each child is. Pure functions of epoch ms.

import { Decimal } from "decimal.js";

const MINUTE_MS = 60_000;
/** A wave with less than this left is skipped: there is no time for a child to rest and be cancelled. */
export const MIN_WAVE_REMAINING_MS = 4_000;
/** Children are cancelled this long before the wave ends, to collect states before the next wave. */
export const CANCEL_BEFORE_WAVE_END_MS = 200;

export function floorTo(t: number, stepMs: number): number {
  return Math.floor(t / stepMs) * stepMs;
}

/** num_waves = ceil((end - floor(start, 1 min)) / freq). */
export function numWaves(startMs: number, endMs: number, freqMs: number): number {
  if (!(freqMs > 0)) throw new RangeError(`execution frequency must be positive, got ${freqMs} ms`);
  if (endMs <= startMs) throw new RangeError(`order end ${new Date(endMs).toISOString()} is not after its start ${new Date(startMs).toISOString()}`);
  return Math.ceil((endMs - floorTo(startMs, MINUTE_MS)) / freqMs);
}

/** wave_id = num_waves - floor((end - floor(now, freq)) / freq). */
export function waveId(nowMs: number, startMs: number, endMs: number, freqMs: number): number {
  return numWaves(startMs, endMs, freqMs) - Math.floor((endMs - floorTo(nowMs, freqMs)) / freqMs);
}

/** The last slot is kept for collecting fills: no child is submitted once now >= end - freq. */
export function isSubmissionOver(nowMs: number, endMs: number, freqMs: number): boolean {
  return nowMs >= endMs - freqMs;
}

/** Whether the wave containing `now` has too little time left to be worth a child. */
export function shouldSkipWave(nowMs: number, freqMs: number): boolean {
  const waveEnd = floorTo(nowMs, freqMs) + freqMs;
  return waveEnd - nowMs < MIN_WAVE_REMAINING_MS;
}

/**
 * Why a TWAP wave length cannot work for parents spanning `spanMs` (one bar), or undefined when it
 * can. Checked when a config is read, because each failure is silent or late at run time: a wave
 * under the 4 s skip threshold is skipped every time; a wave as long as the span has only the last
 * slot, which is kept for collecting, so nothing is sent; a wave that does not divide the span puts
 * bar starts mid-wave on the epoch-aligned wave grid, so a bar's wave ids shift (and a per-wave
 * volatility multiple list runs out mid-run).
 */
export function waveLengthProblem(freqMs: number, spanMs: number, spanName: string): string | undefined {
  const f = `${freqMs / 1000} s`;
  if (freqMs < MIN_WAVE_REMAINING_MS) return `${f} waves never trade: a wave with less than ${MIN_WAVE_REMAINING_MS / 1000} s left is skipped (DOMAIN.md section 3); give at least ${MIN_WAVE_REMAINING_MS / 1000} s`;
  if (freqMs >= spanMs) return `a ${f} wave is not shorter than the ${spanMs / 1000} s ${spanName}: its only wave is the last one, kept for collecting fills, so no child would ever be sent; give a shorter wave`;
  if (spanMs % freqMs !== 0) return `${f} does not divide the ${spanMs / 1000} s ${spanName}: waves sit on a ${f} grid, so bars would start mid-wave and number their waves differently; give a divisor of ${spanMs / 1000} s`;
  return undefined;
}

/** Wave start times at which children are submitted, for a run that starts at `startMs`. */
export function submissionTimes(startMs: number, endMs: number, freqMs: number): number[] {
  const out: number[] = [];
  let t = startMs;
  while (!isSubmissionOver(t, endMs, freqMs)) {
    if (!shouldSkipWave(t, freqMs)) out.push(t);
    t = floorTo(t, freqMs) + freqMs;
  }
  return out;
}

/** Static child size: diff / num_waves, floored toward zero to the amount precision. */
export function staticChildSize(diff: Decimal.Value, waves: number, amountDecimals: number): Decimal {
  return new Decimal(diff).div(waves).toDecimalPlaces(amountDecimals, Decimal.ROUND_DOWN);
}

/**
 * Dynamic child size: the first wave sends the whole diff and fixes target = position + diff;
 * later waves send what is still missing, target - position.
 */
export function dynamicChildSize(wave: number, diff: Decimal.Value, position: Decimal.Value, target: Decimal.Value | undefined, amountDecimals: number): { size: Decimal; target: Decimal } {
  if (wave === 0 || target === undefined) {
    const t = new Decimal(position).add(diff);
    return { size: new Decimal(diff).toDecimalPlaces(amountDecimals, Decimal.ROUND_DOWN), target: t };
  }
  const t = new Decimal(target);
  return { size: t.sub(position).toDecimalPlaces(amountDecimals, Decimal.ROUND_DOWN), target: t };
}
