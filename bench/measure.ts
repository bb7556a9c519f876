// Timing and heap helpers for the benchmarks.

import v8 from "node:v8";
import vm from "node:vm";

/**
 * A full garbage collection. Works without --expose-gc: the flag is switched on at run time and a
 * fresh context hands out its `gc` function (node --expose-gc works too, and is then used as is).
 */
export const gc: () => void = (() => {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === "function") return existing as () => void;
  v8.setFlagsFromString("--expose-gc");
  return vm.runInNewContext("gc") as () => void;
})();

/** Heap in use plus ArrayBuffer backing stores (typed arrays live there), after full GCs. */
export function settledHeapBytes(): number {
  gc();
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

export interface RunSeries {
  /** Ops timed per run (the whole stream, or a prefix when the time budget asked for fewer). */
  ops: number;
  /** Ops per second of each timed run, in run order. */
  opsPerSec: number[];
  median: number;
  best: number;
  /** Total misbehaving ops over all runs (cancels that missed, rejected orders): must be 0. */
  bad: number;
}

/**
 * A warm-up, then `runs` timed runs. Every run gets a fresh target from `setup` (untimed: prefill and
 * lead-in happen there), a full GC, then `run(target, from, to)` replays ops [from, to) of the timed
 * window. The warm-up replays up to `warmOps` ops in chunks for at most 2 x maxSeconds and measures
 * the rate of its second half; the timed runs then get rate x maxSeconds ops, within [minOps, maxOps],
 * so a slow implementation is timed on a prefix of the same window instead of stretching the bench
 * (and when minOps makes a run longer than maxSeconds, fewer runs are done).
 * `check(target, ops)` runs after each timed run, untimed.
 */
export function timeRuns<T>(opts: {
  runs: number;
  maxOps: number;
  minOps: number;
  warmOps: number;
  maxSeconds: number;
  setup: () => T;
  run: (target: T, from: number, to: number) => number;
  check?: (target: T, ops: number) => void;
}): RunSeries {
  const chunk = 10_000;
  const warm = warmUp(opts, chunk);
  let bad = warm.bad;
  const ops = Math.min(opts.maxOps, Math.max(opts.minOps, Math.round((warm.rate * opts.maxSeconds) / chunk) * chunk));
  // When minOps makes a run much longer than maxSeconds, do fewer runs (keeping the total near
  // runs x maxSeconds).
  const runs = ops > 2 * warm.rate * opts.maxSeconds ? Math.max(1, Math.min(opts.runs, Math.round((opts.runs * opts.maxSeconds * warm.rate) / ops))) : opts.runs;
  const opsPerSec: number[] = [];
  for (let r = 0; r < runs; r++) {
    const target = opts.setup();
    gc();
    const t0 = process.hrtime.bigint();
    bad += opts.run(target, 0, ops);
    const ns = Number(process.hrtime.bigint() - t0);
    opts.check?.(target, ops);
    opsPerSec.push((ops * 1e9) / ns);
  }
  const sorted = [...opsPerSec].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { ops, opsPerSec, median, best: sorted[sorted.length - 1] as number, bad };
}

function warmUp<T>(
  opts: { warmOps: number; maxOps: number; maxSeconds: number; setup: () => T; run: (target: T, from: number, to: number) => number },
  chunk: number,
): { rate: number; bad: number } {
  const target = opts.setup();
  gc();
  const marks: { ops: number; ns: number }[] = [{ ops: 0, ns: 0 }];
  const warmOps = Math.min(opts.maxOps, opts.warmOps);
  const t0 = process.hrtime.bigint();
  let done = 0;
  let ns = 0;
  let bad = 0;
  while (done < warmOps && ns < opts.maxSeconds * 2e9) {
    const to = Math.min(warmOps, done + chunk);
    bad += opts.run(target, done, to);
    done = to;
    ns = Number(process.hrtime.bigint() - t0);
    marks.push({ ops: done, ns });
  }
  const half = marks[marks.length >> 1] as { ops: number; ns: number };
  const rate = half.ns < ns ? ((done - half.ops) * 1e9) / (ns - half.ns) : (done * 1e9) / Math.max(1, ns);
  return { rate, bad };
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
