// `npm run bench`: throughput of the bare order book and of the full engine on a seeded order flow,
// against the nodejs-order-book package, plus heap bytes per resting order, and the broker day of
// issue 3 (broker.ts: wall time of a simulated day of TWAP execution). Readable lines first, then
// one JSON line with the headline figures. Runs as is under `tsx` (a full GC is reached without
// --expose-gc, see measure.ts).
//
// Options:
//   --ops=N       timed ops per run (default 3,000,000)
//   --runs=N      timed runs per figure, after a warm-up; the median is reported (default 5)
//   --budget=S    seconds a timed run may take before it is cut to a prefix of the window (default
//                 1; never below 300,000 ops, and then with fewer runs)
//   --leadin=N    untimed ops replayed before each timed window (default 200,000)
//   --only=...    sections among book,engine,nob,mem,broker,system,charts,reconcile,history (default all)
//   --variants=.. among shallow,deep,deep750 (default all; the engine runs shallow and deep only)
//   --seed=N
//   --bars=N      broker: 5-minute bars to simulate (default 288, one day; the target is scaled to
//                 a day for fewer)
//   --dayruns=N   broker: timed runs, median reported (default 1)
//   --keeplog=yes broker: keep the broker log of the last run and print where it is
//
// Each timed run: fresh book or engine, untimed prefill (passive adds up to the target size) and
// lead-in (the mixed flow, so that the engine's tables, e.g. its closed-order history, are in steady
// state), full GC, then the timed window of the same stream.
//
// Workloads (see workload.ts for the op mix):
//   shallow  ~1,000 resting orders, prices over a 750-level band (375 levels each side of the mid)
//   deep     ~100,000 resting orders over a proportionate 75,000-level band: the same orders per
//            level as shallow, 100x the footprint. This is the `deep_*` figure.
//   deep750  ~100,000 resting orders over the same 750-level band as shallow (long FIFO queues);
//            printed for information.
//
// Profiling: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/run.ts --only=book
// then tsx bench/profile-top.ts /tmp/prof/<largest>.cpuprofile (function names are right under tsx;
// for line numbers profile an esbuild bundle of the same entry point). The broker day profiles the
// same way with --only=broker (add --bars=48 for a shorter run).

import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { BROKER_TARGET_S, benchBroker } from "./broker.js";
import { runSystemBench } from "./system.js";
import { runReconcileBench } from "./reconcile.js";
import { runHistoryBench } from "./history.js";
import { benchPnlCharts, formatChartsBench } from "./pnl-charts.js";
import { fmtInt, settledHeapBytes, timeRuns, type RunSeries } from "./measure.js";
import {
  bookShape,
  makeNobIds,
  newBookTarget,
  newEngineTarget,
  newNobTarget,
  nobBookShape,
  runBook,
  runEngine,
  runNob,
  type BookTarget,
  type EngineTarget,
  type NobTarget,
} from "./runners.js";
import { generateWorkload, type Workload, type WorkloadParams } from "./workload.js";

interface Options {
  ops: number;
  runs: number;
  budget: number;
  leadIn: number;
  seed: number;
  sections: Set<string>;
  variants: Set<string>;
  bars: number;
  dayRuns: number;
  keepLog: boolean;
}

/** Sections that replay the generated op stream (the broker section does not need it). */
const OP_SECTIONS = ["book", "engine", "nob", "mem"] as const;

const VARIANTS = ["shallow", "deep", "deep750"] as const;
const ENGINE_VARIANTS = ["shallow", "deep"] as const;
const MID = 100_000;
const OWNERS = 8;
const WARM_OPS = 300_000;
/**
 * Shortest timed window. The engine's default closed-order history (a Map trimmed from its front)
 * slows down and recovers in a cycle of ~230,000 ops, so a window must span at least one cycle.
 */
const MIN_OPS = 300_000;

/** Objects measured for heap size stay reachable until the end of the run. */
const keepAlive: unknown[] = [];

function parseOptions(argv: readonly string[]): Options {
  const opts: Options = {
    ops: 3_000_000,
    runs: 5,
    budget: 1,
    leadIn: 200_000,
    seed: 20240601,
    sections: new Set([...OP_SECTIONS, "broker", "system", "charts", "reconcile", "history"]),
    variants: new Set(VARIANTS),
    bars: 288,
    dayRuns: 1,
    keepLog: false,
  };
  for (const arg of argv) {
    const m = /^--([a-z]+)=(.*)$/.exec(arg);
    if (m === null) throw new Error(`bench: unknown argument "${arg}" (expected --ops=N, --runs=N, --budget=S, --seed=N, --only=..., --variants=..., --bars=N, --dayruns=N, --keeplog=yes)`);
    const key = m[1] as string;
    const value = m[2] as string;
    const num = (): number => {
      const n = Number(value.replaceAll("_", ""));
      if (!Number.isFinite(n) || n <= 0) throw new Error(`bench: --${key} needs a positive number, got "${value}"`);
      return n;
    };
    if (key === "ops") opts.ops = Math.floor(num());
    else if (key === "runs") opts.runs = Math.floor(num());
    else if (key === "budget") opts.budget = num();
    else if (key === "leadin") opts.leadIn = Math.floor(num());
    else if (key === "seed") opts.seed = Math.floor(num());
    else if (key === "only") opts.sections = new Set(value.split(","));
    else if (key === "variants") opts.variants = new Set(value.split(","));
    else if (key === "bars") opts.bars = Math.floor(num());
    else if (key === "dayruns") opts.dayRuns = Math.floor(num());
    else if (key === "keeplog") opts.keepLog = value === "yes" || value === "1" || value === "true";
    else throw new Error(`bench: unknown option --${key}`);
  }
  for (const sec of opts.sections) {
    if (sec !== "broker" && sec !== "system" && sec !== "charts" && sec !== "reconcile" && sec !== "history" && !(OP_SECTIONS as readonly string[]).includes(sec)) throw new Error(`bench: unknown section "${sec}" in --only (expected ${[...OP_SECTIONS, "broker", "system", "charts", "reconcile", "history"].join(",")})`);
  }
  return opts;
}

function variantParams(name: string, o: Options): WorkloadParams {
  const base = { seed: o.seed, ops: o.leadIn + o.ops, mid: MID, owners: OWNERS };
  if (name === "shallow") return { name, targetOrders: 1_000, levelsPerSide: 375, ...base };
  if (name === "deep") return { name, targetOrders: 100_000, levelsPerSide: 37_500, ...base };
  if (name === "deep750") return { name, targetOrders: 100_000, levelsPerSide: 375, ...base };
  throw new Error(`bench: unknown variant "${name}"`);
}

function describe(w: Workload): string {
  const s = w.stats;
  const p = w.params;
  const pct = (n: number): string => ((100 * n) / p.ops).toFixed(1) + "%";
  return (
    `workload ${p.name}: prefill ${fmtInt(w.prefill)} orders; prices over ${fmtInt(s.bandLevels)} levels (${fmtInt(p.levelsPerSide)} each side of ${fmtInt(p.mid)}); ` +
    `${fmtInt(p.ops)} ops = ${pct(s.adds)} adds / ${pct(s.cancels)} cancels / ${pct(s.takes)} aggressive; ` +
    `resting orders mean ${fmtInt(s.meanOrders)} (min ${fmtInt(s.minOrders)}, max ${fmtInt(s.maxOrders)}); ` +
    `${fmtInt(s.finalLevels)} non-empty levels at the end; mean spread ${fmtInt(s.meanSpread)} ticks; ` +
    `${s.fillsPerTake.toFixed(2)} maker fills per aggressive order, ${(100 * s.takesWithRemainder).toFixed(1)}% left a remainder`
  );
}

function line(label: string, r: RunSeries, extra = ""): void {
  const runs = r.opsPerSec.map((x) => (x / 1e6).toFixed(2)).join(" ");
  console.log(
    `${label.padEnd(46)} ${fmtInt(r.median).padStart(11)} ops/s median, best ${fmtInt(r.best).padStart(11)}  ` +
      `(${fmtInt(r.ops)} ops x ${r.opsPerSec.length}: ${runs} M/s)${extra}`,
  );
  if (r.bad !== 0) console.log(`  !! ${r.bad} ops misbehaved (missed cancels / rejected orders): this figure is not valid`);
}

/** Index of the first timed op: after the prefill and the lead-in. */
function windowStart(w: Workload, o: Options): number {
  return w.prefill + o.leadIn;
}

/** Checks a replay that stopped before op `end` left as many resting orders as the generator saw. */
function expectOrders(what: string, w: Workload, end: number, actual: number): void {
  const expected = w.ordersAfter[end - 1] as number;
  if (actual !== expected) throw new Error(`bench: ${what}: replay up to op ${end} ended with ${actual} resting orders, expected ${expected}`);
}

function benchBook(w: Workload, o: Options): RunSeries {
  const handles = new Float64Array(w.refCount);
  const start = windowStart(w, o);
  return timeRuns<BookTarget>({
    runs: o.runs,
    maxOps: o.ops,
    minOps: Math.min(o.ops, MIN_OPS),
    warmOps: WARM_OPS,
    maxSeconds: o.budget,
    setup: () => {
      const t = newBookTarget(w, handles);
      runBook(w, t, 0, start);
      return t;
    },
    run: (t, from, to) => runBook(w, t, start + from, start + to),
    check: (t, ops) => expectOrders(`bare book ${w.params.name}`, w, start + ops, t.book.orderCount),
  });
}

function benchEngine(w: Workload, o: Options, keepClosedOrders: boolean): { r: RunSeries; eventsPerOp: number } {
  const ids = new Float64Array(w.refCount);
  const start = windowStart(w, o);
  let eventsPerOp = 0;
  let eventsAtStart = 0;
  const r = timeRuns<EngineTarget>({
    runs: o.runs,
    maxOps: o.ops,
    minOps: Math.min(o.ops, MIN_OPS),
    warmOps: WARM_OPS,
    maxSeconds: o.budget,
    setup: () => {
      const t = newEngineTarget(w, ids, keepClosedOrders);
      runEngine(w, t, 0, start);
      eventsAtStart = t.counter.events;
      return t;
    },
    run: (t, from, to) => runEngine(w, t, start + from, start + to),
    check: (t, ops) => {
      expectOrders(`engine ${w.params.name}`, w, start + ops, t.engine.openOrderCount);
      expectOrders(`engine book ${w.params.name}`, w, start + ops, t.engine.book(0).orderCount);
      eventsPerOp = (t.counter.events - eventsAtStart) / ops;
    },
  });
  return { r, eventsPerOp };
}

function benchNob(w: Workload, o: Options): RunSeries {
  const ids = makeNobIds(w);
  const start = windowStart(w, o);
  return timeRuns<NobTarget>({
    runs: o.runs,
    maxOps: o.ops,
    minOps: Math.min(o.ops, MIN_OPS),
    warmOps: WARM_OPS,
    maxSeconds: o.budget,
    setup: () => {
      const t = newNobTarget(ids);
      runNob(w, t, 0, start);
      return t;
    },
    run: (t, from, to) => runNob(w, t, start + from, start + to),
    check: (t, ops) => {
      // It must end where our book ends after the same ops: same levels, same resting lots.
      const ours = newBookTarget(w);
      runBook(w, ours, 0, start + ops);
      const a = nobBookShape(t.ob);
      const b = bookShape(ours.book);
      if (a.levels !== b.levels || a.lots !== b.lots) throw new Error(`bench: nodejs-order-book diverged from our book: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
    },
  });
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const started = performance.now();
  const cpus = os.cpus();
  const wantsOps = OP_SECTIONS.some((s) => o.sections.has(s));
  console.log(
    `tradeloop bench: node ${process.version}, ${cpus.length} x ${cpus[0]?.model ?? "?"}` +
      (wantsOps
        ? `, seed ${o.seed}; per figure a warm-up + ${o.runs} timed runs of up to ${fmtInt(o.ops)} ops (cut to ~${o.budget}s per run) after ${fmtInt(o.leadIn)} untimed lead-in ops, median reported`
        : ""),
  );

  const result = {
    book_ops_per_s: null as number | null,
    engine_ops_per_s: null as number | null,
    deep_book_ops_per_s: null as number | null,
    nodejs_order_book_ops_per_s: null as number | null,
    ratio_vs_nodejs_order_book: null as number | null,
    bytes_per_resting_order: null as number | null,
    deep_engine_ops_per_s: null as number | null,
    engine_with_history_ops_per_s: null as number | null,
    engine_bytes_per_resting_order: null as number | null,
    broker_day_wall_s: null as number | null,
    broker_wall_s: null as number | null,
    broker_cpu_s: null as number | null,
    broker_parquet_s: null as number | null,
    broker_sim_hours: null as number | null,
    broker_child_orders: null as number | null,
    broker_trades: null as number | null,
    broker_parent_fills: null as number | null,
    broker_target_met: null as boolean | null,
    broker_log_sha256: null as string | null,
  };

  // ---- broker day (first: its wall time is what a fresh `tradeloop broker-experiment` sees) ----
  if (o.sections.has("broker")) {
    const b = await benchBroker({ bars: o.bars, seed: 1, runs: o.dayRuns, keepLog: o.keepLog });
    const dayWall = (b.medianWallS * 24) / b.simHours;
    const runs = b.wallS.length > 1 ? ` (runs: ${b.wallS.map((x) => x.toFixed(2)).join(" ")} s)` : "";
    console.log(
      `broker day: ${o.bars} bars x 5 min (${b.simHours.toFixed(1)} simulated hours), 25 assets, ${fmtInt(b.parentOrders)} TWAP parents with 1-minute waves: ` +
        `wall ${b.medianWallS.toFixed(2)} s${runs} (cpu ${b.cpuS.toFixed(2)} s)${b.simHours === 24 ? "" : `, ${dayWall.toFixed(2)} s per simulated day`}; ` +
        `${fmtInt(b.childOrders)} child orders, ${fmtInt(b.trades)} trades (fills), ${fmtInt(b.parentFills)} parent fills; ` +
        `target <= ${BROKER_TARGET_S} s per day met: ${b.targetMet ? "yes" : "no"}`,
    );
    console.log(`broker log: ${fmtInt(b.logBytes)} bytes, sha256 ${b.logDigest}${b.logDir === undefined ? " (deleted)" : ` in ${b.logDir}`}; its Parquet copies, written after the run (tradeloop parquet), took ${b.parquetS.toFixed(2)} s apart`);
    result.broker_day_wall_s = Math.round(dayWall * 1000) / 1000;
    result.broker_wall_s = Math.round(b.medianWallS * 1000) / 1000;
    result.broker_cpu_s = Math.round(b.cpuS * 1000) / 1000;
    result.broker_parquet_s = Math.round(b.parquetS * 1000) / 1000;
    result.broker_sim_hours = b.simHours;
    result.broker_child_orders = b.childOrders;
    result.broker_trades = b.trades;
    result.broker_parent_fills = b.parentFills;
    result.broker_target_met = b.targetMet;
    result.broker_log_sha256 = b.logDigest;
  }

  const workloads = new Map<string, Workload>();
  for (const v of VARIANTS) {
    if (!wantsOps) break;
    const needed = o.variants.has(v) || (v === "deep" && o.sections.has("mem")) || (v === "shallow" && o.sections.has("nob"));
    if (!needed) continue;
    const t0 = performance.now();
    const w = generateWorkload(variantParams(v, o));
    workloads.set(v, w);
    console.log(describe(w) + ` [generated in ${((performance.now() - t0) / 1000).toFixed(1)}s]`);
  }

  // ---- heap per resting order (first, on a clean heap): the deep prefill, 100,000 orders ----
  if (o.sections.has("mem")) {
    const w = workloads.get("deep") as Workload;
    const w750 = workloads.get("deep750");
    // Tables the runners need are made before the baseline, so they are not counted.
    const handles = new Float64Array(Math.max(w.refCount, w750?.refCount ?? 0));
    const ids = new Float64Array(w.refCount);

    const before = settledHeapBytes();
    const bt = newBookTarget(w, handles);
    runBook(w, bt, 0, w.prefill);
    const after = settledHeapBytes();
    const n = bt.book.orderCount;
    const perOrder = (after - before) / n;
    result.bytes_per_resting_order = Math.round(perOrder * 10) / 10;
    console.log(
      `bare book heap: ${fmtInt(after - before)} bytes for ${fmtInt(n)} resting orders on ${fmtInt(bookShape(bt.book).levels)} levels ` +
        `= ${perOrder.toFixed(1)} bytes/order (OrderBook.reservedBytes ${fmtInt(bt.book.reservedBytes)} = ${(bt.book.reservedBytes / n).toFixed(1)}/order)`,
    );
    keepAlive.push(bt);

    if (w750 !== undefined) {
      const b = settledHeapBytes();
      const t = newBookTarget(w750, handles);
      runBook(w750, t, 0, w750.prefill);
      const a = settledHeapBytes();
      console.log(`bare book heap, 100,000 orders on the 750-level band: ${((a - b) / t.book.orderCount).toFixed(1)} bytes/order`);
      keepAlive.push(t);
    }

    const eb = settledHeapBytes();
    const et = newEngineTarget(w, ids);
    runEngine(w, et, 0, w.prefill);
    const ea = settledHeapBytes();
    const enginePer = (ea - eb) / et.engine.openOrderCount;
    result.engine_bytes_per_resting_order = Math.round(enginePer * 10) / 10;
    console.log(`engine heap: ${enginePer.toFixed(1)} bytes per resting order (${fmtInt(et.engine.openOrderCount)} open orders: order records, id map, book)`);
    keepAlive.push(et);
  }

  // ---- bare book ----
  if (o.sections.has("book")) {
    for (const v of VARIANTS) {
      const w = workloads.get(v);
      if (w === undefined || !o.variants.has(v)) continue;
      const r = benchBook(w, o);
      line(`bare book, ${v}`, r);
      if (v === "shallow") result.book_ops_per_s = Math.round(r.median);
      if (v === "deep") result.deep_book_ops_per_s = Math.round(r.median);
    }
    if (result.book_ops_per_s !== null && result.deep_book_ops_per_s !== null) {
      console.log(`bare book deep / shallow: ${((100 * result.deep_book_ops_per_s) / result.book_ops_per_s).toFixed(1)}%`);
    }
  }

  // ---- full engine: flow accounts (headline), then accounts that keep closed orders queryable ----
  if (o.sections.has("engine")) {
    for (const v of ENGINE_VARIANTS) {
      const w = workloads.get(v);
      if (w === undefined || !o.variants.has(v)) continue;
      const { r, eventsPerOp } = benchEngine(w, o, false);
      line(`engine, ${v}`, r, `  ${eventsPerOp.toFixed(2)} events/op`);
      if (v === "shallow") result.engine_ops_per_s = Math.round(r.median);
      if (v === "deep") result.deep_engine_ops_per_s = Math.round(r.median);
    }
    for (const v of ENGINE_VARIANTS) {
      const w = workloads.get(v);
      if (w === undefined || !o.variants.has(v)) continue;
      const { r } = benchEngine(w, o, true);
      line(`engine, ${v}, keeping closed orders (100k history)`, r, "");
      if (v === "shallow") result.engine_with_history_ops_per_s = Math.round(r.median);
    }
  }

  // ---- nodejs-order-book on the shallow workload ----
  if (o.sections.has("nob")) {
    const r = benchNob(workloads.get("shallow") as Workload, o);
    const nobVersion = (JSON.parse(readFileSync(createRequire(import.meta.url).resolve("nodejs-order-book/package.json"), "utf8")) as { version: string }).version;
    line(`nodejs-order-book ${nobVersion}, shallow`, r);
    result.nodejs_order_book_ops_per_s = Math.round(r.median);
    if (result.book_ops_per_s !== null) {
      result.ratio_vs_nodejs_order_book = Math.round((result.book_ops_per_s / r.median) * 10) / 10;
      console.log(`ratio, our bare book / nodejs-order-book (shallow workload, medians): ${result.ratio_vs_nodejs_order_book}x`);
    }
  }

  // ---- the production system (issue 4): a simulated day of 1-minute bars, each scenario in a child ----
  let system: Record<string, number> = {};
  if (o.sections.has("system")) system = runSystemBench();

  // ---- the four investor PnL charts (issue 6) from one day of 1-minute bars ----
  let charts: Record<string, number | boolean> = {};
  if (o.sections.has("charts")) {
    const c = await benchPnlCharts();
    console.log(formatChartsBench(c));
    charts = { pnl_charts_s: Math.round(c.totalS * 1000) / 1000, pnl_charts_series_s: Math.round(c.seriesS * 1000) / 1000, pnl_charts_target_met: c.targetMet };
  }

  // ---- reconciliation (issue 6) of a simulated day of 1-minute bars x 100 assets, in a child ----
  let reconcile: Record<string, number | boolean> = {};
  if (o.sections.has("reconcile")) reconcile = runReconcileBench();

  // ---- the historical run (issue 6's backtest): days one at a time, then in parallel, in children ----
  let history: Record<string, number> = {};
  if (o.sections.has("history")) history = runHistoryBench();

  console.log(`bench took ${((performance.now() - started) / 1000).toFixed(1)}s`);
  console.log(JSON.stringify({ ...result, ...system, ...charts, ...reconcile, ...history }));
}

await main();
