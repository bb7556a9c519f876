// The same DAG gives the same schedule slots on both executors, across a DST change: the local
// scheduler (file records) and the BullMQ one (Redis records) tick through the same hours and
// create the same runs, and BullMQ's own job scheduler, given the DAG's cron and zone, computes the
// same next fire times.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue } from "bullmq";
import { describe, expect, it } from "vitest";
import { defineDag, task } from "../../src/orchestration/dag.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { Orchestrator } from "../../src/orchestration/orchestrator.js";
import { RedisRunStore } from "../../src/orchestration/redis-run-store.js";
import { nextFire } from "../../src/orchestration/schedule.js";
import { redisForSuite } from "../helpers/redis-server.js";

const dag = defineDag({
  id: "berlin",
  schedule: { cron: "30 2 * * *", timezone: "Europe/Berlin" },
  catchupLimit: 2,
  startDate: Date.UTC(2024, 2, 28),
  tasks: [task({ id: "a", handler: async () => null })],
});

const redisSuite = redisForSuite();

describe("schedule slots on both executors", () => {
  it("creates the same runs through the spring-forward and the autumn fall-back", async () => {
    const local = new Orchestrator([dag], new FileRunStore(mkdtempSync(join(tmpdir(), "tl-slots-"))), () => now);
    const redis = new Orchestrator([dag], new RedisRunStore(redisSuite.server.client(), "slots"), () => now);
    let now = 0;
    // Hourly ticks over both 2024 changes (31 March, 27 October), as a scheduler would wake.
    for (const [from, to] of [[Date.UTC(2024, 2, 28), Date.UTC(2024, 3, 3)], [Date.UTC(2024, 9, 24), Date.UTC(2024, 9, 30)]] as const) {
      for (now = from; now <= to; now += 3_600_000) {
        await local.scheduleTick();
        await redis.scheduleTick();
      }
    }
    const keys = async (o: Orchestrator): Promise<string[]> => (await o.store.list("berlin")).map((r) => `${r.runKey} ${new Date(r.logicalEnd).toISOString()}`);
    const a = await keys(local);
    expect(await keys(redis)).toEqual(a);
    // 02:30 local is 01:30 UTC before the spring change and 00:30 UTC after it; the catchup limit
    // of 2 drops the slots missed between the two windows.
    expect(a.slice(0, 3)).toEqual([
      "berlin.scheduled.20240327_013000 2024-03-28T01:30:00.000Z",
      "berlin.scheduled.20240328_013000 2024-03-29T01:30:00.000Z",
      "berlin.scheduled.20240329_013000 2024-03-30T01:30:00.000Z",
    ]);
    // 31 March has no 02:30: cron-parser fires at 03:30 CEST (01:30 UTC), then 00:30 UTC from 1 April.
    expect(a).toContain("berlin.scheduled.20240331_013000 2024-04-01T00:30:00.000Z");
    // 27 October has 02:30 twice, CEST (00:30 UTC) and CET (01:30 UTC): both fire, as they do for
    // BullMQ, which computes each next fire from the previous one; the run between them is an hour.
    expect(a).toContain("berlin.scheduled.20241026_003000 2024-10-27T00:30:00.000Z");
    expect(a).toContain("berlin.scheduled.20241027_003000 2024-10-27T01:30:00.000Z");
    expect(a).toContain("berlin.scheduled.20241027_013000 2024-10-28T01:30:00.000Z");
    await redis.store.close();
  });

  it("agrees with BullMQ's own job scheduler on the next fire times", async () => {
    const queue = new Queue("slots-check", { connection: { url: redisSuite.server.url, maxRetriesPerRequest: null } });
    try {
      // BullMQ computes a scheduler's next run from now or its start date, whichever is later: so
      // start dates around the 2027 changes (28 March, 31 October).
      for (const start of [Date.UTC(2027, 2, 27, 12), Date.UTC(2027, 2, 28, 12), Date.UTC(2027, 9, 30, 12), Date.UTC(2027, 9, 31, 12)]) {
        const id = `s${start}`;
        await queue.upsertJobScheduler(id, { pattern: dag.schedule?.cron ?? "", tz: dag.schedule?.timezone ?? "UTC", startDate: start }, { name: "tick" });
        const s = await queue.getJobScheduler(id);
        expect(s?.next, new Date(start).toISOString()).toBe(nextFire(dag.schedule ?? { cron: "", timezone: "UTC" }, start));
      }
    } finally {
      await queue.obliterate({ force: true });
      await queue.close();
    }
  });
});
