// Reads a system log directory back into typed records: the one loader every later reader uses
// (show, reconciliation, PnL charts). Every record is validated; a bad one fails with its file and
// line and the field. A run killed mid-write loads up to its last complete bar when asked to.

import { existsSync, readFileSync, readdirSync } from "node:fs";
import { basename, join } from "node:path";
import { z } from "zod";
import { decimalText } from "../oms/broker-log-reader.js";
import { JsonlError, readJsonFile, readJsonlTyped, type ReadJsonlOptions } from "../storage/jsonl.js";
import { runIdentityOf, SYSTEM_LOG_DIR, type RunIdentity } from "../storage/run-layout.js";
import { SYSTEM_LOG_FILES } from "./system-log.js";

export class SystemLogError extends Error {
  override readonly name = "SystemLogError";
}

const dec = decimalText;
const decOrNull = z.union([dec, z.null()]).transform((v) => v ?? undefined);

const portfolioAssetSchema = z.object({
  assetId: z.number(),
  symbol: z.string().optional(),
  holdingsShares: dec,
  price: dec,
  holdingsNotional: dec,
  executedTradesShares: dec,
  executedTradesNotional: dec,
  pnl: decOrNull,
  fees: dec,
});

const portfolioTotalsSchema = z.object({
  bar: z.number().int(),
  timestamp: z.number(),
  cash: dec,
  nmv: dec,
  gmv: dec,
  netWealth: dec,
  leverage: z.number().nullable(),
  grossVolume: dec,
  netVolume: dec,
  pnl: decOrNull,
  fees: dec,
});

const portfolioBarSchema = portfolioTotalsSchema.extend({ assets: z.array(portfolioAssetSchema) });

const targetRowSchema = z
  .object({
    assetId: z.number(),
    symbol: z.string(),
    price: z.string().optional(),
    prediction: z.number().optional(),
    weight: z.number(),
    targetNotionalBeforeLimits: z.string(),
    targetHoldingsSharesBeforeLimits: z.string(),
    targetTradesSharesBeforeLimits: z.string(),
    holdingsShares: z.string(),
    targetTradesShares: z.string(),
    targetHoldingsShares: z.string(),
    limitOutcome: z.string(),
  })
  .passthrough();

const targetsSchema = z.object({ bar: z.number().int(), timestamp: z.number(), rows: z.array(targetRowSchema) });
const orderSchema = z.object({ bar: z.number().int(), timestamp: z.number(), orderId: z.number(), text: z.string() });
const fillSchema = z.object({ bar: z.number().int(), timestamp: z.number(), assetId: z.number(), parentOrderId: z.number(), numShares: dec, price: dec, fees: dec, late: z.boolean().optional() });
const dagOutputSchema = z.object({ bar: z.number().int(), timestamp: z.number(), values: z.record(z.string(), z.number().nullable()) });
const profileSchema = z.object({ bar: z.number().int(), timestamp: z.number(), node: z.string(), durationMs: z.number(), heapDeltaBytes: z.number() });

export type LoggedPortfolioBar = z.output<typeof portfolioBarSchema>;
export type LoggedPortfolioTotals = z.output<typeof portfolioTotalsSchema>;
export type LoggedTargets = z.output<typeof targetsSchema>;
export type LoggedOrder = z.output<typeof orderSchema>;
export type LoggedFill = z.output<typeof fillSchema>;
export type LoggedDagOutput = z.output<typeof dagOutputSchema>;
export type LoggedNodeProfile = z.output<typeof profileSchema>;

export interface SystemLog {
  /** The system_log_dir itself. */
  dir: string;
  /** Identity from the run layout, when the directory sits in it. */
  run: RunIdentity | undefined;
  configGiven: unknown;
  configResolved: Record<string, unknown>;
  portfolio: LoggedPortfolioBar[];
  targets: LoggedTargets[];
  orders: LoggedOrder[];
  fills: LoggedFill[];
  dag: Map<string, LoggedDagOutput[]>;
  profiling: LoggedNodeProfile[];
  summary: Record<string, unknown> | undefined;
  brokerLogDir: string;
  marketDataDir: string;
  logText: string;
  truncated: { file: string; line: number }[];
}

/** Accepts a run directory or its system_log_dir. */
export function resolveSystemLogDir(path: string): string {
  if (basename(path) === SYSTEM_LOG_DIR) return path;
  const inner = join(path, SYSTEM_LOG_DIR);
  return existsSync(inner) ? inner : path;
}

/** The per-bar streams of a system log, which `streams` can limit a load to. */
export type SystemLogStream = "portfolio" | "targets" | "orders" | "fills" | "dag" | "profiling";

export interface LoadSystemLogOptions extends ReadJsonlOptions {
  /**
   * Read only these streams; the others come back empty. A day of 100 assets is ~1 GB of records
   * when read whole, and most readers need one or two of them. Default: all.
   */
  streams?: readonly SystemLogStream[];
}

export function loadSystemLog(path: string, opts: LoadSystemLogOptions = {}): SystemLog {
  const dir = resolveSystemLogDir(path);
  const wanted = (s: SystemLogStream): boolean => opts.streams === undefined || opts.streams.includes(s);
  const resolvedFile = join(dir, SYSTEM_LOG_FILES.configResolved);
  if (!existsSync(resolvedFile)) throw new SystemLogError(`${path}: not a system log directory (no ${SYSTEM_LOG_FILES.configResolved})`);
  const truncated: SystemLog["truncated"] = [];
  const read = <T>(name: string, schema: z.ZodType<T>, stream: SystemLogStream): T[] => {
    if (!wanted(stream)) return [];
    try {
      const r = readJsonlTyped(join(dir, `${name}.jsonl`), schema, opts);
      if (r.truncatedTail !== undefined) truncated.push(r.truncatedTail);
      return r.records;
    } catch (e) {
      if (e instanceof JsonlError) throw new SystemLogError(e.message);
      throw e;
    }
  };
  const dag = new Map<string, LoggedDagOutput[]>();
  const dagDir = join(dir, "dag");
  if (wanted("dag") && existsSync(dagDir)) {
    for (const f of readdirSync(dagDir).filter((x) => x.endsWith(".jsonl")).sort()) dag.set(f.slice(0, -6), read(`dag/${f.slice(0, -6)}`, dagOutputSchema, "dag"));
  }
  const run = runIdentityOf(dir);
  const logFile = join(dir, SYSTEM_LOG_FILES.logText);
  return {
    dir,
    run,
    configGiven: readJson(join(dir, SYSTEM_LOG_FILES.configGiven)),
    configResolved: readJson(resolvedFile) as Record<string, unknown>,
    portfolio: read(SYSTEM_LOG_FILES.portfolio, portfolioBarSchema, "portfolio"),
    targets: read(SYSTEM_LOG_FILES.targets, targetsSchema, "targets"),
    orders: read(SYSTEM_LOG_FILES.orders, orderSchema, "orders"),
    fills: read(SYSTEM_LOG_FILES.fills, fillSchema, "fills"),
    dag,
    profiling: read(SYSTEM_LOG_FILES.dagProfiling, profileSchema, "profiling"),
    summary: readJson(join(dir, SYSTEM_LOG_FILES.summary)) as Record<string, unknown> | undefined,
    brokerLogDir: join(dir, SYSTEM_LOG_FILES.brokerLog),
    marketDataDir: join(dir, SYSTEM_LOG_FILES.marketData),
    logText: existsSync(logFile) ? readFileSync(logFile, "utf8") : "",
    truncated,
  };
}

/**
 * The run-level figures of every bar of portfolio.jsonl, without its per-asset rows (validated as
 * loadSystemLog validates them): what a run's summary is built from, at a small part of the cost of
 * the rows (a 100-asset day holds 144k of them).
 */
export function loadPortfolioTotals(path: string, opts: ReadJsonlOptions = {}): { bars: LoggedPortfolioTotals[]; truncated: SystemLog["truncated"] } {
  const dir = resolveSystemLogDir(path);
  try {
    const r = readJsonlTyped(join(dir, `${SYSTEM_LOG_FILES.portfolio}.jsonl`), portfolioTotalsSchema, opts);
    return { bars: r.records, truncated: r.truncatedTail === undefined ? [] : [r.truncatedTail] };
  } catch (e) {
    if (e instanceof JsonlError) throw new SystemLogError(e.message);
    throw e;
  }
}

function readJson(path: string): unknown {
  try {
    return readJsonFile(path);
  } catch (e) {
    if (e instanceof JsonlError) throw new SystemLogError(e.message);
    throw e;
  }
}
