// `tradeloop dags ...` run as a user runs it: what the commands do and print, and what they refuse.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tl-dags-cli-"));
/** Two synthetic assets at hourly bars: a simulated day in about a second. */
const SMALL = JSON.stringify({ system: { universe: { kind: "synthetic", assets: 2, seed: 1 }, barMinutes: 60 } });
const compact = (t: number): string => new Date(t).toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);

describe("dags trigger", () => {
  it("without --start runs the latest schedule slot, on its bar boundaries, and the system run succeeds", async () => {
    const root = tmp();
    const day = 86_400_000;
    const before = Math.floor(Date.now() / day) * day;
    const r = await runCli(["dags", "trigger", "simulation.momentum", "--root", root, "--quiet", "--conf", SMALL]);
    const after = Math.floor(Date.now() / day) * day;
    expect(r.status, r.stdout + r.stderr).toBe(0);
    // The slot that fired at the last midnight covers the day before it (run at midnight, either may be it).
    const keys = [before, after].map((midnight) => `simulation.momentum.manual.${compact(midnight - day)}`);
    const key = keys.find((k) => r.stdout.includes(`${k}  success`));
    expect(key, r.stdout).toBeDefined();
    expect(r.stdout).toMatch(/run_system=success broker_log_parquet=success/);
  });

  it("refuses --end without --start, and a DAG without a schedule without --start", async () => {
    const root = tmp();
    const e = await runCli(["dags", "trigger", "simulation.momentum", "--root", root, "--end", "2024-01-03"]);
    expect(e.status).toBe(1);
    expect(e.stderr).toContain("--end 2024-01-03T00:00:00Z needs --start: give both, or neither to run the latest schedule slot");
    const m = await runCli(["dags", "trigger", "historical_pnl.momentum", "--root", root]);
    expect(m.status).toBe(1);
    expect(m.stderr).toContain("dag historical_pnl.momentum has no schedule, so a manual run needs its logical start: give --start (or conf.start)");
    const runs = await runCli(["dags", "runs", "--root", root]);
    expect(runs.stdout).toBe("no runs\n");
  });
});

describe("dags test and dags trigger of a start that has a run", () => {
  it("refuse to reuse it silently (naming its state and --replace); --replace runs it again with the new conf", async () => {
    const root = tmp();
    const key = "simulation.momentum.manual.20240105_000000";
    const assets = (): unknown => (JSON.parse(readFileSync(join(root, "dev/momentum/simulation/manual/20240105_000000.20240106_000000/system_log_dir/config.given.json"), "utf8")) as { universe: { assets: number } }).universe.assets;
    const first = await runCli(["dags", "test", "simulation.momentum", "2024-01-05", "--root", root, "--quiet", "--conf", SMALL]);
    expect(first.status, first.stdout + first.stderr).toBe(0);
    expect(assets()).toBe(2);

    const three = JSON.stringify({ system: { universe: { kind: "synthetic", assets: 3, seed: 1 }, barMinutes: 60 } });
    const again = await runCli(["dags", "test", "simulation.momentum", "2024-01-05", "--root", root, "--quiet", "--conf", three]);
    expect(again.status).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(new RegExp(`run ${key} exists already \\(success, created [^)]+\\): not run again, and left as it is \\(its conf too\\)\\. Add --replace to discard it and run again with this conf`));
    const trigger = await runCli(["dags", "trigger", "simulation.momentum", "--start", "2024-01-05", "--root", root, "--quiet", "--conf", three]);
    expect(trigger.status).toBe(1);
    expect(trigger.stderr).toContain(`run ${key} exists already (success`);
    expect(assets()).toBe(2);

    const replaced = await runCli(["dags", "test", "simulation.momentum", "2024-01-05", "--root", root, "--quiet", "--conf", three, "--replace"]);
    expect(replaced.status, replaced.stdout + replaced.stderr).toBe(0);
    expect(replaced.stderr).toContain(`${key}: the earlier run (success) is discarded; running again`);
    expect(replaced.stdout).toMatch(new RegExp(`${key}  success .*run_system=success broker_log_parquet=success`));
    expect(assets()).toBe(3);
  });
});

describe("dags show", () => {
  it("says which task's output a task reads beyond its upstream", async () => {
    const r = await runCli(["dags", "show", "paper_trading.momentum"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^broker_log_parquet +publish_pnl \(reads run_system\) +all_done /m);
  });
});

describe("a DAG run whose run_system fails", () => {
  it("ends the tasks that need its result upstream_failed, without running or retrying them, and says so", async () => {
    const root = tmp();
    const r = await runCli(["dags", "test", "paper_trading.momentum", "2024-01-05", "--root", root, "--quiet", "--conf", JSON.stringify({ system: { barMinutes: -1 } })]);
    expect(r.status).toBe(1);
    const key = "paper_trading.momentum.manual.20240105_000000";
    expect(r.stdout).toContain("run_system=failed reconcile=upstream_failed plot_pnl=success publish_pnl=success broker_log_parquet=upstream_failed\n");
    expect(r.stdout).toContain(`${key} run_system: ConfigError: dag paper_trading.momentum conf.system: barMinutes: Too small`);
    expect(r.stdout).toContain(`${key} reconcile: not run, upstream failed (all_success: run_system failed)\n`);
    expect(r.stdout).toContain(`${key} broker_log_parquet: not run, upstream failed (reads the output of run_system failed)\n`);
    expect(r.stdout).not.toMatch(/no run_system|no run to/);
    expect(r.stdout).not.toMatch(/tries\)/);
  });
});

describe("dags runs and dags backfill refuse what would silently show or do nothing", () => {
  it("a bogus --state (listing the states), an unknown DAG (listing the known ones), a backfill ending before it starts (naming both)", async () => {
    const root = tmp();
    const state = await runCli(["dags", "runs", "--state", "bogus", "--root", root]);
    expect(state.status).toBe(1);
    expect(state.stderr).toContain(`--state must be a run state: one of queued, running, success, failed; got "bogus"`);
    const dag = await runCli(["dags", "runs", "simulation.momentun", "--root", root]);
    expect(dag.status).toBe(1);
    expect(dag.stderr).toMatch(/^tradeloop: no DAG "simulation\.momentun" \(known: broker_experiment, demo, .*simulation\.momentum\)\n$/);
    const back = await runCli(["dags", "backfill", "simulation.momentum", "--start", "2024-01-07", "--end", "2024-01-01", "--root", root]);
    expect(back.status).toBe(1);
    expect(back.stderr).toBe("tradeloop: dag simulation.momentum: the backfill's end 2024-01-01T00:00:00.000Z is before its start 2024-01-07T00:00:00.000Z (both are logical starts of runs: the first and the last)\n");
    const ok = await runCli(["dags", "runs", "simulation.momentum", "--state", "failed", "--root", root]);
    expect([ok.status, ok.stdout]).toEqual([0, "no runs\n"]);
  });
});
