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
