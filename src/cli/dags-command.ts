// `tradeloop dags list | show | trigger | test | backfill | runs | clear`: the Airflow-like face of
// the orchestration. Runs go through an executor: local by default (tasks run in this process and
// the command returns when they are done), or BullMQ (`--executor bullmq`: runs are queued on Redis
// for `tradeloop worker` processes).

import { InvalidArgumentError, type Command } from "commander";
import { loadDags } from "../../dags/index.js";
import { JsonSyntaxError, parseJsonText } from "../core/json-text.js";
import type { DagDefinition } from "../orchestration/dag.js";
import type { Executor } from "../orchestration/executor.js";
import { FileRunStore } from "../orchestration/file-run-store.js";
import { LocalExecutor } from "../orchestration/local-executor.js";
import { Orchestrator } from "../orchestration/orchestrator.js";
import { DAG_RUN_STATES, type DagRun, type DagRunState } from "../orchestration/run-records.js";
import { defaultRunEnd, nextFire } from "../orchestration/schedule.js";
import { utcTime } from "./parse.js";
import { barProgress, type BarProgress } from "./progress.js";
import { formatTable } from "./table.js";

interface ExecutorFlags {
  executor: string;
  root: string;
  quiet?: boolean;
}

function confFlag(v: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseJsonText(v, "--conf");
  } catch (err) {
    if (err instanceof JsonSyntaxError) throw new InvalidArgumentError(`--conf must be a JSON object: ${err.message}`);
    throw err;
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new InvalidArgumentError("--conf must be a JSON object, like '{\"system\":{\"barMinutes\":1}}'");
  return parsed as Record<string, unknown>;
}

/** How long a `dags` command waits for Redis to answer before it gives up (a worker waits on). */
const REDIS_CONNECT_TIMEOUT_MS = 5_000;

/** The executor the flags ask for, with a progress bar on stderr for long local tasks. */
export async function openCliExecutor(f: ExecutorFlags): Promise<Executor> {
  const log = f.quiet === true ? () => undefined : (m: string) => process.stderr.write(`${m}\n`);
  if (f.executor === "bullmq") {
    const { openExecutor } = await import("../orchestration/open-executor.js");
    return openExecutor("bullmq", { root: f.root, redisUrl: process.env["REDIS_URL"], log, dags: await loadDags(), redisConnectTimeoutMs: REDIS_CONNECT_TIMEOUT_MS });
  }
  if (f.executor !== "local") throw new InvalidArgumentError(`--executor must be local or bullmq, got "${f.executor}"`);
  const orch = new Orchestrator(await loadDags(), new FileRunStore(f.root));
  const bars = new Map<string, BarProgress>();
  const ex = new LocalExecutor(orch, {
    dataRoot: f.root,
    log: (m) => {
      if (!/: bar \d+\/\d+$/.test(m)) log(m);
    },
    onProgress: (runKey, taskId, done, total, detail) => {
      if (f.quiet === true) return;
      const key = `${runKey} ${taskId}`;
      let bar = bars.get(key);
      if (bar === undefined) {
        bar = barProgress(key, total, Date.parse(`${detail}Z`));
        bars.set(key, bar);
      }
      bar.update(done, Date.parse(`${detail}Z`));
      if (done >= total) {
        bar.stop();
        bars.delete(key);
      }
    },
    onTaskDone: () => {
      for (const b of bars.values()) b.stop();
      bars.clear();
    },
  });
  await ex.requeueOrphans();
  return ex;
}

function runState(v: string): DagRunState {
  const s = DAG_RUN_STATES.find((x) => x === v);
  if (s === undefined) throw new InvalidArgumentError(`--state must be a run state: one of ${DAG_RUN_STATES.join(", ")}; got "${v}"`);
  return s;
}

const ms = (t: number | undefined): string => (t === undefined ? "-" : new Date(t).toISOString().replace(".000Z", "Z"));

function duration(a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined) return "-";
  const s = (b - a) / 1000;
  return s < 120 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

export function formatRuns(runs: readonly DagRun[]): string {
  return formatTable(
    ["run key", "state", "interval start", "interval end", "started", "duration", "tasks"],
    runs.map((r) => [
      r.runKey, r.state, ms(r.logicalStart), ms(r.logicalEnd), ms(r.startedAt), duration(r.startedAt, r.endedAt),
      Object.entries(r.tasks).map(([id, t]) => `${id}=${t.state}${t.tries > 1 ? `(${t.tries} tries)` : ""}`).join(" "),
    ]),
  );
}

function describeDag(d: DagDefinition, now: number): string[] {
  return [
    d.id, d.schedule === null ? "manual" : `${d.schedule.cron} ${d.schedule.timezone}`, d.schedule === null ? "-" : ms(nextFire(d.schedule, now)),
    d.dataInterval, String(d.tasks.length), String(d.maxActiveRuns), String(d.catchupLimit),
  ];
}

async function withExecutor<T>(f: ExecutorFlags, fn: (ex: Executor) => Promise<T>): Promise<T> {
  const ex = await openCliExecutor(f);
  try {
    return await fn(ex);
  } finally {
    await ex.close();
  }
}

/** Runs (or queues, on BullMQ) and prints the runs' table; a local failed run makes the exit code 1. */
async function dispatchAndReport(ex: Executor, runKeys: string[]): Promise<void> {
  await ex.dispatch();
  const runs = (await Promise.all(runKeys.map((k) => ex.orchestrator.store.get(k)))).filter((r): r is DagRun => r !== undefined);
  process.stdout.write(formatRuns(runs) + "\n");
  for (const r of runs) {
    for (const [id, t] of Object.entries(r.tasks)) {
      if (t.error !== undefined && t.state === "failed") process.stdout.write(`${r.runKey} ${id}: ${t.error}\n`);
      if (t.state === "upstream_failed") process.stdout.write(`${r.runKey} ${id}: not run, upstream failed (${t.reason ?? "?"})\n`);
    }
    const out = r.tasks["run_system"]?.output as { runDir?: string } | undefined;
    if (out?.runDir !== undefined) process.stdout.write(`${r.runKey}: run directory ${out.runDir}\n`);
  }
  if (ex.kind === "local" && runs.some((r) => r.state === "failed")) process.exitCode = 1;
  if (ex.kind === "bullmq") process.stdout.write("queued on BullMQ: `tradeloop worker` processes run the tasks; `tradeloop dags runs --executor bullmq` shows their states\n");
}

const REPLACE_HELP = "discard an earlier run of the same start (its record, and the run directory its run_system wrote) and run again";

/** A run that exists already: named with its state, and how to run it again. */
class RunExistsError extends Error {
  override readonly name = "RunExistsError";
}

/**
 * Creates the manual run of `trigger` and `test`. One that exists already is not run again
 * silently (its result is not this conf's): refused with its state, unless `replace`, which
 * discards it and, through `conf.replaceExisting`, has run_system start afresh over the run
 * directory it left (else run_system would resume it, and hand back a finished one unchanged).
 */
async function manualRun(ex: Executor, id: string, conf: Record<string, unknown>, interval: { start: number; end: number } | undefined, replace: boolean): Promise<DagRun> {
  const r = await ex.orchestrator.trigger(id, replace ? { ...conf, replaceExisting: true } : conf, interval, { replace });
  if (!r.created) {
    const k = r.run.runKey;
    throw new RunExistsError(
      `run ${k} exists already (${r.run.state}, created ${ms(r.run.createdAt)}): not run again, and left as it is (its conf too). ` +
        `Add --replace to discard it and run again with this conf, or rerun some of its tasks with \`tradeloop dags clear ${k} --task <task>\``,
    );
  }
  if (r.replaced !== undefined) process.stderr.write(`${r.run.runKey}: the earlier run (${r.replaced}) is discarded; running again\n`);
  return r.run;
}

export function registerDags(program: Command): void {
  const dags = program.command("dags").description("DAGs: list, show, trigger, test, backfill, runs, clear");
  const common = (c: Command): Command =>
    c
      .option("--executor <kind>", "local (in process, default) | bullmq (Redis at REDIS_URL)", process.env["TRADELOOP_EXECUTOR"] ?? "local")
      .option("--root <dir>", "data root for run directories and (local) run records", "storage")
      .option("--quiet", "no progress output");

  dags
    .command("list")
    .description("every DAG with its schedule, next slot and limits")
    .action(async () => {
      const now = Date.now();
      const all = await loadDags();
      process.stdout.write(formatTable(["dag", "schedule", "next slot", "interval", "tasks", "max active", "catchup"], all.map((d) => describeDag(d, now))) + "\n");
    });

  dags
    .command("show <dag>")
    .description("a DAG's tasks, dependencies, trigger rules, retries and default conf")
    .action(async (id: string) => {
      const d = new Orchestrator(await loadDags(), new FileRunStore("storage")).dag(id);
      process.stdout.write(`${d.id}: ${d.description}\nschedule ${d.schedule === null ? "manual" : `${d.schedule.cron} (${d.schedule.timezone})`}, data interval ${d.dataInterval}, start ${ms(d.startDate)}, catchup ${d.catchupLimit}, max active runs ${d.maxActiveRuns}\n\n`);
      process.stdout.write(formatTable(["task", "upstream", "trigger rule", "retries", "backoff", "timeout"], d.tasks.map((t) => [t.id, (t.upstream.join(",") || "-") + (t.needsOutputOf.length > 0 ? ` (reads ${t.needsOutputOf.join(",")})` : ""), t.triggerRule, String(t.retries), `${t.retryBackoff} ${t.retryBackoffMs / 1000} s`, `${t.timeoutMs / 60_000} min`])) + "\n\n");
      process.stdout.write(`default conf ${JSON.stringify(d.defaultConf, null, 1)}\n`);
    });

  common(dags.command("trigger <dag>").description("a manual run (conf overrides the DAG's default conf); a run that exists for the start is refused unless --replace"))
    .option("--conf <json>", "conf for this run", confFlag, {})
    .option("--start <time>", "logical start (UTC); default conf.start, else the latest schedule slot at or before now (a DAG without a schedule needs one)", utcTime)
    .option("--end <time>", "logical end (UTC), with --start; default one schedule interval after the start (a day for a DAG without a schedule)", utcTime)
    .option("--replace", REPLACE_HELP)
    .action(async (id: string, f: ExecutorFlags & { conf: Record<string, unknown>; start?: number; end?: number; replace?: boolean }) => {
      // An end alone would pair with a start the user never chose (the latest slot's, or conf.start).
      if (f.end !== undefined && f.start === undefined) throw new InvalidArgumentError(`--end ${ms(f.end)} needs --start: give both, or neither to run the latest schedule slot`);
      await withExecutor(f, async (ex) => {
        const conf = { ...f.conf, ...(f.start !== undefined ? { start: new Date(f.start).toISOString() } : {}), ...(f.end !== undefined ? { end: new Date(f.end).toISOString() } : {}) };
        const run = await manualRun(ex, id, conf, undefined, f.replace === true);
        await dispatchAndReport(ex, [run.runKey]);
      });
    });

  common(dags.command("test <dag> <logical_start>").description("run one DAG run for a logical start now, in the foreground (a manual run; one that exists is refused unless --replace)"))
    .option("--conf <json>", "conf for this run", confFlag, {})
    .option("--replace", REPLACE_HELP)
    .action(async (id: string, start: string, f: ExecutorFlags & { conf: Record<string, unknown>; replace?: boolean }) => {
      await withExecutor(f, async (ex) => {
        const dag = ex.orchestrator.dag(id);
        const t = utcTime(start);
        const run = await manualRun(ex, id, f.conf, { start: t, end: defaultRunEnd(dag, t) }, f.replace === true);
        await dispatchAndReport(ex, [run.runKey]);
      });
    });

  common(dags.command("backfill <dag>").description("one backfill run per schedule slot whose logical start is in [start, end]"))
    .requiredOption("--start <time>", "first logical start (UTC)", utcTime)
    .requiredOption("--end <time>", "last logical start (UTC)", utcTime)
    .option("--conf <json>", "conf for these runs", confFlag, {})
    .action(async (id: string, f: ExecutorFlags & { start: number; end: number; conf: Record<string, unknown> }) => {
      await withExecutor(f, async (ex) => {
        const r = await ex.orchestrator.backfill(id, f.start, f.end, f.conf);
        process.stderr.write(`backfill ${id}: ${r.created.length} run(s) created, ${r.existing.length} existed already\n`);
        await dispatchAndReport(ex, [...r.existing, ...r.created].map((x) => x.runKey).sort());
      });
    });

  common(dags.command("runs [dag]").description("a table of runs with states and durations"))
    .option("--state <state>", `only runs in this state: ${DAG_RUN_STATES.join(", ")}`, runState)
    .action(async (id: string | undefined, f: ExecutorFlags & { state?: DagRunState }) => {
      await withExecutor({ ...f, quiet: true }, async (ex) => {
        // An unknown DAG has no runs: an empty table would hide the typo.
        if (id !== undefined) ex.orchestrator.dag(id);
        const runs = (await ex.orchestrator.store.list(id)).filter((r) => f.state === undefined || r.state === f.state);
        process.stdout.write(runs.length === 0 ? "no runs\n" : formatRuns(runs) + "\n");
      });
    });

  common(dags.command("clear <run_key>").description("clear a task (and its downstream tasks) of a run, then run them again"))
    .requiredOption("--task <id>", "task to clear")
    .option("--no-run", "only clear; run later")
    .action(async (runKey: string, f: ExecutorFlags & { task: string; run: boolean }) => {
      await withExecutor(f, async (ex) => {
        const r = await ex.orchestrator.clear(runKey, f.task);
        process.stderr.write(`cleared ${r.cleared.join(", ")} of ${runKey}\n`);
        if (f.run) await dispatchAndReport(ex, [runKey]);
      });
    });
}
