// A broker-only experiment (seed 001): random parent orders, bar after bar, executed by the broker
// against the embedded venue on a simulated clock, with no model in the loop. It writes a broker
// log directory and measures execution quality.

import { join } from "node:path";
import { Decimal } from "decimal.js";
import { z } from "zod";
import { SimulatedClock } from "../core/clock.js";
import { Rng } from "../core/rng.js";
import { compactUtc, timestampFromMs } from "../core/timestamp.js";
import { ExchangeEngine } from "../exchange/engine.js";
import { SyntheticMarket } from "../exchange/market/synthetic-market.js";
import { syntheticUniverse } from "../exchange/market/synthetic-universe.js";
import { EmbeddedVenueClient } from "../exchanges/embedded-venue-client.js";
import { VenueBidAskSampler } from "../marketdata/bid-ask-feed.js";
import type { ExecutionSummary } from "../analysis/execution-quality.js";
import { decimalToNumber } from "../analysis/exact-num.js";
import { runExecution, type ChildWaveFill, type ParentRow } from "../analysis/run-execution.js";
import { Broker, fnv1a32, roundToStep, type WaveReport } from "./broker.js";
import { BrokerLogWriter } from "./broker-log.js";
import { writeBrokerLogParquetParallel } from "./broker-log-parquet.js";
import { dec } from "./ccxt-types.js";
import type { ParentOrder } from "./parent-order.js";
import { waveLengthProblem } from "./waves.js";

export const brokerExperimentSchema = z
  .object({
    seed: z.number().int().default(1),
    bars: z.number().int().min(1).default(6),
    barMinutes: z.number().int().min(1).default(5),
    assets: z.number().int().min(1).max(200).default(5),
    ordersPerBar: z.number().int().min(1).default(3),
    maxNotional: z.number().positive().default(2_000),
    durationMinutes: z.number().int().min(1).default(5),
    frequencySeconds: z.number().int().min(1).default(60),
    limitPrice: z.enum(["passivity", "volatility"]).default("passivity"),
    passivityFactor: z.number().min(0).max(1).default(0.5),
    volatilityMultiple: z.number().nonnegative().default(0.75),
    childSizing: z.enum(["static", "dynamic"]).default("static"),
    start: z.number().int().default(Date.UTC(2024, 0, 2, 0, 0)),
    outDir: z.string(),
  })
  .strict()
  .refine((c) => c.durationMinutes <= c.barMinutes, { message: "durationMinutes must not exceed barMinutes (one submission per bar)", path: ["durationMinutes"] })
  .refine((c) => c.ordersPerBar <= c.assets, { message: "ordersPerBar cannot exceed the number of assets (one parent per asset per bar)", path: ["ordersPerBar"] })
  .superRefine((c, ctx) => {
    const problem = waveLengthProblem(c.frequencySeconds * 1000, c.durationMinutes * 60_000, `${c.durationMinutes}-minute TWAP`);
    if (problem !== undefined) ctx.addIssue({ code: "custom", path: ["frequencySeconds"], message: problem });
  });

export type BrokerExperimentArgs = z.input<typeof brokerExperimentSchema>;

export interface BrokerExperimentResult {
  logDir: string;
  summary: ExecutionSummary;
  childOrders: number;
  parentOrders: number;
  parentFills: number;
  trades: number;
  wallMs: number;
}

const WARMUP_MS = 2 * 60_000;

export interface BrokerExperimentOptions {
  /**
   * Write the Parquet copies of the large streams when the experiment ends (default false: they
   * can be written later with `tradeloop parquet`, see broker-log-parquet.ts). Not an argument of
   * the experiment: the log is the same either way.
   */
  parquet?: boolean;
}

export async function runBrokerExperiment(
  raw: BrokerExperimentArgs,
  onBar?: (done: number, total: number, simTime: number) => void,
  opts: BrokerExperimentOptions = {},
): Promise<BrokerExperimentResult> {
  const args = brokerExperimentSchema.parse(raw);
  const wallStart = performance.now();
  const barMs = args.barMinutes * 60_000;
  const clock = new SimulatedClock(args.start - WARMUP_MS);
  const universe = syntheticUniverse(args.assets, args.seed);
  const engine = new ExchangeEngine({ clock, instruments: universe.instruments });
  const market = new SyntheticMarket(engine, { seed: args.seed, symbols: universe.symbols });
  const account = engine.createAccount("broker-experiment");
  engine.deposit(account, "USDT", "10000000");
  const client = new EmbeddedVenueClient(engine, { account });
  const symbols = universe.instruments.map((i) => i.symbol);
  const sampler = new VenueBidAskSampler(engine, clock, symbols);
  market.start();
  sampler.start();
  clock.runUntil(args.start);

  const end = args.start + args.bars * barMs;
  const runKey = `broker_experiment.manual.${compactUtc(args.start)}.seed${args.seed}`;
  const logDir = join(args.outDir, `${compactUtc(args.start)}.${compactUtc(end)}`, "broker_log");
  const log = new BrokerLogWriter(logDir);
  // The output folder is where the log is, not an argument of the experiment: leaving it out keeps
  // logs of the same experiment byte-identical wherever they are written.
  const { outDir: _outDir, ...experimentArgs } = args;
  log.writeJson("experiment_args.json", { ...experimentArgs, runKey });
  const assetIds = new Map<number, string>(symbols.map((s) => [fnv1a32(s), s]));
  const waves: ChildWaveFill[] = [];
  // Per parent: its arrival price (the mid when it was created) and side, to price its waves.
  const arrivals = new Map<number, { price: Decimal; side: 1 | -1 }>();
  const onWaveReport = (w: WaveReport): void => {
    const a = arrivals.get(w.parentOrderId);
    const priced = a === undefined ? undefined : { filledCost: w.filledCost, fees: w.fees, arrivalPrice: decimalToNumber(a.price), side: a.side };
    waves.push({ wave: w.wave, amount: w.childAmount, filled: w.filled, makerAmount: w.makerAmount, takerAmount: w.takerAmount, ...(priced === undefined ? {} : { priced }) });
  };
  const broker = new Broker(
    { client, clock, bidAsk: sampler, log, universe: assetIds, onWaveReport },
    { runKey, childSizing: args.childSizing, executionFrequencyMs: args.frequencySeconds * 1000, limitPrice: args.limitPrice === "volatility" ? { computer: "volatility", volatilityMultiple: args.volatilityMultiple } : { computer: "passivity", passivityFactor: args.passivityFactor } },
  );
  const rng = new Rng(args.seed ^ 0x5eed);
  const executions: ParentRow[] = [];
  let nextOrderId = 0;
  let parentFills = 0;
  try {
    await clock.drive(broker.init());
    const ids = [...assetIds.keys()];
    for (let bar = 0; bar < args.bars; bar++) {
      const barStart = args.start + bar * barMs;
      if (clock.now() < barStart) await clock.drive(clock.sleepUntil(barStart));
      // As a system run books them (its broker log's oms_fills); the experiment has no portfolio.
      if (bar > 0) parentFills += (await clock.drive(broker.collectLateFills(bar - 1))).length;
      const parents: ParentOrder[] = [];
      for (const assetId of pickDistinct(ids, args.ordersPerBar, rng)) {
        const symbol = assetIds.get(assetId) as string;
        const quote = sampler.rows(symbol, clock.now() - 60_000, clock.now()).at(-1);
        if (quote === undefined) continue;
        const mid = new Decimal(quote.bid).add(quote.ask).div(2);
        const notional = new Decimal(rng.uniform(0.2, 1) * args.maxNotional);
        const lot = dec(broker.market(symbol).precision.amount);
        const shares = roundToStep(notional.div(mid), lot).mul(rng.bool(0.5) ? 1 : -1);
        if (shares.isZero()) continue;
        const id = nextOrderId++;
        arrivals.set(id, { price: mid, side: shares.isPositive() ? 1 : -1 });
        parents.push({
          orderId: id, creationTimestamp: timestampFromMs(barStart), assetId, type: "price@twap",
          startTimestamp: timestampFromMs(barStart), endTimestamp: timestampFromMs(barStart + args.durationMinutes * 60_000),
          currNumShares: new Decimal(0), diffNumShares: shares, tz: "UTC", extraParams: {},
        });
      }
      const fills = await clock.drive(broker.submitOrders(parents, bar));
      parentFills += fills.length;
      for (const p of parents) {
        const f = fills.find((x) => x.parentOrderId === p.orderId);
        executions.push({
          bar, timestamp: barStart, assetId: p.assetId, parentOrderId: p.orderId, symbol: assetIds.get(p.assetId) as string, targetShares: p.diffNumShares,
          filledShares: f?.numShares.toDecimal() ?? new Decimal(0), fillPrice: f?.price.toDecimal(), arrivalPrice: (arrivals.get(p.orderId) as { price: Decimal }).price, fees: f?.fees.toDecimal() ?? new Decimal(0),
          hasFill: f !== undefined, nextMark: undefined, netWealth: undefined,
        });
      }
      onBar?.(bar + 1, args.bars, clock.now());
    }
    // As a system run's end: late fills booked, and no order of the experiment left resting on the venue.
    parentFills += (await clock.drive(broker.collectLateFills(args.bars - 1))).length;
    await clock.drive(broker.cancelLeftOpen());
  } finally {
    market.stop();
    sampler.stop();
    log.close();
  }
  const trades = broker.tradesCollected;
  // In floats, as a reconciliation reports a run's (execution-quality.ts's exact summary is their reference in the tests).
  const summary = runExecution(executions, waves).summary;
  const childOrders = client.requestCounts.createOrder;
  const result: BrokerExperimentResult = { logDir, summary, childOrders, parentOrders: executions.length, parentFills, trades, wallMs: performance.now() - wallStart };
  const out = new BrokerLogWriter(logDir);
  out.writeJson("execution_quality.json", { summary, childOrders, parentOrders: executions.length, parentFills });
  out.close();
  if (opts.parquet === true) await writeBrokerLogParquetParallel(logDir);
  return result;
}

function pickDistinct<T>(items: readonly T[], k: number, rng: Rng): T[] {
  const pool = [...items];
  const out: T[] = [];
  for (let i = 0; i < k && pool.length > 0; i++) out.push(pool.splice(rng.int(pool.length), 1)[0] as T);
  return out;
}
