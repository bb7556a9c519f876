// The run directory a post-run task works on: the upstream `run_system` task's output, or
// `conf.runDir` (a folder or an s3:// URL) when the DAG has no run_system task, e.g. a manual
// reconciliation of an older run.

import { z } from "zod";
import type { TaskContext } from "../src/orchestration/task.js";
import { ConfigError, formatIssues } from "../src/system/config.js";

const confSchema = z.object({ runDir: z.string().min(1).optional() }).passthrough();
const upstreamSchema = z.object({ runDir: z.string().min(1) }).passthrough();

/** `purpose` completes "no run to ..." in the error when neither is there. */
export function upstreamRunDir(ctx: TaskContext, purpose: string): string {
  const where = `dag ${ctx.dagId} task ${ctx.taskId}`;
  const up = ctx.upstream["run_system"];
  if (up !== undefined) {
    const r = upstreamSchema.safeParse(up);
    if (!r.success) throw new ConfigError(formatIssues(`${where}: upstream run_system output`, r.error));
    return r.data.runDir;
  }
  const c = confSchema.safeParse(ctx.conf);
  if (!c.success) throw new ConfigError(formatIssues(`${where} conf`, c.error));
  if (c.data.runDir === undefined) throw new ConfigError(`${where}: no run to ${purpose}: the DAG has no run_system task upstream and conf.runDir is not set`);
  return c.data.runDir;
}
