// Task handler: one system run (simulation or paper trading session) over the DAG run's data
// interval, with the run key as the seed of client order ids, resuming from its last checkpoint
// when an earlier try of the same run was interrupted.

import { ConfigError, resolveConfig, type SystemConfig } from "../src/system/config.js";
import { runIdentity, runSystem } from "../src/system/run-system.js";
import { runDir } from "../src/storage/run-layout.js";
import { runStoreTarget, ThrottledRunSync, type RunStoreTarget } from "./run-store-target.js";
import { permanentError, type TaskContext, type TaskHandler } from "../src/orchestration/task.js";

export interface RunSystemTaskOutput {
  runDir: string;
  systemLogDir: string;
  bars: number;
  totalPnl: number;
  resumedFromBar: number | null;
  /** Where the run directory was published (conf.runStore), without `_SUCCESS` until the DAG run succeeds. */
  runUrl: string | null;
}

/** Finished bars reach the run store at most this often (whole files are re-sent). */
const RUN_SYNC_INTERVAL_MS = 30_000;

/** The system config a DAG run asks for: its conf's `system` object over the run's interval. */
export function systemConfigFor(conf: Readonly<Record<string, unknown>>, interval: { start: number; end: number; runType: string }, dataRoot: string): Record<string, unknown> {
  const system = conf["system"] ?? {};
  if (system === null || typeof system !== "object" || Array.isArray(system)) throw new ConfigError(`conf.system must be an object (a system config), got ${JSON.stringify(system)}`);
  if ("outputRoot" in system) throw new ConfigError("conf.system.outputRoot is not allowed: runs are written under the executor's data root");
  return {
    ...(system as Record<string, unknown>),
    start: new Date(interval.start).toISOString(),
    end: new Date(interval.end).toISOString(),
    dagRunMode: interval.runType,
    outputRoot: dataRoot,
  };
}

/** Config, layout and store-URL errors are the conf's fault: no retry can fix them. */
function checkedConf(ctx: TaskContext): { given: Record<string, unknown>; cfg: SystemConfig; localRunDir: string; target: RunStoreTarget | undefined } {
  try {
    const given = systemConfigFor(ctx.conf, { start: ctx.logicalStart, end: ctx.logicalEnd, runType: ctx.runType }, ctx.dataRoot);
    const cfg = resolveConfig(given, `dag ${ctx.dagId} conf.system`);
    const localRunDir = runDir(cfg.outputRoot, runIdentity(cfg));
    return { given, cfg, localRunDir, target: runStoreTarget(ctx.conf, ctx.dataRoot, localRunDir) };
  } catch (err) {
    throw permanentError(err);
  }
}

export const runSystemTask: TaskHandler = async (ctx) => {
  const { given, cfg, localRunDir, target } = checkedConf(ctx);
  const everyBars = Math.max(1, Math.round((cfg.end - cfg.start) / (cfg.barMinutes * 60_000) / 10));
  // Fails fast (bucket missing, access denied, endpoint down) before a day is computed for nothing.
  if (target !== undefined) await target.store.exists(`${target.prefix}/_SUCCESS`);
  const sync = target === undefined ? undefined : new ThrottledRunSync(localRunDir, target, RUN_SYNC_INTERVAL_MS, ctx.log);
  const r = await runSystem(cfg, {
    given,
    runKey: ctx.runKey,
    signal: ctx.signal,
    resume: true,
    replaceExisting: ctx.conf["replaceExisting"] === true && ctx.attempt === 1,
    onBar: (done, total, simTime) => {
      ctx.progress(done, total, new Date(simTime).toISOString().slice(0, 16));
      if (done % everyBars === 0 || done === total) ctx.log(`bar ${done}/${total}`);
      sync?.poke();
    },
  });
  await sync?.finish();
  const out: RunSystemTaskOutput = { runDir: r.runDir, systemLogDir: r.systemLogDir, bars: r.summary.barsDone, totalPnl: r.summary.totalPnl, resumedFromBar: r.resumedFromBar ?? null, runUrl: target?.url ?? null };
  return out;
};
