import { mkdtempSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir, hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineDag, task, DagDefinitionError, type DagDefinition, type TaskSpec } from "../../src/orchestration/dag.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { LocalExecutor } from "../../src/orchestration/local-executor.js";
import { Orchestrator } from "../../src/orchestration/orchestrator.js";
import type { TaskHandler } from "../../src/orchestration/task.js";
import { runTaskTry, waitingForTry } from "../../src/orchestration/task-runner.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tl-orch-"));
const ok: TaskHandler = async (ctx) => ({ task: ctx.taskId, upstream: Object.keys(ctx.upstream) });
const fail: TaskHandler = async () => {
  throw new Error("boom");
};

function setup(dags: DagDefinition[], now = () => Date.now()) {
  const root = tmp();
  const orch = new Orchestrator(dags, new FileRunStore(root), now);
  const ex = new LocalExecutor(orch, { dataRoot: root });
  return { root, orch, ex };
}

function chain(id: string, specs: TaskSpec[]): DagDefinition {
  return defineDag({ id, tasks: specs.map((s, i) => task({ ...s, upstream: i === 0 ? [] : [specs[i - 1]?.id as string] })) });
}

describe("DAG definitions", () => {
  it("rejects cycles, unknown upstreams, fan-out and ids that could escape a folder", () => {
    expect(() => defineDag({ id: "x", tasks: [task({ id: "a", handler: ok, upstream: ["b"] }), task({ id: "b", handler: ok, upstream: ["a"] })] })).toThrow(/cycle/);
    expect(() => defineDag({ id: "x", tasks: [task({ id: "a", handler: ok, upstream: ["zz"] })] })).toThrow(/unknown task "zz"/);
    expect(() => defineDag({ id: "x", tasks: [task({ id: "a", handler: ok }), task({ id: "b", handler: ok, upstream: ["a"] }), task({ id: "c", handler: ok, upstream: ["a"] })] })).toThrow(/feeds 2 downstream/);
    expect(() => defineDag({ id: "../etc", tasks: [task({ id: "a", handler: ok })] })).toThrow(DagDefinitionError);
    expect(() => defineDag({ id: "a/b", tasks: [task({ id: "a", handler: ok })] })).toThrow(/not a valid id/);
  });
});

describe("local executor", () => {
  it("retries a failing task with backoff until it succeeds, and passes outputs downstream", async () => {
    let calls = 0;
    const flaky: TaskHandler = async (ctx) => {
      calls++;
      if (ctx.attempt < 3) throw new Error(`try ${ctx.attempt} fails`);
      return { value: 42 };
    };
    const seen: unknown[] = [];
    const dag = chain("retry", [{ id: "a", handler: flaky, retries: 2, retryBackoffMs: 20 }, { id: "b", handler: async (ctx) => seen.push(ctx.upstream["a"]) }]);
    const { orch, ex } = setup([dag]);
    const t0 = Date.now();
    const { run } = await orch.trigger("retry", { start: "2024-01-01T00:00:00Z" });
    await ex.dispatch();
    const done = await orch.store.get(run.runKey);
    expect(done?.state).toBe("success");
    expect(done?.tasks["a"]?.tries).toBe(3);
    expect(done?.tasks["a"]?.history.map((h) => h.state)).toEqual(["up_for_retry", "up_for_retry", "success"]);
    expect(calls).toBe(3);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(20 + 40);
    expect(seen).toEqual([{ value: 42 }]);
  });

  it("fails the run when retries run out", async () => {
    const dag = chain("fails", [{ id: "a", handler: fail, retries: 1, retryBackoffMs: 1 }]);
    const { orch, ex } = setup([dag]);
    const { run } = await orch.trigger("fails", { start: "2024-01-01T00:00:00Z" });
    await ex.dispatch();
    const done = await orch.store.get(run.runKey);
    expect(done?.state).toBe("failed");
    expect(done?.tasks["a"]?.state).toBe("failed");
    expect(done?.tasks["a"]?.error).toMatch(/boom/);
  });

  it("applies trigger rules: all_success after a failure ends upstream_failed, all_done runs, none_failed runs after it", async () => {
    const dag = chain("rules", [
      { id: "a", handler: fail },
      { id: "b", handler: ok, triggerRule: "all_success" },
      { id: "c", handler: ok, triggerRule: "all_done" },
      { id: "d", handler: ok, triggerRule: "none_failed" },
    ]);
    const dag2 = chain("rules2", [{ id: "a", handler: fail }, { id: "b", handler: ok, triggerRule: "none_failed" }]);
    const { orch, ex } = setup([dag, dag2]);
    const r1 = await orch.trigger("rules", { start: "2024-01-01T00:00:00Z" });
    const r2 = await orch.trigger("rules2", { start: "2024-01-01T00:00:00Z" });
    await ex.dispatch();
    const s1 = await orch.store.get(r1.run.runKey);
    expect(Object.fromEntries(Object.entries(s1?.tasks ?? {}).map(([k, v]) => [k, v.state]))).toEqual({ a: "failed", b: "upstream_failed", c: "success", d: "success" });
    expect(s1?.tasks["b"]?.reason).toBe("all_success: a failed");
    expect(s1?.state).toBe("failed");
    const s2 = await orch.store.get(r2.run.runKey);
    expect(s2?.tasks["b"]?.state).toBe("upstream_failed");
    expect(s2?.tasks["b"]?.reason).toBe("none_failed: a failed");
  });

  it("a task that reads the output of a task that failed further up ends upstream_failed without running, whatever its trigger rule", async () => {
    const ran: string[] = [];
    const record = (id: string): TaskHandler => async () => ran.push(id);
    // The shape of paper_trading: the last task runs all_done, but it converts run's output.
    const dag = defineDag({
      id: "reads",
      tasks: [
        task({ id: "run", handler: fail }),
        task({ id: "check", upstream: ["run"], handler: record("check") }),
        task({ id: "charts", upstream: ["check"], triggerRule: "all_done", handler: record("charts") }),
        task({ id: "convert", upstream: ["charts"], triggerRule: "all_done", needsOutputOf: ["run"], retries: 2, retryBackoffMs: 1, handler: record("convert") }),
      ],
    });
    const { orch, ex } = setup([dag]);
    const { run } = await orch.trigger("reads", { start: "2024-01-01T00:00:00Z" });
    await ex.dispatch();
    const done = await orch.store.get(run.runKey);
    expect(Object.fromEntries(Object.entries(done?.tasks ?? {}).map(([k, v]) => [k, v.state]))).toEqual({ run: "failed", check: "upstream_failed", charts: "success", convert: "upstream_failed" });
    expect(done?.tasks["convert"]?.reason).toBe("reads the output of run failed");
    expect(done?.tasks["convert"]?.tries).toBe(0);
    expect(ran).toEqual(["charts"]);
    expect(done?.state).toBe("failed");
  });

  it("a DAG whose task reads the output of a task that is not upstream of it is refused", () => {
    expect(() => defineDag({ id: "x", tasks: [task({ id: "a", handler: ok }), task({ id: "b", handler: ok }), task({ id: "c", upstream: ["b"], needsOutputOf: ["a"], handler: ok })] })).toThrow('dag x: task c reads the output of "a", which is not upstream of it (directly or further up)');
  });

  it("fails a task that outlives its timeout even when the handler ignores the signal", async () => {
    const slow: TaskHandler = () => new Promise((r) => setTimeout(r, 2000));
    const { orch, ex } = setup([chain("slow", [{ id: "a", handler: slow, timeoutMs: 50 }])]);
    const { run } = await orch.trigger("slow", { start: "2024-01-01T00:00:00Z" });
    await ex.dispatch();
    expect((await orch.store.get(run.runKey))?.tasks["a"]?.error).toMatch(/TaskTimeoutError: timed out after 50 ms/);
  });

  it("stop() hands a running try back to the queue, not counted, after its handler has stopped; the next executor runs it", async () => {
    let calls = 0;
    let handlerEnded = false;
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    // Stops at its next "bar" once aborted, as a trading session does, a little after the signal.
    const session: TaskHandler = async (ctx) => {
      calls++;
      if (calls > 1) return { resumed: true };
      started();
      while (!ctx.signal.aborted) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 40));
      handlerEnded = true;
      throw new Error("stopped at a bar");
    };
    // retries: 0, so a counted failure would fail the run on this very try.
    const dag = chain("handoff", [{ id: "a", handler: session, retries: 0 }]);
    const { root, orch, ex } = setup([dag]);
    const { run } = await orch.trigger("handoff", { start: "2024-01-01T00:00:00Z" });
    const drained = ex.dispatch();
    await running;
    ex.stop("SIGTERM");
    await drained;
    expect(handlerEnded).toBe(true);
    const after = await orch.store.get(run.runKey);
    expect(after?.state).toBe("running");
    expect(after?.tasks["a"]).toMatchObject({ state: "queued", tries: 0 });
    expect(after?.tasks["a"]?.history).toHaveLength(1);
    expect(after?.tasks["a"]?.history[0]?.error).toMatch(/handed back: SIGTERM; not counted as a try/);

    const next = new LocalExecutor(orch, { dataRoot: root });
    await next.dispatch();
    const done = await orch.store.get(run.runKey);
    expect(done?.state).toBe("success");
    expect(done?.tasks["a"]).toMatchObject({ state: "success", tries: 1, output: { resumed: true } });
  });

  it("runs at most maxActiveRuns runs of a DAG at once", async () => {
    let active = 0;
    let peak = 0;
    const h: TaskHandler = async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, 30));
      active--;
    };
    const dag = defineDag({ id: "one", maxActiveRuns: 1, tasks: [task({ id: "a", handler: h })] });
    const root = tmp();
    const orch = new Orchestrator([dag], new FileRunStore(root));
    const ex = new LocalExecutor(orch, { dataRoot: root, concurrency: 4 });
    for (const d of ["2024-01-01", "2024-01-02", "2024-01-03"]) await orch.trigger("one", { start: `${d}T00:00:00Z` });
    await ex.dispatch();
    expect(peak).toBe(1);
    expect((await orch.store.list("one")).map((r) => r.state)).toEqual(["success", "success", "success"]);
  });

  it("two schedulers ticking at once over the same store create each slot exactly once", async () => {
    let now = Date.UTC(2024, 0, 5, 12);
    const dag = defineDag({ id: "daily", schedule: { cron: "0 0 * * *", timezone: "UTC" }, catchupLimit: 10, startDate: Date.UTC(2024, 0, 1), tasks: [task({ id: "a", handler: ok })] });
    const root = tmp();
    const a = new Orchestrator([dag], new FileRunStore(root), () => now);
    const b = new Orchestrator([dag], new FileRunStore(root), () => now);
    const results = await Promise.all([a.scheduleTick(), b.scheduleTick(), a.scheduleTick(), b.scheduleTick()]);
    const created = results.flatMap((r) => r.created.map((x) => x.runKey));
    // Fires on Jan 1..5 each cover the day before (Airflow's data interval).
    expect(created.sort()).toEqual(["daily.scheduled.20231231_000000", "daily.scheduled.20240101_000000", "daily.scheduled.20240102_000000", "daily.scheduled.20240103_000000", "daily.scheduled.20240104_000000"]);
    expect((await a.store.list("daily")).length).toBe(5);
    // After two days down, the next tick catches up on both missed days, then nothing more.
    now = Date.UTC(2024, 0, 7, 1);
    expect((await a.scheduleTick()).created.map((r) => r.runKey)).toEqual(["daily.scheduled.20240105_000000", "daily.scheduled.20240106_000000"]);
    expect((await b.scheduleTick()).created).toEqual([]);
  });

  it("backfill creates one run per slot once, and clear reruns a task with its downstream", async () => {
    let runsOfB = 0;
    const dag = defineDag({
      id: "bf", schedule: { cron: "0 0 * * *", timezone: "UTC" },
      tasks: [task({ id: "a", handler: ok }), task({ id: "b", handler: async () => ++runsOfB, upstream: ["a"] })],
    });
    const { orch, ex } = setup([dag]);
    const first = await orch.backfill("bf", Date.UTC(2024, 1, 1), Date.UTC(2024, 1, 3));
    expect(first.created.map((r) => r.runKey)).toEqual(["bf.backfill.20240201_000000", "bf.backfill.20240202_000000", "bf.backfill.20240203_000000"]);
    expect((await orch.backfill("bf", Date.UTC(2024, 1, 1), Date.UTC(2024, 1, 3))).created).toEqual([]);
    await ex.dispatch();
    expect(runsOfB).toBe(3);
    const { cleared } = await orch.clear("bf.backfill.20240202_000000", "a");
    expect(cleared.sort()).toEqual(["a", "b"]);
    await ex.dispatch();
    expect(runsOfB).toBe(4);
    expect((await orch.store.get("bf.backfill.20240202_000000"))?.state).toBe("success");
  });

  it("backfill refuses a range whose end is before its start, and one no slot starts in, naming both times", async () => {
    const dag = defineDag({ id: "bf2", schedule: { cron: "0 0 * * *", timezone: "UTC" }, tasks: [task({ id: "a", handler: ok })] });
    const { orch } = setup([dag]);
    await expect(orch.backfill("bf2", Date.UTC(2024, 1, 3), Date.UTC(2024, 1, 1))).rejects.toThrow("dag bf2: the backfill's end 2024-02-01T00:00:00.000Z is before its start 2024-02-03T00:00:00.000Z");
    await expect(orch.backfill("bf2", Date.UTC(2024, 1, 1, 6), Date.UTC(2024, 1, 1, 18))).rejects.toThrow("dag bf2: no schedule slot (0 0 * * * UTC) starts between 2024-02-01T06:00:00.000Z and 2024-02-01T18:00:00.000Z, so the backfill would run nothing");
    expect(await orch.store.list()).toEqual([]);
  });

  it("asking twice for the same manual run gives back the first", async () => {
    const { orch } = setup([chain("m", [{ id: "a", handler: ok }])]);
    const a = await orch.trigger("m", { start: "2024-03-01T00:00:00Z" });
    const b = await orch.trigger("m", { start: "2024-03-01T00:00:00Z", other: 1 });
    expect(a.created).toBe(true);
    expect(b.created).toBe(false);
    expect(b.run.conf["other"]).toBeUndefined();
  });

  it("re-queues a task its dead process left running, and runs it", async () => {
    const { orch, ex, root } = setup([chain("orphan", [{ id: "a", handler: ok }])]);
    const { run } = await orch.trigger("orphan", { start: "2024-01-01T00:00:00Z" });
    await orch.startQueuedRuns();
    // What a killed process leaves behind: the task running under a pid that no longer exists.
    await orch.store.update(run.runKey, (r) => {
      r.tasks["a"] = { state: "running", tries: 1, worker: `${hostname()}:999999`, history: [{ try: 1, state: "running", startedAt: 0, worker: `${hostname()}:999999` }] };
    });
    expect(await ex.requeueOrphans()).toBe(1);
    await ex.dispatch();
    const done = await orch.store.get(run.runKey);
    expect(done?.state).toBe("success");
    expect(done?.tasks["a"]?.history.map((h) => h.state)).toEqual(["failed", "success"]);
    expect(readFileSync(join(root, "_orchestration", "runs", "orphan", `${run.runKey}.json`), "utf8")).toContain('"success"');
  });

  it("two executors on one data root run each try once, also when both wake for the same retry", async () => {
    const calls: number[] = [];
    const dag = defineDag({
      id: "twice",
      tasks: [task({ id: "a", retries: 2, retryBackoff: "fixed", retryBackoffMs: 300, handler: async (ctx) => {
        calls.push(ctx.attempt);
        await new Promise((r) => setTimeout(r, 50));
        if (ctx.attempt === 1) throw new Error("first try fails");
        return null;
      } })],
    });
    const root = tmp();
    const one = new Orchestrator([dag], new FileRunStore(root));
    const two = new Orchestrator([dag], new FileRunStore(root));
    const { run } = await one.trigger("twice", { start: "2024-01-01T00:00:00Z" });
    await one.startQueuedRuns();
    // Its first try failed: both executors wait out the backoff and wake for try 2 together.
    await one.store.update(run.runKey, (r) => {
      r.tasks["a"] = { state: "up_for_retry", tries: 1, retryAt: Date.now() + 200, error: "first try fails", history: [{ try: 1, state: "up_for_retry", startedAt: 0, endedAt: 1, error: "first try fails" }] };
    });
    const exs = [one, two].map((o) => new LocalExecutor(o, { dataRoot: root, log: () => undefined }));
    await Promise.all(exs.map((e) => e.drain()));
    expect(calls).toEqual([2]);
    const done = await one.store.get(run.runKey);
    expect(done?.state).toBe("success");
    expect(done?.tasks["a"]?.history.map((h) => h.state)).toEqual(["up_for_retry", "success"]);
  });

  it("a try is claimed once: a second claim of the same try while the first runs does nothing", async () => {
    let release: () => void = () => undefined;
    const entered: number[] = [];
    const dag = defineDag({ id: "claim", tasks: [task({ id: "a", handler: async (ctx) => {
      entered.push(ctx.attempt);
      await new Promise<void>((r) => (release = r));
      return null;
    } })] });
    const { orch, root } = setup([dag]);
    const { run } = await orch.trigger("claim", { start: "2024-01-01T00:00:00Z" });
    await orch.startQueuedRuns();
    const tryOnce = () => runTaskTry({ dag, store: orch.store, runKey: run.runKey, taskId: "a", attempt: 1, dataRoot: root, now: () => Date.now(), log: () => undefined, claimable: waitingForTry(1) });
    const first = tryOnce();
    while (entered.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(await tryOnce()).toMatchObject({ kind: "noop" });
    release();
    expect(await first).toMatchObject({ kind: "success" });
    expect(entered).toEqual([1]);
  });

  it("finishes a run whose tasks are all done when the process finishing it died (in its success hook), so the next run can start", async () => {
    let hooks = 0;
    const dag = defineDag({ id: "hooked", maxActiveRuns: 1, tasks: [task({ id: "a", handler: ok })], onRunSuccess: async () => void hooks++ });
    const { orch, ex } = setup([dag]);
    const { run } = await orch.trigger("hooked", { start: "2024-01-02T00:00:00Z" });
    await orch.startQueuedRuns();
    // What a process killed in the hook leaves: its task done, the run still running.
    const dead = `${hostname()}:999999`;
    await orch.store.update(run.runKey, (r) => {
      r.tasks["a"] = { state: "success", tries: 1, worker: dead, output: null, history: [{ try: 1, state: "success", startedAt: 0, endedAt: 1, worker: dead }] };
    });
    const { run: next } = await orch.trigger("hooked", { start: "2024-01-03T00:00:00Z" });
    await ex.requeueOrphans();
    expect((await orch.store.get(run.runKey))?.state).toBe("success");
    expect(hooks).toBe(1);
    await ex.dispatch();
    expect((await orch.store.get(next.runKey))?.state).toBe("success");
  });

  it("a corrupt run record is reported with its file and field", async () => {
    const { orch, root } = setup([chain("bad", [{ id: "a", handler: ok }])]);
    const { run } = await orch.trigger("bad", { start: "2024-01-01T00:00:00Z" });
    const file = join(root, "_orchestration", "runs", "bad", `${run.runKey}.json`);
    writeFileSync(file, JSON.stringify({ ...run, state: "exploded" }));
    await expect(orch.store.get(run.runKey)).rejects.toThrow(new RegExp(`${run.runKey}.json: field state`));
  });
});

describe("conf that would escape the data root", () => {
  it("a stage or model name with '..' or '/' fails the run with the field named, writing nothing outside the root", async () => {
    const { loadDags } = await import("../../dags/index.js");
    const root = tmp();
    const orch = new Orchestrator(await loadDags(), new FileRunStore(root));
    const ex = new LocalExecutor(orch, { dataRoot: root });
    const bad = [
      { system: { stage: "../../etc", mode: "simulation" } },
      { system: { stage: "dev", model: { name: "a/b" }, mode: "simulation" } },
      { system: { outputRoot: "/tmp" } },
      { runStore: "s3://bucket/../other" },
    ];
    const keys: string[] = [];
    for (const [i, conf] of bad.entries()) keys.push((await orch.trigger("simulation.momentum", { ...conf, start: `2024-01-0${i + 1}T00:00:00Z`, end: `2024-01-0${i + 1}T01:00:00Z` })).run.runKey);
    await ex.dispatch();
    const errors = await Promise.all(keys.map(async (k) => (await orch.store.get(k))?.tasks["run_system"]?.error ?? ""));
    expect(errors[0]).toMatch(/stage/);
    expect(errors[1]).toMatch(/model/);
    expect(errors[2]).toMatch(/outputRoot is not allowed/);
    expect(errors[3]).toMatch(/\.\./);
    // A bad conf is not retried: one try each, though the DAG allows two retries.
    for (const k of keys) expect((await orch.store.get(k))?.tasks["run_system"]?.history.length).toBe(1);
  }, 30_000);
});

describe("trigger conf", () => {
  it("is laid over the DAG's default conf key by key into nested objects", async () => {
    const dag = defineDag({ id: "conf", defaultConf: { system: { model: { name: "m" }, barMinutes: 5 }, tags: ["a"] }, tasks: [task({ id: "a", handler: ok })] });
    const { orch } = setup([dag]);
    const { run } = await orch.trigger("conf", { start: "2024-01-01T00:00:00Z", system: { barMinutes: 1 }, tags: ["b"] });
    expect(run.conf).toEqual({ start: "2024-01-01T00:00:00Z", system: { model: { name: "m" }, barMinutes: 1 }, tags: ["b"] });
  });
});

describe("shipped DAGs", () => {
  it("broker_experiment runs from its default conf and from a trigger's start, and a bad conf fails at once naming the field", async () => {
    const { brokerExperimentDag } = await import("../../dags/broker-experiment.js");
    const { orch, ex, root } = setup([brokerExperimentDag]);
    const { run } = await orch.trigger("broker_experiment", {});
    const { run: later } = await orch.trigger("broker_experiment", { start: "2024-01-05", bars: 2 });
    const { run: bad } = await orch.trigger("broker_experiment", { start: "2024-01-06T00:00:00Z", bars: -1 });
    await ex.dispatch();
    expect((await orch.store.get(run.runKey))?.state).toBe("success");
    const done = await orch.store.get(later.runKey);
    expect(done?.state).toBe("success");
    expect((done?.tasks["broker_experiment"]?.output as { logDir: string }).logDir).toBe(join(root, "broker_experiment", "20240105_000000", "20240105_000000.20240105_001000", "broker_log"));
    const failed = await orch.store.get(bad.runKey);
    expect(failed?.state).toBe("failed");
    expect(failed?.tasks["broker_experiment"]?.tries).toBe(1);
    expect(failed?.tasks["broker_experiment"]?.error).toMatch(/conf: bars: .*>=1/);
    await expect(orch.trigger("broker_experiment", { start: "2024-02-30" })).rejects.toThrow(/conf\.start must be an ISO UTC time/);
  }, 60_000);
});

