// `tradeloop run`: one system run from a JSON config and/or flags (flags win), with a progress bar;
// prints where it wrote and a short summary. `tradeloop demo` is the one-command main job.

import { InvalidArgumentError, type Command } from "commander";
import { readConfigFile, resolveConfig } from "../system/config.js";
import { DEFAULT_MODEL } from "../system/model-registry.js";
import { runSystem, type RunSystemResult } from "../system/run-system.js";
import { modelParam, positiveInt, positiveNumber, seedArg } from "./parse.js";
import { barProgress, type BarProgress } from "./progress.js";
import { formatRunSummary } from "./show-command.js";
import { join } from "node:path";
import type { RunSystemTaskOutput } from "../../jobs/run-system.js";
import type { ReconcileTaskOutput } from "../../jobs/reconcile.js";
import type { PlotPnlTaskOutput } from "../../jobs/plot-pnl.js";
import { readJsonFile } from "../storage/jsonl.js";
import type { RunSummary } from "../system/run-summary.js";
import { SYSTEM_LOG_FILES } from "../system/system-log.js";
import { openCliExecutor } from "./dags-command.js";

export interface RunFlags {
  config?: string;
  model?: string;
  param: string[];
  mode?: string;
  start?: string;
  end?: string;
  barMinutes?: number;
  assets?: number;
  data?: string;
  dataDir?: string;
  broker?: string;
  exchangeId?: string;
  clock?: string;
  speed?: number;
  stage?: string;
  dagRunMode?: string;
  root?: string;
  seed?: number;
  orderType?: string;
  grossExposure?: number;
  flattenAtEnd?: boolean;
  confirmProd?: boolean;
  parquet?: boolean;
}

function paramValue(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // Not JSON: a bare word such as a name is taken as a string.
    return text;
  }
}

/** The config as given: the file's content with every flag laid over it. */
export function givenConfig(f: RunFlags): { given: Record<string, unknown>; where: string } {
  const base = f.config === undefined ? {} : readConfigFile(f.config);
  if (base === null || typeof base !== "object" || Array.isArray(base)) throw new InvalidArgumentError(`${f.config}: the config must be a JSON object`);
  const g = structuredClone(base) as Record<string, unknown>;
  const obj = (k: string): Record<string, unknown> => {
    const v = g[k];
    const o = v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
    g[k] = o;
    return o;
  };
  if (f.model !== undefined || g["model"] === undefined) obj("model")["name"] = f.model ?? (obj("model")["name"] as string | undefined) ?? DEFAULT_MODEL;
  if (f.param.length > 0) {
    const m = obj("model");
    const params = (m["params"] as Record<string, unknown> | undefined) ?? {};
    for (const p of f.param) {
      const i = p.indexOf("=");
      if (i <= 0) throw new InvalidArgumentError(`--param takes name=value, got "${p}"`);
      params[p.slice(0, i)] = paramValue(p.slice(i + 1));
    }
    m["params"] = params;
  }
  const set = (k: string, v: unknown): void => {
    if (v !== undefined) g[k] = v;
  };
  set("mode", f.mode);
  set("start", f.start);
  set("end", f.end);
  set("barMinutes", f.barMinutes);
  set("stage", f.stage);
  set("dagRunMode", f.dagRunMode);
  set("outputRoot", f.root);
  set("seed", f.seed);
  set("confirmProd", f.confirmProd);
  if (f.assets !== undefined) g["universe"] = { kind: "synthetic", assets: f.assets, seed: f.seed ?? 1 };
  if (f.data !== undefined) g["data"] = f.data === "files" ? { source: "files", dir: f.dataDir } : { source: f.data };
  if (f.broker !== undefined) g["broker"] = f.broker === "ccxt" && f.exchangeId !== undefined ? { kind: "ccxt", exchangeId: f.exchangeId } : { kind: f.broker };
  if (f.clock !== undefined) g["clock"] = f.clock === "scaled" ? { kind: "scaled", speed: f.speed ?? 60 } : { kind: f.clock };
  // A flag that cannot apply is refused, not dropped: --data-dir without --data files would run on
  // synthetic data where a replay was meant. With a config that already chooses the kind, it sets it.
  const refine = (flag: string, v: unknown, key: string, field: string, kindKey: string, kind: string, needs: string): void => {
    if (v === undefined) return;
    const o = g[key];
    if (o === null || typeof o !== "object" || (o as Record<string, unknown>)[kindKey] !== kind) throw new InvalidArgumentError(`${flag} applies only with ${needs} (or a config whose ${key}.${kindKey} is ${kind})`);
    (o as Record<string, unknown>)[field] = v;
  };
  refine("--data-dir", f.data === undefined ? f.dataDir : undefined, "data", "dir", "source", "files", "--data files");
  if (f.data !== undefined && f.data !== "files" && f.dataDir !== undefined) throw new InvalidArgumentError(`--data-dir applies only with --data files, not --data ${f.data}`);
  refine("--exchange-id", f.broker === undefined ? f.exchangeId : undefined, "broker", "exchangeId", "kind", "ccxt", "--broker ccxt");
  if (f.broker !== undefined && f.broker !== "ccxt" && f.exchangeId !== undefined) throw new InvalidArgumentError(`--exchange-id applies only with --broker ccxt, not --broker ${f.broker}`);
  refine("--speed", f.clock === undefined ? f.speed : undefined, "clock", "speed", "kind", "scaled", "--clock scaled");
  if (f.clock !== undefined && f.clock !== "scaled" && f.speed !== undefined) throw new InvalidArgumentError(`--speed applies only with --clock scaled, not --clock ${f.clock}`);
  if (f.orderType !== undefined) obj("order")["type"] = f.orderType;
  if (f.flattenAtEnd === true) obj("order")["flattenAtEnd"] = true;
  if (f.grossExposure !== undefined) obj("targets")["grossExposure"] = f.grossExposure;
  return { given: g, where: f.config ?? "flags" };
}

export async function runWithProgress(given: unknown, where: string, opts: { replaceExisting?: boolean; parquet?: boolean } = {}): Promise<RunSystemResult> {
  const cfg = resolveConfig(given, where);
  // Drawn from the first bar on: a run that fails its set-up (an unknown model, a bad parameter)
  // prints its error alone, not under an empty bar.
  let progress: BarProgress | undefined;
  const onBar = (done: number, _total: number, t: number): void => {
    progress ??= barProgress(`${cfg.model.name} ${cfg.mode}`, Math.round((cfg.end - cfg.start) / (cfg.barMinutes * 60_000)), cfg.start);
    progress.update(done, t);
  };
  try {
    return await runSystem(cfg, { given, onBar, replaceExisting: opts.replaceExisting, brokerLogParquet: opts.parquet === true });
  } finally {
    progress?.stop();
  }
}

export function registerRun(program: Command): void {
  program
    .command("run")
    .description("run the production system once (simulation, paper_trading or prod) and write a system log directory")
    .option("--config <file>", "JSON system config; flags override its fields")
    .option("--model <name>", `model name (default ${DEFAULT_MODEL})`)
    .option("--param <name=value>", "model parameter (repeatable); value is JSON or a bare word", modelParam, [])
    .option("--mode <mode>", "simulation | paper_trading | prod")
    .option("--start <time>", "start, UTC (e.g. 2024-01-02T00:00:00Z), on a bar boundary")
    .option("--end <time>", "end, UTC, on a bar boundary")
    .option("--bar-minutes <n>", "bar length in minutes", positiveInt("--bar-minutes"))
    .option("--assets <n>", "synthetic universe size", positiveInt("--assets"))
    .option("--data <source>", "venue | synthetic | files | exchange")
    .option("--data-dir <dir>", "recorded market data folder (with --data files)")
    .option("--broker <kind>", "embedded | instant_fill | ccxt")
    .option("--exchange-id <id>", "ccxt exchange id (with --broker ccxt)")
    .option("--clock <kind>", "simulated | real | scaled")
    .option("--speed <x>", "scaled clock speed", positiveNumber("--speed"))
    .option("--stage <stage>", "dev | preprod | prod")
    .option("--dag-run-mode <m>", "scheduled | manual | backfill")
    .option("--root <dir>", "output root (default storage)")
    .option("--seed <n>", "random seed", seedArg("--seed"))
    .option("--order-type <type>", "price@twap | market | limit")
    .option("--gross-exposure <usdt>", "gross exposure budget", positiveNumber("--gross-exposure"))
    .option("--flatten-at-end", "close all positions with reduce-only orders when the run ends")
    .option("--confirm-prod", "required to start a prod run: it trades real money")
    .option("--parquet", "also write the broker log's Parquet copies at the end (later: tradeloop parquet <run-dir>)")
    .action(async (f: RunFlags) => {
      const { given, where } = givenConfig(f);
      const r = await runWithProgress(given, where, { parquet: f.parquet === true });
      process.stdout.write(formatRunSummary(r.summary, r.runDir) + `\nwall ${(r.wallMs / 1000).toFixed(2)} s\n`);
    });
}

export function registerDemo(program: Command): void {
  program
    .command("demo")
    .description("the main job: the `demo` DAG through the local executor: one simulated trading day of the default model against the embedded venue, then a summary")
    .option("--root <dir>", "data root", "storage")
    .action(async (f: { root: string }) => {
      const ex = await openCliExecutor({ executor: "local", root: f.root });
      try {
        // The demo's output is reproducible, so a second demo replaces the first instead of
        // reporting the finished run back.
        const r = await ex.orchestrator.trigger("demo", { replaceExisting: true });
        if (!r.created) await ex.orchestrator.clear(r.run.runKey, "run_system");
        await ex.dispatch();
        const run = await ex.orchestrator.store.get(r.run.runKey);
        const out = run?.tasks["run_system"]?.output as RunSystemTaskOutput | undefined;
        if (run?.state !== "success" || out === undefined) {
          const err = run?.tasks["run_system"]?.error ?? "unknown error";
          throw new Error(`demo run ${r.run.runKey} ${run?.state ?? "missing"}: ${err}`);
        }
        const summary = readJsonFile(join(out.systemLogDir, SYSTEM_LOG_FILES.summary)) as RunSummary;
        const rec = run.tasks["reconcile"]?.output as ReconcileTaskOutput | undefined;
        const charts = run.tasks["plot_pnl"]?.output as PlotPnlTaskOutput | undefined;
        const lines = [
          formatRunSummary(summary, out.runDir),
          rec === undefined ? "reconciliation: not run" : `reconciliation: ${rec.verdict.toUpperCase()}${rec.reasons.length > 0 ? ` (${rec.reasons.join("; ")})` : ""}\n  report ${rec.reportPath}`,
          charts === undefined ? "PnL charts: not drawn" : `PnL charts:\n${charts.files.filter((f) => f.endsWith(".png")).map((f) => `  ${f}`).join("\n")}`,
          `DAG run ${run.runKey}: ${run.state} in ${(((run.endedAt ?? 0) - (run.startedAt ?? 0)) / 1000).toFixed(2)} s (${Object.entries(run.tasks).map(([id, t]) => `${id} ${t.state}`).join(", ")})`,
        ];
        process.stdout.write(lines.join("\n") + "\n");
      } finally {
        await ex.close();
      }
    });
}
