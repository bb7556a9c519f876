// SystemRunWorker: system runs on a worker thread, one after another on the same worker.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/system/config.js";
import { runSystem } from "../../src/system/run-system.js";
import { SystemRunWorker, WorkerRunError } from "../../src/system/system-run-worker.js";

const given = (root: string, start = "2024-01-02T00:00:00Z"): Record<string, unknown> => ({
  model: { name: "momentum", params: { lookbackBars: 2, volatilityBars: 4 } },
  mode: "simulation", start, end: start.replace("T00:", "T06:"), barMinutes: 15,
  universe: { kind: "synthetic", assets: 3, seed: 3 }, data: { source: "synthetic", seed: 3 }, broker: { kind: "instant_fill" },
  seed: 3, targets: { grossExposure: 20_000 }, outputRoot: root,
});

const worker = new SystemRunWorker();
afterAll(() => worker.close());

describe("SystemRunWorker", () => {
  it("runs a system run as this thread would, reporting its bars, then runs the next on the same worker", async () => {
    const here = await runSystem(resolveConfig(given(mkdtempSync(join(tmpdir(), "tl-srw-a-")))));
    const bars: number[] = [];
    const there = await worker.run(given(mkdtempSync(join(tmpdir(), "tl-srw-b-"))), "test config", {}, (done) => bars.push(done));
    expect(there.totalPnl).toBe(here.summary.totalPnl);
    expect(readFileSync(join(there.systemLogDir, "portfolio.jsonl"), "utf8")).toBe(readFileSync(join(here.systemLogDir, "portfolio.jsonl"), "utf8"));
    expect(bars.at(-1)).toBe(24);
    expect(bars).toEqual([...bars].sort((a, b) => a - b));
    const next = await worker.run(given(mkdtempSync(join(tmpdir(), "tl-srw-c-")), "2024-01-03T00:00:00Z"), "test config");
    expect(next.runDir).toContain("20240103_000000.20240103_060000");
  }, 60_000);

  it("a failing run rejects with the run's own error, and the worker takes the next run", async () => {
    const bad = { ...given(mkdtempSync(join(tmpdir(), "tl-srw-d-"))), barMinutes: 7 };
    const err = await worker.run(bad, "bad.json").then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerRunError);
    expect((err as WorkerRunError).originalName).toBe("ConfigError");
    expect((err as Error).message).toMatch(/bad\.json/);
    await expect(worker.run(given(mkdtempSync(join(tmpdir(), "tl-srw-e-"))), "test config")).resolves.toMatchObject({ totalPnl: expect.any(Number) as number });
  }, 60_000);

  it("refuses a second run while one is going, and a run still going when the worker closes fails", async () => {
    const w = new SystemRunWorker();
    const first = w.run(given(mkdtempSync(join(tmpdir(), "tl-srw-f-"))), "test config");
    await expect(w.run(given(mkdtempSync(join(tmpdir(), "tl-srw-g-"))), "test config")).rejects.toThrow(/already running a run/);
    await w.close();
    await expect(first).rejects.toThrow(/exited/);
    await expect(w.run(given(mkdtempSync(join(tmpdir(), "tl-srw-h-"))), "test config")).rejects.toThrow(/exited/);
  }, 60_000);
});
