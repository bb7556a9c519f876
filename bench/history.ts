// Historical run benchmark (issue 6's backtest, `tradeloop pnl history`): N simulated days of
// 1-minute bars, instant fills on synthetic history, run one day at a time and then with the days
// in parallel on worker threads. No target is set by an issue; it measures what the parallel days
// give on this machine and checks that both write the same files (measured durations aside).
// Each pass runs in a fresh child process, so its peak memory is its own.
// Run: npx tsx bench/history.ts   (or npm run bench -- --only=history)

import { spawnSync } from "node:child_process";
import { NODE_FLAGS } from "./node-flags.js";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const DAYS = 6;
const ASSETS = 50;

interface PassResult {
  parallel: number;
  wallS: number;
  peakRssMb: number;
  digest: string;
}

/** SHA-256 over the run files (relative name and bytes), measured files and run-time notes aside. */
function digestOf(root: string): string {
  const skip = new Set(["timing.jsonl", "dag_profiling.jsonl", "log.txt", "checkpoint.json"]);
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (!skip.has(f)) files.push(p);
    }
  };
  walk(root);
  const h = createHash("sha256");
  for (const f of files) h.update(`${relative(root, f)}\u0000`).update(readFileSync(f));
  return h.digest("hex");
}

async function child(parallel: number): Promise<void> {
  const { runHistorical } = await import("../src/system/historical-run.js");
  const root = mkdtempSync(join(os.tmpdir(), "tl-bench-history-"));
  const t0 = performance.now();
  await runHistorical({
    base: { model: { name: "momentum" }, barMinutes: 1, universe: { kind: "synthetic", assets: ASSETS, seed: 1 }, data: { source: "synthetic", seed: 1 }, broker: { kind: "instant_fill" }, outputRoot: root, seed: 1 },
    firstDay: "2024-01-01",
    lastDay: `2024-01-0${DAYS}`,
    parallelDays: parallel,
  });
  const wallS = (performance.now() - t0) / 1000;
  const out: PassResult = { parallel, wallS, peakRssMb: process.resourceUsage().maxRSS / 1024, digest: digestOf(root) };
  rmSync(root, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(out) + "\n");
}

export function runHistoryBench(): Record<string, number> {
  const passes = [1, Math.max(2, Math.min(4, os.availableParallelism()))].map((parallel) => {
    const r = spawnSync(process.execPath, [...NODE_FLAGS, "--import", "tsx", fileURLToPath(import.meta.url), "--child", String(parallel)], { encoding: "utf8", maxBuffer: 1 << 20 });
    if (r.status !== 0) throw new Error(`bench history: parallel ${parallel} failed: ${r.stderr}`);
    return JSON.parse(r.stdout.trim().split("\n").at(-1) as string) as PassResult;
  });
  const [one, many] = passes as [PassResult, PassResult];
  const same = one.digest === many.digest;
  process.stdout.write(
    `history: ${DAYS} days x ${ASSETS} assets x 1440 one-minute bars (instant fill): one day at a time ${one.wallS.toFixed(2)} s (peak RSS ${one.peakRssMb.toFixed(0)} MB); ` +
      `${many.parallel} days at once ${many.wallS.toFixed(2)} s (peak RSS ${many.peakRssMb.toFixed(0)} MB), ${(one.wallS / many.wallS).toFixed(2)}x; same files: ${same ? "yes" : "NO"}\n`,
  );
  if (!same) throw new Error(`bench history: the parallel days wrote different files (${many.digest} vs ${one.digest})`);
  return { history_serial_wall_s: one.wallS, history_parallel_wall_s: many.wallS, history_parallel_days: many.parallel, history_speedup: one.wallS / many.wallS };
}

if (process.argv[2] === "--child") await child(Number(process.argv[3]));
else if (import.meta.url === `file://${process.argv[1]}`) runHistoryBench();
