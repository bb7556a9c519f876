// Reconciliation of a finished run (DOMAIN.md section 8): what traded against what should have
// traded. The run ("prod", whatever its mode) is compared with (a) a simulation of the same model
// over the same window on the market data the run recorded, and (b) the research portfolio computed
// straight from the run's predictions; the comparisons are named differences, statistics side by
// side, PnL correlations, execution quality and timing, and a verdict against thresholds. Writes
// `reconciliation/<run_timestamp>/` beside `system_log_dir/`: summary.json and report.html, plus the
// simulation's own run layout under `sim/` (kept apart so it can never collide with a real run).
//
// Deterministic: the same run and options give byte-identical summary.json and report.html. The only
// measured values in them are the run's own logged model times (timing.jsonl), named `measured...`;
// the simulation's measured times are left out for that reason.

import { cpSync, existsSync, renameSync, rmSync } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { Decimal } from "decimal.js";
import { z } from "zod";
import { compactUtc } from "../core/timestamp.js";
import { WideDecimal } from "../core/wide-decimal.js";
import { JsonlError, readJsonFile, writeJsonAtomic, writeTextAtomic } from "../storage/jsonl.js";
import { runDir as runDirOf, runSegments, SYSTEM_LOG_DIR, type RunIdentity } from "../storage/run-layout.js";
import { ConfigError, formatIssues, resolveConfig } from "../system/config.js";
import { getModel } from "../system/model-registry.js";
import { runIdentity } from "../system/run-system.js";
import { resolveSystemLogDir, SystemLogError, type LoggedDagOutput } from "../system/system-log-loader.js";
import { SYSTEM_LOG_FILES } from "../system/system-log.js";
import { targetConfigSchema } from "../system/targets.js";
import type { CcxtMarket } from "../oms/ccxt-types.js";
import { MARKETS_FILE, readRecordedMarkets } from "../system/recorded-markets.js";
import { absGte, ExactSum, fixed, toNum, type Num } from "./exact-num.js";
import type { WaveQuality } from "./execution-quality.js";
import {
  checkRunLog,
  compareFills,
  compareModelOutputs,
  comparePortfolios,
  DIFFERENCE_KINDS,
  DifferenceList,
  fmtPct,
  pnlCorrelation,
  type BrokerParentFill,
  type ConsistencyReport,
  type Difference,
  type DifferenceKind,
  type FillComparison,
  type NodeComparison,
  type PortfolioComparison,
  type SideName,
} from "./reconcile-compare.js";
import { dec, eachRecord, num, readReconcileLog, ReconcileLogFollower, type LogFill, type LogPortfolioBar, type ReconcileLog } from "./reconcile-log.js";
import { renderReconciliationReport, type ReportSeries } from "./reconciliation-report.js";
import { EXECUTION_CSV, executionCsv } from "./execution-csv.js";
import { runSimulationInWorker } from "./reconcile-sim.js";
import { barMarksFromRecording, buildResearchPortfolio, researchBarsAsText, type MarkAsset, type ResearchBarTargets } from "./research-portfolio.js";
import { childSendsFollower, parentRows, runExecution, runTiming, waveFills, WaveFillsFollower, type AssetExecution, type ChildSend, type ChildWaveFill, type Distribution, type ParentRow, type RunExecution, type RunTiming, type StreamFieldsFollower } from "./run-execution.js";
import { summaryStatistics, type SummaryStatistics } from "./statistics.js";

export class ReconcileError extends Error {
  override readonly name = "ReconcileError";
}

export const RUN_TIMESTAMP = /^\d{8}_\d{6}$/;

export const reconcileThresholdsSchema = z
  .object({
    /** Model outputs, prod vs sim: largest percent change allowed (DOMAIN.md section 8: 1e-3 %). */
    modelOutputPct: z.number().min(0).default(1e-3),
    /** Portfolio columns and fills, prod vs sim: largest percent difference when the sim replays the run's broker. */
    portfolioPct: z.number().min(0).default(1e-6),
    /** Per-bar PnL correlation, prod vs sim. */
    minPnlCorrelationSim: z.number().min(-1).max(1).default(0.9),
    /** Per-bar PnL correlation, prod vs research. */
    minPnlCorrelationResearch: z.number().min(-1).max(1).default(0.5),
    /** Prod fill rate (|filled| / |target| over parents). Static TWAP keeps the last wave for collecting, so < 1 by design. */
    minFillRate: z.number().min(0).max(1).default(0.5),
    /** Prod fill rate as a share of the sim's (same orders, filled at 100% per child). */
    minFillRateVsSim: z.number().min(0).max(1).default(0.9),
    /** Prod notional-weighted slippage against arrival, bps. */
    maxSlippageBps: z.number().min(0).default(25),
    /** Prod fees in bps of traded notional. */
    maxFeesBps: z.number().min(0).default(10),
    /** Largest delay between a bar and its first order on the run's clock, ms. */
    maxOrderDelayMs: z.number().min(0).default(30_000),
    /** Mean measured model time per bar, ms. */
    maxModelMsPerBar: z.number().min(0).default(10_000),
  })
  .strict();

export const reconcileOptionsSchema = z
  .object({
    /** Names the output folder `reconciliation/<run_timestamp>/` (YYYYMMDD_HHMMSS, UTC). */
    runTimestamp: z.string().regex(RUN_TIMESTAMP, "a UTC time as YYYYMMDD_HHMMSS").optional(),
    thresholds: reconcileThresholdsSchema.prefault({}),
    /**
     * Gate portfolio and fill differences prod vs sim even when the sim cannot replay the run's
     * broker (an embedded venue or a real exchange is replayed with instant fills, so they differ).
     */
    gateExecutionDifferences: z.boolean().default(false),
    /** Fee rate of the instant-fill sim when the run's own broker cannot be replayed. */
    simFeeRate: z.number().min(0).max(0.01).default(0.0005),
    /** Differences listed in summary.json and the report (all are counted). */
    maxListedDifferences: z.number().int().min(0).max(100_000).default(200),
    /** Keep the simulation's run directory under `sim/` (it is evidence; it can be large). */
    keepSimRun: z.boolean().default(true),
    /** Replace an earlier reconciliation with the same run timestamp. */
    replaceExisting: z.boolean().default(false),
    charts: z
      .object({
        /** Assets drawn in the per-asset charts: those with the most traded notional. */
        maxAssets: z.number().int().min(1).max(50).default(8),
        /** Points per line: longer series are thinned evenly (tables keep every bar). */
        maxPoints: z.number().int().min(10).max(20_000).default(600),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type ReconcileOptionsInput = z.input<typeof reconcileOptionsSchema>;
export type ReconcileOptions = z.output<typeof reconcileOptionsSchema>;
export type ReconcileThresholds = z.output<typeof reconcileThresholdsSchema>;

export interface ReconcileDeps {
  /** Wall clock for the default run timestamp; only the CLI and job edges pass one. */
  now?: () => number;
  /** Progress in words (loading, simulating, comparing, writing). */
  progress?: (message: string) => void;
}

export interface Check {
  name: string;
  pass: boolean;
  /** Whether it counts for the verdict (some only inform: see gateExecutionDifferences). */
  gated: boolean;
  value: number | string | null;
  threshold: number | string | null;
  message: string;
}

export interface SideStatistics {
  portfolioBars: number;
  /** Exact sums of the per-bar values (decimal text). */
  totalPnl: string;
  totalFees: string;
  pnlAfterFees: string;
  finalNetWealth: string | null;
  statistics: SummaryStatistics;
}

export interface SideExecutionSummary {
  parents: number;
  fillRate: number | null;
  slippageBps: number | null;
  feesBps: number | null;
  makerShare: number | null;
  filledNotional: number;
  /** Realized opportunity cost of the underfills and sum of |tracking error notional| (execution-quality.ts), quote currency. */
  opportunityCost: number | null;
  trackingErrorNotional: number;
  perWave: WaveQuality[];
}

/** Per asset over the run: shares targeted and executed, and what the underfill cost. */
interface SideTargetVsExecuted {
  target: string;
  executed: string;
  fillRate: number | null;
  underfill: number;
  opportunityCost: number;
}

export interface AssetTargetVsExecuted {
  symbol: string;
  prod: SideTargetVsExecuted;
  sim: SideTargetVsExecuted;
  research: { target: string; executed: string };
}

export interface ReconciliationSummary {
  schema: "tradeloop.reconciliation/1";
  runTimestamp: string;
  run: {
    /** `<stage>/<model>/<mode>/<dag_run_mode>/<start>.<end>` (the folder name when outside the layout). */
    path: string;
    model: string;
    mode: string;
    broker: string;
    start: string;
    end: string;
    barMinutes: number;
    portfolioBars: number;
    complete: boolean;
  };
  sim: { broker: string; replaysRunBroker: boolean; note: string | null; dir: string | null };
  research: { note: string };
  verdict: { pass: boolean; reasons: string[] };
  checks: Check[];
  thresholds: ReconcileThresholds;
  differences: { total: number; gated: number; byKind: Partial<Record<DifferenceKind, { total: number; gated: number }>>; listed: Difference[]; notListed: number };
  logConsistency: ConsistencyReport;
  portfolio: PortfolioComparison[];
  modelOutputs: NodeComparison[];
  fills: FillComparison;
  targetVsExecuted: AssetTargetVsExecuted[];
  statistics: Record<SideName, SideStatistics>;
  pnlCorrelation: { prod_vs_sim: number | null; prod_vs_research: number | null; sim_vs_research: number | null };
  execution: { prod: SideExecutionSummary; sim: SideExecutionSummary; research: { note: string } };
  timing: {
    prod: { measuredModelMsPerBar: Distribution; orderDelayMs: Distribution; lastOrderDelayMs: Distribution };
    sim: { orderDelayMs: Distribution; lastOrderDelayMs: Distribution };
    note: string;
  };
  /** Under the reconciliation folder: the summary, the report, the prod run's execution per bar and asset, the kept sim run. */
  files: { summary: string; report: string; execution: string; sim: string | null };
}

export interface ReconciliationResult {
  summary: ReconciliationSummary;
  /** The reconciliation folder and its files (absolute). */
  dir: string;
  summaryPath: string;
  reportPath: string;
  simRunDir: string | undefined;
}

const resolvedConfigSchema = z
  .object({
    model: z.object({ name: z.string(), params: z.record(z.string(), z.unknown()) }).passthrough(),
    mode: z.string(),
    start: z.string(),
    end: z.string(),
    barMinutes: z.number().int().positive(),
    initialCash: z.string(),
    targets: targetConfigSchema,
    broker: z.object({ kind: z.string(), feeRate: z.number().optional() }).passthrough(),
  })
  .passthrough();


/** The folder `reconciliation/<run_timestamp>/` of a run directory (or of its system_log_dir). */
export function reconciliationDir(runDirOrLogDir: string, runTimestamp: string): string {
  const runDir = basename(runDirOrLogDir) === SYSTEM_LOG_DIR ? dirname(runDirOrLogDir) : runDirOrLogDir;
  return join(runDir, "reconciliation", runTimestamp);
}

export function parseReconcileOptions(input: unknown, where = "reconcile options"): ReconcileOptions {
  const r = reconcileOptionsSchema.safeParse(input ?? {});
  if (!r.success) throw new ReconcileError(formatIssues(where, r.error));
  return r.data;
}

export async function reconcileRun(runDir: string, optionsInput: ReconcileOptionsInput = {}, deps: ReconcileDeps = {}): Promise<ReconciliationResult> {
  const opts = parseReconcileOptions(optionsInput);
  const say = deps.progress ?? (() => undefined);
  const runTimestamp = opts.runTimestamp ?? (deps.now === undefined ? undefined : compactUtc(deps.now()));
  if (runTimestamp === undefined) throw new ReconcileError("reconcile: no run timestamp: pass options.runTimestamp (YYYYMMDD_HHMMSS) or a clock");
  const stamp: string = runTimestamp;

  // Only the config is read before the simulation starts on a worker thread. This thread then loads
  // the run's log while the simulation runs, then the simulation's log: one at a time, each reduced
  // to what the comparisons need, so this thread never carries two whole logs in memory (on a day of
  // 1-minute bars that was most of the time, in the collector).
  say(`reading the config of ${runDir}`);
  const logDir = resolveSystemLogDir(runDir);
  const cfgFile = join(logDir, SYSTEM_LOG_FILES.configResolved);
  if (!existsSync(cfgFile)) throw new ReconcileError(`${runDir}: not a system log directory (no ${SYSTEM_LOG_FILES.configResolved})`);
  const configResolved = readJson(cfgFile);
  const parsedCfg = resolvedConfigSchema.safeParse(configResolved);
  if (!parsedCfg.success) throw new ReconcileError(formatIssues(cfgFile, parsedCfg.error));
  const cfg = parsedCfg.data;
  const barMs = cfg.barMinutes * 60_000;
  const runRoot = basename(logDir) === SYSTEM_LOG_DIR ? dirname(logDir) : logDir;
  const outDir = reconciliationDir(logDir, runTimestamp);
  if (existsSync(outDir) && !opts.replaceExisting) {
    throw new ReconcileError(`${outDir} already exists: a reconciliation with run timestamp ${runTimestamp} was written; choose another timestamp or pass replaceExisting`);
  }
  // Everything is written to a hidden folder beside outDir and moved into place once whole: a
  // failed reconciliation leaves nothing half-written, and one it replaces stays until then.
  const stageDir = join(dirname(outDir), `.${basename(outDir)}.partial-${process.pid}`);
  rmSync(stageDir, { recursive: true, force: true });
  const marketDataDir = join(logDir, SYSTEM_LOG_FILES.marketData);
  const brokerLogDir = join(logDir, SYSTEM_LOG_FILES.brokerLog);

  // ---- (a) the simulation over the recorded market data, started on a worker thread ----
  const replaysRunBroker = cfg.broker.kind === "instant_fill";
  const simBroker = { kind: "instant_fill" as const, feeRate: replaysRunBroker ? (cfg.broker.feeRate ?? opts.simFeeRate) : opts.simFeeRate };
  const simNote = replaysRunBroker
    ? null
    : `the run traded through the ${cfg.broker.kind} broker, which cannot be replayed from recorded market data; the sim fills every child order at once at the recorded mid (instant_fill, fee rate ${simBroker.feeRate}), so prod vs sim differences measure execution`;
  const simRoot = join(stageDir, "sim");
  const runKey = brokerRunKey(brokerLogDir);
  const simGiven: Record<string, unknown> = {
    ...(configResolved as Record<string, unknown>),
    mode: "simulation",
    clock: { kind: "simulated" },
    data: { source: "files", dir: marketDataDir },
    broker: simBroker,
    confirmProd: false,
    outputRoot: simRoot,
  };
  const simWhere = `${cfgFile} (as a simulation)`;
  let simLogDir: string;
  try {
    const simCfg = resolveConfig(simGiven, simWhere);
    simLogDir = join(runDirOf(simCfg.outputRoot, runIdentity(simCfg)), SYSTEM_LOG_DIR);
  } catch (e) {
    if (e instanceof ConfigError) throw new ReconcileError(`reconcile ${runRoot}: the run's config cannot be re-run as a simulation:\n${e.message}`);
    throw e;
  }
  say(`simulating ${cfg.model.name} ${cfg.start} .. ${cfg.end} on the recorded market data (${simBroker.kind}), on a worker thread`);
  // The sim sees exactly the run's recording and nothing else: a kept sim run gets a copy of the
  // run's market_data/ once it has finished, instead of recording it again bar by bar (about a tenth
  // of the simulation's time on a day of 1-minute bars).
  const simRun = runSimulationInWorker(simGiven, simWhere, { ...(runKey === undefined ? {} : { runKey }), recordMarketData: false });
  try {
    return await compareWithSimulation();
  } finally {
    await simRun.cancel();
    rmSync(stageDir, { recursive: true, force: true });
  }

  // Everything after the start of the simulation: the run's log and the research portfolio while it
  // runs, then the simulation's log and the comparisons.
  async function compareWithSimulation(): Promise<ReconciliationResult> {
    // ---- the run's log, reduced to what is compared ----
    const th = opts.thresholds;
    const gateExecution = replaysRunBroker || opts.gateExecutionDifferences;
    const diffs = new DifferenceList(opts.maxListedDifferences);
    const model = await getModel(cfg.model.name);
    say("loading the run's log");
    const p = readProd(logDir, brokerLogDir, model.predictionNode, diffs, join(stageDir, EXECUTION_CSV));
    const { prod, symbolOf, universe } = p;

    // ---- (b) the research portfolio from the predictions ----
    say("computing the research portfolio");
    const markets = readMarkets(marketDataDir);
    const markAssets: MarkAsset[] = universe.map((a) => {
      const m = markets[a.symbol];
      if (m === undefined) throw new ReconcileError(`${join(marketDataDir, MARKETS_FILE)}: no market for ${a.symbol}, which the run traded`);
      return { ...a, priceStep: new Decimal(m.precision.price) };
    });
    const timestamps = prod.portfolio.map((b) => b.timestamp);
    const built = buildResearchPortfolio({
      timestamps,
      universe,
      predictions: p.predictions,
      volatility: p.volatility,
      marks: await barMarksFromRecording(marketDataDir, markAssets, timestamps),
      targets: cfg.targets,
      initialCash: cfg.initialCash,
    });
    const research = { targets: built.targets, bars: researchBarsAsText(built.bars) };

    // What needs no simulation is compared now, while it runs, rather than after it.
    say("comparing prod with research");
    const prodVsResearch = comparePortfolios(prod.portfolio, research.bars, { names: ["prod", "research"], symbolOf, tolerancePct: th.portfolioPct });
    const prodVsResearchCorrelation = pnlCorrelation(prod.portfolio, research.bars);
    const prodStatistics = sideStatistics(prod.portfolio, barMs);
    const researchStatistics = sideStatistics(research.bars, barMs);

    // ---- (a) the simulation over the recorded market data, and its log ----
    // While it runs, this thread reads what the simulation's log has gained so far: the reading
    // that used to wait for its end is mostly done by then.
    say("following the simulation's log while it runs");
    let follower = new SimLogFollower(simLogDir);
    const simDone = simRun.done.catch((e: unknown) => {
      throw new ReconcileError(`reconcile ${runRoot}: the simulation on ${marketDataDir} failed: ${(e as Error).message}`, { cause: e });
    });
    const simResult = await whilePending(simDone, SIM_LOG_POLL_MS, () => follower.poll());
    if (opts.keepSimRun) cpSync(marketDataDir, join(simResult.systemLogDir, SYSTEM_LOG_FILES.marketData), { recursive: true });
    say("loading the rest of the simulation's log");
    // The simulation wrote where its config says; should that ever differ, read where it did write.
    if (resolveSystemLogDir(simResult.systemLogDir) !== follower.dir) follower = new SimLogFollower(simResult.systemLogDir);
    const sim = follower.reduce(symbolOf);
    sim.parents = [];

    // ---- comparisons ----
    say("comparing prod, sim and research");
    const modelOutputs = compareModelOutputs(prod.dag, sim.dag, { names: ["prod", "sim"], tolerancePct: th.modelOutputPct, differences: diffs, gated: true });
    const fills = compareFills(prod.fills, sim.fills, { names: ["prod", "sim"], symbolOf, tolerancePct: th.portfolioPct, differences: diffs, gated: gateExecution });
    const portfolio = [
      comparePortfolios(prod.portfolio, sim.portfolio, { names: ["prod", "sim"], symbolOf, tolerancePct: th.portfolioPct, differences: diffs, gated: gateExecution }),
      prodVsResearch,
      comparePortfolios(sim.portfolio, research.bars, { names: ["sim", "research"], symbolOf, tolerancePct: th.portfolioPct }),
    ];
    const correlation = {
      prod_vs_sim: pnlCorrelation(prod.portfolio, sim.portfolio),
      prod_vs_research: prodVsResearchCorrelation,
      sim_vs_research: pnlCorrelation(sim.portfolio, research.bars),
    };
    const statistics = {
      prod: prodStatistics,
      sim: sideStatistics(sim.portfolio, barMs),
      research: researchStatistics,
    };
    const { complete, incompleteWhy, logConsistency } = p;
    const checks = verdictChecks({ th, gateExecution, complete, incompleteWhy, logConsistency, modelOutputs, fills, portfolio: portfolio[0] as PortfolioComparison, correlation, prodExec: prod.execution, simExec: sim.execution, prodTiming: prod.timing, diffs });
    const failed = checks.filter((c) => c.gated && !c.pass);

    const simRel = opts.keepSimRun ? toPosix(relative(stageDir, simResult.runDir)) : null;
    const byKind: ReconciliationSummary["differences"]["byKind"] = {};
    for (const k of DIFFERENCE_KINDS) {
      const c = diffs.counts.get(k);
      if (c !== undefined) byKind[k] = c;
    }
    const listed = diffs.listed(opts.maxListedDifferences);
    const summary: ReconciliationSummary = {
      schema: "tradeloop.reconciliation/1",
      runTimestamp: stamp,
      run: {
        path: p.identity === undefined ? basename(runRoot) : runSegments(p.identity).join("/"),
        model: cfg.model.name,
        mode: cfg.mode,
        broker: cfg.broker.kind,
        start: cfg.start,
        end: cfg.end,
        barMinutes: cfg.barMinutes,
        portfolioBars: prod.portfolio.length,
        complete,
      },
      sim: { broker: `${simBroker.kind} (fee rate ${simBroker.feeRate})`, replaysRunBroker, note: simNote, dir: simRel },
      research: { note: "targets from the run's predictions by its own target rules without exchange limits, filled in full at the bar's mark with no fee, marked at the next bar" },
      verdict: { pass: failed.length === 0, reasons: failed.map((c) => c.message) },
      checks,
      thresholds: th,
      differences: { total: diffs.total, gated: diffs.gatedCount(), byKind, listed, notListed: diffs.total - listed.length },
      logConsistency,
      portfolio,
      modelOutputs,
      fills,
      targetVsExecuted: targetVsExecuted(prod.execution, sim.execution, research, symbolOf),
      statistics,
      pnlCorrelation: correlation,
      execution: { prod: sideExecution(prod.execution), sim: sideExecution(sim.execution), research: { note: "fills 100% at the bar's mark: no slippage, no fees by construction" } },
      timing: {
        prod: { measuredModelMsPerBar: prod.timing.measuredModelMs, orderDelayMs: prod.timing.orderDelayMs, lastOrderDelayMs: prod.timing.lastOrderDelayMs },
        sim: { orderDelayMs: sim.timing.orderDelayMs, lastOrderDelayMs: sim.timing.lastOrderDelayMs },
        note: "order delays are on each run's own clock (first child order after the bar); model time is measured by the run (timing.jsonl); the sim's measured times are not reported, so this summary is reproducible",
      },
      files: { summary: "summary.json", report: "report.html", execution: EXECUTION_CSV, sim: simRel },
    };

    say("writing the report");
    const series: ReportSeries = {
      portfolios: [{ side: "prod", bars: prod.portfolio }, { side: "sim", bars: sim.portfolio }, { side: "research", bars: research.bars }],
      execution: [{ side: "prod", perBar: prod.execution.perBar }, { side: "sim", perBar: sim.execution.perBar }],
      timing: [{ side: "prod", perBar: prod.timing.perBar }, { side: "sim", perBar: sim.timing.perBar }],
      symbolOf,
    };
    const html = await renderReconciliationReport(summary, series, opts.charts);
    writeJsonAtomic(join(stageDir, "summary.json"), jsonSafe(summary));
    writeTextAtomic(join(stageDir, "report.html"), html);
    if (!opts.keepSimRun) rmSync(simRoot, { recursive: true, force: true });
    replaceDir(stageDir, outDir);
    return {
      summary, dir: outDir, summaryPath: join(outDir, "summary.json"), reportPath: join(outDir, "report.html"),
      simRunDir: opts.keepSimRun ? join(outDir, relative(stageDir, simResult.runDir)) : undefined,
    };
  }
}

interface ProdLog {
  prod: ReducedLog;
  /** Asset id -> symbol (the sim's are added when it names more). */
  symbolOf: Map<number, string>;
  universe: { assetId: number; symbol: string }[];
  identity: RunIdentity | undefined;
  predictions: (Readonly<Record<string, number | null>> | undefined)[];
  volatility: (ReadonlyMap<string, number> | undefined)[];
  complete: boolean;
  incompleteWhy: string;
  logConsistency: ConsistencyReport;
}

/**
 * Loads the run's log, checks it against itself, names its underfills, writes its execution per bar
 * and asset (the parent orders are dropped here), and keeps only what the rest needs: the rest of
 * the log (targets, orders...) is garbage once this returns.
 */
function readProd(logDir: string, brokerLogDir: string, predictionNode: string, diffs: DifferenceList, executionCsvFile: string): ProdLog {
  const log = readReconcileLog(logDir, { tolerateTruncatedTail: true, volatility: true });
  const symbolOf = log.symbolOf;
  const prod = reduceLog(log, symbolOf, { measured: true });
  const logConsistency = checkRunLog("prod", log.portfolio, log.fills, readBrokerFills(brokerLogDir), { symbolOf, differences: diffs, gated: true });
  for (const p of prod.parents) {
    if (absGte(p.filledShares, p.targetShares)) continue;
    diffs.add({
      kind: "underfill", gated: false, bar: p.bar, symbol: p.symbol, parentOrderId: p.parentOrderId,
      values: { prod: fixed(p.filledShares), expected: fixed(p.targetShares) },
      message: `bar ${p.bar} ${p.symbol}: executed ${fixed(p.filledShares)} of target ${fixed(p.targetShares)} (parent ${p.parentOrderId}, prod)`,
    });
  }
  writeTextAtomic(executionCsvFile, executionCsv(prod.parents));
  prod.parents = [];
  return {
    prod,
    symbolOf,
    universe: universeOf(log),
    identity: log.run,
    predictions: atPortfolioBars(log.dag.get(predictionNode) ?? [], log.portfolio, (r) => r.values),
    volatility: atPortfolioBars(log.volatility, log.portfolio, (v) => v.bySymbol),
    complete: log.hasSummary && log.truncated.length === 0,
    incompleteWhy: !log.hasSummary ? "no summary.json" : "a torn last record",
    logConsistency,
  };
}

/** What the comparisons keep of one run's log; the rest of it is let go once this is built. */
interface ReducedLog {
  portfolio: LogPortfolioBar[];
  fills: LogFill[];
  dag: Map<string, LoggedDagOutput[]>;
  /** Emptied once the underfills are named (the largest table kept otherwise). */
  parents: ParentRow[];
  execution: RunExecution;
  timing: RunTiming;
}

/** `read`: the broker log's wave fills and child sends, when the caller has read them already. */
function reduceLog(log: ReconcileLog, symbolOf: ReadonlyMap<number, string>, opts: { measured: boolean }, read?: { waves: ChildWaveFill[]; sends: ChildSend[] }): ReducedLog {
  const parents = parentRows(log, symbolOf);
  return {
    portfolio: log.portfolio,
    fills: log.fills,
    dag: log.dag,
    parents,
    execution: runExecution(parents, read?.waves ?? waveFills(log.brokerLogDir)),
    timing: runTiming(log, opts, read?.sends),
  };
}

/** How often the simulation's log is read while the simulation runs. */
const SIM_LOG_POLL_MS = 100;

/** Calls `poll` every `everyMs` until `p` settles (and not after), then gives what `p` gave. */
async function whilePending<T>(p: Promise<T>, everyMs: number, poll: () => void): Promise<T> {
  let settled = false;
  const done = p.finally(() => {
    settled = true;
  });
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, everyMs)))]);
    clearTimeout(timer);
    if (settled) return done;
    try {
      poll();
    } catch (e) {
      // The poll's error is what is reported; `p` is left to its owner (settling it later must not
      // surface as an unhandled rejection).
      done.catch(() => undefined);
      throw e;
    }
  }
}

/**
 * The simulation's log as reduceLog reads it, followed while the simulation writes it: the system
 * log's compared streams, the broker log's wave fills and child sends.
 */
class SimLogFollower {
  private readonly log: ReconcileLogFollower;
  private readonly waves: WaveFillsFollower;
  private readonly sends: StreamFieldsFollower<ChildSend>;

  constructor(systemLogDir: string) {
    this.log = new ReconcileLogFollower(systemLogDir, {}, false);
    const brokerLogDir = join(this.log.dir, SYSTEM_LOG_FILES.brokerLog);
    this.waves = new WaveFillsFollower(brokerLogDir);
    this.sends = childSendsFollower(brokerLogDir);
  }

  get dir(): string {
    return this.log.dir;
  }

  poll(): void {
    this.log.poll();
    this.waves.poll();
    this.sends.poll();
  }

  /** The rest of the log, once the simulation has finished, reduced as the run's own log is. */
  reduce(symbolOf: ReadonlyMap<number, string>): ReducedLog {
    return reduceLog(this.log.finish(), symbolOf, { measured: false }, { waves: this.waves.finish(), sends: this.sends.finish() });
  }
}

// ---- inputs ----

function brokerRunKey(brokerLogDir: string): string | undefined {
  // The sim sends its orders under the run's own key, so client order ids line up with the run's.
  const cfg = readJson(join(brokerLogDir, "broker_config.json"));
  const key = cfg !== null && typeof cfg === "object" ? (cfg as Record<string, unknown>)["runKey"] : undefined;
  return typeof key === "string" && key.length > 0 ? key : undefined;
}

function readJson(path: string): unknown {
  try {
    return readJsonFile(path);
  } catch (e) {
    if (e instanceof JsonlError) throw new ReconcileError(e.message);
    throw e;
  }
}

function readMarkets(marketDataDir: string): Record<string, CcxtMarket> {
  const file = join(marketDataDir, MARKETS_FILE);
  if (!existsSync(file)) throw new ReconcileError(`${file}: missing: the run did not record its markets (precision and limits), so it cannot be replayed`);
  try {
    // The replay's own reader: the reconciliation's sim reads the same file through it.
    return readRecordedMarkets(marketDataDir);
  } catch (e) {
    if (e instanceof ConfigError) throw new ReconcileError(e.message, { cause: e });
    throw e;
  }
}

function readBrokerFills(brokerLogDir: string): BrokerParentFill[] | undefined {
  const file = join(brokerLogDir, "oms_fills.jsonl");
  if (!existsSync(file)) return undefined;
  const out: BrokerParentFill[] = [];
  try {
    eachRecord(file, true, [], (r) => out.push({ bar: num(r, "bar"), assetId: num(r, "assetId"), parentOrderId: num(r, "parentOrderId"), numShares: dec(r, "numShares"), price: dec(r, "price"), fees: dec(r, "fees") }));
  } catch (e) {
    if (e instanceof SystemLogError) throw new ReconcileError(e.message);
    throw e;
  }
  return out;
}

/** The universe in the run's order: its target rows list every asset, in the order weights are summed. */
function universeOf(prod: ReconcileLog): { assetId: number; symbol: string }[] {
  if (prod.targets.length === 0) throw new ReconcileError(`${prod.dir}: no target positions logged (targets.jsonl is empty): nothing to reconcile`);
  return prod.universe;
}

/** Records indexed by their bar, for bars 0..n-1 (bars without one are undefined). */
/**
 * Puts the finished folder `from` at `to`, replacing what is there: the old one is moved aside
 * first and removed last, so a crash in between leaves it (renamed), never neither.
 */
function replaceDir(from: string, to: string): void {
  if (!existsSync(to)) {
    renameSync(from, to);
    return;
  }
  const aside = join(dirname(to), `.${basename(to)}.replaced-${process.pid}`);
  rmSync(aside, { recursive: true, force: true });
  renameSync(to, aside);
  renameSync(from, to);
  rmSync(aside, { recursive: true, force: true });
}

/**
 * `f` of the record of each portfolio bar but the last (the bars that trade), by bar number: a
 * resumed live run misses the bars it was down for, so a bar's position in the portfolio is not
 * its number.
 */
function atPortfolioBars<R extends { bar: number }, T>(records: readonly R[], portfolio: readonly { bar: number }[], f: (r: R) => T): (T | undefined)[] {
  const byNumber = new Map<number, R>();
  for (const r of records) byNumber.set(r.bar, r);
  return portfolio.slice(0, -1).map((b) => {
    const r = byNumber.get(b.bar);
    return r === undefined ? undefined : f(r);
  });
}

// ---- results ----

/** A portfolio bar as the statistics read it: the run's log (decimal text) or the research portfolio. */
interface StatisticsBar {
  pnl: Num | undefined;
  fees: Num;
  gmv: Num;
  nmv: Num;
  grossVolume: Num;
  netWealth: Num;
}

function sideStatistics(bars: readonly StatisticsBar[], barMs: number): SideStatistics {
  const pnl = new ExactSum();
  const fees = new ExactSum();
  for (const b of bars) {
    if (b.pnl !== undefined) pnl.add(b.pnl);
    fees.add(b.fees);
  }
  // run-summary.ts portfolioStatistics: the first bar has no PnL; statistics use the bars that have one.
  const withPnl = bars.filter((b) => b.pnl !== undefined);
  const last = bars.at(-1);
  return {
    portfolioBars: bars.length,
    totalPnl: pnl.value().toFixed(),
    totalFees: fees.value().toFixed(),
    pnlAfterFees: pnl.value().sub(fees.value()).toFixed(),
    finalNetWealth: last === undefined ? null : fixed(last.netWealth),
    statistics: summaryStatistics({
      barMs,
      pnl: withPnl.map((b) => toNum(b.pnl as Num)),
      gmv: withPnl.map((b) => toNum(b.gmv)),
      nmv: withPnl.map((b) => toNum(b.nmv)),
      grossVolume: withPnl.map((b) => toNum(b.grossVolume)),
    }),
  };
}

function sideExecution(e: RunExecution): SideExecutionSummary {
  const s = e.summary;
  const f = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return {
    parents: s.parents, fillRate: s.parents === 0 ? null : s.fillRate, slippageBps: f(s.slippageBps), feesBps: f(s.feesBps), makerShare: f(s.makerShare), filledNotional: s.filledNotional,
    opportunityCost: f(s.opportunityCost), trackingErrorNotional: s.trackingErrorNotional, perWave: s.perWave,
  };
}

function targetVsExecuted(prod: RunExecution, sim: RunExecution, research: { targets: readonly ResearchBarTargets[] }, symbolOf: ReadonlyMap<number, string>): AssetTargetVsExecuted[] {
  const rate = (t: Decimal, x: Decimal): number | null => (t.isZero() ? null : x.div(t).toNumber());
  const researchTrades = new Map<number, WideDecimal>();
  for (const t of research.targets) for (const [id, s] of t.tradeShares) researchTrades.set(id, (researchTrades.get(id) ?? WideDecimal.ZERO).add(s.abs()));
  const ids = [...new Set([...prod.perAsset.map((a) => a.assetId), ...sim.perAsset.map((a) => a.assetId), ...researchTrades.keys()])];
  const pa = new Map(prod.perAsset.map((a) => [a.assetId, a]));
  const sa = new Map(sim.perAsset.map((a) => [a.assetId, a]));
  const zero = new Decimal(0);
  return ids
    .map((id) => {
      const p = pa.get(id);
      const s = sa.get(id);
      const r = researchTrades.get(id) ?? WideDecimal.ZERO;
      const side = (a: AssetExecution | undefined): SideTargetVsExecuted => ({
        target: (a?.targetShares ?? zero).toFixed(), executed: (a?.executedShares ?? zero).toFixed(), fillRate: rate(a?.targetShares ?? zero, a?.executedShares ?? zero),
        underfill: a?.underfillShares ?? 0, opportunityCost: a?.opportunityCost ?? 0,
      });
      return { symbol: symbolOf.get(id) ?? String(id), prod: side(p), sim: side(s), research: { target: r.toFixed(), executed: r.toFixed() } };
    })
    .sort((x, y) => (x.symbol < y.symbol ? -1 : x.symbol > y.symbol ? 1 : 0));
}

interface VerdictInputs {
  th: ReconcileThresholds;
  gateExecution: boolean;
  complete: boolean;
  incompleteWhy: string;
  logConsistency: ConsistencyReport;
  modelOutputs: NodeComparison[];
  fills: FillComparison;
  portfolio: PortfolioComparison;
  correlation: ReconciliationSummary["pnlCorrelation"];
  prodExec: RunExecution;
  simExec: RunExecution;
  prodTiming: RunTiming;
  diffs: DifferenceList;
}

function verdictChecks(v: VerdictInputs): Check[] {
  const { th } = v;
  const first = (kind: DifferenceKind): string => {
    const d = v.diffs.listed(Number.MAX_SAFE_INTEGER).find((x) => x.kind === kind);
    return d === undefined ? "" : ` (first: ${d.message})`;
  };
  const out: Check[] = [];
  const check = (name: string, gated: boolean, pass: boolean, value: number | string | null, threshold: number | string | null, message: string): void => {
    out.push({ name, gated, pass, value, threshold, message: `${name}: ${message}` });
  };
  check("run_complete", true, v.complete, v.complete ? "complete" : "incomplete", "complete", v.complete ? "the run finished and its log is whole" : `the run did not finish (${v.incompleteWhy}): it is reconciled up to its last complete bar`);
  check("log_consistency", true, v.logConsistency.issues === 0, v.logConsistency.issues, 0, v.logConsistency.issues === 0 ? "the run's fills, broker log and portfolio agree" : `${v.logConsistency.issues} inconsistencies in the run's own log${first("log_inconsistency")}`);
  const worstNode = [...v.modelOutputs].sort((a, b) => b.maxPctChange - a.maxPctChange)[0];
  const nodeDiff = v.modelOutputs.reduce((n, x) => n + x.differing, 0);
  check("model_outputs", true, nodeDiff === 0, worstNode?.maxPctChange ?? 0, th.modelOutputPct, nodeDiff === 0 ? `model outputs match the sim within ${th.modelOutputPct} %` : `${nodeDiff} model output values differ from the sim by more than ${th.modelOutputPct} % (worst: node ${worstNode?.node} ${fmtPct(worstNode?.maxPctChange ?? 0)} at ${worstNode?.at})${first("model_output")}`);
  const fillIssues = v.fills.dropped + v.fills.extra + v.fills.differing;
  check("fills_vs_sim", v.gateExecution, fillIssues === 0, fillIssues, 0, fillIssues === 0 ? "every fill matches the sim's" : `${v.fills.dropped} dropped, ${v.fills.extra} extra and ${v.fills.differing} differing fills against the sim${first("fill_dropped") || first("fill_extra") || first("fill_differs")}`);
  const overCols = v.portfolio.columns.filter((c) => c.differing > 0);
  const worstCol = [...v.portfolio.columns].sort((a, b) => b.maxAbsPctDiff - a.maxAbsPctDiff)[0];
  const barsMissing = Object.values(v.portfolio.barsOnlyIn).reduce((a, b) => a + (b ?? 0), 0);
  check(
    "portfolio_vs_sim", v.gateExecution, overCols.length === 0 && barsMissing === 0, worstCol?.maxAbsPctDiff ?? 0, th.portfolioPct,
    overCols.length === 0 && barsMissing === 0
      ? `portfolio columns match the sim within ${th.portfolioPct} %`
      : `${overCols.map((c) => `${c.column} differs by up to ${fmtPct(c.maxAbsPctDiff)} (${c.at})`).join("; ")}${barsMissing > 0 ? `${overCols.length > 0 ? "; " : ""}${barsMissing} bars on one side only` : ""}${first("portfolio")}`,
  );
  const corr = (name: string, value: number | null, min: number, what: string): void => {
    check(name, true, value === null || value >= min, value, min, value === null ? `PnL correlation with ${what} not defined (flat PnL or fewer than 2 bars)` : `PnL correlation with ${what} ${value.toFixed(4)} ${value >= min ? ">=" : "<"} ${min}`);
  };
  corr("pnl_correlation_sim", v.correlation.prod_vs_sim, th.minPnlCorrelationSim, "the sim");
  corr("pnl_correlation_research", v.correlation.prod_vs_research, th.minPnlCorrelationResearch, "the research portfolio");
  const pe = v.prodExec.summary;
  const se = v.simExec.summary;
  const fr = pe.parents === 0 ? null : pe.fillRate;
  check("fill_rate", true, fr === null || fr >= th.minFillRate, fr, th.minFillRate, fr === null ? "no parent orders" : `prod fill rate ${(100 * fr).toFixed(2)} % ${fr >= th.minFillRate ? ">=" : "<"} ${(100 * th.minFillRate).toFixed(2)} %`);
  const rel = fr === null || se.parents === 0 || se.fillRate === 0 ? null : fr / se.fillRate;
  check("fill_rate_vs_sim", true, rel === null || rel >= th.minFillRateVsSim, rel, th.minFillRateVsSim, rel === null ? "no fill rate to compare" : `prod filled ${(100 * rel).toFixed(2)} % of what the sim filled (${rel >= th.minFillRateVsSim ? ">=" : "<"} ${(100 * th.minFillRateVsSim).toFixed(2)} %)`);
  const slip = Number.isFinite(pe.slippageBps) ? pe.slippageBps : null;
  check("slippage", true, slip === null || slip <= th.maxSlippageBps, slip, th.maxSlippageBps, slip === null ? "nothing filled" : `prod slippage against arrival ${slip.toFixed(3)} bps ${slip <= th.maxSlippageBps ? "<=" : ">"} ${th.maxSlippageBps} bps`);
  const fees = Number.isFinite(pe.feesBps) ? pe.feesBps : null;
  check("fees", true, fees === null || fees <= th.maxFeesBps, fees, th.maxFeesBps, fees === null ? "nothing filled" : `prod fees ${fees.toFixed(3)} bps of traded notional ${fees <= th.maxFeesBps ? "<=" : ">"} ${th.maxFeesBps} bps`);
  const delay = v.prodTiming.orderDelayMs.max;
  check("order_delay", true, delay === null || delay <= th.maxOrderDelayMs, delay, th.maxOrderDelayMs, delay === null ? "no child orders logged" : `largest delay from a bar to its first order ${delay} ms ${delay <= th.maxOrderDelayMs ? "<=" : ">"} ${th.maxOrderDelayMs} ms`);
  const model = v.prodTiming.measuredModelMs.mean;
  check("model_time", true, model === null || model <= th.maxModelMsPerBar, model, th.maxModelMsPerBar, model === null ? "no model timing logged" : `mean measured model time ${model.toFixed(3)} ms per bar ${model <= th.maxModelMsPerBar ? "<=" : ">"} ${th.maxModelMsPerBar} ms`);
  return out;
}

/** JSON has no NaN or Infinity: they are written as null, explicitly rather than by accident. */
function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v))) as unknown;
}

function toPosix(p: string): string {
  return p.split(sep).join("/");
}
