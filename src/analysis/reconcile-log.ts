// The reconciliation's reader of a system log (DOMAIN.md sections 8 and 10): only the streams a
// reconciliation compares, each record checked by hand (no schema object per record) and reduced as
// it is read to the fields used, with decimals kept as their logged text (exact-num.ts). A day of
// 1-minute bars holds a million records per log: the general loader (system-log-loader.ts
// loadSystemLog) builds a Decimal for every value of every one of them, which cost seconds and a
// gigabyte of heap per log. Errors name the file, line and field, as the general loader's do.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { JsonlFollower, readJsonFile, JsonlError } from "../storage/jsonl.js";
import { runIdentityOf, type RunIdentity } from "../storage/run-layout.js";
import { SystemLogError, resolveSystemLogDir, type LoggedDagOutput } from "../system/system-log-loader.js";
import { SYSTEM_LOG_FILES } from "../system/system-log.js";
import { numOf, type Num } from "./exact-num.js";
import type { SideAssetBar } from "./reconcile-compare.js";
import { FieldError, orderText } from "./run-execution.js";

/** A portfolio asset row as compared, with the symbol the log gave it. */
export interface LogAssetRow extends SideAssetBar {
  symbol: string | undefined;
}

export interface LogPortfolioBar {
  bar: number;
  timestamp: number;
  nmv: Num;
  gmv: Num;
  netWealth: Num;
  grossVolume: Num;
  pnl: Num | undefined;
  fees: Num;
  assets: LogAssetRow[];
}

export interface LogFill {
  bar: number;
  timestamp: number;
  assetId: number;
  parentOrderId: number;
  numShares: Num;
  price: Num;
  fees: Num;
}

/** A parent order: the fields of its text form a reconciliation uses (DOMAIN.md section 1). */
export interface LogOrder {
  bar: number;
  timestamp: number;
  orderId: number;
  assetId: number;
  /** Signed shares to trade (diff_num_shares). */
  diff: Num;
}

/** What a reconciliation reads of one run's log. */
export interface ReconcileLog {
  /** The system_log_dir itself. */
  dir: string;
  brokerLogDir: string;
  run: RunIdentity | undefined;
  hasSummary: boolean;
  truncated: { file: string; line: number }[];
  portfolio: LogPortfolioBar[];
  fills: LogFill[];
  orders: LogOrder[];
  dag: Map<string, LoggedDagOutput[]>;
  /** Bar and timestamp of each targets record (the bars that ran the model). */
  targets: { bar: number; timestamp: number }[];
  /** The first targets record's assets, in its order. */
  universe: { assetId: number; symbol: string }[];
  /** Asset id -> symbol from every targets row, then every portfolio row that names one. */
  symbolOf: Map<number, string>;
  /** Arrival price (the target row's price) by bar x 2^32 + asset id. */
  arrival: Map<number, Num>;
  /** Per bar (targets record): the volatility each symbol was scaled by, when `volatility` is asked for. */
  volatility: { bar: number; bySymbol: Map<string, number> }[];
}

export interface ReadReconcileLogOptions {
  /** Accept a torn final line (a run killed mid-write): it is reported in `truncated`. */
  tolerateTruncatedTail?: boolean;
  /** Keep the targets rows' volatility (the research portfolio scales by it). */
  volatility?: boolean;
}

/** Bar x 2^32 + asset id (asset ids are 32-bit hashes): exact, and no string per row. */
export function barAssetKey(bar: number, assetId: number): number {
  return bar * 4294967296 + assetId;
}

export function readReconcileLog(path: string, opts: ReadReconcileLogOptions = {}): ReconcileLog {
  return new ReconcileLogFollower(path, opts).finish();
}

/**
 * readReconcileLog for a log that may still be written: `poll()` reads what its files have gained
 * (the reconciliation follows its simulation's log while the simulation runs), `finish()` the rest
 * once the run is over. Records are taken in each file's order, so the result is the same however
 * the reading was split.
 */
export class ReconcileLogFollower {
  readonly dir: string;
  private readonly tolerate: boolean;
  private readonly truncated: ReconcileLog["truncated"] = [];
  private readonly files: RecordFollower[] = [];
  /** Per DAG node (its file name without .jsonl): the file's follower and the rows read so far. */
  private readonly dagFiles = new Map<string, { follower: RecordFollower; rows: LoggedDagOutput[] }>();
  private readonly portfolio: LogPortfolioBar[] = [];
  private readonly targets: ReconcileLog["targets"] = [];
  private readonly universe: ReconcileLog["universe"] = [];
  private readonly symbolOf = new Map<number, string>();
  private readonly arrival = new Map<number, Num>();
  private readonly volatility: ReconcileLog["volatility"] = [];
  private readonly fills: LogFill[] = [];
  private readonly orders: LogOrder[] = [];

  /** `expectComplete`: the directory must already be a system log (else its config may come later). */
  constructor(path: string, private readonly opts: ReadReconcileLogOptions = {}, expectComplete = true) {
    this.dir = resolveSystemLogDir(path);
    if (expectComplete) this.checkIsLog(path);
    this.tolerate = opts.tolerateTruncatedTail === true;
    const file = (name: string): string => join(this.dir, `${name}.jsonl`);
    this.files.push(
      this.follow(file(SYSTEM_LOG_FILES.portfolio), (r) => this.portfolio.push(portfolioBar(r))),
      this.follow(file(SYSTEM_LOG_FILES.targets), (r) => this.onTargets(r)),
      this.follow(file(SYSTEM_LOG_FILES.fills), (r) => this.fills.push({ bar: int(r, "bar"), timestamp: num(r, "timestamp"), assetId: num(r, "assetId"), parentOrderId: num(r, "parentOrderId"), numShares: dec(r, "numShares"), price: dec(r, "price"), fees: dec(r, "fees") })),
    );
    const ordersFile = file(SYSTEM_LOG_FILES.orders);
    this.files.push(
      this.follow(ordersFile, (r, line) => {
        const bar = int(r, "bar");
        const timestamp = num(r, "timestamp");
        num(r, "orderId");
        const o = orderText(str(r, "text"), `${ordersFile}:${line}`);
        this.orders.push({ bar, timestamp, orderId: o.orderId, assetId: o.assetId, diff: o.diff });
      }),
    );
  }

  /** Reads what the log's files have gained since the last call. */
  poll(): void {
    this.findDagFiles();
    for (const f of this.files) f.poll();
    for (const d of this.dagFiles.values()) d.follower.poll();
  }

  finish(): ReconcileLog {
    this.checkIsLog(this.dir);
    this.findDagFiles();
    for (const f of this.files) f.finish();
    // The DAG nodes in the order of their file names.
    const names = [...this.dagFiles.keys()].sort((a, b) => (`${a}.jsonl` < `${b}.jsonl` ? -1 : 1));
    const dag = new Map<string, LoggedDagOutput[]>();
    for (const name of names) {
      const d = this.dagFiles.get(name) as { follower: RecordFollower; rows: LoggedDagOutput[] };
      d.follower.finish();
      dag.set(name, d.rows);
    }
    for (const b of this.portfolio) for (const a of b.assets) if (a.symbol !== undefined && !this.symbolOf.has(a.assetId)) this.symbolOf.set(a.assetId, a.symbol);
    const run = runIdentityOf(this.dir);
    let summary: unknown;
    try {
      summary = readJsonFile(join(this.dir, SYSTEM_LOG_FILES.summary));
    } catch (e) {
      if (e instanceof JsonlError) throw new SystemLogError(e.message);
      throw e;
    }
    return {
      dir: this.dir, brokerLogDir: join(this.dir, SYSTEM_LOG_FILES.brokerLog), run, hasSummary: summary !== undefined, truncated: this.truncated,
      portfolio: this.portfolio, fills: this.fills, orders: this.orders, dag, targets: this.targets, universe: this.universe, symbolOf: this.symbolOf, arrival: this.arrival, volatility: this.volatility,
    };
  }

  private checkIsLog(path: string): void {
    if (!existsSync(join(this.dir, SYSTEM_LOG_FILES.configResolved))) throw new SystemLogError(`${path}: not a system log directory (no ${SYSTEM_LOG_FILES.configResolved})`);
  }

  private follow(file: string, f: (r: Record<string, unknown>, line: number) => void): RecordFollower {
    return recordFollower(file, this.tolerate, this.truncated, f);
  }

  private findDagFiles(): void {
    const dagDir = join(this.dir, "dag");
    if (!existsSync(dagDir)) return;
    for (const f of readdirSync(dagDir)) {
      if (!f.endsWith(".jsonl")) continue;
      const name = f.slice(0, -6);
      if (this.dagFiles.has(name)) continue;
      const rows: LoggedDagOutput[] = [];
      const follower = this.follow(join(dagDir, f), (r) => {
        const values = obj(r["values"], "values") as Record<string, unknown>;
        for (const k in values) {
          const v = values[k];
          if (v !== null && typeof v !== "number") throw new FieldError(`values.${k}`, `expected a number or null, got ${show(v)}`);
        }
        rows.push({ bar: int(r, "bar"), timestamp: num(r, "timestamp"), values: values as Record<string, number | null> });
      });
      this.dagFiles.set(name, { follower, rows });
    }
  }

  private onTargets(r: Record<string, unknown>): void {
    const bar = int(r, "bar");
    const timestamp = num(r, "timestamp");
    const rows = r["rows"];
    if (!Array.isArray(rows)) throw new FieldError("rows", `expected an array, got ${show(rows)}`);
    const first = this.targets.length === 0;
    const vol = this.opts.volatility === true ? new Map<string, number>() : undefined;
    for (let i = 0; i < rows.length; i++) {
      const row = obj(rows[i], `rows.${i}`);
      const assetId = num(row, "assetId", `rows.${i}.`);
      const symbol = str(row, "symbol", `rows.${i}.`);
      num(row, "weight", `rows.${i}.`);
      const price = row["price"];
      if (price !== undefined) {
        const p = numOf(typeof price === "string" ? price : undefined);
        if (p === undefined) throw new FieldError(`rows.${i}.price`, typeof price === "string" ? `"${price}" is not a number` : `expected a string, got ${show(price)}`);
        this.arrival.set(barAssetKey(bar, assetId), p);
      }
      if (first) this.universe.push({ assetId, symbol });
      if (!this.symbolOf.has(assetId)) this.symbolOf.set(assetId, symbol);
      const v = row["volatility"];
      if (vol !== undefined && typeof v === "number") vol.set(symbol, v);
    }
    this.targets.push({ bar, timestamp });
    if (vol !== undefined) this.volatility.push({ bar, bySymbol: vol });
  }
}

/** A JSON-lines file followed record by record, with the reconciliation reader's errors. */
export interface RecordFollower {
  poll(): void;
  finish(): void;
}

/**
 * eachRecord for a file that may still grow: `poll()` takes the records completed so far,
 * `finish()` the rest (a torn tail is recorded in `truncated` when tolerated).
 */
export function recordFollower(file: string, tolerateTruncatedTail: boolean, truncated: { file: string; line: number }[], f: (r: Record<string, unknown>, line: number) => void): RecordFollower {
  const follower = new JsonlFollower(file, (rec, line) => {
    if (rec === null || typeof rec !== "object" || Array.isArray(rec)) throw new SystemLogError(`${file}:${line}: not a JSON object`);
    try {
      f(rec as Record<string, unknown>, line);
    } catch (e) {
      if (e instanceof FieldError) throw new SystemLogError(`${file}:${line}: field "${e.field}": ${e.message}`);
      throw e;
    }
  });
  const wrapped = <T>(g: () => T): T => {
    try {
      return g();
    } catch (e) {
      if (e instanceof JsonlError) throw new SystemLogError(e.message);
      throw e;
    }
  };
  return {
    poll: () => wrapped(() => follower.poll()),
    finish: () => {
      const tail = wrapped(() => follower.finish({ tolerateTruncatedTail })).truncatedTail;
      if (tail !== undefined) truncated.push(tail);
    },
  };
}

/**
 * Each record of a JSON-lines file through the shared streaming reader (storage/jsonl.ts: a missing
 * file is empty, a corrupt line fails with `<file>:<line>`, a torn last line fails or, when
 * tolerated, ends the file and is reported); `f` names a bad field by throwing a FieldError.
 */
export function eachRecord(file: string, tolerateTruncatedTail: boolean, truncated: { file: string; line: number }[], f: (r: Record<string, unknown>, line: number) => void): void {
  recordFollower(file, tolerateTruncatedTail, truncated, f).finish();
}

// ---- field checks ----

function show(v: unknown): string {
  return v === undefined ? "nothing" : JSON.stringify(v);
}

function obj(v: unknown, path: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) throw new FieldError(path, `expected an object, got ${show(v)}`);
  return v as Record<string, unknown>;
}

export function num(r: Record<string, unknown>, k: string, at = ""): number {
  const v = r[k];
  if (typeof v !== "number") throw new FieldError(at + k, `expected a number, got ${show(v)}`);
  return v;
}

export function int(r: Record<string, unknown>, k: string, at = ""): number {
  const v = r[k];
  if (typeof v !== "number" || !Number.isInteger(v)) throw new FieldError(at + k, `expected an integer, got ${show(v)}`);
  return v;
}

function str(r: Record<string, unknown>, k: string, at = ""): string {
  const v = r[k];
  if (typeof v !== "string") throw new FieldError(at + k, `expected a string, got ${show(v)}`);
  return v;
}

/** A logged decimal (text, or a number in older logs), as the general loader reads it. */
export function dec(r: Record<string, unknown>, k: string, at = ""): Num {
  const v = r[k];
  const n = numOf(v);
  if (n === undefined) throw new FieldError(at + k, typeof v === "string" || typeof v === "number" ? `"${String(v)}" is not a number` : `expected decimal text, got ${show(v)}`);
  return n;
}

function decOrNull(r: Record<string, unknown>, k: string, at = ""): Num | undefined {
  return r[k] === null ? undefined : dec(r, k, at);
}

function portfolioBar(r: Record<string, unknown>): LogPortfolioBar {
  const assets = r["assets"];
  if (!Array.isArray(assets)) throw new FieldError("assets", `expected an array, got ${show(assets)}`);
  const rows: LogAssetRow[] = new Array<LogAssetRow>(assets.length);
  for (let i = 0; i < assets.length; i++) {
    const at = `assets.${i}.`;
    const a = obj(assets[i], `assets.${i}`);
    const symbol = a["symbol"];
    if (symbol !== undefined && typeof symbol !== "string") throw new FieldError(`${at}symbol`, `expected a string, got ${show(symbol)}`);
    rows[i] = {
      assetId: num(a, "assetId", at),
      symbol,
      holdingsShares: dec(a, "holdingsShares", at),
      price: dec(a, "price", at),
      holdingsNotional: dec(a, "holdingsNotional", at),
      executedTradesShares: dec(a, "executedTradesShares", at),
      executedTradesNotional: dec(a, "executedTradesNotional", at),
      pnl: decOrNull(a, "pnl", at),
      fees: dec(a, "fees", at),
    };
  }
  const leverage = r["leverage"];
  if (leverage !== null && typeof leverage !== "number") throw new FieldError("leverage", `expected a number or null, got ${show(leverage)}`);
  dec(r, "cash");
  dec(r, "netVolume");
  return {
    bar: int(r, "bar"),
    timestamp: num(r, "timestamp"),
    nmv: dec(r, "nmv"),
    gmv: dec(r, "gmv"),
    netWealth: dec(r, "netWealth"),
    grossVolume: dec(r, "grossVolume"),
    pnl: decOrNull(r, "pnl"),
    fees: dec(r, "fees"),
    assets: rows,
  };
}
