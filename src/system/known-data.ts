// The door through which a model sees market data: bound to one moment, it answers only with rows
// known at or before it. Bar closes at the system's bar boundaries are read from 1-minute bars, so
// any bar length that is a whole number of minutes works from the same data.

import type { EpochMs } from "../core/clock.js";
import { MINUTE_MS, type MarketDataSource } from "../marketdata/types.js";
import { ModelDagError, type KnownData } from "./model-dag.js";

/**
 * A source that hands bar ends and closes over without building Bar rows (the in-memory store).
 * The per-bar reads below take this path when they can: they run for every symbol at every bar.
 */
interface CloseColumns {
  eachBarClose(symbol: string, intervalMs: number, fromMs: EpochMs, asOf: EpochMs, visit: (end: number, close: number) => void): void;
  lastBarClose(symbol: string, intervalMs: number, fromMs: EpochMs, asOf: EpochMs): number | undefined;
}

function hasCloseColumns(source: MarketDataSource): source is MarketDataSource & CloseColumns {
  const s = source as Partial<CloseColumns>;
  return typeof s.eachBarClose === "function" && typeof s.lastBarClose === "function";
}

/**
 * `noL2Model`: the model's name when it declares it reads no L2 (usesL2: false). A run builds such a
 * model's market data without L2, so reading it would see none: the read fails instead, naming the
 * declaration to change.
 */
export function knownDataAt(source: MarketDataSource, now: EpochMs, noL2Model?: string): KnownData {
  return {
    closes: (symbol, barMs, n) => barCloses(source, symbol, barMs, n, now),
    latestL2:
      noL2Model === undefined
        ? (symbol) => source.latestL2(symbol, now)
        : () => {
            throw new ModelDagError(`model ${noL2Model} reads L2 snapshots but declares usesL2: false (its runs keep no L2); set usesL2: true in its definition`);
          },
  };
}

/**
 * Closes at the last `n` bar boundaries at or before `asOf`, oldest first. The close at a boundary
 * is the close of the last 1-minute bar ending at or before it; NaN where no bar is known yet.
 */
export function barCloses(source: MarketDataSource, symbol: string, barMs: number, n: number, asOf: EpochMs): number[] {
  const lastBoundary = Math.floor(asOf / barMs) * barMs;
  const first = lastBoundary - (n - 1) * barMs;
  // One extra bar length of history so the first boundary can fall back to an earlier minute.
  const from = first - barMs;
  const out = new Array<number>(n).fill(NaN);
  // Each boundary takes the close of the last bar ending at or before it.
  let k = 0;
  let prev = NaN;
  eachBarClose(source, symbol, from, asOf, (barEnd, close) => {
    while (k < n && first + k * barMs < barEnd) out[k++] = prev;
    prev = close;
  });
  while (k < n) out[k++] = prev;
  return out;
}

function eachBarClose(source: MarketDataSource, symbol: string, fromMs: EpochMs, asOf: EpochMs, visit: (end: number, close: number) => void): void {
  if (hasCloseColumns(source)) return source.eachBarClose(symbol, MINUTE_MS, fromMs, asOf, visit);
  for (const b of source.bars(symbol, MINUTE_MS, fromMs, asOf)) visit(b.end, b.close);
}

/** The newest close known at `asOf` (the mark price), or undefined. */
export function lastClose(source: MarketDataSource, symbol: string, asOf: EpochMs, lookbackMs = 60 * MINUTE_MS): number | undefined {
  if (hasCloseColumns(source)) return source.lastBarClose(symbol, MINUTE_MS, asOf - lookbackMs, asOf);
  const bars = source.bars(symbol, MINUTE_MS, asOf - lookbackMs, asOf);
  return bars[bars.length - 1]?.close;
}

/** Standard deviation of log returns over the known closes (NaN ones skipped); undefined if < 2 returns or 0. */
export function realizedVolatility(closes: readonly number[]): number | undefined {
  const r: number[] = [];
  for (let k = 1; k < closes.length; k++) {
    const a = closes[k - 1] as number;
    const b = closes[k] as number;
    if (a > 0 && b > 0) r.push(Math.log(b / a));
  }
  if (r.length < 2) return undefined;
  const m = r.reduce((x, y) => x + y, 0) / r.length;
  const v = Math.sqrt(r.reduce((x, y) => x + (y - m) ** 2, 0) / (r.length - 1));
  return v > 0 ? v : undefined;
}
