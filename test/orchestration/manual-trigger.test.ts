// A manual run's window: its conf's start (and end), else the latest schedule slot at or before
// now, the window the scheduler gives that slot's run. Never "now to the second", which is on no
// bar boundary.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadDags } from "../../dags/index.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { Orchestrator, RunReplaceError } from "../../src/orchestration/orchestrator.js";
import { dueSlots } from "../../src/orchestration/schedule.js";

const NOW = Date.UTC(2024, 2, 5, 13, 27, 41, 250);
const iso = (t: number): string => new Date(t).toISOString();

async function orchestrator(): Promise<Orchestrator> {
  return new Orchestrator(await loadDags(), new FileRunStore(mkdtempSync(join(tmpdir(), "tl-trigger-"))), () => NOW);
}

describe("a manual trigger without a start", () => {
  it("takes the latest schedule slot at or before now: the window the scheduled run of that slot gets", async () => {
    const orch = await orchestrator();
    const cases: [string, string, string][] = [
      ["simulation.momentum", "2024-03-04T00:00:00.000Z", "2024-03-05T00:00:00.000Z"],
      ["paper_trading.momentum", "2024-03-05T00:00:00.000Z", "2024-03-06T00:00:00.000Z"],
      ["pnl_observer.momentum", "2024-03-05T13:20:00.000Z", "2024-03-05T13:25:00.000Z"],
    ];
    for (const [dagId, start, end] of cases) {
      const { created, run } = await orch.trigger(dagId, {});
      expect(created).toBe(true);
      expect([dagId, iso(run.logicalStart), iso(run.logicalEnd)]).toEqual([dagId, start, end]);
      const scheduled = dueSlots(orch.dag(dagId), undefined, NOW).due.at(-1);
      expect([run.logicalStart, run.logicalEnd]).toEqual([scheduled?.start, scheduled?.end]);
    }
  });

  it("a start alone ends one schedule interval later; a DAG without a schedule still runs a day", async () => {
    const orch = await orchestrator();
    const five = (await orch.trigger("pnl_observer.momentum", { start: "2024-03-01T10:00:00Z" })).run;
    expect([iso(five.logicalStart), iso(five.logicalEnd)]).toEqual(["2024-03-01T10:00:00.000Z", "2024-03-01T10:05:00.000Z"]);
    const manual = (await orch.trigger("historical_pnl.momentum", { start: "2024-03-01T00:00:00Z" })).run;
    expect(iso(manual.logicalEnd)).toBe("2024-03-02T00:00:00.000Z");
  });

  it("refuses a DAG without a schedule and without a start, and an end without a start, saying what to give", async () => {
    const orch = await orchestrator();
    await expect(orch.trigger("historical_pnl.momentum", {})).rejects.toThrow("dag historical_pnl.momentum has no schedule, so a manual run needs its logical start: give --start (or conf.start)");
    await expect(orch.trigger("simulation.momentum", { end: "2024-03-05T00:00:00Z" })).rejects.toThrow(/an end \(2024-03-05T00:00:00.000Z\) without a start: give the start too/);
    expect(await orch.store.list()).toEqual([]);
  });
});

describe("a manual trigger of a start that has a run", () => {
  const START = { start: "2024-01-05T00:00:00Z" };

  it("gives the first run back, unchanged, unless asked to replace it: then a fresh record with the new conf", async () => {
    const orch = await orchestrator();
    const first = await orch.trigger("simulation.momentum", { ...START, seed: 1 });
    await orch.store.update(first.run.runKey, (r) => {
      r.state = "failed";
      r.startedAt = NOW;
      r.endedAt = NOW;
      r.error = "success hook: boom";
      r.tasks["run_system"] = { state: "failed", tries: 3, error: "x", history: [] };
    });
    const again = await orch.trigger("simulation.momentum", { ...START, seed: 2 });
    expect([again.created, again.run.state, again.run.conf["seed"]]).toEqual([false, "failed", 1]);
    const replaced = await orch.trigger("simulation.momentum", { ...START, seed: 2 }, undefined, { replace: true });
    expect([replaced.created, replaced.replaced]).toEqual([true, "failed"]);
    const stored = await orch.store.get(first.run.runKey);
    expect(stored).toEqual({ ...first.run, conf: { ...first.run.conf, seed: 2 }, version: 2 });
    expect(stored?.startedAt).toBeUndefined();
    expect(stored?.error).toBeUndefined();
  });

  it("refuses to replace a run while a try of it is running", async () => {
    const orch = await orchestrator();
    const { run } = await orch.trigger("simulation.momentum", START);
    await orch.store.update(run.runKey, (r) => {
      r.state = "running";
      r.tasks["run_system"] = { state: "running", tries: 1, worker: "elsewhere:1", history: [] };
    });
    const refused = orch.trigger("simulation.momentum", START, undefined, { replace: true });
    await expect(refused).rejects.toThrow(RunReplaceError);
    await expect(refused).rejects.toThrow(/is not replaced: its task\(s\) run_system are running; wait for the run to end/);
    expect((await orch.store.get(run.runKey))?.state).toBe("running");
  });
});
