// A model's cumulative PnL since inception, stitched from all its runs under a data root, and the
// windows the investor charts show (DOMAIN.md section 12): since inception, since a year, the last
// 24 hours and the last 5 minutes before an `asOf` time. Each run's per-bar PnL comes from the
// portfolio stream of its system log (section 10); a killed or still-running run contributes every
// bar it finished.
//
// PnL is the portfolio PnL of section 6 (marks and trades, fees excluded); fees are carried beside
// it so a chart can show PnL after fees too. Sums are exact (decimal.js) and become floats only for
// the chart.

import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { RunLayoutError, SUCCESS_MARKER, SYSTEM_LOG_DIR, checkSegment, parseRunDir, type RunIdentity } from "../storage/run-layout.js";
import { z } from "zod";
import { decimalText } from "../oms/broker-log-reader.js";
import { JsonlError, readJsonFile, readJsonlTyped } from "../storage/jsonl.js";
import { SYSTEM_LOG_FILES } from "../system/system-log.js";
import { resolveSystemLogDir } from "../system/system-log-loader.js";

/**
 * How finished a run is: `success` has the `_SUCCESS` marker (every task of its DAG run succeeded),
 * `finished` wrote its summary (the system run ended) but carries no marker, `incomplete` has
 * neither (killed, or still running).
 */
export type RunStatus = "success" | "finished" | "incomplete";

export interface ModelRun {
  runDir: string;
  identity: RunIdentity;
  status: RunStatus;
}

export interface FindRunsOptions {
  stage: string;
  model: string;
  /** Run modes to include (`prod`, `paper_trading`, `simulation`); default all. */
  modes?: readonly string[];
}

/** One bar's PnL, as it entered the stitched series. */
export interface PnlBar {
  /** The bar's timestamp: the end of the interval its PnL covers (UTC ms). */
  timestamp: number;
  /** The start of that interval: the run's previous bar. */
  fromMs: number;
  pnl: Decimal;
  fees: Decimal;
  /** Sums since inception, up to and including this bar. */
  cumulativePnl: Decimal;
  cumulativeFees: Decimal;
  /** Index into `PnlSeries.runs` of the run the bar came from. */
  run: number;
}

export interface RunContribution extends ModelRun {
  /** Bars with a PnL in the run's log. */
  barsLogged: number;
  /** Of those, the bars that made it into the series (the rest overlap a run ranked higher). */
  barsUsed: number;
  /** The log ended in a torn line (a run killed mid-write); the bars before it were read. */
  truncated: boolean;
}

export interface PnlSeries {
  stage: string;
  model: string;
  /** Every run found, in rank order (see stitchPnl). */
  runs: RunContribution[];
  /** Ordered by timestamp; intervals never overlap. */
  bars: PnlBar[];
}

export class PnlSeriesError extends Error {
  override readonly name = "PnlSeriesError";
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function subdirs(p: string): string[] {
  return isDir(p) ? readdirSync(p).filter((n) => isDir(join(p, n))).sort() : [];
}

export function runStatus(runDir: string): RunStatus {
  if (existsSync(join(runDir, SUCCESS_MARKER))) return "success";
  if (existsSync(join(runDir, SYSTEM_LOG_DIR, SYSTEM_LOG_FILES.summary))) return "finished";
  return "incomplete";
}

/**
 * Every run of one model and stage under `root` (`<root>/<stage>/<model>/<mode>/<dag_run_mode>/
 * <start>.<end>/`). A folder that is not a run (no `<start>.<end>` name, or no system log yet) is
 * passed over: the layout may hold other things, and a run that has only just been created has no
 * bar to show.
 */
export function findModelRuns(root: string, opts: FindRunsOptions): ModelRun[] {
  const modelDir = join(root, checkSegment("stage", opts.stage), checkSegment("model", opts.model));
  const runs: ModelRun[] = [];
  for (const mode of subdirs(modelDir)) {
    if (opts.modes !== undefined && !opts.modes.includes(mode)) continue;
    for (const dagRunMode of subdirs(join(modelDir, mode))) {
      for (const period of subdirs(join(modelDir, mode, dagRunMode))) {
        const runDir = join(modelDir, mode, dagRunMode, period);
        if (!existsSync(join(runDir, SYSTEM_LOG_DIR, SYSTEM_LOG_FILES.configResolved))) continue;
        let identity: RunIdentity;
        try {
          identity = parseRunDir(runDir);
        } catch (e) {
          if (e instanceof RunLayoutError) continue;
          throw e;
        }
        runs.push({ runDir, identity, status: runStatus(runDir) });
      }
    }
  }
  return runs;
}

// What really traded outranks what was simulated over the same window, whatever became of the run:
// a paper session's charts are drawn before its own _SUCCESS is written (and a session with a failed
// task never gets one), while a simulation of the same day finishes in seconds.
const MODE_RANK: Record<string, number> = { prod: 0, paper_trading: 1, simulation: 2 };
const STATUS_RANK: Record<RunStatus, number> = { success: 0, finished: 1, incomplete: 2 };
const DAG_RUN_MODE_RANK: Record<string, number> = { scheduled: 0, manual: 1, backfill: 2 };

/** The order in which runs claim bars; see stitchPnl. */
export function compareRunRank(a: ModelRun, b: ModelRun): number {
  return (
    (MODE_RANK[a.identity.mode] ?? 9) - (MODE_RANK[b.identity.mode] ?? 9) ||
    STATUS_RANK[a.status] - STATUS_RANK[b.status] ||
    a.identity.startMs - b.identity.startMs ||
    (DAG_RUN_MODE_RANK[a.identity.dagRunMode] ?? 9) - (DAG_RUN_MODE_RANK[b.identity.dagRunMode] ?? 9) ||
    (a.runDir < b.runDir ? -1 : a.runDir > b.runDir ? 1 : 0)
  );
}

/** Disjoint half-open time intervals [from, to), kept sorted and merged. */
class IntervalSet {
  private readonly from: number[] = [];
  private readonly to: number[] = [];

  /** Index of the first interval that ends after `t`. */
  private firstEndingAfter(t: number): number {
    let lo = 0;
    let hi = this.to.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.to[mid] as number) <= t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  overlaps(from: number, to: number): boolean {
    const i = this.firstEndingAfter(from);
    return i < this.from.length && (this.from[i] as number) < to;
  }

  /** Adds an interval that overlaps nothing already held. */
  add(from: number, to: number): void {
    let i = this.firstEndingAfter(from);
    // Merge with touching neighbours so the set stays one interval per contiguous stretch.
    if (i > 0 && this.to[i - 1] === from) {
      i -= 1;
      from = this.from[i] as number;
      this.from.splice(i, 1);
      this.to.splice(i, 1);
    }
    if (i < this.from.length && this.from[i] === to) {
      to = this.to[i] as number;
      this.from.splice(i, 1);
      this.to.splice(i, 1);
    }
    this.from.splice(i, 0, from);
    this.to.splice(i, 0, to);
  }
}

interface RunBar {
  timestamp: number;
  fromMs: number;
  pnl: Decimal;
  fees: Decimal;
}

/**
 * The per-bar fields a PnL chart needs from portfolio.jsonl (DOMAIN.md section 10), validated the
 * way the system log loader validates them. Why not loadSystemLog itself: it reads and validates
 * every stream of the run (targets, orders, fills, model outputs, profiling), about 0.5 s for one
 * day of 1-minute bars and 10 assets against 0.05 s for this, and a since-inception chart reads
 * every run the model ever had.
 */
const portfolioPnlSchema = z.object({
  bar: z.number().int(),
  timestamp: z.number(),
  pnl: z.union([decimalText, z.null()]).optional(),
  fees: decimalText,
});

const resolvedConfigSchema = z.object({ barMinutes: z.number().positive() }).passthrough();

/**
 * The bars of one run that carry a PnL (every bar but the first), with the interval each covers. A
 * killed run reads up to its last complete bar (a torn last line is skipped and reported).
 */
export function runPnlBars(runDir: string): { bars: RunBar[]; truncated: boolean } {
  const dir = resolveSystemLogDir(runDir);
  const configFile = join(dir, SYSTEM_LOG_FILES.configResolved);
  const portfolioFile = join(dir, `${SYSTEM_LOG_FILES.portfolio}.jsonl`);
  let config: z.output<typeof resolvedConfigSchema>;
  let records: z.output<typeof portfolioPnlSchema>[];
  let truncated: boolean;
  try {
    const c = resolvedConfigSchema.safeParse(readJsonFile(configFile));
    if (!c.success) throw new PnlSeriesError(`${configFile}: ${c.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
    config = c.data;
    const r = readJsonlTyped(portfolioFile, portfolioPnlSchema, { tolerateTruncatedTail: true });
    records = r.records;
    truncated = r.truncatedTail !== undefined;
  } catch (e) {
    if (e instanceof JsonlError) throw new PnlSeriesError(e.message, { cause: e });
    throw e;
  }
  const bars: RunBar[] = [];
  let prev: number | undefined;
  for (const b of records) {
    if (prev !== undefined && b.timestamp <= prev) {
      throw new PnlSeriesError(`${portfolioFile}: bar ${b.bar} at ${new Date(b.timestamp).toISOString()} is not after the bar before it`);
    }
    if (b.pnl !== undefined && b.pnl !== null) bars.push({ timestamp: b.timestamp, fromMs: prev ?? b.timestamp - config.barMinutes * 60_000, pnl: b.pnl, fees: b.fees });
    prev = b.timestamp;
  }
  return { bars, truncated };
}

/**
 * Stitches runs into one series. Each bar's PnL covers the interval since the run's previous bar.
 * Overlaps are resolved per bar by rank, never summed: runs are taken in rank order (prod before
 * paper_trading before simulation; then `_SUCCESS` before merely finished before incomplete; then
 * the earlier start; then scheduled before manual before backfill; then the path), and a bar is kept
 * only if its interval overlaps no bar already kept. So for the same window what traded wins over a
 * simulation, a complete run over an incomplete one of its mode, and between equals the
 * earlier-starting run keeps its bars and a later-starting run fills only the time nobody covered. A bar that straddles a kept one (runs with different bar
 * lengths) is skipped whole rather than double-counting part of it.
 */
export function stitchPnl(stage: string, model: string, runs: readonly ModelRun[], load: (runDir: string) => { bars: RunBar[]; truncated: boolean } = runPnlBars): PnlSeries {
  const ranked = [...runs].sort(compareRunRank);
  const taken = new IntervalSet();
  const kept: Omit<PnlBar, "cumulativePnl" | "cumulativeFees">[] = [];
  const contributions: RunContribution[] = [];
  ranked.forEach((run, index) => {
    const { bars, truncated } = load(run.runDir);
    let used = 0;
    const first = bars[0];
    const last = bars.at(-1);
    // Fast path: a run that overlaps nothing kept so far is taken whole.
    const whole = first !== undefined && last !== undefined && !taken.overlaps(first.fromMs, last.timestamp);
    for (const b of bars) {
      if (!whole && taken.overlaps(b.fromMs, b.timestamp)) continue;
      if (!whole) taken.add(b.fromMs, b.timestamp);
      kept.push({ ...b, run: index });
      used += 1;
    }
    if (whole) taken.add((first as RunBar).fromMs, (last as RunBar).timestamp);
    contributions.push({ ...run, barsLogged: bars.length, barsUsed: used, truncated });
  });
  kept.sort((a, b) => a.timestamp - b.timestamp);
  let cumPnl = new Decimal(0);
  let cumFees = new Decimal(0);
  const out: PnlBar[] = kept.map((b) => {
    cumPnl = cumPnl.add(b.pnl);
    cumFees = cumFees.add(b.fees);
    return { ...b, cumulativePnl: cumPnl, cumulativeFees: cumFees };
  });
  return { stage, model, runs: contributions, bars: out };
}

/** Finds and stitches a model's runs under a local data root. */
export function collectPnlSeries(root: string, opts: FindRunsOptions): PnlSeries {
  if (/^s3:\/\//i.test(root)) throw new PnlSeriesError(`data root ${root}: PnL charts read runs from a local data root (a folder), not from S3`);
  if (!isDir(root)) throw new PnlSeriesError(`data root ${root} is not a folder (PnL is read from the local run layout <root>/<stage>/<model>/...)`);
  return stitchPnl(opts.stage, opts.model, findModelRuns(root, opts));
}

// ---- windows ----

export type PnlWindowKind = "since_inception" | "since_year" | "last_24hours" | "last_5minutes";

/** One point of a chart: cumulative PnL since the window's start, before and after fees. */
export interface PnlWindowPoint {
  timestamp: number;
  pnl: number;
  pnlAfterFees: number;
}

export interface PnlWindow {
  kind: PnlWindowKind;
  /** The file name part: `since_inception`, `since_2024`, `last_24hours`, `last_5minutes`. */
  name: string;
  /** For titles: `since inception`, `since 2024`, `last 24 hours`, `last 5 minutes`. */
  label: string;
  /** The time span shown (UTC ms); from is undefined since inception and when there is no data. */
  fromMs: number | undefined;
  toMs: number | undefined;
  /**
   * Starts with a zero point where the window's first bar's interval begins (or at the window
   * start, if later); a gap between runs shows as a flat stretch (no trading, no PnL), not a slope.
   */
  points: PnlWindowPoint[];
  /** Bars summed in the window. */
  bars: number;
  totalPnl: number;
  totalFees: number;
}

export interface PnlWindowOptions {
  /** The year of the `since_<year>` window; default: the year `asOf` ends (midnight on 1 January ends the year before). */
  year?: number;
  /** The end of every window (UTC ms); default: the last bar. Bars after it are left out. */
  asOf?: number;
  /** The year to name when there is no year, no asOf and no data (a caller's current year). */
  fallbackYear?: number;
}

export const HOUR_MS = 3_600_000;

/**
 * PnL over (fromMs, toMs], rebased to 0 at the window's start. A bar belongs to the window when its
 * timestamp (the moment its PnL is marked) is in it.
 */
export function pnlWindow(series: PnlSeries, kind: PnlWindowKind, name: string, label: string, fromMs: number | undefined, toMs: number | undefined): PnlWindow {
  const bars = series.bars.filter((b) => toMs !== undefined && b.timestamp <= toMs && (fromMs === undefined || b.timestamp > fromMs));
  const points: PnlWindowPoint[] = [];
  const first = bars[0];
  let basePnl = new Decimal(0);
  let baseFees = new Decimal(0);
  if (first !== undefined) {
    basePnl = first.cumulativePnl.sub(first.pnl);
    baseFees = first.cumulativeFees.sub(first.fees);
    points.push({ timestamp: Math.max(fromMs ?? -Infinity, first.fromMs), pnl: 0, pnlAfterFees: 0 });
  }
  let prevTs = points[0]?.timestamp;
  let prevPoint = points[0];
  for (const b of bars) {
    if (prevTs !== undefined && prevPoint !== undefined && b.fromMs > prevTs) points.push({ ...prevPoint, timestamp: b.fromMs });
    const pnl = b.cumulativePnl.sub(basePnl);
    const fees = b.cumulativeFees.sub(baseFees);
    prevPoint = { timestamp: b.timestamp, pnl: pnl.toNumber(), pnlAfterFees: pnl.sub(fees).toNumber() };
    points.push(prevPoint);
    prevTs = b.timestamp;
  }
  const last = bars.at(-1);
  const totalPnl = last === undefined ? 0 : last.cumulativePnl.sub(basePnl).toNumber();
  const totalFees = last === undefined ? 0 : last.cumulativeFees.sub(baseFees).toNumber();
  return { kind, name, label, fromMs: fromMs ?? points[0]?.timestamp, toMs, points, bars: bars.length, totalPnl, totalFees };
}

/** The four windows of DOMAIN.md section 12, in the order they are published. */
export function pnlWindows(series: PnlSeries, opts: PnlWindowOptions = {}): PnlWindow[] {
  const asOf = opts.asOf ?? series.bars.at(-1)?.timestamp;
  // A bar stamped at midnight on 1 January ends 31 December: the year of a day's last bar is the
  // year of the instant before it.
  const year = opts.year ?? (asOf === undefined ? opts.fallbackYear : new Date(asOf - 1).getUTCFullYear());
  if (year !== undefined && !(Number.isInteger(year) && year >= 1970 && year <= 9999)) throw new PnlSeriesError(`year ${year} is not a calendar year`);
  const back = (ms: number): number | undefined => (asOf === undefined ? undefined : asOf - ms);
  return [
    pnlWindow(series, "since_inception", "since_inception", "since inception", undefined, asOf),
    // With no data and no year given there is no year to name; the chart still says "no data".
    pnlWindow(series, "since_year", `since_${year ?? "year"}`, `since ${year ?? "the start of the year"}`, year === undefined ? undefined : Date.UTC(year, 0, 1), asOf),
    pnlWindow(series, "last_24hours", "last_24hours", "last 24 hours", back(24 * HOUR_MS), asOf),
    pnlWindow(series, "last_5minutes", "last_5minutes", "last 5 minutes", back(5 * 60_000), asOf),
  ];
}
