// The historical run: a backtest over a range of UTC days, one simulation run per day, each filed in
// the run layout as a `backfill` run so its PnL joins the model's since-inception chart. Re-running
// it is idempotent: a day whose run carries `_SUCCESS` is skipped, a day left half-done by a killed
// run is resumed from its last checkpoint (runSystem's resume).
//
// It lives in system/ rather than analysis/ because it is a driver of runSystem and of the run
// layout's completion marker; it computes nothing about PnL itself.

import { existsSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { readJsonFile, writeTextAtomic } from "../storage/jsonl.js";
import { SUCCESS_MARKER, SYSTEM_LOG_DIR, runDir as runDirOf } from "../storage/run-layout.js";
import { ConfigError, resolveConfig, type SystemConfig } from "./config.js";
import { getModel } from "./model-registry.js";
import { resolvedConfigRecord, runIdentity, runSystem } from "./run-system.js";
import { SystemRunWorker } from "./system-run-worker.js";

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
  /**
   * Stops the historical run: no day starts after it, and the days running stop (each leaves its
   * checkpoint, so running the range again resumes them).
   */
  signal?: AbortSignal;
  /**
   * Days run at once (default: the machine's cores, at most 4). Days are independent runs (each
   * starts from the initial cash on its own market), so with 2 or more each runs on a worker
   * thread of its own; 1 runs them one after another on this thread. Every day's files are the same
   * either way.
   */
  parallelDays?: number;
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

/**
 * A day of a parallel historical run failed (on a worker: the day's own error is the cause). Not a
 * HistoricalRunError, which means the range or config is refused: this one may pass on a retry.
 */
export class HistoricalDayError extends Error {
  override readonly name = "HistoricalDayError";
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

/** The default of `parallelDays`: one day per core, at most 4 (each day holds a run's memory). */
export function defaultParallelDays(): number {
  return Math.max(1, Math.min(4, os.availableParallelism()));
}

interface DayJob {
  index: number;
  given: Record<string, unknown>;
  cfg: SystemConfig;
  day: string;
  runDir: string;
}

export async function runHistorical(opts: HistoricalRunOptions): Promise<HistoricalRunResult> {
  const where = opts.where ?? "historical run config";
  for (const k of ["start", "end", "mode", "dagRunMode"]) {
    if (k in opts.base) throw new ConfigError(`${where}: ${k} is set by the historical run (one simulation backfill run per UTC day); remove it`);
  }
  const parallel = opts.parallelDays ?? defaultParallelDays();
  if (!Number.isInteger(parallel) || parallel < 1) throw new HistoricalRunError(`parallelDays must be a whole number >= 1, got ${parallel}`);
  const first = utcDayStart(opts.firstDay, "first day");
  const last = utcDayStart(opts.lastDay, "last day");
  if (last < first) throw new HistoricalRunError(`last day ${dayText(last)} is before the first day ${dayText(first)}`);
  const days: number[] = [];
  for (let t = first; t <= last; t += DAY_MS) days.push(t);
  // Resolve every day first: a bad config fails before the first day runs, not after the fifth.
  const jobs: DayJob[] = days.map((t, index) => {
    const given = historicalDayConfig(opts.base, t);
    const cfg = resolveConfig(given, where);
    return { index, given, cfg, day: dayText(cfg.start), runDir: runDirOf(cfg.outputRoot, runIdentity(cfg)) };
  });
  const barsPerDay = jobs.map(({ cfg }) => Math.round((cfg.end - cfg.start) / (cfg.barMinutes * 60_000)));
  const barsTotal = barsPerDay.reduce((a, b) => a + b, 0);
  // Bars done per day; days finish out of order when several run at once.
  const barsDoneOf = new Array<number>(jobs.length).fill(0);
  let barsDone = 0;
  const progress = (job: DayJob, event: HistoricalProgress["event"], dayBarsDone: number, simTime: number): void => {
    barsDone += dayBarsDone - (barsDoneOf[job.index] as number);
    barsDoneOf[job.index] = dayBarsDone;
    opts.onProgress?.({ day: job.day, dayIndex: job.index, days: days.length, barsDone, barsTotal, simTime, event });
  };
  const out = new Array<HistoricalDay>(jobs.length);
  const toRun: DayJob[] = [];
  for (const job of jobs) {
    // A day whose run carries _SUCCESS is done; a run folder without it is what a killed day left
    // behind, and runSystem resumes it from its last checkpoint (or takes its summary, if only the
    // marker is missing).
    if (existsSync(join(job.runDir, SUCCESS_MARKER))) {
      const differs = await differenceFromDone(job.runDir, job.cfg);
      if (differs !== undefined) {
        throw new HistoricalRunError(`${job.day} was already run with another config (${differs}; see ${join(job.runDir, SYSTEM_LOG_DIR, "config.resolved.json")}): a run is never overwritten, so give another stage, or remove that day's run to redo it`);
      }
      out[job.index] = { day: job.day, runDir: job.runDir, outcome: "skipped", totalPnl: undefined };
      progress(job, "skipped", barsPerDay[job.index] as number, job.cfg.end);
    } else {
      toRun.push(job);
    }
  }
  const aborted = (): HistoricalRunError => {
    const done = out.filter((d) => d !== undefined).length;
    const firstLeft = jobs.find((j) => out[j.index] === undefined)?.day ?? dayText(last);
    return new HistoricalRunError(`historical run aborted before ${firstLeft} finished (${done} of ${days.length} days done; running the range again resumes the rest)`);
  };
  const finished = (job: DayJob, r: { runDir: string; totalPnl: number }): void => {
    // This day is a DAG run of one task, and it succeeded: mark it so a re-run skips it.
    writeTextAtomic(join(r.runDir, SUCCESS_MARKER), "");
    progress(job, "day_done", barsPerDay[job.index] as number, job.cfg.end);
    out[job.index] = { day: job.day, runDir: r.runDir, outcome: "ran", totalPnl: r.totalPnl };
  };

  const lanes = Math.min(parallel, toRun.length);
  if (lanes <= 1) {
    for (const job of toRun) {
      if (opts.signal?.aborted === true) throw aborted();
      const r = await runSystem(job.cfg, { given: job.given, resume: true, signal: opts.signal, onBar: (done, _total, t) => progress(job, "bar", done, t) });
      finished(job, { runDir: r.runDir, totalPnl: r.summary.totalPnl });
    }
  } else {
    await runDaysOnWorkers(toRun, lanes, where, opts.signal, progress, finished);
    if (opts.signal?.aborted === true) throw aborted();
  }
  return { days: out, ran: out.filter((d) => d.outcome === "ran").length, skipped: out.filter((d) => d.outcome === "skipped").length };
}

/**
 * Runs the days `lanes` at a time, each on a worker thread of its own, in day order. After a day
 * fails no new day starts; the days running finish (they are good days), then the first failure is
 * thrown, naming its day. An abort stops the running days at once.
 */
async function runDaysOnWorkers(
  jobs: readonly DayJob[],
  lanes: number,
  where: string,
  signal: AbortSignal | undefined,
  progress: (job: DayJob, event: HistoricalProgress["event"], dayBarsDone: number, simTime: number) => void,
  finished: (job: DayJob, r: { runDir: string; totalPnl: number }) => void,
): Promise<void> {
  const isAborted = (): boolean => signal?.aborted === true;
  const workers = Array.from({ length: lanes }, () => new SystemRunWorker());
  const onAbort = (): void => workers.forEach((w) => w.abort());
  signal?.addEventListener("abort", onAbort);
  let next = 0;
  let failure: { job: DayJob; error: Error } | undefined;
  const lane = async (worker: SystemRunWorker): Promise<void> => {
    while (next < jobs.length && failure === undefined && !isAborted()) {
      const job = jobs[next++] as DayJob;
      try {
        const r = await worker.run(job.given, where, { resume: true }, (done, _total, t) => progress(job, "bar", done, t));
        finished(job, r);
      } catch (e) {
        if (isAborted()) return;
        failure ??= { job, error: e as Error };
      }
    }
  };
  try {
    await Promise.all(workers.map(lane));
  } finally {
    signal?.removeEventListener("abort", onAbort);
    await Promise.all(workers.map((w) => w.close()));
  }
  if (failure !== undefined) throw new HistoricalDayError(`historical run: ${failure.job.day} failed: ${failure.error.message}`, { cause: failure.error });
}

/**
 * The first setting in which a finished day's saved config differs from the one asked for now
 * (e.g. `model.params.lookbackBars: 12 here, 24 there`), or undefined when they agree: skipping a
 * day done with other parameters would chart the old ones under the new.
 */
async function differenceFromDone(runDir: string, cfg: SystemConfig): Promise<string | undefined> {
  const file = join(runDir, SYSTEM_LOG_DIR, "config.resolved.json");
  if (!existsSync(file)) return undefined;
  const model = await getModel(cfg.model.name);
  const parsed = model.params.safeParse(cfg.model.params);
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map((i) => `system config: model.params.${i.path.join(".")}: ${i.message}`).join("\n"));
  const wanted = JSON.parse(JSON.stringify(resolvedConfigRecord(cfg, parsed.data))) as unknown;
  return firstDifference(wanted, readJsonFile(file), "");
}

/**
 * Settings on one side only are not compared: a day run by an earlier version lacks the settings
 * added since (their defaults are what it ran with), and one it had may have been retired.
 */
function firstDifference(a: unknown, b: unknown, path: string): string | undefined {
  if (a !== null && b !== null && typeof a === "object" && typeof b === "object" && Array.isArray(a) === Array.isArray(b)) {
    const kb = new Set(Object.keys(b as object));
    for (const k of Object.keys(a as object).filter((x) => kb.has(x)).sort()) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], path === "" ? k : `${path}.${k}`);
      if (d !== undefined) return d;
    }
    return undefined;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? undefined : `${path}: ${JSON.stringify(a)} here, ${JSON.stringify(b)} there`;
}
