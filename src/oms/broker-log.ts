// The broker log: every stream of DOMAIN.md section 11 appended as the run goes, plus the broker
// config and experiment arguments, and a loader that reads a log directory back.
//
// Format: one JSON-lines file per stream (`<stream>.jsonl`). Why: a record is appended with one
// write() of one line, so a killed process leaves every complete record readable and at worst one
// torn last line, which the loader reports with its file and line; JSON lines are also what
// pandas, DuckDB and jq read directly. Large tables (bid/ask, trades) get a Parquet copy when the
// log is closed (see broker-log-parquet.ts), since they are read column-wise for analysis.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { join } from "node:path";

export const BROKER_LOG_STREAMS = [
  "oms_parent_orders",
  "oms_child_orders",
  "ccxt_child_order_responses",
  "ccxt_fills",
  "ccxt_trades",
  "oms_fills",
  "bid_ask",
  "exchange_markets",
  "leverage_info",
  "positions",
  "balances",
  "reduce_only_ccxt_child_order_responses",
  "reduce_only_oms_child_orders",
  "fill_check_issues",
] as const;

export type BrokerLogStream = (typeof BROKER_LOG_STREAMS)[number];

export class BrokerLogError extends Error {
  override readonly name = "BrokerLogError";
}

/** Appends records; each `append` is one write of one line. */
export class BrokerLogWriter {
  private readonly fds = new Map<BrokerLogStream, number>();
  private closed = false;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  append(stream: BrokerLogStream, record: unknown): void {
    if (this.closed) throw new BrokerLogError(`broker log ${this.dir} is closed; cannot append to ${stream}`);
    let fd = this.fds.get(stream);
    if (fd === undefined) {
      fd = openSync(join(this.dir, `${stream}.jsonl`), "a");
      this.fds.set(stream, fd);
    }
    writeSync(fd, JSON.stringify(record, jsonReplacer) + "\n");
  }

  /** Writes a whole JSON document atomically (temp file, then rename). */
  writeJson(name: string, value: unknown): void {
    writeJsonAtomic(join(this.dir, name), value);
  }

  close(): void {
    if (this.closed) return;
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.closed = true;
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, jsonReplacer, 2) + "\n");
  renameSync(tmp, path);
}

/** Decimals and bigints print as strings, so money round-trips exactly. */
function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value !== null && typeof value === "object" && (value as { constructor?: { name?: string } }).constructor?.name === "Decimal") {
    return (value as { toString(): string }).toString();
  }
  return value;
}

export interface LoadOptions {
  /** Accept a torn final line (a run killed mid-write) instead of failing; it is reported. */
  tolerateTruncatedTail?: boolean;
}

export interface LoadedStream {
  records: unknown[];
  /** Set when a torn last line was skipped. */
  truncatedTail: { file: string; line: number } | undefined;
}

/** Reads one stream; a corrupt record fails with `<file>:<line>`. A missing stream is empty. */
export function loadStream(dir: string, stream: BrokerLogStream, opts: LoadOptions = {}): LoadedStream {
  const file = join(dir, `${stream}.jsonl`);
  if (!existsSync(file)) return { records: [], truncatedTail: undefined };
  const text = readFileSync(file, "utf8");
  const lines = text.split("\n");
  const endsClean = text.endsWith("\n") || text === "";
  if (lines[lines.length - 1] === "") lines.pop();
  const records: unknown[] = [];
  let truncatedTail: LoadedStream["truncatedTail"];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const last = i === lines.length - 1;
    try {
      records.push(JSON.parse(line));
    } catch (e) {
      if (last && !endsClean) {
        if (opts.tolerateTruncatedTail === true) {
          truncatedTail = { file, line: i + 1 };
          break;
        }
        throw new BrokerLogError(`${file}:${i + 1}: truncated record (the run was probably killed mid-write): ${(e as Error).message}`);
      }
      throw new BrokerLogError(`${file}:${i + 1}: corrupt record: ${(e as Error).message}`);
    }
  }
  return { records, truncatedTail };
}
