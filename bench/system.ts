// System benchmark (issue 4): a simulated day of 1-minute bars through the whole production
// system. Each scenario runs in a fresh child process so its peak memory (max RSS) is its own.
//   twap_venue:   20 assets, TWAP against the embedded venue      target <= 10 s wall, <= 1 GB peak
//   instant_fill: 100 assets, instant fills on synthetic history  target <= 5 s wall
// The run is what is timed. The broker log's Parquet copies are not part of it (the DAGs write them
// in a task of their own after the run): they are timed after it, apart, and printed beside it.
// Run: npx tsx bench/system.ts   (or npm run bench -- --only=system)

import { spawnSync } from "node:child_process";
import { NODE_FLAGS } from "./node-flags.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

interface ScenarioResult {
  scenario: string;
  assets: number;
  bars: number;
  wallS: number;
  peakRssMb: number;
  childOrders: number;
  parentFills: number;
  exchangeTrades: number;
  /** The Parquet copies of the run's broker log, written after the run was timed. */
  parquetS: number;
}

const SCENARIOS = {
  twap_venue: { assets: 20, data: { source: "venue" }, broker: { kind: "embedded" }, wallTargetS: 10, memTargetMb: 1024 },
  instant_fill: { assets: 100, data: { source: "synthetic", seed: 1 }, broker: { kind: "instant_fill" }, wallTargetS: 5, memTargetMb: Infinity },
} as const;

type ScenarioName = keyof typeof SCENARIOS;

async function child(name: ScenarioName): Promise<void> {
  const { resolveConfig } = await import("../src/system/config.js");
  const { runSystem } = await import("../src/system/run-system.js");
  const { writeBrokerLogParquetParallel } = await import("../src/oms/broker-log-parquet.js");
  const s = SCENARIOS[name];
  const root = mkdtempSync(join(tmpdir(), "tl-bench-system-"));
  const cfg = resolveConfig({
    model: { name: "momentum" }, mode: "simulation", start: "2024-01-02T00:00:00Z", end: "2024-01-03T00:00:00Z", barMinutes: 1,
    universe: { kind: "synthetic", assets: s.assets, seed: 1 }, data: s.data, broker: s.broker, outputRoot: root, seed: 1,
  });
  const t0 = performance.now();
  const r = await runSystem(cfg);
  const wallS = (performance.now() - t0) / 1000;
  const peakRssMb = process.resourceUsage().maxRSS / 1024;
  const t1 = performance.now();
  await writeBrokerLogParquetParallel(join(r.systemLogDir, "broker_log"));
  const parquetS = (performance.now() - t1) / 1000;
  rmSync(root, { recursive: true, force: true });
  const out: ScenarioResult = {
    scenario: name, assets: s.assets, bars: r.summary.barsDone, wallS, peakRssMb,
    childOrders: r.summary.childOrders, parentFills: r.summary.parentFills, exchangeTrades: r.summary.exchangeTrades, parquetS,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

export function runSystemBench(only: readonly ScenarioName[] = ["twap_venue", "instant_fill"]): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const name of only) {
    const p = spawnSync(process.execPath, [...NODE_FLAGS, "--import", "tsx", fileURLToPath(import.meta.url), "--child", name], { encoding: "utf8", maxBuffer: 1 << 24 });
    if (p.status !== 0) throw new Error(`system bench ${name} failed (exit ${p.status}):\n${p.stderr}`);
    const r = JSON.parse(p.stdout.trim().split("\n").at(-1) as string) as ScenarioResult;
    const s = SCENARIOS[name];
    const ok = r.wallS <= s.wallTargetS && r.peakRssMb <= s.memTargetMb;
    process.stdout.write(
      `system ${name}: ${r.assets} assets x ${r.bars} one-minute bars: wall ${r.wallS.toFixed(2)} s (target <= ${s.wallTargetS} s), peak RSS ${r.peakRssMb.toFixed(0)} MB` +
        `${Number.isFinite(s.memTargetMb) ? ` (target <= ${s.memTargetMb} MB)` : ""}; child orders ${r.childOrders}, parent fills ${r.parentFills}, exchange trades ${r.exchangeTrades}: ${ok ? "target met" : "TARGET MISSED"}; ` +
        `then, apart, the broker log's Parquet copies (a DAG task after the run) ${r.parquetS.toFixed(2)} s\n`,
    );
    figures[`system_${name}_wall_s`] = r.wallS;
    figures[`system_${name}_peak_rss_mb`] = r.peakRssMb;
    figures[`system_${name}_child_orders`] = r.childOrders;
    figures[`system_${name}_parquet_s`] = r.parquetS;
  }
  return figures;
}

const argv = process.argv.slice(2);
if (argv[0] === "--child") await child(argv[1] as ScenarioName);
else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const only = argv.filter((a) => a in SCENARIOS) as ScenarioName[];
  process.stdout.write(JSON.stringify(runSystemBench(only.length > 0 ? only : undefined)) + "\n");
}
