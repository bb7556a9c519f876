// `tradeloop reconcile <run-dir>`: reconciles a finished run (a folder, or an s3:// URL) against its
// simulation on the recorded market data and the research portfolio of its predictions, and prints
// the verdict, the key differences and where the report is. Exit status: 0 pass, 2 fail (1 is an
// error), so a script can gate on it like on diff(1).

import { dirname, join } from "node:path";
import { InvalidArgumentError, type Command } from "commander";
import { reconcileRunAt } from "../analysis/reconcile-at.js";
import { RUN_TIMESTAMP, reconcileThresholdsSchema, type ReconcileOptionsInput, type ReconciliationSummary } from "../analysis/reconcile.js";
import { readConfigFile } from "../system/config.js";
import { formatTable } from "./table.js";

interface ReconcileFlags {
  runTimestamp?: string;
  options?: string;
  threshold: string[];
  gateExecution?: boolean;
  keepSim: boolean;
  replace?: boolean;
  json?: boolean;
  differences: number;
}

const THRESHOLD_NAMES = Object.keys(reconcileThresholdsSchema.shape);

function thresholdFlag(v: string, prev: string[]): string[] {
  const m = /^([A-Za-z]+)=(.+)$/.exec(v);
  if (m === null) throw new InvalidArgumentError(`--threshold takes name=value, got "${v}"`);
  if (!THRESHOLD_NAMES.includes(m[1] as string)) throw new InvalidArgumentError(`--threshold: unknown threshold "${m[1]}" (known: ${THRESHOLD_NAMES.join(", ")})`);
  if (!Number.isFinite(Number(m[2]))) throw new InvalidArgumentError(`--threshold ${m[1]}: "${m[2]}" is not a number`);
  return [...prev, v];
}

function runTimestampFlag(v: string): string {
  if (!RUN_TIMESTAMP.test(v)) throw new InvalidArgumentError(`--run-timestamp must be a UTC time as YYYYMMDD_HHMMSS, got "${v}"`);
  return v;
}

function countFlag(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`--differences must be a whole number >= 0, got "${v}"`);
  return n;
}

/** The options as given: the file's content with every flag laid over it. */
export function reconcileOptionsFrom(f: ReconcileFlags): ReconcileOptionsInput {
  const base = f.options === undefined ? {} : readConfigFile(f.options);
  if (base === null || typeof base !== "object" || Array.isArray(base)) throw new InvalidArgumentError(`${f.options}: the options must be a JSON object`);
  const o = structuredClone(base) as Record<string, unknown>;
  if (f.runTimestamp !== undefined) o["runTimestamp"] = f.runTimestamp;
  if (f.threshold.length > 0) {
    const t = (o["thresholds"] !== null && typeof o["thresholds"] === "object" ? o["thresholds"] : {}) as Record<string, unknown>;
    for (const kv of f.threshold) {
      const i = kv.indexOf("=");
      t[kv.slice(0, i)] = Number(kv.slice(i + 1));
    }
    o["thresholds"] = t;
  }
  if (f.gateExecution === true) o["gateExecutionDifferences"] = true;
  if (!f.keepSim) o["keepSimRun"] = false;
  if (f.replace === true) o["replaceExisting"] = true;
  return o as ReconcileOptionsInput;
}

const fmt = (x: number | null, d = 2): string => (x === null || !Number.isFinite(x) ? "-" : x.toFixed(d));

export function formatReconciliation(s: ReconciliationSummary, paths: { report: string; summary: string; sim: string | undefined; published: string[] }, maxDifferences: number): string {
  const lines: string[] = [];
  lines.push(`Reconciliation ${s.verdict.pass ? "PASS" : "FAIL"}: ${s.run.model} ${s.run.mode} (${s.run.broker} broker) ${s.run.start} .. ${s.run.end}`);
  for (const r of s.verdict.reasons) lines.push(`  - ${r}`);
  lines.push("");
  const st = s.statistics;
  lines.push(
    formatTable(
      ["", "total PnL", "fees", "sharpe", "fill rate", "slippage bps"],
      [
        ["prod", fmt(Number(st.prod.totalPnl)), fmt(Number(st.prod.totalFees)), fmt(st.prod.statistics.sharpeRatio), fmt(s.execution.prod.fillRate === null ? null : 100 * s.execution.prod.fillRate, 1) + "%", fmt(s.execution.prod.slippageBps, 3)],
        ["sim", fmt(Number(st.sim.totalPnl)), fmt(Number(st.sim.totalFees)), fmt(st.sim.statistics.sharpeRatio), fmt(s.execution.sim.fillRate === null ? null : 100 * s.execution.sim.fillRate, 1) + "%", fmt(s.execution.sim.slippageBps, 3)],
        ["research", fmt(Number(st.research.totalPnl)), fmt(Number(st.research.totalFees)), fmt(st.research.statistics.sharpeRatio), "100.0%", "0.000"],
      ],
    ),
  );
  lines.push(`PnL correlation: prod/sim ${fmt(s.pnlCorrelation.prod_vs_sim, 4)}, prod/research ${fmt(s.pnlCorrelation.prod_vs_research, 4)}, sim/research ${fmt(s.pnlCorrelation.sim_vs_research, 4)}`);
  lines.push("");
  if (s.differences.total === 0) lines.push("differences: none");
  else {
    const kinds = Object.entries(s.differences.byKind).map(([k, c]) => `${k} ${c.total}`).join(", ");
    lines.push(`differences: ${s.differences.total} (${s.differences.gated} counted by the verdict): ${kinds}`);
    for (const d of s.differences.listed.slice(0, maxDifferences)) lines.push(`  ${d.gated ? "*" : " "} ${d.message}`);
    const more = s.differences.total - Math.min(maxDifferences, s.differences.listed.length);
    if (more > 0) lines.push(`  ... ${more} more (summary.json lists ${s.differences.listed.length}; * = counted by the verdict)`);
  }
  if (s.sim.note !== null) lines.push(`note: ${s.sim.note}`);
  lines.push("");
  lines.push(`report:  ${paths.report}`);
  lines.push(`summary: ${paths.summary}`);
  lines.push(`execution per bar and asset: ${join(dirname(paths.summary), s.files.execution)}`);
  if (paths.sim !== undefined) lines.push(`sim run: ${paths.sim}`);
  for (const p of paths.published) lines.push(`published: ${p}`);
  return lines.join("\n");
}

export function registerReconcile(program: Command): void {
  program
    .command("reconcile <run-dir>")
    .description("reconcile a finished run (folder or s3:// URL) against its simulation on the recorded data and its research portfolio; exit 0 pass, 2 fail")
    .option("--run-timestamp <YYYYMMDD_HHMMSS>", "names the output folder reconciliation/<run_timestamp>/ (default: now, UTC)", runTimestampFlag)
    .option("--options <file>", "reconcile options as JSON (thresholds, gateExecutionDifferences, simFeeRate, charts...)")
    .option("--threshold <name=value>", `override one threshold (repeatable): ${THRESHOLD_NAMES.join(", ")}`, thresholdFlag, [])
    .option("--gate-execution", "count prod vs sim fill and portfolio differences even when the sim cannot replay the run's broker")
    .option("--no-keep-sim", "delete the simulation's run directory once compared")
    .option("--replace", "replace an earlier reconciliation with the same run timestamp")
    .option("--json", "print summary.json instead of the text summary")
    .option("--differences <n>", "differences to print", countFlag, 15)
    .action(async (runDir: string, flags: ReconcileFlags) => {
      const r = await reconcileRunAt(runDir, reconcileOptionsFrom(flags), {
        // The wall clock enters here, at the edge, only to name the output folder.
        now: () => Date.now(),
        progress: flags.json === true ? undefined : (m) => process.stderr.write(`${m}\n`),
      });
      if (flags.json === true) process.stdout.write(JSON.stringify(r.summary, null, 2) + "\n");
      else process.stdout.write(formatReconciliation(r.summary, { report: r.reportPath, summary: r.summaryPath, sim: r.simRunDir, published: r.published }, flags.differences) + "\n");
      if (!r.summary.verdict.pass) process.exitCode = 2;
    });
}
