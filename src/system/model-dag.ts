// A model is a DAG of named nodes (read data, features, predict). Each node is a pure function of
// its inputs and of the data known at the bar; the runner evaluates nodes in dependency order and
// measures each one (duration, heap change), so a run can save every node's output per bar and its
// profile (DOMAIN.md section 10).

import { z } from "zod";
import type { EpochMs } from "../core/clock.js";
import type { MarketDataSource } from "../marketdata/types.js";
import { getHeapStatistics } from "node:v8";

/** What a node sees: the bar it runs for and the market data known at that moment. */
export interface ModelContext {
  /** The bar's end: the moment the model runs. Data is visible only if known at or before it. */
  now: EpochMs;
  barMs: number;
  symbols: readonly string[];
  data: KnownData;
}

/** Market data bound to the moment the model runs: the only door a model has to data. */
export interface KnownData {
  /** Closes of `symbol` at the last `n` bar boundaries at or before now (oldest first); NaN where unknown. */
  closes(symbol: string, barMs: number, n: number): number[];
  latestL2(symbol: string): ReturnType<MarketDataSource["latestL2"]>;
}

export type NodeOutput = Record<string, number>;

export interface ModelNode {
  name: string;
  deps: readonly string[];
  /** `inputs[dep]` is the output of dependency `dep` at this bar. */
  run(inputs: Readonly<Record<string, NodeOutput>>, ctx: ModelContext): NodeOutput;
}

export interface ModelDefinition<P = unknown> {
  name: string;
  /** A few lines: what it predicts, from what, and the sign convention. */
  description: string;
  params: z.ZodType<P>;
  /** Bars of history the model needs before its first prediction (for warm-up). */
  warmupBars(params: P): number;
  /** Whether it reads L2 snapshots: the run then keeps and records them (without, a read of L2 fails). */
  usesL2: boolean;
  nodes(params: P): ModelNode[];
  /** The node whose output is the prediction per symbol (positive: expected to go up). */
  predictionNode: string;
}

export class ModelDagError extends Error {
  override readonly name = "ModelDagError";
}

export interface NodeProfile {
  node: string;
  durationMs: number;
  heapDeltaBytes: number;
}

export interface DagResult {
  outputs: Map<string, NodeOutput>;
  profile: NodeProfile[];
}

/** Orders nodes so every node comes after its dependencies; unknown deps and cycles are errors. */
export function topologicalOrder(modelName: string, nodes: readonly ModelNode[]): ModelNode[] {
  const byName = new Map<string, ModelNode>();
  for (const n of nodes) {
    if (byName.has(n.name)) throw new ModelDagError(`model ${modelName}: node ${n.name} is defined twice`);
    byName.set(n.name, n);
  }
  const out: ModelNode[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (n: ModelNode, path: string[]): void => {
    const s = state.get(n.name);
    if (s === "done") return;
    if (s === "visiting") throw new ModelDagError(`model ${modelName}: cycle ${[...path, n.name].join(" -> ")}`);
    state.set(n.name, "visiting");
    for (const d of n.deps) {
      const dep = byName.get(d);
      if (dep === undefined) throw new ModelDagError(`model ${modelName}: node ${n.name} depends on unknown node ${d}`);
      visit(dep, [...path, n.name]);
    }
    state.set(n.name, "done");
    out.push(n);
  };
  for (const n of nodes) visit(n, []);
  return out;
}

/**
 * Runs the nodes for one bar. Durations and heap deltas are measurements of this process, not
 * domain time: they are the only values of a run that differ between identical runs.
 */
export function runDag(ordered: readonly ModelNode[], ctx: ModelContext): DagResult {
  const outputs = new Map<string, NodeOutput>();
  const profile: NodeProfile[] = [];
  for (const node of ordered) {
    const inputs: Record<string, NodeOutput> = {};
    for (const d of node.deps) inputs[d] = outputs.get(d) as NodeOutput;
    const heap0 = usedHeapBytes();
    const t0 = performance.now();
    const out = node.run(inputs, ctx);
    profile.push({ node: node.name, durationMs: performance.now() - t0, heapDeltaBytes: usedHeapBytes() - heap0 });
    outputs.set(node.name, out);
  }
  return { outputs, profile };
}

/** Typed helper so a model file reads as data. */
export function defineModel<P>(def: ModelDefinition<P>): ModelDefinition<P> {
  return def;
}

/** The heap in use, without process.memoryUsage()'s read of the resident set size (a /proc read per call). */
function usedHeapBytes(): number {
  return getHeapStatistics().used_heap_size;
}
