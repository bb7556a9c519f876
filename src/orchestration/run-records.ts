// DAG runs and task instances as persisted records, and the rules that move them: which tasks are
// ready, which are skipped by their trigger rule, when a run is finished and how it ended. Shared by
// both executors, so a DAG behaves the same in process and on BullMQ.

import { z } from "zod";
import { compactUtc } from "../core/timestamp.js";
import { checkId, type DagDefinition, type TaskDefinition } from "./dag.js";
import type { RunType } from "./task.js";

/**
 * `upstream_failed` (Airflow's): not run because a task it depends on failed (or was itself
 * upstream_failed), by its trigger rule or because it reads that task's output. `skipped`: not run
 * because an upstream task was skipped.
 */
export const TASK_STATES = ["none", "queued", "running", "success", "failed", "up_for_retry", "skipped", "upstream_failed"] as const;
export type TaskState = (typeof TASK_STATES)[number];
export const DAG_RUN_STATES = ["queued", "running", "success", "failed"] as const;
export type DagRunState = (typeof DAG_RUN_STATES)[number];

const taskTry = z.object({
  try: z.number().int(),
  state: z.enum(["running", "success", "failed", "up_for_retry"]),
  startedAt: z.number(),
  endedAt: z.number().optional(),
  error: z.string().optional(),
  worker: z.string().optional(),
});

export const taskInstanceSchema = z.object({
  state: z.enum(TASK_STATES),
  tries: z.number().int(),
  startedAt: z.number().optional(),
  endedAt: z.number().optional(),
  error: z.string().optional(),
  /** Why a task was skipped or upstream_failed (its trigger rule or the output it reads, with the upstream states). */
  reason: z.string().optional(),
  output: z.unknown().optional(),
  /** Not before this (UTC ms) is an up_for_retry task tried again. */
  retryAt: z.number().optional(),
  /** Who runs it (`host:pid`), so a restarted local executor can tell its dead tasks. */
  worker: z.string().optional(),
  history: z.array(taskTry),
});

export type TaskInstance = z.infer<typeof taskInstanceSchema>;

export const dagRunSchema = z.object({
  runKey: z.string(),
  dagId: z.string(),
  runType: z.enum(["scheduled", "manual", "backfill"]),
  logicalStart: z.number(),
  logicalEnd: z.number(),
  conf: z.record(z.string(), z.unknown()),
  state: z.enum(DAG_RUN_STATES),
  createdAt: z.number(),
  startedAt: z.number().optional(),
  endedAt: z.number().optional(),
  /** Why a run failed outside its tasks (its success hook). */
  error: z.string().optional(),
  /** Bumped on every write, for compare-and-set updates. */
  version: z.number().int(),
  tasks: z.record(z.string(), taskInstanceSchema),
});

export type DagRun = z.infer<typeof dagRunSchema>;

export function runKeyOf(dagId: string, runType: RunType, logicalStart: number): string {
  return `${checkId("dag id", dagId)}.${runType}.${compactUtc(logicalStart)}`;
}

export function newDagRun(dag: DagDefinition, runType: RunType, interval: { start: number; end: number }, conf: Record<string, unknown>, now: number): DagRun {
  return {
    runKey: runKeyOf(dag.id, runType, interval.start),
    dagId: dag.id,
    runType,
    logicalStart: interval.start,
    logicalEnd: interval.end,
    conf: mergeConf(dag.defaultConf, conf),
    state: "queued",
    createdAt: now,
    version: 0,
    tasks: Object.fromEntries(dag.tasks.map((t) => [t.id, emptyTask()])),
  };
}

/**
 * A trigger's conf laid over the DAG's default conf, key by key into nested objects, so
 * `{"system":{"barMinutes":1}}` changes the bar length and keeps the default system's model.
 * Arrays and other values replace.
 */
export function mergeConf(base: Readonly<Record<string, unknown>>, over: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) ? mergeConf(b, v) : v;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function emptyTask(): TaskInstance {
  return { state: "none", tries: 0, history: [] };
}

const TERMINAL: ReadonlySet<TaskState> = new Set(["success", "failed", "skipped", "upstream_failed"]);

export function isTerminal(s: TaskState): boolean {
  return TERMINAL.has(s);
}

/** How a task ends without running, and why. */
type NotRun = { state: "skipped" | "upstream_failed"; reason: string };

export type Readiness = { kind: "wait" } | { kind: "run" } | ({ kind: "skip" } & NotRun);

const failedOrUpstream = (s: TaskState): boolean => s === "failed" || s === "upstream_failed";

/**
 * Whether a task whose upstream tasks are all finished runs, or ends without running: as
 * upstream_failed when a task whose output it reads did not succeed (whatever its trigger rule: it
 * would only fail for want of that output, and be retried for nothing), or when its trigger rule
 * fails on a failed upstream; as skipped when its trigger rule fails on a skipped one.
 */
export function readiness(t: TaskDefinition, run: DagRun): Readiness {
  const state = (id: string): TaskState => run.tasks[id]?.state ?? "none";
  const up = t.upstream.map((u) => ({ id: u, state: state(u) }));
  const needed = t.needsOutputOf.map((u) => ({ id: u, state: state(u) }));
  if ([...up, ...needed].some((u) => !isTerminal(u.state))) return { kind: "wait" };
  const describe = (xs: typeof up): string => xs.map((u) => `${u.id} ${u.state}`).join(", ");
  const missing = needed.filter((u) => u.state !== "success");
  if (missing.length > 0) return { kind: "skip", state: missing.some((u) => failedOrUpstream(u.state)) ? "upstream_failed" : "skipped", reason: `reads the output of ${describe(missing)}` };
  const failed = up.filter((u) => failedOrUpstream(u.state));
  const skipped = up.filter((u) => u.state === "skipped");
  switch (t.triggerRule) {
    case "all_done":
      return { kind: "run" };
    case "none_failed":
      return failed.length === 0 ? { kind: "run" } : { kind: "skip", state: "upstream_failed", reason: `none_failed: ${describe(failed)}` };
    case "all_success":
      if (failed.length > 0) return { kind: "skip", state: "upstream_failed", reason: `all_success: ${describe(failed)}` };
      return skipped.length === 0 ? { kind: "run" } : { kind: "skip", state: "skipped", reason: `all_success: ${describe(skipped)}` };
  }
}

/** Tasks that can be queued now, and tasks that end without running (applied until nothing changes). */
export function nextSteps(dag: DagDefinition, run: DagRun): { toQueue: string[]; toSkip: ({ id: string } & NotRun)[] } {
  const toQueue: string[] = [];
  const toSkip: ({ id: string } & NotRun)[] = [];
  for (const t of dag.tasks) {
    if (run.tasks[t.id]?.state !== "none") continue;
    const r = readiness(t, run);
    if (r.kind === "run") toQueue.push(t.id);
    else if (r.kind === "skip") toSkip.push({ id: t.id, state: r.state, reason: r.reason });
  }
  return { toQueue, toSkip };
}

/** Ends tasks without running them transitively (one can end its downstream too); returns the tasks to queue. */
export function applySkips(dag: DagDefinition, run: DagRun, now: number): string[] {
  for (;;) {
    const { toQueue, toSkip } = nextSteps(dag, run);
    if (toSkip.length === 0) return toQueue;
    for (const s of toSkip) run.tasks[s.id] = { ...(run.tasks[s.id] ?? emptyTask()), state: s.state, reason: s.reason, endedAt: now };
  }
}

/** The run's state once every task is terminal: failed if any task failed or was upstream_failed, else success. */
export function finishedState(run: DagRun): DagRunState | undefined {
  const states = Object.values(run.tasks).map((t) => t.state);
  if (!states.every(isTerminal)) return undefined;
  return states.some(failedOrUpstream) ? "failed" : "success";
}

/**
 * Moves a run on after a change: marks trigger-rule skips and queues the tasks that became ready.
 * Returns the tasks it queued. The final state is set by the caller (after the DAG's success hook).
 */
export function advanceRun(dag: DagDefinition, run: DagRun, now: number): string[] {
  const toQueue = applySkips(dag, run, now);
  for (const id of toQueue) run.tasks[id] = { ...(run.tasks[id] ?? emptyTask()), state: "queued" };
  return toQueue;
}

/** Outputs of the tasks that succeeded, by id: what downstream handlers read as `upstream`. */
export function outputsOf(run: DagRun): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [id, t] of Object.entries(run.tasks)) if (t.state === "success") out[id] = t.output ?? null;
  return out;
}

/** Clears a task and everything downstream of it back to `none`, for a rerun. */
export function clearTask(dag: DagDefinition, run: DagRun, taskId: string): string[] {
  if (!(taskId in run.tasks)) throw new Error(`dag ${dag.id} has no task "${taskId}" (tasks: ${dag.tasks.map((t) => t.id).join(", ")})`);
  const cleared = new Set<string>([taskId]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const t of dag.tasks) {
      if (!cleared.has(t.id) && t.upstream.some((u) => cleared.has(u))) {
        cleared.add(t.id);
        grew = true;
      }
    }
  }
  for (const id of cleared) run.tasks[id] = { ...emptyTask(), history: run.tasks[id]?.history ?? [] };
  run.state = "queued";
  delete run.endedAt;
  return [...cleared];
}
