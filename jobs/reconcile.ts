// Task handler: reconciles the run that the upstream `run_system` task wrote (or `conf.runDir`, a
// folder or an s3:// URL) and returns the verdict and where summary.json and report.html are.
// Conf: runDir (when there is no run_system upstream), runTimestamp (YYYYMMDD_HHMMSS; default: the
// wall time when the task starts), reconcile (the reconcile options: thresholds...). Unlike the
// CLI, the task does not keep the simulation's run directory unless `reconcile.keepSimRun` is true:
// a scheduled reconciliation every day would otherwise keep a second copy of each run's log (for a
// day of 100 assets at 1-minute bars, ~0.5 GB), when its summary and report are what is read.

import { z } from "zod";
import { reconcileRunAt } from "../src/analysis/reconcile-at.js";
import { RUN_TIMESTAMP, type ReconcileOptionsInput } from "../src/analysis/reconcile.js";
import type { TaskHandler } from "../src/orchestration/task.js";
import { ConfigError, formatIssues } from "../src/system/config.js";
import { upstreamRunDir } from "./upstream-run-dir.js";

const confSchema = z
  .object({
    runDir: z.string().min(1).optional(),
    runTimestamp: z.string().regex(RUN_TIMESTAMP, "a UTC time as YYYYMMDD_HHMMSS").optional(),
    reconcile: z.record(z.string(), z.unknown()).optional(),
  })
  .passthrough();

export interface ReconcileTaskOutput {
  verdict: "pass" | "fail";
  reasons: string[];
  summaryPath: string;
  reportPath: string;
  /** s3:// URLs when the run is on S3 (the summary and report are put beside it). */
  published: string[];
}

export const reconcileTask: TaskHandler = async (ctx) => {
  const runDir = upstreamRunDir(ctx, "reconcile");
  const c = confSchema.safeParse(ctx.conf);
  if (!c.success) throw new ConfigError(formatIssues(`dag ${ctx.dagId} task ${ctx.taskId} conf`, c.error));
  const options = { keepSimRun: false, ...(c.data.reconcile ?? {}), ...(c.data.runTimestamp === undefined ? {} : { runTimestamp: c.data.runTimestamp }) } as ReconcileOptionsInput;
  const r = await reconcileRunAt(runDir, options, {
    // The job is an edge: when no run timestamp is given, the wall time names the output folder.
    now: () => Date.now(),
    progress: (m) => ctx.log(m),
  });
  const d = r.summary.differences;
  // Thousands of differences beside a PASS read as a contradiction unless the log says where they come from.
  const why = d.total > d.gated && !r.summary.sim.replaysRunBroker ? `; the sim fills at once where the run traded through its ${r.summary.run.broker} broker, so the others measure execution` : "";
  ctx.log(`reconcile ${r.summary.verdict.pass ? "PASS" : "FAIL"}: ${d.total} differences (${d.gated} counted by the verdict${why}); report ${r.reportPath}`);
  const out: ReconcileTaskOutput = { verdict: r.summary.verdict.pass ? "pass" : "fail", reasons: r.summary.verdict.reasons, summaryPath: r.summaryPath, reportPath: r.reportPath, published: r.published };
  return out;
};
