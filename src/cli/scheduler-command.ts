// `tradeloop scheduler`: creates runs for due schedule slots (with catchup) and gets them executed,
// until SIGINT or SIGTERM. Local: in this process, with run records under the data root. BullMQ:
// one tick a minute through a BullMQ job scheduler on REDIS_URL; `tradeloop worker` processes run
// the tasks. Several schedulers may run at once: no slot gets two runs.

import { InvalidArgumentError, type Command } from "commander";
import { loadDags } from "../../dags/index.js";
import { DEFAULT_REDIS_URL, redactUrl } from "../orchestration/bullmq-settings.js";
import { FileRunStore } from "../orchestration/file-run-store.js";
import { LocalExecutor } from "../orchestration/local-executor.js";
import { openBullmqScheduler } from "../orchestration/open-executor.js";
import { Orchestrator } from "../orchestration/orchestrator.js";
import { positiveInt } from "./parse.js";
import { untilStopSignal } from "./worker-command.js";

export function registerScheduler(program: Command): void {
  program
    .command("scheduler")
    .description("create runs for due schedule slots and execute them, until SIGINT/SIGTERM")
    .option("--executor <kind>", "local (tasks run here) | bullmq (tasks go to `tradeloop worker` processes via REDIS_URL)", process.env["TRADELOOP_EXECUTOR"] ?? "local")
    .option("--root <dir>", "data root for run directories (and, local, run records)", "storage")
    .option("--tick-seconds <n>", "bullmq: seconds between scheduler ticks", positiveInt("--tick-seconds"), 60)
    .action(async (f: { executor: string; root: string; tickSeconds: number }) => {
      const log = (m: string): void => {
        process.stderr.write(`${new Date().toISOString()} ${m}\n`);
      };
      if (f.executor === "local") {
        const ex = new LocalExecutor(new Orchestrator(await loadDags(), new FileRunStore(f.root)), { dataRoot: f.root, log });
        log(`local scheduler on ${f.root}: ticks every minute`);
        const running = ex.runScheduler();
        const sig = await Promise.race([untilStopSignal(), running.then(() => undefined)]);
        if (sig !== undefined) log(`${sig}: stopping (running tasks stop at their next checkpoint)`);
        ex.stop(`${sig ?? "scheduler"} stop`);
        await running;
        await ex.close();
        return;
      }
      if (f.executor !== "bullmq") throw new InvalidArgumentError(`--executor must be local or bullmq, got "${f.executor}"`);
      const url = process.env["REDIS_URL"] ?? DEFAULT_REDIS_URL;
      const s = await openBullmqScheduler({ root: f.root, redisUrl: url, dags: await loadDags(), log, tickEveryMs: f.tickSeconds * 1000 });
      log(`bullmq scheduler on ${redactUrl(url)}: ticks every ${f.tickSeconds} s`);
      const sig = await untilStopSignal();
      log(`${sig}: stopping`);
      await s.close();
    });
}
