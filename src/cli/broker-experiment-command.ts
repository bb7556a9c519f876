// `tradeloop broker-experiment`: wires flags to runBrokerExperiment, shows progress, prints the
// execution-quality summary.

import { SingleBar } from "cli-progress";
import { Option, type Command } from "commander";
import { brokerExperimentSchema, runBrokerExperiment, type BrokerExperimentArgs, type BrokerExperimentResult } from "../oms/broker-experiment.js";
import { formatTable } from "./table.js";
import { nonNegativeNumber, positiveInt, positiveNumber, seedArg, utcTime } from "./parse.js";

/** The flag that sets each experiment argument, so a refused argument is named as the user typed it. */
const FLAGS: Record<keyof BrokerExperimentArgs, string> = {
  seed: "--seed", bars: "--bars", barMinutes: "--bar-minutes", assets: "--assets", ordersPerBar: "--orders-per-bar", maxNotional: "--max-notional",
  durationMinutes: "--duration-minutes", frequencySeconds: "--frequency-seconds", limitPrice: "--limit-price", passivityFactor: "--passivity",
  volatilityMultiple: "--volatility-multiple", childSizing: "--dynamic", start: "--start", outDir: "--out",
};

function flagOf(path: readonly PropertyKey[]): string {
  const key = path[0];
  return typeof key === "string" && key in FLAGS ? FLAGS[key as keyof BrokerExperimentArgs] : path.map(String).join(".") || "(arguments)";
}

export function registerBrokerExperiment(program: Command): void {
  program
    .command("broker-experiment")
    .description("random parent orders executed by the broker (TWAP) against the embedded venue on a simulated clock; writes a broker log and prints execution quality")
    .option("--bars <n>", "number of bars", positiveInt("--bars"), 6)
    .option("--bar-minutes <n>", "bar length in minutes", positiveInt("--bar-minutes"), 5)
    .option("--assets <n>", "synthetic assets in the universe", positiveInt("--assets"), 5)
    .option("--orders-per-bar <n>", "parent orders per bar", positiveInt("--orders-per-bar"), 3)
    .option("--max-notional <usdt>", "largest parent order notional", positiveNumber("--max-notional"), 2000)
    .option("--duration-minutes <n>", "TWAP duration of each parent", positiveInt("--duration-minutes"), 5)
    .option("--frequency-seconds <n>", "execution frequency (wave length)", positiveInt("--frequency-seconds"), 60)
    .addOption(new Option("--limit-price <computer>", "how children are priced: from the spread (passivity) or from recent volatility").choices(["passivity", "volatility"]).default("passivity"))
    .option("--passivity <pf>", "passivity factor: 1 joins the touch, 0 crosses the spread", nonNegativeNumber("--passivity"), 0.5)
    .option("--volatility-multiple <vm>", "volatility computer: limit = last touch -/+ total volatility x vm", nonNegativeNumber("--volatility-multiple"), 0.75)
    .option("--dynamic", "dynamic child sizes (resend what is missing) instead of static")
    .option("--seed <n>", "random seed", seedArg("--seed"), 1)
    .option("--start <time>", "simulated start (UTC)", utcTime, Date.UTC(2024, 0, 2))
    .option("--out <dir>", "output root", "storage/broker_experiment")
    .option("--parquet", "also write the Parquet copies of the large streams at the end (later: tradeloop parquet <dir>)")
    .action(async (o: { parquet?: boolean; bars: number; barMinutes: number; assets: number; ordersPerBar: number; maxNotional: number; durationMinutes: number; frequencySeconds: number; limitPrice: "passivity" | "volatility"; passivity: number; volatilityMultiple: number; dynamic?: boolean; seed: number; start: number; out: string }) => {
      const args: BrokerExperimentArgs = {
        seed: o.seed, bars: o.bars, barMinutes: o.barMinutes, assets: o.assets, ordersPerBar: o.ordersPerBar, maxNotional: o.maxNotional,
        durationMinutes: o.durationMinutes, frequencySeconds: o.frequencySeconds, limitPrice: o.limitPrice, passivityFactor: o.passivity, volatilityMultiple: o.volatilityMultiple,
        childSizing: o.dynamic === true ? "dynamic" : "static", start: o.start, outDir: o.out,
      };
      // Checked before the progress bar starts, so a bad flag is one line naming it, not a zod dump.
      const checked = brokerExperimentSchema.safeParse(args);
      if (!checked.success) throw new Error(checked.error.issues.map((i) => `${flagOf(i.path)}: ${i.message}`).join("\n"));
      const bar = new SingleBar({ format: "bars {bar} {value}/{total} | sim {sim} | {rate} bars/s", hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000, stream: process.stderr });
      const t0 = performance.now();
      bar.start(o.bars, 0, { sim: new Date(o.start).toISOString().slice(0, 16), rate: "0" });
      let r: BrokerExperimentResult;
      try {
        r = await runBrokerExperiment(
          args,
          (done, _total, sim) => bar.update(done, { sim: new Date(sim).toISOString().slice(0, 16), rate: (done / ((performance.now() - t0) / 1000)).toFixed(1) }),
          { parquet: o.parquet === true },
        );
      } finally {
        // The bar's timer keeps the event loop alive: left running after an error, the process never exits.
        bar.stop();
      }
      const s = r.summary;
      const fmt = (x: number, d = 2): string => (Number.isNaN(x) ? "-" : x.toFixed(d));
      process.stdout.write(
        [
          `Broker experiment: ${o.bars} bars x ${o.ordersPerBar} parents, TWAP ${o.durationMinutes} min at ${o.frequencySeconds} s waves, ${o.limitPrice === "volatility" ? `volatility limit prices (multiple ${o.volatilityMultiple})` : `passivity ${o.passivity}`}`,
          `${r.parentOrders} parent orders, ${r.childOrders} child orders, ${r.trades} trades, ${r.parentFills} parent fills; wall ${(r.wallMs / 1000).toFixed(2)} s`,
          "",
          formatTable(["fill rate", "slippage vs arrival (bps)", "fees (bps)", "maker share", "filled notional"], [[fmt(s.fillRate * 100, 1) + "%", fmt(s.slippageBps), fmt(s.feesBps), fmt(s.makerShare * 100, 1) + "%", fmt(s.filledNotional, 2)]]),
          "",
          "Per wave:",
          formatTable(
            ["wave", "children", "fill rate", "slippage vs arrival (bps)", "fees (bps)", "maker share"],
            s.perWave.map((w) => [String(w.wave), String(w.children), fmt(w.fillRate * 100, 1) + "%", fmt(w.slippageBps ?? NaN), fmt(w.feesBps ?? NaN), fmt(w.makerShare * 100, 1) + "%"]),
          ),
          "",
          `Broker log: ${r.logDir}${o.parquet === true ? " (with Parquet copies)" : ""}`,
        ].join("\n") + "\n",
      );
    });
}
