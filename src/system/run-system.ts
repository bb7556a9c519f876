// One system run, end to end: resolve the config, build the clock, data and exchange client for the
// run mode, run the bar loop, and leave a complete system log directory in the run layout. This is
// the entry point the CLI and (later) the orchestration call.

import { existsSync, readdirSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { Decimal } from "decimal.js";
import { SimulatedClock } from "../core/clock.js";
import { compactUtc } from "../core/timestamp.js";
import { dec, type CcxtMarket } from "../oms/ccxt-types.js";
import type { ExchangeClient } from "../exchanges/exchange-client.js";
import { Broker, fillLine, fnv1a32 } from "../oms/broker.js";
import { BrokerLogWriter } from "../oms/broker-log.js";
import { leftOpenInLog } from "../oms/left-open-log.js";
import { writeBrokerLogParquetParallel } from "../oms/broker-log-parquet.js";
import { Portfolio, portfolioBarOf } from "../oms/portfolio.js";
import { runDir as runDirOf, systemLogDir as systemLogDirOf, type RunIdentity } from "../storage/run-layout.js";
import { firstLiveBar, runBarLoop, type BarLoopResume, type UniverseAsset } from "./bar-loop.js";
import { loadSystemLog } from "./system-log-loader.js";
import { ConfigError, type SystemConfig } from "./config.js";
import { MarketDataRecorder } from "./market-data-recorder.js";
import { getModel } from "./model-registry.js";
import { buildRunSummary, type RunSummary } from "./run-summary.js";
import { SYSTEM_LOG_FILES, SystemLogWriter } from "./system-log.js";
import { childrenSentAfter, keepPendingSent, nextParentId, recoverSentChildren, type SentChild } from "./recover-sent.js";
import { readCheckpoint, RESUME_PENDING_FILE, ResumeError, truncateToCheckpoint, verifyReplay, writeCheckpoint, type Checkpoint } from "./checkpoint.js";
import { readJsonFile } from "../storage/jsonl.js";
import { buildTradingSetup } from "./trading-setup.js";

export interface RunSystemOptions {
  /** The config as the user gave it (saved beside the resolved one). */
  given?: unknown;
  /** Run key for client order ids; orchestration passes `<dag_id>.<run_type>.<logical_start>`. */
  runKey?: string;
  onBar?: (done: number, total: number, simTime: number) => void;
  /** Replace an earlier run of the same identity (the demo only: its output is reproducible). */
  replaceExisting?: boolean;
  /** Resume an interrupted run of the same identity from its last checkpoint (orchestrated runs). */
  resume?: boolean;
  /** Stops the run (no further order is placed) when aborted: a timeout, a hand-off, a lost lock. */
  signal?: AbortSignal;
  /**
   * Write the Parquet copies of the large broker-log streams at the end (default false). They only
   * serve later column-wise reading, so the DAGs write them in a task of their own after the run
   * (see broker-log-parquet.ts); `tradeloop run --parquet` asks for them here.
   */
  brokerLogParquet?: boolean;
  /**
   * Record the market data the run saw into market_data/ (default true). Reconciliation turns it
   * off for its throwaway re-simulation, which reads that very data from the run it reconciles.
   */
  recordMarketData?: boolean;
  /**
   * Generate synthetic history on a worker thread while the run trades (same data): by default
   * when it is large (see trading-setup.ts), where the thread's start costs less than it saves.
   */
  syntheticHistoryInWorker?: boolean;
}

export interface RunSystemResult {
  runDir: string;
  systemLogDir: string;
  summary: RunSummary;
  wallMs: number;
  /** The checkpoint bar an interrupted run was resumed from, if it was. */
  resumedFromBar?: number;
}

export function runIdentity(cfg: SystemConfig): RunIdentity {
  return { stage: cfg.stage, model: cfg.model.name, mode: cfg.mode, dagRunMode: cfg.dagRunMode, startMs: cfg.start, endMs: cfg.end };
}

/**
 * What `config.resolved.json` holds: every parameter that controls the run, times as ISO text and
 * the model's parameters as its schema resolved them (`params`).
 */
export function resolvedConfigRecord(cfg: SystemConfig, params: unknown): unknown {
  return savedConfig({ ...cfg, start: new Date(cfg.start).toISOString(), end: new Date(cfg.end).toISOString(), model: { name: cfg.model.name, params } });
}

/** The config as saved: the output root is where the log is, not part of what the run did. */
function savedConfig(cfg: unknown): unknown {
  if (cfg === null || typeof cfg !== "object") return cfg;
  const { outputRoot: _root, ...rest } = cfg as Record<string, unknown>;
  return rest;
}

export async function runSystem(cfg: SystemConfig, opts: RunSystemOptions = {}): Promise<RunSystemResult> {
  const wall0 = performance.now();
  const model = await getModel(cfg.model.name);
  const parsedParams = model.params.safeParse(cfg.model.params);
  if (!parsedParams.success) {
    throw new ConfigError(parsedParams.error.issues.map((i) => `system config: model.params.${i.path.join(".")}: ${i.message}`).join("\n"));
  }
  const params = parsedParams.data;
  const barMs = cfg.barMinutes * 60_000;
  const warmupStart = cfg.start - (model.warmupBars(params) + 1) * barMs;
  const id = runIdentity(cfg);
  const runDir = runDirOf(cfg.outputRoot, id);
  const logDir = systemLogDirOf(cfg.outputRoot, id);
  if (opts.replaceExisting === true && existsSync(runDir)) rmSync(runDir, { recursive: true });
  const resume = opts.resume === true ? prepareResume(logDir, cfg) : undefined;
  if (resume?.kind === "complete") {
    return { runDir, systemLogDir: logDir, summary: readRunSummary(logDir), wallMs: performance.now() - wall0 };
  }
  const from = resume?.kind === "replay" ? resume : undefined;
  const restore = resume?.kind === "restore" ? resume : undefined;
  if (restore === undefined && existsSync(logDir) && readdirSync(logDir).length > 0) {
    throw new ConfigError(`${logDir} already holds a run; remove it, or choose another stage, mode or period (a run is never overwritten)`);
  }
  // A run that fails before its first bar (no keys, a bad data file, an exchange that cannot be
  // reached) leaves no log directory behind: it would only make the next try refuse to start.
  let firstBarStarted = false;
  try {
    const writer = new SystemLogWriter(logDir);
    writer.writeConfig(savedConfig(opts.given ?? cfg), resolvedConfigRecord(cfg, params));
    const setup = await buildTradingSetup(cfg, warmupStart, { l2: model.usesL2 }, opts.syntheticHistoryInWorker === undefined ? {} : { historyInWorker: opts.syntheticHistoryInWorker });
    const { clock } = setup;
    writer.log(clock.now(), `run ${compactUtc(cfg.start)}.${compactUtc(cfg.end)} model ${model.name} mode ${cfg.mode} data ${cfg.data.source} broker ${cfg.broker.kind}`);
    // A fresh session on the real clock that is already over is refused before the setup starts:
    // a venue's warm-up simulates the market up to now, a minute or more for a past day.
    if (cfg.clock.kind === "real" && restore === undefined) firstLiveBar(clock.now(), cfg.start, cfg.end, barMs);
    await setup.start();
    const markets = await setup.markets();
    const universe: UniverseAsset[] = setup.symbols.map((symbol) => {
      const m = markets[symbol];
      if (m === undefined) throw new ConfigError(`symbol ${symbol} is not listed by the exchange client ${setup.client.id}`);
      return {
        assetId: fnv1a32(symbol),
        symbol,
        limits: { minAmount: dec(m.limits.amount.min ?? 0), minCost: dec(Math.max(cfg.minCost, m.limits.cost.min ?? 0)), amountStep: dec(m.precision.amount) },
        priceStep: dec(m.precision.price),
      };
    });
    const recorder = opts.recordMarketData === false ? undefined : new MarketDataRecorder(writer.marketDataDir, setup.store, setup.symbols, markets, { bidAskEveryMs: cfg.order.type === "price@twap" ? cfg.order.executionFrequencySeconds * 1000 : barMs, l2: model.usesL2 });
    const brokerLog = new BrokerLogWriter(writer.brokerLogDir);
    const broker = new Broker(
      { client: setup.client, clock, bidAsk: setup.bidAsk, log: brokerLog, universe: new Map(universe.map((u) => [u.assetId, u.symbol])), signal: opts.signal },
      {
        runKey: opts.runKey ?? `${cfg.stage}.${cfg.model.name}.${cfg.mode}.${cfg.dagRunMode}.${compactUtc(cfg.start)}`,
        executionFrequencyMs: cfg.order.executionFrequencySeconds * 1000,
        limitPrice: cfg.order.limitPrice === "volatility" ? { computer: "volatility", volatilityMultiple: cfg.order.volatilityMultiple } : { computer: "passivity", passivityFactor: cfg.order.passivityFactor },
        childSizing: cfg.order.childSizing,
        stage: cfg.stage,
      },
    );
    const restored = restore === undefined ? undefined : restoredState(logDir, restore.checkpoint, restore.sent);
    const portfolio = restored?.portfolio ?? new Portfolio(new Decimal(cfg.initialCash));
    if (restore !== undefined && restored !== undefined) {
      recorder?.resumeAfter(restore.checkpoint.timestamp);
      broker.askBeforeSending(restore.sent);
      writer.log(clock.now(), `resumed after bar ${restore.checkpoint.bar} from its checkpoint: portfolio restored (net wealth ${restore.checkpoint.netWealth}); a fresh ${setup.client.id} client does not carry the holdings, the portfolio does`);
    }
    const total = Math.round((cfg.end - cfg.start) / barMs);
    const checkpoints = new CheckpointPacer(clock instanceof SimulatedClock ? SIMULATED_CHECKPOINT_EVERY_MS : 0);
    let result;
    const resumeWarnings: string[] = [];
    try {
      const drive = <T>(p: Promise<T>): Promise<T> => (clock instanceof SimulatedClock ? clock.drive(p) : p);
      await drive(broker.init());
      if (restore !== undefined) {
        // Children the dead process left open: collected from the next bar on, by this process.
        const left = leftOpenInLog(writer.brokerLogDir);
        broker.restoreLeftOpen(left);
        if (left.length > 0) writer.log(clock.now(), `resume: ${left.length} child order(s) the dead process left open taken over: ${left.map((l) => l.child.clientOrderId).join(", ")}`);
        if (restore.sent.length > 0) {
          const note = await recoverCutBar(setup.client, markets, restore, portfolio, writer, broker, brokerLog, clock.now());
          if (note !== undefined) resumeWarnings.push(note);
        }
        // Booked and in the new checkpoint's log: a later resume must not book them again.
        rmSync(join(logDir, RESUME_PENDING_FILE), { force: true });
      }
      result = await drive(
        runBarLoop(
          {
            clock, data: setup.store, model, modelParams: params, broker, portfolio, universe, writer, targets: cfg.targets, orderType: cfg.order.type, resume: restored?.resume, skipPassedBars: cfg.clock.kind === "real", signal: opts.signal, flattenAtEnd: cfg.order.flattenAtEnd,
            beforeBar: (t) => {
              firstBarStarted = true;
              setup.beforeBar(t);
              recorder?.recordUpTo(t);
            },
            dataWarnings: (t) => setup.dataWarnings(t),
            afterBar: (bar, _total, t, pbar) => {
              brokerLog.flush();
              if (checkpoints.due(bar >= total)) writeCheckpoint(logDir, bar, t, pbar.netWealth.toFixed());
              if (from !== undefined && bar === from.checkpoint.bar) {
                verifyReplay(logDir, from.interruptedDir, from.checkpoint);
                broker.askBeforeSending(from.sent);
                writer.log(clock.now(), `resumed after bar ${bar}: replay matches the interrupted run byte for byte; ${from.sent.length} client order id(s) it may have sent will be looked up before sending`);
                rmSync(from.interruptedDir, { recursive: true, force: true });
              }
              opts.onBar?.(Math.min(bar, total), total, t);
            },
          },
          cfg.start,
          cfg.end,
          barMs,
        ),
      );
      result.warnings.unshift(...resumeWarnings);
      const leftOpen = await drive(broker.cancelLeftOpen());
      if (leftOpen > 0) writer.log(clock.now(), `session end: ${leftOpen} child order(s) left open by their parents cancelled again (see broker_log/fill_check_issues.jsonl)`);
      if (broker.fillIssues > 0) {
        // Each is in the broker log already; the summary is what an operator reads every day.
        const w = `${broker.fillIssues} fill check issue(s) in broker_log/fill_check_issues.jsonl; the first: ${broker.firstFillIssue ?? "?"}`;
        result.warnings.push(w);
        writer.log(clock.now(), `WARNING ${w}`);
      }
    } finally {
      setup.stop();
      recorder?.close();
      brokerLog.close();
    }
    if (opts.brokerLogParquet === true) await writeBrokerLogParquetParallel(writer.brokerLogDir);
    writer.flush();
    // A restored run's earlier bars were done by another process: its summary comes from the log.
    const whole = restore === undefined ? undefined : loadSystemLog(logDir, { streams: ["portfolio", "fills"] });
    const summary = buildRunSummary(
      {
        model: model.name, mode: cfg.mode, start: new Date(cfg.start).toISOString(), end: new Date(cfg.end).toISOString(), barMinutes: cfg.barMinutes,
        barsPlanned: total, barsDone: whole === undefined ? result.bars.length - 1 : whole.portfolio.length - 1,
        parentOrders: result.parentOrders, parentFills: whole === undefined ? result.parentFills : whole.fills.length,
        childOrders: whole === undefined ? broker.childOrdersSent : NaN, exchangeTrades: whole === undefined ? broker.tradesCollected : NaN,
        warnings: result.warnings, complete: true,
      },
      whole === undefined ? result.bars : whole.portfolio,
    );
    writer.writeSummary(summary);
    writer.log(clock.now(), `done: ${total} bars, pnl ${summary.totalPnl.toFixed(2)}, fees ${summary.totalFees.toFixed(2)}`);
    writer.close();
    return { runDir, systemLogDir: logDir, summary, wallMs: performance.now() - wall0, ...(resume?.kind === "replay" || resume?.kind === "restore" ? { resumedFromBar: resume.checkpoint.bar } : {}) };
  } catch (e) {
    if (!firstBarStarted && restore === undefined) discardUnstartedRun(logDir, cfg.outputRoot);
    throw e;
  }
}

/**
 * Removes the log directory of a run that never reached its first bar, then the folders above it
 * that this leaves empty, up to the output root.
 */
function discardUnstartedRun(logDir: string, outputRoot: string): void {
  rmSync(logDir, { recursive: true, force: true });
  const root = resolve(outputRoot);
  for (let dir = dirname(resolve(logDir)); dir !== root && dir.startsWith(root + sep) && existsSync(dir) && readdirSync(dir).length === 0; dir = dirname(dir)) {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A simulated run does a bar in about a millisecond, and a checkpoint (a stat of every log file and
 * an atomic rewrite) cost a tenth of its time when written after every bar; a resumed simulated run
 * replays up to its checkpoint anyway, so a checkpoint at most this often (wall time) loses little.
 * Live runs, whose bars are minutes apart, checkpoint after every bar.
 */
const SIMULATED_CHECKPOINT_EVERY_MS = 250;

class CheckpointPacer {
  private last = Number.NEGATIVE_INFINITY;

  constructor(private readonly everyMs: number) {}

  /** Whether to write one now; the last bar always gets one. */
  due(lastBar: boolean): boolean {
    if (this.everyMs <= 0 || lastBar) return true;
    const now = performance.now();
    if (now - this.last < this.everyMs) return false;
    this.last = now;
    return true;
  }
}

type ResumePlan =
  | { kind: "complete" }
  | { kind: "fresh" }
  | { kind: "replay"; checkpoint: Checkpoint; interruptedDir: string; sent: SentChild[] }
  | { kind: "restore"; checkpoint: Checkpoint; sent: SentChild[] };

/**
 * Decides how an orchestrated run starts: a run whose summary exists is done; a run with a
 * checkpoint is moved aside to `<system_log_dir>.interrupted` and replayed (a crash during the
 * replay leaves that copy in place, and the next try replays from it again); otherwise fresh.
 */
function prepareResume(logDir: string, cfg: SystemConfig): ResumePlan {
  if (existsSync(join(logDir, SYSTEM_LOG_FILES.summary))) return { kind: "complete" };
  if (cfg.clock.kind !== "simulated") {
    const checkpoint = existsSync(logDir) ? readCheckpoint(logDir) : undefined;
    if (checkpoint === undefined) {
      rmSync(logDir, { recursive: true, force: true });
      return { kind: "fresh" };
    }
    // The children the dead process may have sent: read before the log is cut back past them, and
    // kept beside it (with those an earlier failed try of this resume read) until they are booked.
    const sent = keepPendingSent(logDir, checkpoint, childrenSentAfter(logDir, checkpoint));
    truncateToCheckpoint(logDir, checkpoint);
    return { kind: "restore", checkpoint, sent };
  }
  const interruptedDir = `${logDir}.interrupted`;
  if (existsSync(interruptedDir)) rmSync(logDir, { recursive: true, force: true });
  else if (readCheckpoint(logDir) !== undefined) renameSync(logDir, interruptedDir);
  else {
    // Died before its first bar was done: nothing worth keeping.
    rmSync(logDir, { recursive: true, force: true });
    return { kind: "fresh" };
  }
  const checkpoint = readCheckpoint(interruptedDir);
  if (checkpoint === undefined) {
    rmSync(interruptedDir, { recursive: true, force: true });
    return { kind: "fresh" };
  }
  return { kind: "replay", checkpoint, interruptedDir, sent: childrenSentAfter(interruptedDir, checkpoint) };
}

/** The portfolio and loop position of a live run cut back to its checkpoint. */
function restoredState(logDir: string, cp: Checkpoint, sent: readonly SentChild[]): { portfolio: Portfolio; resume: BarLoopResume } {
  const log = loadSystemLog(logDir, { streams: ["portfolio", "orders", "fills"] });
  const last = log.portfolio.at(-1);
  if (last === undefined || last.bar !== cp.bar) throw new ResumeError(`${logDir}: the checkpoint says bar ${cp.bar} but portfolio.jsonl ends at ${last?.bar ?? "no bar"}`);
  if (last.netWealth.toFixed() !== cp.netWealth) throw new ResumeError(`${logDir}: bar ${cp.bar} net wealth ${last.netWealth.toFixed()} differs from the checkpoint's ${cp.netWealth}`);
  const lastPortfolio = portfolioBarOf(last);
  const portfolio = Portfolio.restore(last, log.portfolio.length);
  // A bar's portfolio row is its mark, taken before its orders trade; the checkpoint comes after
  // they traded. The bar's fills (kept: the log was cut at the checkpoint) go on top of the mark,
  // as the uninterrupted run applied them, so the next bar reports them as its executed trades.
  for (const f of log.fills) if (f.bar === cp.bar) portfolio.applyFill(f.assetId, f.numShares, f.price, f.fees);
  return {
    portfolio,
    // Past the fills' parents too: those an earlier resume recovered have no order row.
    resume: { lastBar: cp.bar, lastPortfolio, nextOrderId: nextParentId([...log.orders, ...log.fills.map((f) => ({ orderId: f.parentOrderId }))], sent) },
  };
}

/**
 * The children the dead process sent after its checkpoint (the bar it did not finish, or the
 * session's closing orders), looked up at the exchange (see recover-sent.ts): their fills go into
 * the portfolio, fills.jsonl and broker_log/oms_fills.jsonl under the checkpoint bar (they move the
 * portfolio from its mark to the resumed run's next one, as that bar's own fills do), and a new
 * checkpoint takes them in, so a second death keeps them. Returns a warning when the exchange had
 * any of them.
 */
async function recoverCutBar(client: ExchangeClient, markets: Record<string, CcxtMarket>, restore: { checkpoint: Checkpoint; sent: SentChild[] }, portfolio: Portfolio, writer: SystemLogWriter, broker: Broker, brokerLog: BrokerLogWriter, now: number): Promise<string | undefined> {
  const { checkpoint: cp, sent } = restore;
  const r = await recoverSentChildren(client, sent, markets);
  // One whose cancel did not take yet may go on filling: collected at the next bars as left open.
  broker.adoptLeftOpen(r.stillOpen.map(({ child: c, state, trades }) => ({
    child: { clientOrderId: c.clientOrderId, exchangeOrderId: state.id, parentOrderId: c.parentOrderId, assetId: c.assetId, symbol: c.symbol, bar: c.bar, wave: -1, waveStart: state.timestamp },
    booked: { filled: state.filled, cost: state.cost },
    trades,
  })));
  for (const f of r.fills) {
    const { numShares, price, fees, timestamp } = f.fill;
    portfolio.applyFill(f.assetId, numShares, price, fees);
    writer.append("fills", { bar: cp.bar, timestamp, assetId: f.assetId, parentOrderId: f.parentOrderId, numShares, price, fees });
    // As every fill the portfolio applies: the broker log's parent fills match the system log's.
    brokerLog.appendLine("oms_fills", fillLine(cp.bar, f.assetId, f.symbol, f.fill));
  }
  brokerLog.flush();
  writer.flush();
  const found = sent.length - r.notFound;
  const message = `resume: ${sent.length} child order(s) sent after the checkpoint (bar ${cp.bar}) looked up at ${client.id}: ${r.notFound} never reached it, ${found} did (${r.cancelled} still open, cancelled; ${r.stillOpen.length} still open after that, collected as left open); ${r.fills.length} parent fill(s) recovered into the portfolio under bar ${cp.bar}${r.fills.map((f) => `; ${f.symbol} parent ${f.parentOrderId} (bar ${f.bar}) ${f.fill.numShares.toFixed()} at ${f.fill.price.toFixed()}`).join("")}`;
  writer.log(now, found > 0 ? `WARNING ${message}` : message);
  writeCheckpoint(writer.dir, cp.bar, cp.timestamp, cp.netWealth);
  return found > 0 ? message : undefined;
}

function readRunSummary(logDir: string): RunSummary {
  return readJsonFile(join(logDir, SYSTEM_LOG_FILES.summary)) as RunSummary;
}
