// Reconciliation benchmark (issue 6): reconcile one simulated day of 1-minute bars x 100 assets
// (instant fills on synthetic history), target <= 2 s. The input run is built first and not timed;
// the reconciliation is timed whole and by phase (read the config; start the re-run as a simulation
// on its recorded data on a worker thread; meanwhile load the run's log and compute the research
// portfolio; wait for the simulation while reading its log as it grows; load the rest of its log;
// comparisons; report), since the simulation
// re-run is the system benchmark's instant_fill scenario again and dominates. The input run and the
// reconciliation each run in a fresh child process, so the reconciliation's memory and GC are its own.
// Run: npx tsx bench/reconcile.ts   (or npm run bench -- --only=reconcile)

import { spawnSync } from "node:child_process";
import { NODE_FLAGS } from "./node-flags.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const RECONCILE_TARGET_S = 2;

interface ReconcileBenchResult {
  assets: number;
  bars: number;
  inputRunS: number;
  wallS: number;
  cpuS: number;
  phases: Record<string, number>;
  peakRssMb: number;
  pass: boolean;
  differences: number;
  parents: number;
}

/** Which phase a progress message of reconcileRun starts. */
function phaseOf(message: string): string {
  if (message.startsWith("reading the config")) return "read_config";
  if (message.startsWith("simulating ")) return "start_simulation";
  if (message.startsWith("loading the run's")) return "load_run_log";
  if (message.startsWith("following the simulation's log")) return "wait_for_simulation";
  if (message.startsWith("loading the rest of the simulation's")) return "load_sim_log";
  if (message.startsWith("computing the research")) return "research";
  if (message.startsWith("comparing ")) return "compare";
  if (message.startsWith("writing ")) return "report";
  return "other";
}

/** Child 1: builds the input run under `root` and prints its run directory and wall time. */
async function buildInput(root: string, assets: number): Promise<void> {
  const { resolveConfig } = await import("../src/system/config.js");
  const { runSystem } = await import("../src/system/run-system.js");
  const t0 = performance.now();
  const run = await runSystem(resolveConfig({
    model: { name: "momentum" }, mode: "simulation", start: "2024-01-02T00:00:00Z", end: "2024-01-03T00:00:00Z", barMinutes: 1,
    universe: { kind: "synthetic", assets, seed: 1 }, data: { source: "synthetic", seed: 1 }, broker: { kind: "instant_fill" }, outputRoot: root, seed: 1,
  }));
  process.stdout.write(JSON.stringify({ runDir: run.runDir, wallS: (performance.now() - t0) / 1000 }) + "\n");
}

/** Child 2: reconciles the run in a fresh process (its heap and peak memory are the reconciliation's own). */
async function reconcileChild(runDir: string, inputRunS: number): Promise<void> {
  const { reconcileRun } = await import("../src/analysis/reconcile.js");
  const phases: Record<string, number> = {};
  let phase: string | undefined;
  let mark = performance.now();
  const cpu0 = process.cpuUsage();
  const r0 = performance.now();
  const r = await reconcileRun(runDir, { runTimestamp: "20240103_000000" }, {
    progress: (m) => {
      const now = performance.now();
      if (phase !== undefined) phases[phase] = (phases[phase] ?? 0) + (now - mark) / 1000;
      phase = phaseOf(m);
      mark = now;
    },
  });
  const end = performance.now();
  if (phase !== undefined) phases[phase] = (phases[phase] ?? 0) + (end - mark) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const out: ReconcileBenchResult = {
    assets: r.summary.targetVsExecuted.length, bars: r.summary.run.portfolioBars - 1, inputRunS, wallS: (end - r0) / 1000, cpuS: (cpu.user + cpu.system) / 1e6, phases,
    peakRssMb: process.resourceUsage().maxRSS / 1024, pass: r.summary.verdict.pass, differences: r.summary.differences.total, parents: r.summary.execution.prod.parents,
  };
  process.stdout.write(JSON.stringify(out) + "\n");
}

function spawnChild(args: string[]): string {
  const p = spawnSync(process.execPath, [...NODE_FLAGS, "--import", "tsx", fileURLToPath(import.meta.url), ...args], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (p.status !== 0) throw new Error(`reconcile bench (${args[0]}) failed (exit ${p.status}):\n${p.stderr}`);
  return p.stdout.trim().split("\n").at(-1) as string;
}

export function runReconcileBench(assets = 100): Record<string, number | boolean> {
  const root = mkdtempSync(join(tmpdir(), "tl-bench-reconcile-"));
  let r: ReconcileBenchResult;
  try {
    const input = JSON.parse(spawnChild(["--build", root, String(assets)])) as { runDir: string; wallS: number };
    r = JSON.parse(spawnChild(["--reconcile", input.runDir, String(input.wallS)])) as ReconcileBenchResult;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const ph = (k: string): number => r.phases[k] ?? 0;
  const analysis = ph("research") + ph("compare") + ph("report");
  const met = r.wallS <= RECONCILE_TARGET_S;
  process.stdout.write(
    `reconcile: ${r.assets} assets x ${r.bars} one-minute bars (${r.parents} parent orders; input run built in ${r.inputRunS.toFixed(1)} s, not timed): ` +
      `wall ${r.wallS.toFixed(2)} s, cpu ${r.cpuS.toFixed(2)} s (target <= ${RECONCILE_TARGET_S} s: ${met ? "met" : "MISSED"}); ` +
      `phases: while the simulation re-runs on a worker thread, load the run's log ${ph("load_run_log").toFixed(2)} s and research ${ph("research").toFixed(2)} s, ` +
      `then wait for the simulation, reading its log as it grows, ${ph("wait_for_simulation").toFixed(2)} s (start ${ph("start_simulation").toFixed(2)} s); load the rest of its log ${ph("load_sim_log").toFixed(2)} s, ` +
      `compare ${ph("compare").toFixed(2)} s, report ${ph("report").toFixed(2)} s (research + compare + report ${analysis.toFixed(2)} s); ` +
      `peak RSS ${r.peakRssMb.toFixed(0)} MB; verdict ${r.pass ? "pass" : "fail"}, ${r.differences} differences\n`,
  );
  return {
    reconcile_wall_s: r.wallS,
    reconcile_cpu_s: r.cpuS,
    reconcile_wait_for_sim_s: ph("wait_for_simulation"),
    reconcile_load_logs_s: ph("load_run_log") + ph("load_sim_log"),
    reconcile_analysis_s: analysis,
    reconcile_peak_rss_mb: r.peakRssMb,
    reconcile_target_met: met,
  };
}

const argv = process.argv.slice(2);
if (argv[0] === "--build") await buildInput(argv[1] as string, Number(argv[2] ?? "100"));
else if (argv[0] === "--reconcile") await reconcileChild(argv[1] as string, Number(argv[2] ?? "0"));
else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const assets = argv[0] === undefined ? 100 : Number(argv[0]);
  process.stdout.write(JSON.stringify(runReconcileBench(assets)) + "\n");
}
