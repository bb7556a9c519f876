// Longer bars from shorter ones (5m, 15m, 1h, 4h from 1m): as a pure function over a list, and as a
// live aggregator that emits each longer bar the moment its last short bar closes. Buckets are
// aligned to multiples of the interval since the epoch, so 5-minute bars start at :00, :05, ...

import type { Bar } from "./types.js";

/**
 * Aggregates bars of one symbol (oldest first) into `intervalMs` bars. Only complete buckets are
 * returned: every short bar of the bucket present. A bucket's knowledge time is the latest of its
 * short bars' (a 5-minute bar is known when its last minute is).
 */
export function aggregateBars(bars: readonly Bar[], intervalMs: number): Bar[] {
  const out: Bar[] = [];
  let acc: Bar | undefined;
  let count = 0;
  for (const b of bars) {
    if (intervalMs % b.intervalMs !== 0) throw new RangeError(`aggregateBars: ${intervalMs} ms is not a multiple of the ${b.intervalMs} ms bars`);
    const start = Math.floor(b.start / intervalMs) * intervalMs;
    if (acc === undefined || acc.start !== start) {
      if (acc !== undefined && count === intervalMs / (bars[0] as Bar).intervalMs) out.push(acc);
      acc = { ...b, intervalMs, start, end: start + intervalMs };
      count = 1;
      continue;
    }
    fold(acc, b);
    count++;
  }
  if (acc !== undefined && count === intervalMs / (bars[0] as Bar).intervalMs) out.push(acc);
  return out;
}

function fold(acc: Bar, b: Bar): void {
  if (b.high > acc.high) acc.high = b.high;
  if (b.low < acc.low) acc.low = b.low;
  acc.close = b.close;
  acc.volume += b.volume;
  if (b.knowledgeTime > acc.knowledgeTime) acc.knowledgeTime = b.knowledgeTime;
}

/**
 * Folds the short bars of one symbol as they close into longer intervals and emits each longer
 * bar when the short bar ending at its boundary arrives. A bucket whose first short bars are
 * missing (the feed started mid-bucket) is not emitted: it would claim a range it did not see.
 */
export class BarAggregator {
  private readonly open: (Bar | undefined)[];
  private readonly lastEnd: number[];

  constructor(
    private readonly baseMs: number,
    private readonly intervalsMs: readonly number[],
    private readonly emit: (bar: Bar) => void,
  ) {
    for (const ms of intervalsMs) {
      if (ms <= baseMs || ms % baseMs !== 0) throw new RangeError(`bar interval ${ms} ms must be a multiple of the ${baseMs} ms base bars`);
    }
    this.open = intervalsMs.map(() => undefined);
    this.lastEnd = intervalsMs.map(() => NaN);
  }

  /** Feeds one closed short bar (in time order). */
  add(b: Bar): void {
    for (let i = 0; i < this.intervalsMs.length; i++) {
      const ms = this.intervalsMs[i] as number;
      const start = Math.floor(b.start / ms) * ms;
      let acc = this.open[i];
      // A new bucket, or a short bar missing inside this one: what is open cannot be completed.
      if (acc !== undefined && (acc.start !== start || this.lastEnd[i] !== b.start)) acc = undefined;
      if (acc === undefined) {
        this.open[i] = undefined;
        if (b.start !== start) continue;
        acc = { ...b, intervalMs: ms, start, end: start + ms };
        this.open[i] = acc;
      } else {
        fold(acc, b);
      }
      this.lastEnd[i] = b.end;
      if (b.end === acc.end) {
        this.emit(acc);
        this.open[i] = undefined;
      }
    }
  }
}
