// The BullMQ executor against a real redis-server of its own (no mocks): run records in Redis,
// flows with fixed job ids, retries with BullMQ's backoff, trigger rules, clear-and-rerun, a lost
// lock stopping the task, the SIGTERM hand-off, and two schedulers ticking at once.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Job } from "bullmq";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { taskJobId } from "../../src/orchestration/bullmq-flows.js";
import { TaskInterruptedError } from "../../src/orchestration/try-hand-back.js";
import { defineDag, task, type DagDefinition } from "../../src/orchestration/dag.js";
import { openBullmqScheduler, openBullmqWorker, openExecutor, type BullmqWorkerProcess } from "../../src/orchestration/open-executor.js";
import { RedisRunStore } from "../../src/orchestration/redis-run-store.js";
import { newDagRun, type DagRun } from "../../src/orchestration/run-records.js";
import type { BullmqExecutor } from "../../src/orchestration/bullmq-executor.js";
import { redisForSuite } from "../helpers/redis-server.js";

const redis = redisForSuite();
let root: string;
const logs: string[] = [];
const log = (m: string): void => {
  logs.push(m);
};
const FAST = { lockDurationMs: 2000, stalledIntervalMs: 1000, upstreamPollMs: 200 };

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "tl-bullmq-"));
});

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, f: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${logs.slice(-30).join("\n")}`);
    await sleep(25);
  }
}

async function finished(ex: BullmqExecutor, runKey: string, timeoutMs?: number): Promise<DagRun> {
  return until(`run ${runKey} to finish`, async () => {
    const r = await ex.orchestrator.store.get(runKey);
    return r?.state === "success" || r?.state === "failed" ? r : undefined;
  }, timeoutMs);
}

/** The record says a run ended before its last job's processor returns: wait for BullMQ to catch up. */
async function completedJobs(ex: BullmqExecutor, n: number): Promise<Record<string, number>> {
  return until(`${n} completed jobs`, async () => {
    const c = await ex.queue.getJobCounts();
    return c["completed"] === n && c["active"] === 0 ? c : undefined;
  });
}

async function setup(prefix: string, dags: DagDefinition[], now?: () => number): Promise<{ ex: BullmqExecutor; worker: (s?: object) => Promise<BullmqWorkerProcess>; close: () => Promise<void> }> {
  const ex = await openExecutor("bullmq", { root, redisUrl: redis.server.url, prefix, dags, log, ...(now !== undefined ? { now } : {}) });
  const workers: BullmqWorkerProcess[] = [];
  return {
    ex,
    worker: async (s = {}) => {
      const w = await openBullmqWorker({ root, redisUrl: redis.server.url, prefix, dags, log, settings: { ...FAST, ...s } });
      workers.push(w);
      return w;
    },
    close: async () => {
      for (const w of workers) await w.close();
      await ex.close();
    },
  };
}

describe("RedisRunStore", () => {
  const dag = defineDag({ id: "store_dag", tasks: [task({ id: "a", handler: async () => null })] });

  it("creates a run once however many ask at once, lists by logical start, and raises lastFire only", async () => {
    const a = new RedisRunStore(redis.server.client(), "s1");
    const b = new RedisRunStore(redis.server.client(), "s1");
    const runs = [3, 1, 2].map((d) => newDagRun(dag, "manual", { start: Date.UTC(2024, 0, d), end: Date.UTC(2024, 0, d + 1) }, { who: d }, 0));
    const results = await Promise.all(runs.flatMap((r) => [a.create(r), b.create({ ...r, conf: { who: "other" } }), a.create(r)]));
    expect(results.filter((r) => r.created)).toHaveLength(3);
    const listed = await b.list("store_dag");
    expect(listed.map((r) => r.logicalStart)).toEqual([1, 2, 3].map((d) => Date.UTC(2024, 0, d)));
    expect((await a.list()).length).toBe(3);
    for (const r of listed) expect(results.filter((x) => x.run.runKey === r.runKey).every((x) => JSON.stringify(x.run) === JSON.stringify(r))).toBe(true);

    await a.advanceLastFire("store_dag", 200);
    await b.advanceLastFire("store_dag", 100);
    expect(await a.lastFire("store_dag")).toBe(200);
    expect(await a.lastFire("never")).toBeUndefined();
    await a.close();
    await b.close();
  });

  it("updates by compare-and-set: concurrent changes from two connections all land", async () => {
    const a = new RedisRunStore(redis.server.client(), "s2");
    const b = new RedisRunStore(redis.server.client(), "s2");
    const run = newDagRun(dag, "manual", { start: 0, end: 1 }, { n: 0 }, 0);
    await a.create(run);
    const bump = (s: RedisRunStore) => s.update(run.runKey, (r) => {
      r.conf["n"] = (r.conf["n"] as number) + 1;
    });
    await Promise.all(Array.from({ length: 40 }, (_, i) => bump(i % 2 === 0 ? a : b)));
    const after = await a.get(run.runKey);
    expect(after?.conf["n"]).toBe(40);
    expect(after?.version).toBe(40);
    expect((await a.update(run.runKey, () => false)).version).toBe(40);
    await a.close();
    await b.close();
  });

  it("names the key and the field of a corrupt record", async () => {
    const r = redis.server.client();
    const s = new RedisRunStore(redis.server.client(), "s3");
    const run = newDagRun(dag, "manual", { start: 0, end: 1 }, {}, 0);
    await s.create(run);
    const bad = { ...run, tasks: { a: { state: "sleeping", tries: 0, history: [] } } };
    await r.hset(s.runKeyName(run.runKey), "json", JSON.stringify(bad));
    await expect(s.get(run.runKey)).rejects.toThrow(`redis key s3:orch:run:${run.runKey}: field tasks.a.state`);
    await r.hset(s.runKeyName(run.runKey), "json", "{not json");
    await expect(s.list()).rejects.toThrow(/redis key s3:orch:run:.*not a JSON run record/);
    r.disconnect();
    await s.close();
  });
});

describe("BullMQ executor", () => {
  it("retries a failing task with the task's exponential backoff, counting tries as BullMQ does", async () => {
    const calls: number[] = [];
    const dag = defineDag({
      id: "retry_dag",
      tasks: [
        task({
          id: "flaky",
          retries: 3,
          retryBackoffMs: 150,
          handler: async () => {
            calls.push(Date.now());
            if (calls.length <= 2) throw new Error(`boom ${calls.length}`);
            return { ok: calls.length };
          },
        }),
        task({ id: "after", upstream: ["flaky"], handler: async (ctx) => ctx.upstream }),
      ],
    });
    const h = await setup("r1", [dag]);
    await h.worker();
    const { run } = await h.ex.orchestrator.trigger("retry_dag", { start: "2024-01-01T00:00:00Z" });
    await h.ex.dispatch();
    const done = await finished(h.ex, run.runKey);
    expect(done.state).toBe("success");
    const flaky = done.tasks["flaky"];
    expect(flaky?.history.map((x) => [x.try, x.state])).toEqual([[1, "up_for_retry"], [2, "up_for_retry"], [3, "success"]]);
    expect(flaky?.tries).toBe(3);
    expect(done.tasks["after"]?.output).toEqual({ flaky: { ok: 3 } });
    // BullMQ's exponential backoff: 150 ms before retry 1, 300 ms before retry 2.
    expect(calls[1]! - calls[0]!).toBeGreaterThanOrEqual(140);
    expect(calls[2]! - calls[1]!).toBeGreaterThanOrEqual(290);
    const job = (await h.ex.queue.getJob(taskJobId(run.runKey, "flaky", 0))) as Job;
    // Every finished attempt counts, the completed one too: the record's tries and BullMQ agree.
    expect(job.attemptsMade).toBe(3);
    expect(job.opts.attempts).toBe(4);
    expect(await job.getState()).toBe("completed");
    await h.close();
  });

  it("applies trigger rules: after a task fails for good, all_success and none_failed tasks below it end upstream_failed, all_done ones run", async () => {
    const ran: string[] = [];
    const ok = (id: string) => async () => {
      ran.push(id);
      return id;
    };
    const dag = defineDag({
      id: "rules_dag",
      tasks: [
        task({ id: "bad", retries: 1, retryBackoff: "fixed", retryBackoffMs: 50, handler: async () => {
          ran.push("bad");
          throw new Error("always");
        } }),
        task({ id: "good", handler: ok("good") }),
        task({ id: "cleanup", upstream: ["bad", "good"], triggerRule: "all_done", handler: ok("cleanup") }),
        task({ id: "report", upstream: ["cleanup"], handler: ok("report") }),
        task({ id: "bad2", handler: async () => {
          throw new Error("nope");
        } }),
        task({ id: "needs_bad2", upstream: ["bad2"], handler: ok("needs_bad2") }),
        task({ id: "tolerant", upstream: ["needs_bad2"], triggerRule: "none_failed", handler: ok("tolerant") }),
      ],
      maxActiveRuns: 1,
    });
    const h = await setup("r2", [dag]);
    await h.worker({ concurrency: 2 });
    const { run } = await h.ex.orchestrator.trigger("rules_dag", { start: "2024-01-01T00:00:00Z" });
    await h.ex.dispatch();
    const done = await finished(h.ex, run.runKey);
    const states = Object.fromEntries(Object.entries(done.tasks).map(([k, v]) => [k, v.state]));
    expect(states).toEqual({ bad: "failed", good: "success", cleanup: "success", report: "success", bad2: "failed", needs_bad2: "upstream_failed", tolerant: "upstream_failed" });
    expect(done.state).toBe("failed");
    expect(done.tasks["bad"]?.tries).toBe(2);
    expect(done.tasks["needs_bad2"]?.reason).toMatch(/all_success: bad2 failed/);
    expect(ran.filter((x) => x === "bad")).toHaveLength(2);
    expect(ran).not.toContain("needs_bad2");
    expect(ran).not.toContain("tolerant");
    // Every job finished in BullMQ (a final failure completes its job: the record holds the failure).
    const counts = await completedJobs(h.ex, 7);
    expect(counts["failed"]).toBe(0);
    expect((await h.ex.queue.getJob(taskJobId(run.runKey, "needs_bad2", 0)))?.returnvalue).toEqual({ outcome: "noop", state: "upstream_failed" });
    await h.close();
  });

  it("adds a run's flow once however often it is dispatched, and a cleared task gets a fresh job", async () => {
    const ran: string[] = [];
    const dag = defineDag({
      id: "flow_dag",
      tasks: [
        task({ id: "a", handler: async () => ran.push("a") }),
        task({ id: "b", handler: async () => ran.push("b") }),
        task({ id: "c", upstream: ["a", "b"], handler: async () => ran.push("c") }),
        task({ id: "d", upstream: ["c"], handler: async () => ran.push("d") }),
      ],
    });
    const h = await setup("r3", [dag]);
    const other = await openExecutor("bullmq", { root, redisUrl: redis.server.url, prefix: "r3", dags: [dag], log });
    const { run } = await h.ex.orchestrator.trigger("flow_dag", { start: "2024-01-01T00:00:00Z" });
    await Promise.all([h.ex.dispatch(), other.dispatch(), h.ex.dispatch()]);
    const started = (await h.ex.orchestrator.store.get(run.runKey)) as DagRun;
    await Promise.all([h.ex.enqueue(started), other.enqueue(started)]);
    const counts = await h.ex.queue.getJobCounts();
    expect(counts["waiting"]).toBe(2);
    expect(counts["waiting-children"]).toBe(2);
    const d = (await h.ex.queue.getJob(`${run.runKey}.d`)) as Job;
    expect((await d.getDependencies()).unprocessed).toEqual([`r3:tasks:${run.runKey}.c`]);

    await h.worker();
    expect((await finished(h.ex, run.runKey)).state).toBe("success");
    expect(ran.sort()).toEqual(["a", "b", "c", "d"]);

    // Clear c: c and d run again, in jobs of generation 1; a and b are not touched.
    ran.length = 0;
    const cleared = await h.ex.orchestrator.clear(run.runKey, "c");
    expect(cleared.cleared.sort()).toEqual(["c", "d"]);
    await Promise.all([h.ex.dispatch(), other.dispatch()]);
    const again = await finished(h.ex, run.runKey);
    expect(again.state).toBe("success");
    expect(ran.sort()).toEqual(["c", "d"]);
    expect(await h.ex.queue.getJob(`${run.runKey}.d.g1`)).toBeDefined();
    expect(await h.ex.queue.getJob(`${run.runKey}.c.g1`)).toBeDefined();
    expect(await h.ex.queue.getJob(`${run.runKey}.a.g1`)).toBeUndefined();
    expect(again.tasks["c"]?.history).toHaveLength(2);
    expect((await completedJobs(h.ex, 6))["waiting"]).toBe(0);
    await other.close();
    await h.close();
  });

  it("a replaced run runs again from the start with its new conf, in jobs of a new generation", async () => {
    const seen: unknown[] = [];
    const dag = defineDag({
      id: "replace_dag",
      tasks: [task({ id: "a", handler: async (ctx) => seen.push(ctx.conf["n"]) }), task({ id: "b", upstream: ["a"], handler: async (ctx) => seen.push(`b${String(ctx.conf["n"])}`) })],
    });
    const h = await setup("r9", [dag]);
    await h.worker();
    const { run } = await h.ex.orchestrator.trigger("replace_dag", { start: "2024-01-01T00:00:00Z", n: 1 });
    await h.ex.dispatch();
    expect((await finished(h.ex, run.runKey)).state).toBe("success");
    const again = await h.ex.orchestrator.trigger("replace_dag", { start: "2024-01-01T00:00:00Z", n: 2 });
    expect(again.created).toBe(false);
    const replaced = await h.ex.orchestrator.trigger("replace_dag", { start: "2024-01-01T00:00:00Z", n: 2 }, undefined, { replace: true });
    expect([replaced.created, replaced.replaced, replaced.run.state, replaced.run.conf["n"]]).toEqual([true, "success", "queued", 2]);
    await h.ex.dispatch();
    const done = await finished(h.ex, run.runKey);
    expect(done.state).toBe("success");
    expect(done.tasks["a"]?.history).toHaveLength(1);
    expect(seen).toEqual([1, "b1", 2, "b2"]);
    expect(await h.ex.queue.getJob(`${run.runKey}.a.g1`)).toBeDefined();
    await h.close();
  });

  it("a worker that finishes a run starts the next queued run of the DAG (maxActiveRuns 1), with no scheduler tick", async () => {
    const order: string[] = [];
    const dag = defineDag({ id: "one_at_a_time", maxActiveRuns: 1, tasks: [task({ id: "a", handler: async (ctx) => order.push(ctx.runKey) })] });
    const h = await setup("r7", [dag]);
    const keys: string[] = [];
    for (const d of [2, 1, 3]) keys.push((await h.ex.orchestrator.trigger("one_at_a_time", { start: `2024-01-0${d}T00:00:00Z` })).run.runKey);
    await h.ex.dispatch();
    expect((await h.ex.orchestrator.store.list()).map((r) => r.state)).toEqual(["running", "queued", "queued"]);
    await h.worker();
    for (const k of keys) expect((await finished(h.ex, k)).state).toBe("success");
    // Oldest logical start first, one at a time.
    expect(order).toEqual([...keys].sort());
    await h.close();
  });

  it("stops a task whose lock was lost (its signal aborts), hands it back uncounted, and runs it again", async () => {
    const reasons: unknown[] = [];
    let calls = 0;
    const dag = defineDag({
      id: "lock_dag",
      tasks: [
        task({ id: "session", handler: async (ctx) => {
          calls++;
          if (calls > 1) return "second try done";
          await new Promise<void>((_, reject) => ctx.signal.addEventListener("abort", () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason as Error);
          }, { once: true }));
          return "unreachable";
        } }),
      ],
    });
    const h = await setup("r4", [dag]);
    await h.worker();
    const { run } = await h.ex.orchestrator.trigger("lock_dag", { start: "2024-01-01T00:00:00Z" });
    await h.ex.dispatch();
    await until("the session to run", async () => ((await h.ex.orchestrator.store.get(run.runKey))?.tasks["session"]?.state === "running" ? true : undefined));
    // Take the lock away, as if it had expired and another worker had the job now.
    const r = redis.server.client();
    expect(await r.del(`r4:tasks:${taskJobId(run.runKey, "session", 0)}:lock`)).toBe(1);
    r.disconnect();
    const done = await finished(h.ex, run.runKey);
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toBeInstanceOf(TaskInterruptedError);
    expect(String((reasons[0] as Error).message)).toMatch(/lock could not be renewed/);
    expect(done.state).toBe("success");
    const s = done.tasks["session"];
    expect(s?.tries).toBe(1);
    expect(s?.history.map((x) => [x.try, x.state])).toEqual([[1, "failed"], [1, "success"]]);
    expect(s?.history[0]?.error).toMatch(/handed back: .*not counted as a try/);
    await h.close();
  });

  it("a job BullMQ fails on its own (stalled more than maxStalledCount) fails its task in the record, so the run ends", async () => {
    let calls = 0;
    const dag = defineDag({
      id: "stall_dag",
      tasks: [
        task({ id: "session", retries: 2, handler: async (ctx) => {
          calls++;
          await new Promise<void>((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true }));
        } }),
        task({ id: "after", upstream: ["session"], triggerRule: "all_done", handler: async () => "ran" }),
      ],
    });
    const h = await setup("r8", [dag]);
    await h.worker({ maxStalledCount: 1 });
    const { run } = await h.ex.orchestrator.trigger("stall_dag", { start: "2024-01-01T00:00:00Z" });
    await h.ex.dispatch();
    const lockKey = `r8:tasks:${taskJobId(run.runKey, "session", 0)}:lock`;
    const r = redis.server.client();
    // Lose the lock twice: the second stall is one more than BullMQ allows.
    for (const n of [1, 2]) {
      await until(`try ${n} to run`, async () => (calls >= n && (await r.exists(lockKey)) === 1 ? true : undefined));
      await r.del(lockKey);
    }
    r.disconnect();
    const done = await finished(h.ex, run.runKey);
    expect(done.state).toBe("failed");
    expect(done.tasks["session"]?.state).toBe("failed");
    expect(done.tasks["session"]?.error).toMatch(/queue: job stalled more than allowable limit/);
    // The failure released the downstream all_done task (ignoreDependencyOnFailure), which ran.
    expect(done.tasks["after"]?.state).toBe("success");
    expect(calls).toBe(2);
    await h.close();
  });

  it("SIGTERM hand-off: the task stops, then its job goes back to wait without spending an attempt", async () => {
    let calls = 0;
    let settledAt = 0;
    const dag = defineDag({
      id: "handoff_dag",
      tasks: [
        task({ id: "session", retries: 0, handler: async (ctx) => {
          calls++;
          if (calls > 1) return "resumed";
          await new Promise<void>((resolve) => ctx.signal.addEventListener("abort", () => resolve(), { once: true }));
          // The session finishes its bar and checkpoints before it stops.
          await sleep(300);
          settledAt = Date.now();
          throw new Error("stopped");
        } }),
      ],
    });
    const h = await setup("r5", [dag]);
    const first = await h.worker();
    const { run } = await h.ex.orchestrator.trigger("handoff_dag", { start: "2024-01-01T00:00:00Z" });
    await h.ex.dispatch();
    const jobId = taskJobId(run.runKey, "session", 0);
    await until("the session to run", () => (first.worker.activeJobIds().includes(jobId) ? true : undefined));
    const stopping = first.close("SIGTERM received");
    const waitingAt = await until("the job back in wait", async () => ((await (await h.ex.queue.getJob(jobId))?.getState()) === "waiting" ? Date.now() : undefined));
    await stopping;
    expect(settledAt).toBeGreaterThan(0);
    expect(waitingAt).toBeGreaterThanOrEqual(settledAt);
    const job = (await h.ex.queue.getJob(jobId)) as Job;
    expect(job.attemptsMade).toBe(0);
    const rec = (await h.ex.orchestrator.store.get(run.runKey)) as DagRun;
    expect(rec.state).toBe("running");
    expect(rec.tasks["session"]?.state).toBe("queued");
    expect(rec.tasks["session"]?.history[0]?.error).toMatch(/handed back: SIGTERM received/);

    // The next worker runs it as try 1 still (retries: 0, and the run succeeds).
    await h.worker();
    const done = await finished(h.ex, run.runKey);
    expect(done.state).toBe("success");
    expect(done.tasks["session"]?.output).toBe("resumed");
    expect(done.tasks["session"]?.tries).toBe(1);
    await h.close();
  });
});

describe("BullMQ executor: a task that ignores the hand-off", () => {
  it("is not handed to another worker while it may still run: its job comes back only once its lock expires", async () => {
    let calls = 0;
    let firstEndedAt = 0;
    const dag = defineDag({
      id: "stubborn_dag",
      tasks: [
        task({ id: "session", handler: async () => {
          calls++;
          if (calls > 1) return "second";
          // Asleep until its next bar, deaf to the signal (as a real-clock session between bars).
          await sleep(1500);
          firstEndedAt = Date.now();
          return "first";
        } }),
      ],
    });
    const h = await setup("r9", [dag]);
    const first = await h.worker({ handOffGraceMs: 200 });
    const { run } = await h.ex.orchestrator.trigger("stubborn_dag", { start: "2024-01-01T00:00:00Z" });
    await h.ex.dispatch();
    const jobId = taskJobId(run.runKey, "session", 0);
    await until("the session to run", () => (first.worker.activeJobIds().includes(jobId) ? true : undefined));
    await first.close("SIGTERM received");
    expect(await (await h.ex.queue.getJob(jobId))?.getState()).toBe("active");
    await h.worker();
    const done = await finished(h.ex, run.runKey);
    expect(done.state).toBe("success");
    expect(done.tasks["session"]?.output).toBe("second");
    // The second try started only after the lock of the first had expired (2 s lock).
    expect((done.tasks["session"]?.startedAt ?? 0) - (done.tasks["session"]?.history[0]?.startedAt ?? 0)).toBeGreaterThan(1900);
    expect(done.tasks["session"]?.history[0]?.error).toMatch(/handed back: SIGTERM received/);
    await until("the first handler to end", () => (firstEndedAt > 0 ? true : undefined));
    await h.close();
  });
});

describe("BullMQ scheduler", () => {
  it("two schedulers ticking at once create each run and each job once", async () => {
    const now = Date.UTC(2024, 5, 1, 12, 2);
    const dag = defineDag({
      id: "every5",
      schedule: { cron: "*/5 * * * *", timezone: "UTC" },
      startDate: Date.UTC(2024, 5, 1),
      catchupLimit: 6,
      maxActiveRuns: 10,
      tasks: [task({ id: "a", handler: async () => null }), task({ id: "b", upstream: ["a"], handler: async () => null })],
    });
    const one = await openBullmqScheduler({ root, redisUrl: redis.server.url, prefix: "r6", dags: [dag], log, now: () => now, tickEveryMs: 200 });
    const two = await openBullmqScheduler({ root, redisUrl: redis.server.url, prefix: "r6", dags: [dag], log, now: () => now, tickEveryMs: 200 });
    const ticks = await Promise.all([one.scheduler.tick(), two.scheduler.tick(), one.scheduler.tick(), two.scheduler.tick()]);
    // Let the BullMQ job scheduler tick a few times as well.
    await until("ticks through the job scheduler", () => (one.scheduler.ticks + two.scheduler.ticks >= 8 ? true : undefined), 10_000);
    const runs = await one.executor.orchestrator.store.list("every5");
    expect(runs.map((r) => new Date(r.logicalStart).toISOString().slice(11, 16))).toEqual(["11:30", "11:35", "11:40", "11:45", "11:50", "11:55"]);
    const created = [...ticks.flatMap((t) => t.created.map((r) => r.runKey))];
    expect(new Set(created).size).toBe(created.length);
    expect(runs.every((r) => r.state === "running")).toBe(true);
    const counts = await one.executor.queue.getJobCounts();
    expect(counts["waiting"]).toBe(6);
    expect(counts["waiting-children"]).toBe(6);
    expect(await one.executor.queue.getJob(`${runs[0]!.runKey}.b`)).toBeDefined();
    await one.close();
    await two.close();
  });
});
