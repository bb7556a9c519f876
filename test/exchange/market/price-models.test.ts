import { describe, expect, it } from "vitest";
import { Rng } from "../../../src/core/rng.js";
import { createPriceModel, type PriceModelSpec } from "../../../src/exchange/market/price-models.js";

const SECOND = 1000;

function path(spec: PriceModelSpec, seed: number, steps: number, dtMs = SECOND, initial = 100): number[] {
  const m = createPriceModel(spec, initial, new Rng(seed));
  const out = [initial];
  for (let i = 0; i < steps; i++) out.push(m.step(dtMs));
  return out;
}

function logReturns(p: number[]): number[] {
  const r: number[] = [];
  for (let i = 1; i < p.length; i++) r.push(Math.log((p[i] as number) / (p[i - 1] as number)));
  return r;
}

function mean(x: number[]): number {
  return x.reduce((a, b) => a + b, 0) / x.length;
}

function std(x: number[]): number {
  const m = mean(x);
  return Math.sqrt(x.reduce((a, b) => a + (b - m) ** 2, 0) / (x.length - 1));
}

function autocorr(x: number[]): number {
  const m = mean(x);
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    den += ((x[i] as number) - m) ** 2;
    if (i > 0) num += ((x[i] as number) - m) * ((x[i - 1] as number) - m);
  }
  return num / den;
}

describe("price models", () => {
  const kinds: PriceModelSpec[] = [
    { kind: "random_walk", volatility: 0.5 },
    { kind: "gbm", volatility: 0.5 },
    { kind: "trend_following", volatility: 0.5, persistence: 0.9 },
    { kind: "mean_reverting", volatility: 0.5 },
  ];

  for (const spec of kinds) {
    it(`${spec.kind} is deterministic per seed and stays positive`, () => {
      const a = path(spec, 11, 20_000);
      expect(path(spec, 11, 20_000)).toEqual(a);
      expect(path(spec, 12, 100)).not.toEqual(a.slice(0, 101));
      expect(Math.min(...a)).toBeGreaterThan(0);
    });
  }

  it("gbm has the configured volatility", () => {
    const r = logReturns(path({ kind: "gbm", volatility: 0.8 }, 3, 50_000, 60 * SECOND));
    const annualized = std(r) * Math.sqrt((365 * 24 * 3600) / 60);
    expect(annualized).toBeGreaterThan(0.76);
    expect(annualized).toBeLessThan(0.84);
  });

  it("trend-following returns are positively autocorrelated, gbm returns are not", () => {
    const trend = autocorr(logReturns(path({ kind: "trend_following", volatility: 0.5, persistence: 0.9 }, 4, 20_000)));
    const gbm = autocorr(logReturns(path({ kind: "gbm", volatility: 0.5 }, 4, 20_000)));
    expect(trend).toBeGreaterThan(0.8);
    expect(Math.abs(gbm)).toBeLessThan(0.05);
  });

  it("mean-reverting pulls back toward its mean", () => {
    const p = path({ kind: "mean_reverting", volatility: 0.3, reversionPerDay: 50, mean: 100 }, 5, 2 * 24 * 60, 60 * SECOND, 150);
    expect(p[p.length - 1] as number).toBeGreaterThan(90);
    expect(p[p.length - 1] as number).toBeLessThan(110);
  });
});
