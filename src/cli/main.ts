#!/usr/bin/env node
// The `tradeloop` command. Subcommands live in their own modules; this file only wires the parser.

import { Command } from "commander";
import { registerBrokerExperiment } from "./broker-experiment-command.js";
import { positiveInt, seedArg, utcTime } from "./parse.js";
import { registerParquet } from "./parquet-command.js";
import { registerPnl } from "./pnl-command.js";
import { registerDags } from "./dags-command.js";
import { registerDemo, registerRun } from "./run-command.js";
import { registerReconcile } from "./reconcile-command.js";
import { registerScheduler } from "./scheduler-command.js";
import { registerShow } from "./show-command.js";
import { runVenueDemo } from "./venue-demo.js";
import { registerWorker } from "./worker-command.js";

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("tradeloop")
    .description("Workflow-scheduled batch pipeline for systematic crypto trading, with an embedded exchange simulator.")
    .showHelpAfterError()
    .configureOutput({ outputError: (s, write) => write(`tradeloop: ${s}`) });

  const venue = program.command("venue").description("the embedded exchange simulator");
  venue
    .command("demo")
    .description("run a synthetic market for some simulated minutes with a scripted user, then print the book, trades and balances")
    .option("--minutes <n>", "simulated minutes to run", positiveInt("--minutes"), 10)
    .option("--seed <n>", "random seed of the synthetic market", seedArg("--seed"), 7)
    .option("--start <time>", "simulated start time (UTC)", utcTime, Date.UTC(2024, 0, 2, 9, 30))
    .action((opts: { minutes: number; seed: number; start: number }) => {
      const result = runVenueDemo(opts);
      process.stdout.write(result.text + "\n");
    });
  registerBrokerExperiment(program);
  registerRun(program);
  registerShow(program);
  registerParquet(program);
  registerReconcile(program);
  registerDemo(program);
  registerPnl(program);
  registerDags(program);
  registerScheduler(program);
  registerWorker(program);
  return program;
}

// A reader that stops early (`tradeloop dags show ... | head`) closes the pipe: that ends the
// command quietly, as it does for any Unix tool, instead of an EPIPE stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code !== "EPIPE") throw err;
  process.exit(0);
});

buildProgram().parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`tradeloop: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
