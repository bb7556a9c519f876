// The broker log: every stream of DOMAIN.md section 11 appended as the run goes, plus the broker
// config and experiment arguments, and a loader that reads a log directory back.
//
// Format: one JSON-lines file per stream (`<stream>.jsonl`; why JSON lines: see storage/jsonl.ts).
// Large tables (bid/ask, trades) get a Parquet copy when the log is closed (see
// broker-log-parquet.ts), since they are read column-wise for analysis.

import { join } from "node:path";
import { JsonlAppender, JsonlError, readJsonl, writeJsonAtomic, type JsonlRecords, type ReadJsonlOptions } from "../storage/jsonl.js";

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
  private readonly out: JsonlAppender;

  constructor(readonly dir: string) {
    this.out = new JsonlAppender(dir);
  }

  append(stream: BrokerLogStream, record: unknown): void {
    try {
      this.out.append(stream, record);
    } catch (e) {
      if (e instanceof JsonlError) throw new BrokerLogError(e.message);
      throw e;
    }
  }

  /** Appends a record the caller serialized (one JSON text; see JsonlAppender.appendLine). */
  appendLine(stream: BrokerLogStream, json: string): void {
    try {
      this.out.appendLine(stream, json);
    } catch (e) {
      if (e instanceof JsonlError) throw new BrokerLogError(e.message);
      throw e;
    }
  }

  /** Writes every buffered record (the broker calls it before sending orders). */
  flush(): void {
    this.out.flush();
  }

  /** Writes a whole JSON document atomically (temp file, then rename). */
  writeJson(name: string, value: unknown): void {
    writeJsonAtomic(join(this.dir, name), value);
  }

  close(): void {
    this.out.close();
  }
}

export { writeJsonAtomic };
export type LoadOptions = ReadJsonlOptions;
export type LoadedStream = JsonlRecords;

/** Reads one stream; a corrupt record fails with `<file>:<line>`. A missing stream is empty. */
export function loadStream(dir: string, stream: BrokerLogStream, opts: LoadOptions = {}): LoadedStream {
  try {
    return readJsonl(join(dir, `${stream}.jsonl`), opts);
  } catch (e) {
    if (e instanceof JsonlError) throw new BrokerLogError(e.message);
    throw e;
  }
}
