// A simulated run killed with SIGKILL mid-run (its own process) is resumed by the local executor
// from its last checkpoint: no client order id is sent twice, and every file but the log's words
// and the measured ones is byte-identical to an uninterrupted run.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDags } from "../../dags/index.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { LocalExecutor } from "../../src/orchestration/local-executor.js";
import { Orchestrator } from "../../src/orchestration/orchestrator.js";
import { MEASURED_FILES } from "../../src/system/system-log.js";

const CONF = {
  start: "2024-01-02T00:00:00Z",
  end: "2024-01-02T12:00:00Z",
  system: { model: { name: "momentum" }, mode: "simulation", barMinutes: 5, universe: { kind: "synthetic", assets: 5, seed: 3 }, seed: 3, stage: "dev" },
};
const RUN_KEY = "simulation.momentum.manual.20240102_000000";
const RUN_REL = "dev/momentum/simulation/manual/20240102_000000.20240102_120000/system_log_dir";

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

async function runLocally(root: string): Promise<void> {
  const orch = new Orchestrator(await loadDags(), new FileRunStore(root));
  const ex = new LocalExecutor(orch, { dataRoot: root });
  await ex.requeueOrphans();
  await orch.trigger("simulation.momentum", CONF);
  await ex.dispatch();
  const run = await orch.store.get(RUN_KEY);
  expect(run?.state, JSON.stringify(run?.tasks)).toBe("success");
}

function checkpointBar(root: string): number {
  const f = join(root, RUN_REL, "checkpoint.json");
  if (!existsSync(f)) return -1;
  try {
    return (JSON.parse(readFileSync(f, "utf8")) as { bar: number }).bar;
  } catch {
    return -1; // between write and rename the file is whole, but a read may race the rename on some filesystems
  }
}

describe("local executor: SIGKILL mid-run, then resume", () => {
  it("resumes from the checkpoint with no duplicate order and the same final state", async () => {
    const killedRoot = mkdtempSync(join(tmpdir(), "tl-kill-"));
    const cleanRoot = mkdtempSync(join(tmpdir(), "tl-clean-"));
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "dags", "trigger", "simulation.momentum", "--conf", JSON.stringify(CONF), "--root", killedRoot, "--quiet"], { stdio: "ignore" });
    const deadline = Date.now() + 60_000;
    while (checkpointBar(killedRoot) < 40) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the child never reached bar 40 (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const killedAt = checkpointBar(killedRoot);
    expect(killedAt).toBeLessThan(144);

    await runLocally(killedRoot);
    await runLocally(cleanRoot);

    const killedDir = join(killedRoot, RUN_REL);
    const cleanDir = join(cleanRoot, RUN_REL);
    const log = readFileSync(join(killedDir, "log.txt"), "utf8");
    expect(log).toMatch(/resumed after bar \d+: replay matches the interrupted run byte for byte/);
    expect(existsSync(`${killedDir}.interrupted`)).toBe(false);
    expect(existsSync(join(killedRoot, RUN_REL, "..", "_SUCCESS"))).toBe(true);

    const sent = readFileSync(join(killedDir, "broker_log", "oms_child_orders.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event?: string; clientOrderId: string })
      .filter((r) => r.event === "sending")
      .map((r) => r.clientOrderId);
    expect(sent.length).toBeGreaterThan(100);
    expect(new Set(sent).size).toBe(sent.length);

    const skip = new Set<string>([...MEASURED_FILES, "checkpoint.json", "log.txt"]);
    const names = files(cleanDir).filter((f) => !skip.has(f));
    expect(files(killedDir).filter((f) => !skip.has(f))).toEqual(names);
    for (const f of names) expect(readFileSync(join(killedDir, f)).equals(readFileSync(join(cleanDir, f))), f).toBe(true);
  }, 180_000);
});
