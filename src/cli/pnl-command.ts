// `tradeloop pnl`: the investor PnL charts of a model. `plot` draws them from every run under a data
// root and writes PNG + SVG files; `publish` draws them and puts them under
// `pnl_for_investors/<model>/` on a store (a folder or s3://bucket/prefix); `history` runs a
// backtest day after day (simulation backfill runs) whose PnL joins the since-inception chart.
// Results go to stdout (paths, keys, days); progress and summaries to stderr.

import { InvalidArgumentError, type Command } from "commander";
import { formatUsd } from "../analysis/pnl-charts.js";
import { defaultPlotDir, plotModelPnl, publishPnlCharts, writePnlCharts, type PlottedPnl } from "../analysis/pnl-publish.js";
import { openStore } from "../storage/open-store.js";
import { defaultParallelDays, runHistorical } from "../system/historical-run.js";
import { modelParam, positiveInt, positiveNumber, seedArg, utcTime } from "./parse.js";
import { barProgress } from "./progress.js";
import { givenConfig } from "./run-command.js";

interface PlotFlags {
  model: string;
  root: string;
  stage: string;
  year?: number;
  asOf?: number;
  modes?: string[];
  out?: string;
}

function year(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1970 || n > 9999) throw new InvalidArgumentError(`--year must be a calendar year such as 2024, got "${v}"`);
  return n;
}

function modeList(v: string): string[] {
  const modes = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  const bad = modes.filter((m) => !["prod", "paper_trading", "simulation"].includes(m));
  if (modes.length === 0 || bad.length > 0) throw new InvalidArgumentError(`--modes takes a comma list of prod, paper_trading, simulation; got "${v}"`);
  return modes;
}

function day(v: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v)) throw new InvalidArgumentError(`expected a UTC day such as 2024-01-01, got "${v}"`);
  return v;
}

async function plot(f: PlotFlags): Promise<PlottedPnl> {
  const p = await plotModelPnl({
    root: f.root,
    stage: f.stage,
    model: f.model,
    modes: f.modes,
    year: f.year,
    asOf: f.asOf,
    // Only used when there is no data at all, to name the since-<year> chart.
    fallbackYear: new Date().getUTCFullYear(),
  });
  const used = p.series.runs.filter((r) => r.barsUsed > 0).length;
  const inception = p.charts[0]?.window;
  process.stderr.write(
    `${f.model} (${f.stage}): ${p.series.runs.length} runs found, ${used} contributing, ${p.series.bars.length} bars` +
      (inception !== undefined && inception.bars > 0 ? `; since inception ${formatUsd(inception.totalPnl - inception.totalFees)} USD after fees` : "; no PnL yet") +
      "\n",
  );
  return p;
}

function plotOptions(cmd: Command): Command {
  return cmd
    .requiredOption("--model <name>", "model name")
    .option("--root <dir>", "data root holding the runs", "storage")
    .option("--stage <stage>", "dev | preprod | prod", "dev")
    .option("--modes <list>", "run modes to include, comma separated (default all)", modeList)
    .option("--year <yyyy>", "year of the since-<year> chart (default: the year of --as-of)", year)
    .option("--as-of <time>", "end of every chart, UTC (default: the last bar)", utcTime);
}

export function registerPnl(program: Command): void {
  const pnl = program.command("pnl").description("investor PnL charts: plot, publish, and the historical run");

  plotOptions(pnl.command("plot").description("draw the cumulative PnL charts (since inception, since a year, last 24 hours, last 5 minutes) as PNG and SVG"))
    .option("--out <dir>", "output folder (default <root>/pnl_charts/<stage>/<model>)")
    .action(async (f: PlotFlags) => {
      const p = await plot(f);
      const out = f.out ?? defaultPlotDir(f.root, f.stage, f.model);
      for (const path of writePnlCharts(out, p.charts)) process.stdout.write(path + "\n");
    });

  plotOptions(pnl.command("publish").description("draw the charts and put them under pnl_for_investors/<model>/ on a store, with content type and cache headers"))
    .option("--to <store>", "where to publish: a folder or s3://bucket/prefix (default: --root)")
    .action(async (f: PlotFlags & { to?: string }) => {
      const p = await plot(f);
      const store = openStore(f.to ?? f.root);
      for (const c of await publishPnlCharts(store, f.model, p.charts)) process.stdout.write(`${c.key}\t${c.headersStored ? `${c.contentType}\t${c.cacheControl}` : "-\t-"}\n`);
      if (!store.keepsHeaders) process.stderr.write(`${store.root} is a folder: it keeps no content type or cache headers (the web server serving it sets them); publish to s3://bucket/prefix to store them with the objects\n`);
    });

  pnl
    .command("history")
    .description("the historical run: a simulation backtest day after day (one backfill run per UTC day), skipping days already done")
    .requiredOption("--model <name>", "model name")
    .requiredOption("--start <day>", "first UTC day, e.g. 2024-01-01", day)
    .requiredOption("--end <day>", "last UTC day, included", day)
    .option("--config <file>", "JSON system config for every day (without start, end, mode, dagRunMode); flags override it")
    .option("--param <name=value>", "model parameter (repeatable); value is JSON or a bare word", modelParam, [] as string[])
    .option("--root <dir>", "output root", "storage")
    .option("--stage <stage>", "dev | preprod | prod")
    .option("--bar-minutes <n>", "bar length in minutes", positiveInt("--bar-minutes"))
    .option("--assets <n>", "synthetic universe size", positiveInt("--assets"))
    .option("--data <source>", "venue | synthetic | files")
    .option("--data-dir <dir>", "recorded market data folder (with --data files)")
    .option("--broker <kind>", "embedded | instant_fill")
    .option("--seed <n>", "random seed (each day's market is seeded from it and the date)", seedArg("--seed"))
    .option("--order-type <type>", "price@twap | market | limit")
    .option("--gross-exposure <usdt>", "gross exposure budget", positiveNumber("--gross-exposure"))
    .option("--parallel <n>", `days run at once, each on a worker thread (default ${defaultParallelDays()}: the cores, at most 4); the files are the same either way`, positiveInt("--parallel"))
    .action(
      async (f: {
        model: string; start: string; end: string; config?: string; param: string[]; root: string; stage?: string; barMinutes?: number; assets?: number;
        data?: string; dataDir?: string; broker?: string; seed?: number; orderType?: string; grossExposure?: number; parallel?: number;
      }) => {
        const { given, where } = givenConfig({ ...f, start: undefined, end: undefined });
        let progress: ReturnType<typeof barProgress> | undefined;
        try {
          const r = await runHistorical({
            base: given,
            firstDay: f.start,
            lastDay: f.end,
            where,
            ...(f.parallel === undefined ? {} : { parallelDays: f.parallel }),
            onProgress: (p) => {
              progress ??= barProgress(`${f.model} history ${p.days}d`, p.barsTotal, Date.parse(`${f.start}T00:00:00Z`));
              progress.update(p.barsDone, p.simTime);
            },
          });
          progress?.stop();
          progress = undefined;
          for (const d of r.days) process.stdout.write(`${d.day}\t${d.outcome}\t${d.runDir}${d.totalPnl === undefined ? "" : `\tpnl ${formatUsd(d.totalPnl)}`}\n`);
          process.stderr.write(`${r.ran} days run, ${r.skipped} skipped (already complete)\n`);
        } finally {
          progress?.stop();
        }
      },
    );
}
