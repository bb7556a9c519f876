// `tradeloop dags ... --executor bullmq` as a user runs it: a one-shot command gives up on a Redis
// that does not answer, naming it, instead of waiting for it forever; with Redis up it works.

import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { freePort, redisForSuite } from "../helpers/redis-server.js";

const redis = redisForSuite();

describe("dags commands on the BullMQ executor", () => {
  it("give up within seconds when nothing listens at REDIS_URL, naming it (its password hidden)", async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-dags-noredis-"));
    const url = `redis://:s3cret@127.0.0.1:${await freePort()}`;
    const shown = url.replace("s3cret", "***");
    for (const args of [["dags", "runs"], ["dags", "trigger", "simulation.momentum", "--start", "2024-01-02"]]) {
      const r = await runCli([...args, "--executor", "bullmq", "--root", root], { env: { REDIS_URL: url }, timeoutMs: 30_000 });
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain(`tradeloop: Redis at ${shown} did not answer within 5 s (connect ECONNREFUSED`);
      expect(r.stderr).toContain("start redis-server there, or set REDIS_URL to a running one");
      expect(r.stderr).not.toContain("s3cret");
      expect(r.ms).toBeLessThan(15_000);
    }
  });

  it("work with Redis up", async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-dags-redis-"));
    const env = { REDIS_URL: redis.server.url };
    const t = await runCli(["dags", "trigger", "simulation.momentum", "--start", "2024-01-02", "--executor", "bullmq", "--root", root, "--quiet"], { env });
    expect(t.status, t.stderr).toBe(0);
    expect(t.stdout).toContain("queued on BullMQ");
    const r = await runCli(["dags", "runs", "--executor", "bullmq", "--root", root], { env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/simulation\.momentum\.manual\.20240102_000000 +running/);
  });
});
