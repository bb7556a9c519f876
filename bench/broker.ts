// The broker benchmark of issue 3: a simulated day of 5-minute bars on a 25-asset synthetic universe,
// every asset with a TWAP parent each bar (1-minute waves), executed by the broker against the
// embedded venue. Target: the day in <= 5 s wall. The whole run is timed, as a user of
// `tradeloop broker-experiment` waits for it: engine and market set-up, the 2-minute warm-up, the
// broker, its log (written to a temporary directory) and the execution-quality summary. The Parquet
// copies of the log are not part of the experiment (`tradeloop parquet` or a DAG task writes them
// after it): they are timed apart and printed beside it.
//
// The log digest (SHA-256 over every file of the log directory, names and bytes, in name order) is
// printed so that a speed change can be checked to leave the output byte-identical.

import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { runBrokerExperiment, type BrokerExperimentResult } from "../src/oms/broker-experiment.js";
import { writeBrokerLogParquetParallel } from "../src/oms/broker-log-parquet.js";

export const BROKER_TARGET_S = 5;

export interface BrokerBenchOptions {
  /** Bars of 5 minutes: 288 is one simulated day. */
  bars: number;
  seed: number;
  /** Timed runs; the median wall time is reported (each run is a fresh process-level repeat). */
  runs: number;
  /** Leave the log directory in place (its path is printed) instead of deleting it. */
  keepLog: boolean;
}

export interface BrokerBenchResult {
  wallS: number[];
  medianWallS: number;
  /**
   * Process CPU seconds (user + system, all threads: GC helpers too) of the run with the median
   * wall time. On a shared machine it says how much of the wall time was waiting for a core.
   */
  cpuS: number;
  /** The Parquet copies of the log of the run with the median wall time, written after it. */
  parquetS: number;
  simHours: number;
  childOrders: number;
  trades: number;
  parentOrders: number;
  parentFills: number;
  logDigest: string;
  logBytes: number;
  /** Set with keepLog. */
  logDir: string | undefined;
  targetMet: boolean;
}

const BAR_MINUTES = 5;
const ASSETS = 25;

/** SHA-256 over the files of a log directory: name, NUL, length, NUL, bytes, per file in name order. */
export function logDigest(dir: string): { digest: string; bytes: number } {
  const h = createHash("sha256");
  let bytes = 0;
  for (const name of readdirSync(dir).sort()) {
    const data = readFileSync(join(dir, name));
    bytes += data.length;
    h.update(`${name}\u0000${data.length}\u0000`);
    h.update(data);
  }
  return { digest: h.digest("hex"), bytes };
}

export async function benchBroker(o: BrokerBenchOptions): Promise<BrokerBenchResult> {
  const wallS: number[] = [];
  const cpuS: number[] = [];
  const parquetS: number[] = [];
  let last: BrokerExperimentResult | undefined;
  let digest = "";
  let bytes = 0;
  let keptDir: string | undefined;
  for (let run = 0; run < o.runs; run++) {
    const outDir = mkdtempSync(join(os.tmpdir(), "tradeloop-bench-broker-"));
    try {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const r = await runBrokerExperiment({
        seed: o.seed,
        bars: o.bars,
        barMinutes: BAR_MINUTES,
        assets: ASSETS,
        ordersPerBar: ASSETS,
        durationMinutes: BAR_MINUTES,
        frequencySeconds: 60,
        outDir,
      });
      wallS.push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpuS.push((c.user + c.system) / 1e6);
      // The Parquet copies are written after the experiment, as `tradeloop parquet` or a DAG task
      // does: timed apart, and inside the digest so their bytes are checked too.
      const t1 = performance.now();
      await writeBrokerLogParquetParallel(r.logDir);
      parquetS.push((performance.now() - t1) / 1000);
      const d = logDigest(r.logDir);
      // Every run of the same seed must write the same bytes; a difference is a determinism bug.
      if (run > 0 && d.digest !== digest) throw new Error(`bench broker: run ${run + 1} wrote a different log (digest ${d.digest}, first run ${digest})`);
      digest = d.digest;
      bytes = d.bytes;
      last = r;
      if (o.keepLog && run === o.runs - 1) keptDir = r.logDir;
    } finally {
      if (!(o.keepLog && run === o.runs - 1)) rmSync(outDir, { recursive: true, force: true });
    }
  }
  const r = last as BrokerExperimentResult;
  const order = wallS.map((_, i) => i).sort((a, b) => (wallS[a] as number) - (wallS[b] as number));
  const mid = order.length >> 1;
  const medianWallS = order.length % 2 === 1 ? (wallS[order[mid] as number] as number) : ((wallS[order[mid - 1] as number] as number) + (wallS[order[mid] as number] as number)) / 2;
  const medianRun = order[mid] as number;
  const simHours = (o.bars * BAR_MINUTES) / 60;
  // The target is for a whole day: a shorter run is scaled to a day before comparing.
  const dayWall = (medianWallS * 24) / simHours;
  return {
    wallS,
    medianWallS,
    cpuS: cpuS[medianRun] as number,
    parquetS: parquetS[medianRun] as number,
    simHours,
    childOrders: r.childOrders,
    trades: r.trades,
    parentOrders: r.parentOrders,
    parentFills: r.parentFills,
    logDigest: digest,
    logBytes: bytes,
    logDir: keptDir,
    targetMet: dayWall <= BROKER_TARGET_S,
  };
}
