#!/usr/bin/env node
// The `tradeloop` command. Subcommands live in their own modules; this file only wires the parser.

import { Command, InvalidArgumentError } from "commander";
import { runVenueDemo } from "./venue-demo.js";

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number, got "${v}"`);
    return n;
  };
}

function utcTime(v: string): number {
  const t = Date.parse(/Z|[+-]\d\d:?\d\d$/.test(v) ? v : `${v}Z`);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`expected an ISO time such as 2024-01-01T00:00:00Z, got "${v}"`);
  return t;
}

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
    .option("--seed <n>", "random seed of the synthetic market", positiveInt("--seed"), 7)
    .option("--start <time>", "simulated start time (UTC)", utcTime, Date.UTC(2024, 0, 2, 9, 30))
    .action((opts: { minutes: number; seed: number; start: number }) => {
      const result = runVenueDemo(opts);
      process.stdout.write(result.text + "\n");
    });
  return program;
}

buildProgram().parseAsync(process.argv).catch((err: unknown) => {
  process.stderr.write(`tradeloop: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
