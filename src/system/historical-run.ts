// The historical run: a backtest over a range of UTC days, one simulation run per day, each filed in
// the run layout as a `backfill` run so its PnL joins the model's since-inception chart. Re-running
// it is idempotent: a day whose run carries `_SUCCESS` is skipped, a day left half-done by a killed
// run is resumed from its last checkpoint (runSystem's resume).
//
// It lives in system/ rather than analysis/ because it is a driver of runSystem and of the run
// layout's completion marker; it computes nothing about PnL itself.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeTextAtomic } from "../storage/jsonl.js";
import { SUCCESS_MARKER, runDir as runDirOf } from "../storage/run-layout.js";
import { ConfigError, resolveConfig } from "./config.js";
import { runIdentity, runSystem } from "./run-system.js";

export const DAY_MS = 86_400_000;

export interface HistoricalRunOptions {
  /**
   * The system config of every day (model, universe, broker, data, targets, outputRoot...). The
   * window, the mode and the DAG run mode are the historical run's own: `start`, `end`, `mode` and
   * `dagRunMode` are refused here.
   */
  base: Readonly<Record<string, unknown>>;
  /** First and last UTC day, both included: `2024-01-01` or any time on that day (UTC ms). */
  firstDay: string | number;
  lastDay: string | number;
  onProgress?: (p: HistoricalProgress) => void;
  /** Checked between days: an aborted historical run stops before starting the next day. */
  signal?: AbortSignal;
  /** Names the config's origin in errors. */
  where?: string;
}

export interface HistoricalProgress {
  day: string;
  /** 0-based index of the day, and the number of days. */
  dayIndex: number;
  days: number;
  /** Bars done over the whole range (skipped days count as done), and in total. */
  barsDone: number;
  barsTotal: number;
  /** The simulated time reached. */
  simTime: number;
  event: "skipped" | "bar" | "day_done";
}

export interface HistoricalDay {
  day: string;
  runDir: string;
  outcome: "ran" | "skipped";
  /** The day's PnL (before fees) when it ran. */
  totalPnl: number | undefined;
}

export interface HistoricalRunResult {
  days: HistoricalDay[];
  ran: number;
  skipped: number;
}

export class HistoricalRunError extends Error {
  override readonly name = "HistoricalRunError";
}

const DAY_TEXT = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Midnight UTC of a `YYYY-MM-DD` day, or of the day a UTC time falls on. */
export function utcDayStart(day: string | number, what = "day"): number {
  if (typeof day === "number") {
    if (!Number.isFinite(day)) throw new HistoricalRunError(`${what}: ${day} is not a time`);
    return Math.floor(day / DAY_MS) * DAY_MS;
  }
  const m = DAY_TEXT.exec(day);
  if (m === null) throw new HistoricalRunError(`${what}: "${day}" is not a day like 2024-01-01`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const t = Date.UTC(y, mo - 1, d);
  if (new Date(t).getUTCMonth() !== mo - 1 || new Date(t).getUTCDate() !== d) throw new HistoricalRunError(`${what}: "${day}" is not a calendar day`);
  return t;
}

export function dayText(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * A seed per day, from the configured seed and the date: the synthetic markets are generated from
 * the seed alone, so one seed for every day would replay the same day over and over. Derived from
 * the date (not the position in the range) so a day gets the same market in any range.
 */
export function daySeed(seed: number, dayStartMs: number): number {
  // The day number times an odd constant is one-to-one modulo 2^32; dropping only the top bit (a
  // seed is a non-negative int) keeps neighbouring days apart.
  return (Math.imul(seed | 0, 0x9e3779b1) + Math.imul(Math.floor(dayStartMs / DAY_MS), 0x85ebca6b)) & 0x7fffffff;
}

/** The config of one day of the historical run, as given (before resolution). */
export function historicalDayConfig(base: Readonly<Record<string, unknown>>, dayStartMs: number): Record<string, unknown> {
  const seed = typeof base["seed"] === "number" ? base["seed"] : 1;
  const s = daySeed(seed, dayStartMs);
  const data = base["data"];
  const given: Record<string, unknown> = {
    ...base,
    mode: "simulation",
    dagRunMode: "backfill",
    start: new Date(dayStartMs).toISOString(),
    end: new Date(dayStartMs + DAY_MS).toISOString(),
    seed: s,
  };
  if (data !== null && typeof data === "object" && (data as Record<string, unknown>)["source"] === "synthetic") given["data"] = { ...(data as Record<string, unknown>), seed: s };
  return given;
}

export async function runHistorical(opts: HistoricalRunOptions): Promise<HistoricalRunResult> {
  const where = opts.where ?? "historical run config";
  for (const k of ["start", "end", "mode", "dagRunMode"]) {
    if (k in opts.base) throw new ConfigError(`${where}: ${k} is set by the historical run (one simulation backfill run per UTC day); remove it`);
  }
  const first = utcDayStart(opts.firstDay, "first day");
  const last = utcDayStart(opts.lastDay, "last day");
  if (last < first) throw new HistoricalRunError(`last day ${dayText(last)} is before the first day ${dayText(first)}`);
  const days: number[] = [];
  for (let t = first; t <= last; t += DAY_MS) days.push(t);
  // Resolve every day first: a bad config fails before the first day runs, not after the fifth.
  const configs = days.map((t) => {
    const given = historicalDayConfig(opts.base, t);
    return { given, cfg: resolveConfig(given, where) };
  });
  const barsPerDay = configs.map(({ cfg }) => Math.round((cfg.end - cfg.start) / (cfg.barMinutes * 60_000)));
  const barsTotal = barsPerDay.reduce((a, b) => a + b, 0);
  let barsBefore = 0;
  const out: HistoricalDay[] = [];
  for (let i = 0; i < configs.length; i++) {
    if (opts.signal?.aborted === true) throw new HistoricalRunError(`historical run aborted before ${dayText(days[i] as number)} (${i} of ${days.length} days done)`);
    const { given, cfg } = configs[i] as (typeof configs)[number];
    const day = dayText(cfg.start);
    const dir = runDirOf(cfg.outputRoot, runIdentity(cfg));
    const progress = (event: HistoricalProgress["event"], barsDone: number, simTime: number): void =>
      opts.onProgress?.({ day, dayIndex: i, days: days.length, barsDone, barsTotal, simTime, event });
    if (existsSync(join(dir, SUCCESS_MARKER))) {
      out.push({ day, runDir: dir, outcome: "skipped", totalPnl: undefined });
      barsBefore += barsPerDay[i] as number;
      progress("skipped", barsBefore, cfg.end);
      continue;
    }
    const base = barsBefore;
    // A run folder without _SUCCESS is what a killed day left behind: resume it from its last
    // checkpoint (or take its summary, if only the marker is missing).
    const r = await runSystem(cfg, { given, resume: true, signal: opts.signal, onBar: (done, _total, t) => progress("bar", base + done, t) });
    // This day is a DAG run of one task, and it succeeded: mark it so a re-run skips it.
    writeTextAtomic(join(r.runDir, SUCCESS_MARKER), "");
    barsBefore += barsPerDay[i] as number;
    progress("day_done", barsBefore, cfg.end);
    out.push({ day, runDir: r.runDir, outcome: "ran", totalPnl: r.summary.totalPnl });
  }
  return { days: out, ran: out.filter((d) => d.outcome === "ran").length, skipped: out.filter((d) => d.outcome === "skipped").length };
}
