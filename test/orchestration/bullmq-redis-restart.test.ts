// Redis restarted in the middle of a DAG run loses no job: one task running, others waiting in
// the queue or for their children, run records in Redis. The server here runs with AOF and
// fsync on every write: a Redis that must survive restarts needs AOF (the other tests' servers have
// no persistence, and a restart of those loses every key, jobs and run records alike).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defineDag, task } from "../../src/orchestration/dag.js";
import { openBullmqWorker, openExecutor } from "../../src/orchestration/open-executor.js";
import type { DagRun } from "../../src/orchestration/run-records.js";
import { redisForSuite } from "../helpers/redis-server.js";

const redis = redisForSuite({ persistence: "aof" });
let root: string;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "tl-bq-restart-"));
});

afterAll(async () => {
  rmSync(root, { recursive: true, force: true });
});

describe("BullMQ executor: Redis restart", () => {
  it("a Redis restarted mid-run (with AOF) loses no job: every task runs once and the run succeeds", async () => {
    const calls: Record<string, number> = {};
    const work = (id: string, ms: number) => async () => {
      calls[id] = (calls[id] ?? 0) + 1;
      await sleep(ms);
      return id;
    };
    const dag = defineDag({
      id: "restart_dag",
      tasks: [
        task({ id: "a1", handler: work("a1", 1500) }),
        task({ id: "a2", handler: work("a2", 300) }),
        task({ id: "a3", handler: work("a3", 300) }),
        task({ id: "join", upstream: ["a1", "a2", "a3"], handler: work("join", 300) }),
        task({ id: "final", upstream: ["join"], handler: work("final", 300) }),
      ],
    });
    const logs: string[] = [];
    const log = (m: string): void => {
      logs.push(m);
    };
    const ex = await openExecutor("bullmq", { root, redisUrl: redis.server.url, dags: [dag], log });
    // A lock long enough to outlast the restart: this test is about jobs, not lock loss.
    const w = await openBullmqWorker({ root, redisUrl: redis.server.url, dags: [dag], log, settings: { concurrency: 1, lockDurationMs: 15_000, stalledIntervalMs: 5_000 } });
    try {
      const { run } = await ex.orchestrator.trigger("restart_dag", { start: "2024-01-01T00:00:00Z" });
      await ex.dispatch();
      for (let i = 0; i < 200 && calls["a1"] === undefined; i++) await sleep(10);
      expect(calls["a1"]).toBe(1);
      const before = await ex.queue.getJobCounts();
      // a1 runs; a2 and a3 wait; join and final wait for their children.
      expect(before["active"]).toBe(1);
      expect(before["waiting"]).toBe(2);
      expect(before["waiting-children"]).toBe(2);

      const runId = async (): Promise<string> => {
        const c = redis.server.client();
        try {
          return /run_id:(\w+)/.exec(await c.info("server"))?.[1] ?? "?";
        } finally {
          c.disconnect();
        }
      };
      const serverBefore = await runId();
      await redis.server.restart();
      expect(await runId()).not.toBe(serverBefore);

      let done: DagRun | undefined;
      for (let i = 0; i < 600; i++) {
        done = await ex.orchestrator.store.get(run.runKey);
        if (done?.state === "success" || done?.state === "failed") break;
        await sleep(50);
      }
      expect(done?.state, `${JSON.stringify(done?.tasks)}\n${logs.slice(-20).join("\n")}`).toBe("success");
      expect(calls).toEqual({ a1: 1, a2: 1, a3: 1, join: 1, final: 1 });
      expect(Object.values(done?.tasks ?? {}).map((t) => t.tries)).toEqual([1, 1, 1, 1, 1]);
      // The record says the run ended before the last job's processor returns: give BullMQ a moment.
      let after: Record<string, number> = {};
      for (let i = 0; i < 200; i++) {
        after = await ex.queue.getJobCounts();
        if (after["active"] === 0) break;
        await sleep(25);
      }
      expect(after["completed"]).toBe(5);
      expect(after["failed"]).toBe(0);
    } finally {
      await w.close();
      await ex.close();
    }
  }, 60_000);
});
