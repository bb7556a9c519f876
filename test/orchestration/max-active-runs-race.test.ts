// maxActiveRuns holds across dispatchers (two schedulers, or a scheduler and a worker, on one run
// store). The race: dispatcher X lists the runs; meanwhile a run with an earlier logical start is
// queued (a backfill, a cleared run) and dispatcher Y starts it; X, going by its stale list, would
// then start another run of the DAG past its limit. Each DAG's runs are admitted under its lock.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defineDag, task } from "../../src/orchestration/dag.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { Orchestrator } from "../../src/orchestration/orchestrator.js";
import { RedisRunStore } from "../../src/orchestration/redis-run-store.js";
import type { RunRecordStore } from "../../src/orchestration/run-record-store.js";
import type { DagRun } from "../../src/orchestration/run-records.js";
import { redisForSuite } from "../helpers/redis-server.js";

const DAY = 86_400_000;
const dag = defineDag({ id: "single", maxActiveRuns: 1, tasks: [task({ id: "a", handler: async () => null })] });

const redis = redisForSuite();

/** A store whose first list() answers, then holds the caller until `release` (a slow dispatcher). */
class HeldAfterFirstList implements RunRecordStore {
  private held = false;
  private releaseHold: () => void = () => undefined;
  private readonly hold = new Promise<void>((resolve) => (this.releaseHold = resolve));
  /** Resolves once the first list() has been answered and the caller is held. */
  readonly listed: Promise<void>;
  private markListed: () => void = () => undefined;

  constructor(private readonly base: RunRecordStore) {
    this.listed = new Promise<void>((resolve) => (this.markListed = resolve));
  }

  release(): void {
    this.releaseHold();
  }

  async list(dagId?: string): Promise<DagRun[]> {
    const runs = await this.base.list(dagId);
    if (this.held) return runs;
    this.held = true;
    this.markListed();
    await this.hold;
    return runs;
  }

  create(run: DagRun): Promise<{ created: boolean; run: DagRun }> {
    return this.base.create(run);
  }
  get(runKey: string): Promise<DagRun | undefined> {
    return this.base.get(runKey);
  }
  update(runKey: string, change: (run: DagRun) => boolean | void): Promise<DagRun> {
    return this.base.update(runKey, change);
  }
  withDagLock<T>(dagId: string, admit: () => Promise<T>): Promise<T> {
    return this.base.withDagLock(dagId, admit);
  }
  lastFire(dagId: string): Promise<number | undefined> {
    return this.base.lastFire(dagId);
  }
  advanceLastFire(dagId: string, fireAt: number): Promise<void> {
    return this.base.advanceLastFire(dagId, fireAt);
  }
  close(): Promise<void> {
    return this.base.close();
  }
}

const day = (d: number): { start: number; end: number } => ({ start: d * DAY, end: (d + 1) * DAY });

describe.each(["file", "redis"] as const)("maxActiveRuns across two dispatchers (%s store)", (kind) => {
  it("a dispatcher going by a stale list does not start a second run past the limit", async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-race-"));
    const open = (): RunRecordStore => (kind === "file" ? new FileRunStore(root) : new RedisRunStore(redis.server.client(), "race"));
    const slow = new HeldAfterFirstList(open());
    const x = new Orchestrator([dag], slow, () => 0);
    const y = new Orchestrator([dag], open(), () => 0);
    try {
      await y.trigger(dag.id, {}, day(5));
      await y.trigger(dag.id, {}, day(6));
      const xStarting = x.startQueuedRuns();
      await slow.listed;
      // X has listed days 5 and 6 queued. A run for day 1 is queued, and Y starts it.
      await y.trigger(dag.id, {}, day(1));
      const yStarted = await y.startQueuedRuns();
      expect(yStarted.map((r) => r.logicalStart)).toEqual([DAY]);
      slow.release();
      const xStarted = await xStarting;
      expect(xStarted).toEqual([]);
      const running = (await y.store.list(dag.id)).filter((r) => r.state === "running").map((r) => r.logicalStart);
      expect(running).toEqual([DAY]);
    } finally {
      await x.store.close();
      await y.store.close();
    }
  });

  it("two dispatchers starting at once report each started run once", async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-race-"));
    const open = (): RunRecordStore => (kind === "file" ? new FileRunStore(root) : new RedisRunStore(redis.server.client(), "race2"));
    const pair = defineDag({ id: "pair", maxActiveRuns: 2, tasks: [task({ id: "a", handler: async () => null })] });
    const [a, b] = [open(), open()].map((s) => new Orchestrator([dag, pair], s, () => 0)) as [Orchestrator, Orchestrator];
    try {
      for (let round = 0; round < 5; round++) {
        for (const d of [dag, pair]) for (let i = 0; i < 3; i++) await a.trigger(d.id, {}, day(round * 3 + i));
        const [sa, sb] = await Promise.all([a.startQueuedRuns(), b.startQueuedRuns()]);
        const keys = [...sa, ...sb].map((r) => r.runKey).sort();
        const running = (await a.store.list()).filter((r) => r.state === "running");
        expect(keys).toEqual(running.map((r) => r.runKey).sort());
        expect(running.map((r) => r.dagId).sort()).toEqual(["pair", "pair", "single"]);
        for (const r of running) await a.store.update(r.runKey, (run) => {
          run.state = "success";
        });
      }
    } finally {
      await a.store.close();
      await b.store.close();
    }
  });
});
