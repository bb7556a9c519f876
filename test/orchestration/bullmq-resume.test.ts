// Real trading runs through the BullMQ executor, against a redis-server of the test's own: the same
// DAG run gives the same run directory on both executors, and a `tradeloop worker` process killed
// with SIGKILL mid-day is replaced by another that resumes the run from its checkpoint, with no
// client order id sent twice and the same final portfolio as an uninterrupted run.

import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDags } from "../../dags/index.js";
import type { DagDefinition } from "../../src/orchestration/dag.js";
import { openBullmqWorker, openExecutor } from "../../src/orchestration/open-executor.js";
import type { DagRun } from "../../src/orchestration/run-records.js";
import { MEASURED_FILES } from "../../src/system/system-log.js";
import { redisForSuite } from "../helpers/redis-server.js";

const redis = redisForSuite();
let dags: DagDefinition[];
const roots: string[] = [];
const tmp = (name: string): string => {
  const d = mkdtempSync(join(tmpdir(), `tl-bq-${name}-`));
  roots.push(d);
  return d;
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dags = await loadDags();
});

afterAll(async () => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function files(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

function expectSameFiles(a: string, b: string, skip: ReadonlySet<string>): void {
  const names = files(a).filter((f) => !skip.has(f.split("/").at(-1) as string));
  expect(files(b).filter((f) => !skip.has(f.split("/").at(-1) as string))).toEqual(names);
  expect(names.length).toBeGreaterThan(10);
  for (const f of names) expect(readFileSync(join(a, f)).equals(readFileSync(join(b, f))), f).toBe(true);
}

async function runLocally(root: string, dagId: string, conf: Record<string, unknown>): Promise<DagRun> {
  const ex = await openExecutor("local", { root, dags });
  try {
    const { run } = await ex.orchestrator.trigger(dagId, conf);
    await ex.dispatch();
    return (await ex.orchestrator.store.get(run.runKey)) as DagRun;
  } finally {
    await ex.close();
  }
}

async function waitFor<T>(what: string, f: () => T | undefined | Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

describe("BullMQ executor: real runs", () => {
  it("the same DAG run gives byte-identical run directories on the local and the BullMQ executor", async () => {
    const conf = {
      start: "2024-01-02T00:00:00Z",
      end: "2024-01-02T03:00:00Z",
      system: { model: { name: "momentum" }, mode: "simulation", barMinutes: 5, universe: { kind: "synthetic", assets: 3, seed: 1 }, broker: { kind: "instant_fill" }, data: { source: "synthetic" } },
    };
    const rootA = tmp("local");
    const rootB = tmp("bullmq");
    const local = await runLocally(rootA, "simulation.momentum", conf);
    expect(local.state).toBe("success");

    const ex = await openExecutor("bullmq", { root: rootB, redisUrl: redis.server.url, prefix: "same", dags });
    const w = await openBullmqWorker({ root: rootB, redisUrl: redis.server.url, prefix: "same", dags, settings: { lockDurationMs: 4000, stalledIntervalMs: 2000 } });
    const { run } = await ex.orchestrator.trigger("simulation.momentum", conf);
    expect(run.runKey).toBe(local.runKey);
    await ex.dispatch();
    const done = await waitFor("the BullMQ run to finish", async () => {
      const r = await ex.orchestrator.store.get(run.runKey);
      return r?.state === "success" || r?.state === "failed" ? r : undefined;
    }, 60_000);
    await w.close();
    await ex.close();
    expect(done.state, JSON.stringify(done.tasks)).toBe("success");
    expect(Object.values(done.tasks).map((t) => t.state)).toEqual(Object.values(local.tasks).map((t) => t.state));

    const rel = "dev/momentum/simulation/manual/20240102_000000.20240102_030000";
    expect(existsSync(join(rootA, rel, "_SUCCESS"))).toBe(true);
    expectSameFiles(join(rootA, rel), join(rootB, rel), new Set([...MEASURED_FILES, "checkpoint.json"]));
  }, 120_000);

  it("a worker killed with SIGKILL mid-day is replaced; the run resumes from its checkpoint with no order sent twice and the same final portfolio", async () => {
    // A simulated day, 5-minute bars, ten synthetic perpetuals on the embedded venue (its feed is
    // the data, its broker the exchange): the demo's system config, on the simulation DAG.
    const conf = {
      start: "2024-01-02T00:00:00Z",
      end: "2024-01-03T00:00:00Z",
      system: { model: { name: "momentum" }, mode: "simulation", stage: "dev", barMinutes: 5, universe: { kind: "synthetic", assets: 10, seed: 1 }, seed: 1, data: { source: "venue" }, broker: { kind: "embedded" } },
    };
    const root = tmp("kill");
    const logDir = join(root, "dev/momentum/simulation/manual/20240102_000000.20240103_000000/system_log_dir");
    const env = { ...process.env, REDIS_URL: redis.server.url, TRADELOOP_LOCK_DURATION_MS: "4000", TRADELOOP_STALLED_INTERVAL_MS: "2000" };
    const outputs: string[] = [];
    const startWorker = (name: string): ChildProcess => {
      const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "worker", "--root", root], { env, stdio: ["ignore", "pipe", "pipe"] });
      const keep = (d: Buffer): void => {
        outputs.push(...d.toString().split("\n").filter((l) => l !== "").map((l) => `${name}: ${l}`));
      };
      child.stdout?.on("data", keep);
      child.stderr?.on("data", keep);
      return child;
    };
    const checkpointBar = (): number => {
      try {
        return (JSON.parse(readFileSync(join(logDir, "checkpoint.json"), "utf8")) as { bar: number }).bar;
      } catch {
        return -1; // not written yet, or renamed away to `.interrupted` during a resume
      }
    };

    const first = startWorker("worker1");
    const ex = await openExecutor("bullmq", { root, redisUrl: redis.server.url, dags });
    try {
      const { run } = await ex.orchestrator.trigger("simulation.momentum", conf);
      await ex.dispatch();
      await waitFor(`bar 40 in ${logDir}\n${outputs.join("\n")}`, () => (checkpointBar() >= 40 ? true : first.exitCode !== null ? (() => { throw new Error(`worker1 exited: ${outputs.join("\n")}`); })() : undefined), 90_000);
      first.kill("SIGKILL");
      const killedAt = Date.now();
      await new Promise((r) => first.once("exit", r));
      const killedBar = checkpointBar();
      expect(killedBar).toBeLessThan(288);

      const second = startWorker("worker2");
      try {
        // Resumed trading: the replay (into a fresh directory) has passed the checkpoint bar and a
        // new bar is done.
        const resumedAt = await waitFor("the run to trade past its checkpoint", () => {
          const log = existsSync(join(logDir, "log.txt")) ? readFileSync(join(logDir, "log.txt"), "utf8") : "";
          return /resumed after bar \d+/.test(log) && checkpointBar() > killedBar ? Date.now() : undefined;
        }, 90_000);
        const pickedUp = outputs.find((l) => l.startsWith("worker2: ") && l.includes(" start "));
        const done = await waitFor("the run to finish", async () => {
          const r = await ex.orchestrator.store.get(run.runKey);
          return r?.state === "success" || r?.state === "failed" ? r : undefined;
        }, 120_000);
        expect(done.state, `${JSON.stringify(done.tasks)}\n${outputs.join("\n")}`).toBe("success");
        const t = done.tasks["run_system"];
        // The killed try is not counted: the resumed one is try 1 again.
        expect(t?.history.map((h) => [h.try, h.state])).toEqual([[1, "failed"], [1, "success"]]);
        expect(t?.history[0]?.error).toMatch(/lost the job/);
        expect((t?.output as { resumedFromBar: number | null }).resumedFromBar).toBeGreaterThanOrEqual(40);
        const pickedUpAt = Date.parse(/ (\d{4}-\d\d-\d\dT[\d:.]+Z) start /.exec(pickedUp ?? "")?.[1] ?? "");
        process.stdout.write(`SIGKILL at checkpoint bar ${killedBar}: job taken by the new worker after ${((pickedUpAt - killedAt) / 1000).toFixed(2)} s (lock 4 s, stalled check every 2 s, worker start included), trading resumed past bar ${killedBar} after ${((resumedAt - killedAt) / 1000).toFixed(2)} s (replay of ${killedBar} bars included)\n`);
      } finally {
        second.kill("SIGTERM");
        await new Promise((r) => (second.exitCode === null ? second.once("exit", r) : r(null)));
      }
    } finally {
      if (first.exitCode === null && first.signalCode === null) first.kill("SIGKILL");
      await ex.close();
    }

    const log = readFileSync(join(logDir, "log.txt"), "utf8");
    expect(log).toMatch(/resumed after bar \d+: replay matches the interrupted run byte for byte/);
    expect(existsSync(`${logDir}.interrupted`)).toBe(false);

    type ChildOrderRecord = { event?: string; clientOrderId: string };
    const sent = readFileSync(join(logDir, "broker_log", "oms_child_orders.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as ChildOrderRecord)
      .filter((r) => r.event === "sending")
      .map((r) => r.clientOrderId);
    expect(sent.length).toBeGreaterThan(1000);
    expect(new Set(sent).size).toBe(sent.length);

    // The same conf, uninterrupted, in another root (the local executor: same code, no kill).
    const cleanRoot = tmp("clean");
    expect((await runLocally(cleanRoot, "simulation.momentum", conf)).state).toBe("success");
    const cleanDir = join(cleanRoot, relative(root, logDir));
    const lastLine = (f: string): string => readFileSync(f, "utf8").trim().split("\n").at(-1) as string;
    expect(lastLine(join(logDir, "portfolio.jsonl"))).toBe(lastLine(join(cleanDir, "portfolio.jsonl")));
    const totals = (dir: string): unknown => {
      const s = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8")) as Record<string, unknown>;
      return [s["finalNetWealth"], s["totalPnl"], s["totalFees"], s["childOrders"], s["parentOrders"], s["exchangeTrades"], s["barsDone"]];
    };
    expect(totals(logDir)).toEqual(totals(cleanDir));
    // And every file but the log's words and the measured ones is byte-identical.
    expectSameFiles(cleanDir, logDir, new Set([...MEASURED_FILES, "checkpoint.json", "log.txt"]));
  }, 300_000);
});
