// The DAG model: what a DAG definition in dags/ says (schedule, data interval, tasks, dependencies,
// trigger rules, retries, timeouts, run limits, default conf) and the checks every definition
// passes before either executor will run it. Plain data plus handler references: no BullMQ here.

import type { TaskHandler } from "./task.js";

export type TriggerRule = "all_success" | "all_done" | "none_failed";

/**
 * Which interval a run at schedule slot `s` covers. `preceding` is Airflow's: the run for
 * [prev, s) fires at `s`, once its data exists (a simulation over a past day). `following` fires at
 * `s` for [s, next): a live session over the period ahead (paper trading).
 */
export type DataInterval = "preceding" | "following";

export interface Schedule {
  /** Five or six cron fields, read by cron-parser in both executors. */
  cron: string;
  /** IANA zone the cron fields are read in; UTC by default. */
  timezone: string;
}

export interface TaskDefinition {
  id: string;
  handler: TaskHandler;
  upstream: readonly string[];
  triggerRule: TriggerRule;
  /**
   * Tasks further up (upstream, directly or through others) whose output this task reads: unless
   * they all succeeded it ends upstream_failed without running, whatever its trigger rule. For an
   * `all_done` task that still needs an earlier task's result (a task feeds one downstream task,
   * so it cannot hang off that task directly).
   */
  needsOutputOf: readonly string[];
  /** Retries after the first try. */
  retries: number;
  /** Delay before retry n is backoffMs * 2^(n-1) (exponential) or backoffMs (fixed). */
  retryBackoffMs: number;
  retryBackoff: "fixed" | "exponential";
  /** A try running longer than this is aborted and fails. */
  timeoutMs: number;
}

export interface DagDefinition {
  id: string;
  description: string;
  /** null: manual and backfill runs only. */
  schedule: Schedule | null;
  dataInterval: DataInterval;
  /** No slot before this (UTC ms) is ever scheduled. */
  startDate: number;
  /** Missed slots to run after downtime: the newest `catchupLimit` of them; 0 runs none. */
  catchupLimit: number;
  maxActiveRuns: number;
  /** Conf a run gets unless its trigger overrides a key. */
  defaultConf: Readonly<Record<string, unknown>>;
  tasks: readonly TaskDefinition[];
  /** Called once every task of a run has succeeded (writes `_SUCCESS` for runs with a run dir). */
  onRunSuccess?: (run: FinishedRun) => Promise<void>;
}

export interface FinishedRun {
  runKey: string;
  /** Outputs of the run's tasks, by task id. */
  outputs: Readonly<Record<string, unknown>>;
  conf: Readonly<Record<string, unknown>>;
  dataRoot: string;
}

export class DagDefinitionError extends Error {
  override readonly name = "DagDefinitionError";
}

export type TaskSpec = Pick<TaskDefinition, "id" | "handler"> & Partial<Omit<TaskDefinition, "id" | "handler">>;

export type DagSpec = Pick<DagDefinition, "id" | "tasks"> & Partial<Omit<DagDefinition, "id" | "tasks">>;

export const TASK_DEFAULTS = {
  upstream: [] as readonly string[],
  triggerRule: "all_success" as TriggerRule,
  needsOutputOf: [] as readonly string[],
  retries: 0,
  retryBackoffMs: 1000,
  retryBackoff: "exponential" as const,
  timeoutMs: 60 * 60_000,
};

export function task(spec: TaskSpec): TaskDefinition {
  return { ...TASK_DEFAULTS, ...spec };
}

/** Fills defaults and checks the definition; every DAG goes through here. */
export function defineDag(spec: DagSpec): DagDefinition {
  const dag: DagDefinition = {
    description: "",
    schedule: null,
    dataInterval: "preceding",
    startDate: Date.UTC(2024, 0, 1),
    catchupLimit: 1,
    maxActiveRuns: 1,
    defaultConf: {},
    ...spec,
  };
  if (dag.schedule !== null) dag.schedule = { ...dag.schedule, timezone: dag.schedule.timezone || "UTC" };
  validateDag(dag);
  return dag;
}

/** DAG and task ids become run keys, job ids and folder names: nothing that could escape a root. */
const ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function checkId(what: string, id: string): string {
  if (!ID.test(id) || id.includes("..") || id.length > 200) {
    throw new DagDefinitionError(`${what} "${id}" is not a valid id: use letters, digits, '_', '-' and '.' (no '/', no '..', no leading '.')`);
  }
  return id;
}

export function validateDag(dag: DagDefinition): void {
  checkId("dag id", dag.id);
  const where = `dag ${dag.id}`;
  if (dag.tasks.length === 0) throw new DagDefinitionError(`${where}: has no tasks`);
  if (!Number.isInteger(dag.maxActiveRuns) || dag.maxActiveRuns < 1) throw new DagDefinitionError(`${where}: maxActiveRuns must be an integer >= 1`);
  if (!Number.isInteger(dag.catchupLimit) || dag.catchupLimit < 0) throw new DagDefinitionError(`${where}: catchupLimit must be an integer >= 0`);
  const ids = new Set<string>();
  for (const t of dag.tasks) {
    checkId(`${where}: task id`, t.id);
    if (t.id.includes(".")) throw new DagDefinitionError(`${where}: task id "${t.id}" may not contain '.' (it separates run key and task in job ids)`);
    if (ids.has(t.id)) throw new DagDefinitionError(`${where}: task "${t.id}" is defined twice`);
    ids.add(t.id);
    if (!Number.isInteger(t.retries) || t.retries < 0) throw new DagDefinitionError(`${where}: task ${t.id}: retries must be an integer >= 0`);
    if (!(t.timeoutMs > 0)) throw new DagDefinitionError(`${where}: task ${t.id}: timeoutMs must be > 0`);
  }
  const downstreamCount = new Map<string, number>();
  for (const t of dag.tasks) {
    for (const u of t.upstream) {
      if (!ids.has(u)) throw new DagDefinitionError(`${where}: task ${t.id} depends on unknown task "${u}"`);
      downstreamCount.set(u, (downstreamCount.get(u) ?? 0) + 1);
    }
  }
  // The BullMQ executor runs a DAG run as one flow, where a job has at most one parent: so a task
  // may feed at most one downstream task (fan-in is fine). Checked here so both executors accept
  // exactly the same DAGs.
  for (const [u, n] of downstreamCount) {
    if (n > 1) throw new DagDefinitionError(`${where}: task ${u} feeds ${n} downstream tasks; a task may feed at most one (chain them, or fan in)`);
  }
  topologicalTasks(dag);
  for (const t of dag.tasks) {
    const above = ancestors(dag, t.id);
    for (const n of t.needsOutputOf) {
      if (!above.has(n)) throw new DagDefinitionError(`${where}: task ${t.id} reads the output of "${n}", which is not upstream of it (directly or further up)`);
    }
  }
}

/** Every task a task depends on, directly or through others. */
function ancestors(dag: DagDefinition, id: string): Set<string> {
  const byId = new Map(dag.tasks.map((t) => [t.id, t]));
  const out = new Set<string>();
  const todo = [...(byId.get(id)?.upstream ?? [])];
  for (let u = todo.pop(); u !== undefined; u = todo.pop()) {
    if (out.has(u)) continue;
    out.add(u);
    todo.push(...(byId.get(u)?.upstream ?? []));
  }
  return out;
}

/** Tasks in dependency order (ties by definition order); throws on a cycle. */
export function topologicalTasks(dag: DagDefinition): TaskDefinition[] {
  const byId = new Map(dag.tasks.map((t) => [t.id, t]));
  const state = new Map<string, "visiting" | "done">();
  const out: TaskDefinition[] = [];
  const visit = (t: TaskDefinition, path: string[]): void => {
    const s = state.get(t.id);
    if (s === "done") return;
    if (s === "visiting") throw new DagDefinitionError(`dag ${dag.id}: dependency cycle ${[...path, t.id].join(" -> ")}`);
    state.set(t.id, "visiting");
    for (const u of t.upstream) visit(byId.get(u) as TaskDefinition, [...path, t.id]);
    state.set(t.id, "done");
    out.push(t);
  };
  for (const t of dag.tasks) visit(t, []);
  return out;
}

/** The one task no other task depends on: the root of the BullMQ flow. */
export function finalTasks(dag: DagDefinition): TaskDefinition[] {
  const used = new Set(dag.tasks.flatMap((t) => t.upstream));
  return dag.tasks.filter((t) => !used.has(t.id));
}
