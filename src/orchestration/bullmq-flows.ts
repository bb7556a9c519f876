// How a DAG run becomes BullMQ jobs: one flow per final task, where each task is a job whose
// children are its upstream tasks (a task feeds at most one downstream task, so every job has at
// most one parent). Job ids are fixed by the run: `<run key>.<task id>`, and after the run was
// cleared and started again, `<run key>.<task id>.g<generation>`: adding a flow twice finds the
// jobs already there instead of making new ones, and a cleared task gets a fresh job.

import type { FlowJob, FlowJobNode, JobsOptions } from "bullmq";
import type { DagDefinition, TaskDefinition } from "./dag.js";
import type { DagRun, TaskState } from "./run-records.js";

/** Queue of task jobs, and queue of the scheduler's tick jobs (under the same BullMQ prefix). */
export const TASK_QUEUE = "tasks";
export const SCHEDULER_QUEUE = "scheduler";

export interface TaskJobData {
  runKey: string;
  taskId: string;
  /** Which start of the run this job belongs to (0 = the first; a clear then a restart adds 1). */
  generation: number;
}

/** Kept long enough for any run to finish, so re-adding a flow finds them (not a fresh duplicate). */
const KEEP_COMPLETED_S = 7 * 86_400;
const KEEP_FAILED_S = 30 * 86_400;

export function taskJobId(runKey: string, taskId: string, generation: number): string {
  const id = generation === 0 ? `${runKey}.${taskId}` : `${runKey}.${taskId}.g${generation}`;
  // BullMQ keys are `<prefix>:<queue>:<id>`; run keys and task ids are checked ids, so never true.
  if (id.includes(":")) throw new Error(`job id ${id} may not contain ':'`);
  return id;
}

/** Tasks not yet started in the run's current start: the ones a new flow carries. */
const PENDING: ReadonlySet<TaskState> = new Set(["none", "queued"]);

export function pendingTasks(dag: DagDefinition, run: DagRun): TaskDefinition[] {
  return dag.tasks.filter((t) => PENDING.has(run.tasks[t.id]?.state ?? "none"));
}

/** BullMQ options of a task's job: attempts and backoff from the task's retry policy. */
export function taskJobOptions(t: TaskDefinition, runKey: string, generation: number): JobsOptions {
  return {
    jobId: taskJobId(runKey, t.id, generation),
    attempts: t.retries + 1,
    // BullMQ's exponential backoff is delay * 2^(n-1) before retry n, as retryDelayMs computes it.
    backoff: { type: t.retryBackoff, delay: t.retryBackoffMs },
    removeOnComplete: { age: KEEP_COMPLETED_S },
    removeOnFail: { age: KEEP_FAILED_S },
  };
}

/**
 * The flows that run the pending tasks of a run: one per pending task with no pending downstream
 * task (a final task of the DAG: a task that has not started has no downstream task that has).
 * Tasks already running, waiting for a retry or finished keep the jobs they have, or need none.
 * A child job that finally fails still lets its parent run (`ignoreDependencyOnFailure`): the
 * parent's try then applies its trigger rule from the run record.
 */
export function flowsForRun(dag: DagDefinition, run: DagRun, generation: number): FlowJob[] {
  const pending = new Set(pendingTasks(dag, run).map((t) => t.id));
  const byId = new Map(dag.tasks.map((t) => [t.id, t]));
  const hasPendingDownstream = new Set(dag.tasks.filter((t) => pending.has(t.id)).flatMap((t) => t.upstream.filter((u) => pending.has(u))));
  const data = (t: TaskDefinition): TaskJobData => ({ runKey: run.runKey, taskId: t.id, generation });
  const child = (t: TaskDefinition): FlowJobNode => {
    const children = t.upstream.filter((u) => pending.has(u)).map((u) => child(byId.get(u) as TaskDefinition));
    const opts = { ...taskJobOptions(t, run.runKey, generation), ignoreDependencyOnFailure: true };
    return children.length > 0 ? { name: t.id, queueName: TASK_QUEUE, data: data(t), opts, children } : { name: t.id, queueName: TASK_QUEUE, data: data(t), opts };
  };
  return dag.tasks
    .filter((t) => pending.has(t.id) && !hasPendingDownstream.has(t.id))
    .map((t): FlowJob => {
      const children = t.upstream.filter((u) => pending.has(u)).map((u) => child(byId.get(u) as TaskDefinition));
      const opts = taskJobOptions(t, run.runKey, generation);
      return children.length > 0 ? { name: t.id, queueName: TASK_QUEUE, data: data(t), opts, children } : { name: t.id, queueName: TASK_QUEUE, data: data(t), opts };
    });
}

/** Checks job data read back from Redis (a job added by something else is refused by name). */
export function parseTaskJobData(jobId: string | undefined, data: unknown): TaskJobData {
  const d = data as Partial<TaskJobData> | null;
  if (d === null || typeof d !== "object" || typeof d.runKey !== "string" || typeof d.taskId !== "string" || typeof d.generation !== "number" || !Number.isInteger(d.generation) || d.generation < 0) {
    throw new Error(`job ${jobId ?? "?"} in queue ${TASK_QUEUE}: data must be {runKey, taskId, generation}, got ${JSON.stringify(data)}`);
  }
  return { runKey: d.runKey, taskId: d.taskId, generation: d.generation };
}
