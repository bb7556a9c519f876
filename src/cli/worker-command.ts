// `tradeloop worker`: a BullMQ worker on REDIS_URL that runs task jobs (one try each, as the local
// executor would) and prints a line per task start and end. SIGTERM or SIGINT hands the running
// tasks back to the queue (they stop at their next order or bar, not counted as a try); a second
// signal exits at once.

import type { Command } from "commander";
import { loadDags } from "../../dags/index.js";
import { DEFAULT_REDIS_URL, redactUrl } from "../orchestration/bullmq-settings.js";
import type { TaskEvent } from "../orchestration/bullmq-worker.js";
import { openBullmqWorker } from "../orchestration/open-executor.js";
import { WORKER_ID } from "../orchestration/task-runner.js";
import { positiveInt } from "./parse.js";

/** Resolves with the first SIGTERM or SIGINT; a second one exits the process. */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let seen = false;
    const on = (sig: NodeJS.Signals): void => {
      if (seen) {
        process.stderr.write(`${sig} again: exiting now\n`);
        process.exit(130);
      }
      seen = true;
      resolve(sig);
    };
    process.on("SIGTERM", on);
    process.on("SIGINT", on);
  });
}

function taskLine(e: TaskEvent): string {
  const what = `${e.runKey} ${e.taskId} try ${e.attempt} (job ${e.jobId})`;
  if (e.kind === "start") return `start ${what}`;
  return `end   ${what}: ${e.outcome ?? "?"}${e.error !== undefined ? `: ${e.error}` : ""}`;
}

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run task jobs of the BullMQ executor from Redis (REDIS_URL); SIGTERM hands running tasks back to the queue")
    .option("--root <dir>", "data root for run directories (shared by the workers of one machine)", "storage")
    .option("--concurrency <n>", "task tries at once (default 1, or TRADELOOP_WORKER_CONCURRENCY)", positiveInt("--concurrency"))
    .action(async (f: { root: string; concurrency?: number }) => {
      const url = process.env["REDIS_URL"] ?? DEFAULT_REDIS_URL;
      const stamp = (line: string): string => `${new Date().toISOString()} ${line}\n`;
      const w = await openBullmqWorker({
        root: f.root,
        redisUrl: url,
        dags: await loadDags(),
        log: (m) => process.stderr.write(stamp(m)),
        ...(f.concurrency !== undefined ? { settings: { concurrency: f.concurrency } } : {}),
        onTaskEvent: (e) => process.stdout.write(stamp(taskLine(e))),
      });
      const s = w.worker.settings;
      process.stdout.write(stamp(`worker ${WORKER_ID} on ${redactUrl(url)}, root ${f.root}: concurrency ${s.concurrency}, lock ${s.lockDurationMs} ms, stalled check every ${s.stalledIntervalMs} ms, max stalled ${s.maxStalledCount}`));
      const sig = await untilStopSignal();
      const running = w.worker.activeJobIds();
      process.stdout.write(stamp(`${sig}: taking no new job${running.length > 0 ? `; handing back ${running.join(", ")}` : ""}`));
      await w.close(`${sig} received`);
      process.stdout.write(stamp("worker closed"));
      // A task that did not stop within the grace period must not go on (its job will be given
      // to another worker): the process ends here, whatever timers it still holds.
      process.exit(process.exitCode ?? 0);
    });
}
