// The system log directory of one run (DOMAIN.md section 10), written as the run goes so a killed
// run leaves every finished bar readable. Layout inside `system_log_dir/`:
//
//   config.given.json, config.resolved.json   the config as given and with every default filled in
//   dag/<node>.jsonl                           each model node's output, one record per bar
//   dag_profiling.jsonl                        per node and bar: duration and heap change (measured)
//   portfolio.jsonl                            per bar: cash, nmv, gmv, pnl... and per asset rows
//   targets.jsonl                              per bar: target positions with pre-limit columns
//   orders.jsonl                               per bar: parent orders in their text form
//   fills.jsonl                                per bar: parent fills the broker returned
//   broker_log/                                the broker log (section 11)
//   market_data/                               the market data the run saw (section 15 layouts)
//   log.txt                                    what happened, in words, on the run's clock
//   timing.jsonl                               per bar: wall time spent (measured)
//   summary.json                               written at the end: period, bars, PnL, statistics
//
// Measured values (durations, memory) live only in dag_profiling.jsonl and timing.jsonl: every other
// file is a function of the config and seed, byte for byte.

import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { JsonlAppender, writeJsonAtomic } from "../storage/jsonl.js";

export const SYSTEM_LOG_FILES = {
  configGiven: "config.given.json",
  configResolved: "config.resolved.json",
  dagProfiling: "dag_profiling",
  portfolio: "portfolio",
  targets: "targets",
  orders: "orders",
  fills: "fills",
  timing: "timing",
  brokerLog: "broker_log",
  marketData: "market_data",
  logText: "log.txt",
  summary: "summary.json",
} as const;

/** Files whose content is measured, so identical runs may differ in them. */
export const MEASURED_FILES = ["dag_profiling.jsonl", "timing.jsonl"] as const;

export class SystemLogWriter {
  private readonly jsonl: JsonlAppender;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.jsonl = new JsonlAppender(dir);
  }

  get brokerLogDir(): string {
    return join(this.dir, SYSTEM_LOG_FILES.brokerLog);
  }

  get marketDataDir(): string {
    return join(this.dir, SYSTEM_LOG_FILES.marketData);
  }

  writeConfig(given: unknown, resolved: unknown): void {
    writeJsonAtomic(join(this.dir, SYSTEM_LOG_FILES.configGiven), given);
    writeJsonAtomic(join(this.dir, SYSTEM_LOG_FILES.configResolved), resolved);
  }

  dagOutput(node: string, record: unknown): void {
    this.jsonl.append(`dag/${node}`, record);
  }

  append(stream: "dag_profiling" | "portfolio" | "targets" | "orders" | "fills" | "timing", record: unknown): void {
    this.jsonl.append(stream, record);
  }

  /** One line of log.txt, stamped with the run's clock (never the wall clock: it must replay). */
  log(nowMs: number, message: string): void {
    appendFileSync(join(this.dir, SYSTEM_LOG_FILES.logText), `${new Date(nowMs).toISOString()} ${message}\n`);
  }

  /** Makes every record so far durable: called when a bar is marked, before its orders are sent, and at its end. */
  flush(): void {
    this.jsonl.flush();
  }

  writeSummary(summary: unknown): void {
    writeJsonAtomic(join(this.dir, SYSTEM_LOG_FILES.summary), summary);
  }

  close(): void {
    this.jsonl.close();
  }
}
