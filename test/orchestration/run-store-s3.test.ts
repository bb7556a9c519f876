// A DAG run whose conf names an S3 run store: the run directory goes up to a real s3rver with
// `_SUCCESS` last and reads back through the loader; an unreachable store fails the task with an
// error that says what to check, and nothing marks the run successful.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDags } from "../../dags/index.js";
import { FileRunStore } from "../../src/orchestration/file-run-store.js";
import { LocalExecutor } from "../../src/orchestration/local-executor.js";
import { Orchestrator } from "../../src/orchestration/orchestrator.js";
import { readBrokerLogParquet } from "../../src/oms/broker-log-parquet.js";
import { openStore } from "../../src/storage/open-store.js";
import { openRunDir } from "../../src/storage/run-store.js";
import { loadSystemLog } from "../../src/system/system-log-loader.js";
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHandle } from "../helpers/s3rver.js";

const CONF = {
  start: "2024-01-02T00:00:00Z",
  end: "2024-01-02T03:00:00Z",
  system: { model: { name: "momentum" }, mode: "simulation", barMinutes: 5, universe: { kind: "synthetic", assets: 3, seed: 2 }, data: { source: "synthetic" }, broker: { kind: "instant_fill" } },
};
const RUN = "dev/momentum/simulation/manual/20240102_000000.20240102_030000";

let s3: S3rverHandle;
const saved: Record<string, string | undefined> = {};

beforeAll(async () => {
  s3 = await startS3rver(["runs"]);
  for (const k of ["AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"]) saved[k] = process.env[k];
  process.env["AWS_ENDPOINT_URL"] = s3.endpoint;
  process.env["AWS_ACCESS_KEY_ID"] = S3RVER_CREDENTIALS.accessKeyId;
  process.env["AWS_SECRET_ACCESS_KEY"] = S3RVER_CREDENTIALS.secretAccessKey;
  process.env["AWS_REGION"] = "us-east-1";
});

afterAll(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  await s3.stop();
});

async function runDag(conf: Record<string, unknown>) {
  const root = mkdtempSync(join(tmpdir(), "tl-s3run-"));
  const orch = new Orchestrator(await loadDags(), new FileRunStore(root));
  const ex = new LocalExecutor(orch, { dataRoot: root });
  const { run } = await orch.trigger("simulation.momentum", conf);
  await ex.dispatch();
  return { root, run: await orch.store.get(run.runKey) };
}

describe("run directories on S3", () => {
  it("publishes the run with _SUCCESS and reads it back from s3://", async () => {
    const { root, run } = await runDag({ ...CONF, runStore: "s3://runs/team-a" });
    expect(run?.state, JSON.stringify(run?.tasks)).toBe("success");
    expect((run?.tasks["run_system"]?.output as { runUrl: string }).runUrl).toBe(`s3://runs/team-a/${RUN}`);
    const store = openStore("s3://runs/team-a");
    const keys = await store.list(RUN);
    expect(keys).toContain(`${RUN}/_SUCCESS`);
    expect(keys).toContain(`${RUN}/system_log_dir/portfolio.jsonl`);
    // The Parquet copies are written by their own task after the run and go up with the run.
    const pq = run?.tasks["broker_log_parquet"];
    expect(pq?.state).toBe("success");
    const copies = (pq?.output as { files: { stream: string; rows: number }[] }).files;
    expect(copies.map((f) => f.stream)).toEqual(["ccxt_trades", "oms_child_orders", "bid_ask", "ccxt_fills", "oms_fills"]);
    for (const f of copies) expect(keys).toContain(`${RUN}/system_log_dir/broker_log/${f.stream}.parquet`);
    const local = await openRunDir(`s3://runs/team-a/${RUN}`, mkdtempSync(join(tmpdir(), "tl-cache-")));
    const fromS3 = loadSystemLog(join(local, "system_log_dir"));
    const fromDisk = loadSystemLog(join(root, RUN, "system_log_dir"));
    expect(fromS3.portfolio.length).toBe(37);
    expect(fromS3.portfolio.at(-1)?.netWealth.toFixed()).toBe(fromDisk.portfolio.at(-1)?.netWealth.toFixed());
    expect(readFileSync(join(local, "system_log_dir", "summary.json"), "utf8")).toBe(readFileSync(join(root, RUN, "system_log_dir", "summary.json"), "utf8"));
    const fills = await readBrokerLogParquet(join(local, "system_log_dir", "broker_log"), "oms_fills");
    expect(fills?.length).toBe(copies.find((f) => f.stream === "oms_fills")?.rows);
    expect(fills?.length).toBe(fromDisk.fills.length);
  });

  it("a missing bucket fails the task, retried by its policy, with an error naming the bucket", async () => {
    const { run } = await runDag({ ...CONF, runStore: "s3://no-such-bucket/x" });
    const t = run?.tasks["run_system"];
    expect(run?.state).toBe("failed");
    expect(t?.history.length).toBe(3); // the simulation DAG's run_system has 2 retries
    expect(t?.error).toMatch(/no-such-bucket/);
  }, 120_000);
});
