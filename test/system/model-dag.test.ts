import { describe, expect, it } from "vitest";
import { getModel, modelRegistry } from "../../src/system/model-registry.js";
import { runDag, topologicalOrder, type KnownData, type ModelNode } from "../../src/system/model-dag.js";
import type { L2Snapshot } from "../../src/marketdata/types.js";

const node = (name: string, deps: string[]): ModelNode => ({ name, deps, run: () => ({ [name]: deps.length }) });

function fixedData(closes: Record<string, number[]>, l2: Record<string, L2Snapshot> = {}): KnownData {
  return {
    closes: (s, _bar, n) => {
      const c = closes[s] ?? [];
      const tail = c.slice(-n);
      return [...new Array<number>(Math.max(0, n - tail.length)).fill(NaN), ...tail];
    },
    latestL2: (s) => l2[s],
  };
}

describe("model DAG", () => {
  it("orders nodes after their dependencies", () => {
    const order = topologicalOrder("m", [node("c", ["a", "b"]), node("b", ["a"]), node("a", [])]).map((n) => n.name);
    expect(order).toEqual(["a", "b", "c"]);
  });

  it("names cycles, unknown dependencies and duplicates", () => {
    expect(() => topologicalOrder("m", [node("a", ["b"]), node("b", ["a"])])).toThrow(/model m: cycle a -> b -> a/);
    expect(() => topologicalOrder("m", [node("a", ["zz"])])).toThrow(/node a depends on unknown node zz/);
    expect(() => topologicalOrder("m", [node("a", []), node("a", [])])).toThrow(/defined twice/);
  });

  it("profiles every node", () => {
    const r = runDag(topologicalOrder("m", [node("a", []), node("b", ["a"])]), { now: 0, barMs: 60_000, symbols: [], data: fixedData({}) });
    expect(r.profile.map((p) => p.node)).toEqual(["a", "b"]);
    expect(r.outputs.get("b")).toEqual({ b: 1 });
  });

  it("the registry finds both shipped models by file", async () => {
    const names = [...(await modelRegistry()).keys()];
    expect(names).toEqual(expect.arrayContaining(["momentum", "l2_imbalance"]));
    await expect(getModel("nope")).rejects.toThrow(/unknown model "nope"; registered: /);
  });
});

describe("momentum model", () => {
  it("buys the asset that rose most per unit of its volatility, sells the other (hand computed)", async () => {
    const m = await getModel("momentum");
    const params = m.params.parse({ lookbackBars: 2, volatilityBars: 2 });
    // A: 100 -> 110 -> 121 (log return 0.0953 twice: vol 0 -> no score). Use distinct paths:
    const data = fixedData({ A: [100, 101, 103], B: [100, 99, 100] });
    const r = runDag(topologicalOrder(m.name, m.nodes(params)), { now: 0, barMs: 300_000, symbols: ["A", "B"], data });
    const mom = r.outputs.get("momentum") ?? {};
    expect(mom.A).toBeCloseTo(Math.log(103 / 100), 12);
    expect(mom.B).toBeCloseTo(0, 12);
    const rA = [Math.log(1.01), Math.log(103 / 101)];
    const sdA = Math.abs(rA[0]! - rA[1]!) / Math.SQRT2;
    expect(r.outputs.get("volatility")?.A).toBeCloseTo(sdA, 12);
    const pred = r.outputs.get("prediction") ?? {};
    expect(pred.A).toBeGreaterThan(0);
    expect(pred.B).toBeLessThan(0);
    expect((pred.A ?? 0) + (pred.B ?? 0)).toBeCloseTo(0, 12);
  });

  it("an asset without enough history gets no prediction", async () => {
    const m = await getModel("momentum");
    const r = runDag(topologicalOrder(m.name, m.nodes(m.params.parse({}))), { now: 0, barMs: 300_000, symbols: ["A"], data: fixedData({ A: [1, 2, 3] }) });
    expect(r.outputs.get("prediction")).toEqual({});
  });
});

describe("L2 imbalance model", () => {
  const snap = (bidQty: number, askQty: number): L2Snapshot => ({ symbol: "X", exchangeTime: 0, knowledgeTime: 0, bids: [[99, bidQty], [98, bidQty]], asks: [[101, askQty], [102, askQty]] });

  it("buys above 3.0, sells below 0.33, no view between (seed 004)", async () => {
    const m = await getModel("l2_imbalance");
    const ordered = topologicalOrder(m.name, m.nodes(m.params.parse({})));
    const data = fixedData({}, { A: snap(4, 1), B: snap(1, 4), C: snap(2, 1) });
    const r = runDag(ordered, { now: 1_000, barMs: 60_000, symbols: ["A", "B", "C", "D"], data });
    expect(r.outputs.get("imbalance")).toEqual({ A: 4, B: 0.25, C: 2 });
    expect(r.outputs.get("signal")).toEqual({ A: 1, B: -1, C: 0 });
    const p = r.outputs.get("prediction") ?? {};
    expect(p.A).toBeCloseTo(1 + Math.log(4 / 3), 12);
    expect(p.B).toBeCloseTo(-(1 + Math.log(0.33 / 0.25)), 12);
    expect(p.C).toBe(0);
  });

  it("ignores a stale snapshot", async () => {
    const m = await getModel("l2_imbalance");
    const r = runDag(topologicalOrder(m.name, m.nodes(m.params.parse({ maxAgeMs: 500 }))), { now: 1_000, barMs: 60_000, symbols: ["A"], data: fixedData({}, { A: snap(4, 1) }) });
    expect(r.outputs.get("imbalance")).toEqual({});
  });
});
