// The run directory a post-run task works on: the upstream `run_system` task's output, or
// `conf.runDir` (a folder or an s3:// URL) when the DAG has no run_system task, e.g. a manual
// reconciliation of an older run. A task that reads run_system's output declares it
// (`needsOutputOf` in its DAG), so it does not run at all when run_system did not succeed.

import { z } from "zod";
import { permanentError, type TaskContext } from "../src/orchestration/task.js";
import { ConfigError, formatIssues } from "../src/system/config.js";

const confSchema = z.object({ runDir: z.string().min(1).optional() }).passthrough();
const upstreamSchema = z.object({ runDir: z.string().min(1) }).passthrough();

/**
 * `purpose` completes "no run to ..." in the error when neither is there. The errors are permanent:
 * the upstream outputs and the conf are the same on every retry.
 */
export function upstreamRunDir(ctx: TaskContext, purpose: string): string {
  const where = `dag ${ctx.dagId} task ${ctx.taskId}`;
  const up = ctx.upstream["run_system"];
  if (up !== undefined) {
    const r = upstreamSchema.safeParse(up);
    if (!r.success) throw permanentError(new ConfigError(formatIssues(`${where}: upstream run_system output`, r.error)));
    return r.data.runDir;
  }
  const c = confSchema.safeParse(ctx.conf);
  if (!c.success) throw permanentError(new ConfigError(formatIssues(`${where} conf`, c.error)));
  // ctx.upstream holds only the outputs of tasks that succeeded: this cannot tell a DAG without
  // run_system from one whose run_system did not succeed, and does not claim either.
  if (c.data.runDir === undefined) throw permanentError(new ConfigError(`${where}: no run to ${purpose}: no succeeded run_system task in this run, and conf.runDir is not set`));
  return c.data.runDir;
}
