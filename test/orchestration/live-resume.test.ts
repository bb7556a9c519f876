// A paper-trading session (scaled clock, live venue feed) killed with SIGKILL mid-run resumes from
// its checkpoint: the log is cut back to the last finished bar, the portfolio restored from it, and
// trading goes on with every bar logged once and no client order id sent twice.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDags } from "../../dags/index.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { LocalExecutor } from "../../src/orchestration/local-executor.js";
import { Orchestrator } from "../../src/orchestration/orchestrator.js";
import { loadSystemLog } from "../../src/system/system-log-loader.js";

const CONF = {
  start: "2024-01-02T00:00:00Z",
  end: "2024-01-02T01:00:00Z",
  system: { model: { name: "l2_imbalance" }, mode: "paper_trading", clock: { kind: "scaled", speed: 300 }, barMinutes: 5, universe: { kind: "synthetic", assets: 4, seed: 1 } },
};
const LOG_DIR = "dev/l2_imbalance/paper_trading/manual/20240102_000000.20240102_010000/system_log_dir";

function checkpointBar(root: string): number {
  const f = join(root, LOG_DIR, "checkpoint.json");
  return existsSync(f) ? (JSON.parse(readFileSync(f, "utf8")) as { bar: number }).bar : -1;
}

describe("paper trading: SIGKILL mid-session, then resume", () => {
  it("continues from the checkpoint with every bar once and no order sent twice", async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-live-"));
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "dags", "trigger", "paper_trading.l2_imbalance", "--conf", JSON.stringify(CONF), "--root", root, "--quiet"], { stdio: "ignore" });
    const deadline = Date.now() + 60_000;
    while (checkpointBar(root) < 4) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`the session never reached bar 4 (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 25));
    }
    // Mid-bar: some of the next bar's children may be out when the process dies.
    await new Promise((r) => setTimeout(r, 400));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("exit", r));
    const killedAt = checkpointBar(root);

    const orch = new Orchestrator(await loadDags(), new FileRunStore(root));
    const ex = new LocalExecutor(orch, { dataRoot: root });
    expect(await ex.requeueOrphans()).toBe(1);
    await ex.dispatch();
    const run = await orch.store.get("paper_trading.l2_imbalance.manual.20240102_000000");
    expect(run?.state, JSON.stringify(run?.tasks)).toBe("success");
    expect((run?.tasks["run_system"]?.output as { resumedFromBar: number }).resumedFromBar).toBe(killedAt);

    const dir = join(root, LOG_DIR);
    expect(readFileSync(join(dir, "log.txt"), "utf8")).toContain(`resumed after bar ${killedAt} from its checkpoint`);
    const log = loadSystemLog(dir);
    const bars = log.portfolio.map((b) => b.bar);
    expect(new Set(bars).size).toBe(bars.length);
    expect(bars[0]).toBe(0);
    expect(bars.at(-1)).toBe(12);
    expect(bars).toEqual([...bars].sort((a, b) => a - b));
    const sent = readFileSync(join(dir, "broker_log", "oms_child_orders.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { event?: string; clientOrderId: string })
      .filter((r) => r.event === "sending")
      .map((r) => r.clientOrderId);
    expect(sent.length).toBeGreaterThan(0);
    expect(new Set(sent).size).toBe(sent.length);
    const orderIds = log.orders.map((o) => o.orderId);
    expect(new Set(orderIds).size).toBe(orderIds.length);
    expect(log.summary?.["complete"]).toBe(true);
  }, 120_000);
});
