// Run directories on a Store: a real simulated run is uploaded to local disk and to S3 (s3rver), read
// back through openRunDir and loadSystemLog, and kept in sync while "written"; `_SUCCESS` goes last.

import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, sep } from "node:path";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalStore } from "../../src/storage/local-store.js";
import { SUCCESS_MARKER } from "../../src/storage/run-layout.js";
import { contentTypeFor, materializeRun, openRunDir, RunDirSync, runPrefix, uploadRunDir } from "../../src/storage/run-store.js";
import { S3Store } from "../../src/storage/s3-store.js";
import { StoreError } from "../../src/storage/store.js";
import { resolveConfig } from "../../src/system/config.js";
import { runIdentity, runSystem, type RunSystemResult } from "../../src/system/run-system.js";
import { loadSystemLog, type SystemLog } from "../../src/system/system-log-loader.js";
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHandle } from "../helpers/s3rver.js";

const BUCKET = "tl-runs";
const PREFIX = "dev/momentum/simulation/manual/20240102_000000.20240102_020000";

let server: S3rverHandle;
let s3: S3Store;
let run: RunSystemResult;
let files: string[];

function tmp(prefix = "tl-run-store-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

async function storeError(p: Promise<unknown>): Promise<StoreError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof StoreError) return e;
    throw e;
  }
  throw new Error("expected a StoreError, got success");
}

/** What a loaded log says, without the local paths it was read from. */
function content(log: SystemLog): Omit<SystemLog, "dir" | "brokerLogDir" | "marketDataDir"> {
  const { dir: _d, brokerLogDir: _b, marketDataDir: _m, ...rest } = log;
  return rest;
}

function s3Options(): { endpoint: string; region: string; credentials: typeof S3RVER_CREDENTIALS } {
  return { endpoint: server.endpoint, region: "us-east-1", credentials: S3RVER_CREDENTIALS };
}

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  s3 = new S3Store({ bucket: BUCKET, prefix: "runs", ...s3Options() });
  const cfg = resolveConfig({
    model: { name: "momentum", params: { lookbackBars: 2, volatilityBars: 4 } },
    mode: "simulation",
    start: "2024-01-02T00:00:00Z",
    end: "2024-01-02T02:00:00Z",
    barMinutes: 5,
    universe: { kind: "synthetic", assets: 3, seed: 5 },
    data: { source: "synthetic", seed: 5 },
    broker: { kind: "instant_fill" },
    seed: 5,
    outputRoot: tmp("tl-run-store-src-"),
  });
  run = await runSystem(cfg);
  expect(runPrefix(runIdentity(cfg))).toBe(PREFIX);
  // What the orchestration writes once every task of the run succeeded.
  writeFileSync(join(run.runDir, SUCCESS_MARKER), "");
  files = await new LocalStore(run.runDir).list("");
}, 120_000);

afterAll(async () => {
  s3.close();
  await server.stop();
});

describe("uploadRunDir and openRunDir", () => {
  it("copies a run to a local root, _SUCCESS last, and the copy loads like the original", async () => {
    const root = tmp();
    const store = new LocalStore(root);
    const r = await uploadRunDir(run.runDir, store, PREFIX);
    expect(r.keys.at(-1)).toBe(`${PREFIX}/${SUCCESS_MARKER}`);
    expect([...r.keys].sort()).toEqual(files.map((f) => `${PREFIX}/${f}`).sort());
    expect(files).toContain("system_log_dir/portfolio.jsonl");
    const dir = await openRunDir(join(root, ...PREFIX.split("/")));
    expect(dir).toBe(join(root, ...PREFIX.split("/")));
    const copy = loadSystemLog(dir);
    const original = loadSystemLog(run.runDir);
    expect(content(copy)).toEqual(content(original));
    expect(copy.run).toEqual(original.run);
    expect(copy.portfolio).toHaveLength(25);
  });

  it("uploads a run to S3 and reads it back from its s3:// URL", async () => {
    const r = await uploadRunDir(run.runDir, s3, PREFIX);
    expect(r.keys.at(-1)).toBe(`${PREFIX}/${SUCCESS_MARKER}`);
    expect(r.bytes).toBeGreaterThan(0);
    expect(await s3.list(PREFIX)).toEqual(files.map((f) => `${PREFIX}/${f}`));
    // Run files carry a content type, so reports and charts open in a browser straight from S3.
    const raw = new S3Client({ ...s3Options(), forcePathStyle: true });
    const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `runs/${PREFIX}/system_log_dir/config.resolved.json` }));
    raw.destroy();
    expect(head.ContentType).toBe("application/json");
    expect(contentTypeFor("portfolio.jsonl")).toBe("application/x-ndjson");

    const cache = tmp("tl-run-cache-");
    const url = `s3://${BUCKET}/runs/${PREFIX}`;
    const dir = await openRunDir(url, cache, s3Options());
    expect(dir.startsWith(cache + sep)).toBe(true);
    expect(dir.endsWith(join(...PREFIX.split("/")))).toBe(true);
    for (const f of files) expect(readFileSync(join(dir, f)).equals(readFileSync(join(run.runDir, f))), f).toBe(true);
    const fromS3 = loadSystemLog(dir);
    const original = loadSystemLog(run.runDir);
    expect(content(fromS3)).toEqual(content(original));
    // The identity still comes from the path: the cache keeps the run's own segments.
    expect(fromS3.run).toEqual(original.run);
    // A second open refreshes the same folder.
    expect(await openRunDir(url, cache, s3Options())).toBe(dir);
  });

  it("leaves _SUCCESS out when the run has none", async () => {
    const local = tmp();
    writeFileSync(join(local, "a.json"), "{}");
    const r = await uploadRunDir(local, new LocalStore(tmp()), "x");
    expect(r.keys).toEqual(["x/a.json"]);
  });

  it("says what is missing: a local run folder, or anything under an s3:// URL", async () => {
    const gone = join(tmpdir(), "tl-no-such-run");
    expect((await storeError(openRunDir(gone))).message).toContain(gone);
    expect((await storeError(uploadRunDir(gone, new LocalStore(tmp()), "x"))).kind).toBe("not_found");
    const e = await storeError(openRunDir(`s3://${BUCKET}/runs/dev/none/simulation/manual/20240102_000000.20240102_020000`, tmp(), s3Options()));
    expect(e.kind).toBe("not_found");
    expect(e.message).toContain(`s3://${BUCKET}/runs/dev/none`);
    expect((await storeError(openRunDir("s3://tl-missing-bucket/x", tmp(), s3Options()))).kind).toBe("bucket_missing");
    expect((await storeError(materializeRun(new LocalStore(tmp()), "nothing", tmp()))).kind).toBe("not_found");
  });
});

describe("RunDirSync", () => {
  it("uploads only what changed, at most every minIntervalMs, and _SUCCESS last on finish", async () => {
    const local = tmp();
    mkdirSync(join(local, "system_log_dir"));
    writeFileSync(join(local, "system_log_dir", "portfolio.jsonl"), '{"bar":0}\n');
    writeFileSync(join(local, "system_log_dir", "config.resolved.json"), "{}");
    writeFileSync(join(local, "system_log_dir", "log.txt.tmp-77"), "being written");
    const root = tmp();
    const dest = new LocalStore(root);
    const sync = new RunDirSync(local, dest, "runs/r1", { minIntervalMs: 1_000 });

    expect(await sync.maybeSync(10_000)).toBe(true);
    expect(await dest.list("")).toEqual(["runs/r1/system_log_dir/config.resolved.json", "runs/r1/system_log_dir/portfolio.jsonl"]);
    appendFileSync(join(local, "system_log_dir", "portfolio.jsonl"), '{"bar":1}\n');
    expect(await sync.maybeSync(10_500)).toBe(false); // throttled
    expect(new TextDecoder().decode(await dest.get("runs/r1/system_log_dir/portfolio.jsonl"))).toBe('{"bar":0}\n');
    expect(await sync.maybeSync(11_000)).toBe(true);
    expect(new TextDecoder().decode(await dest.get("runs/r1/system_log_dir/portfolio.jsonl"))).toBe('{"bar":0}\n{"bar":1}\n');

    expect((await sync.syncNow()).keys).toEqual([]); // nothing changed
    appendFileSync(join(local, "system_log_dir", "portfolio.jsonl"), '{"bar":2}\n');
    writeFileSync(join(local, SUCCESS_MARKER), "");
    const last = await sync.finish();
    expect(last.keys).toEqual(["runs/r1/system_log_dir/portfolio.jsonl", `runs/r1/${SUCCESS_MARKER}`]);
  });

  it("keeps _SUCCESS back when an upload fails, and retries only what failed", async () => {
    const local = tmp();
    mkdirSync(join(local, "a"));
    mkdirSync(join(local, "b"));
    writeFileSync(join(local, "a", "x.jsonl"), "1\n");
    writeFileSync(join(local, "b", "y.jsonl"), "2\n");
    writeFileSync(join(local, SUCCESS_MARKER), "");
    const root = tmp();
    // A file where the destination needs a folder: a real write failure for every key under b/.
    mkdirSync(join(root, "r"));
    writeFileSync(join(root, "r", "b"), "in the way");
    const dest = new LocalStore(root);
    const sync = new RunDirSync(local, dest, "r", { minIntervalMs: 0 });
    const e = await storeError(sync.syncNow());
    expect(e.kind).toBe("io");
    expect(await dest.list("r")).toEqual(["r/a/x.jsonl", "r/b"]);
    rmSync(join(root, "r", "b"));
    expect((await sync.finish()).keys).toEqual(["r/b/y.jsonl", `r/${SUCCESS_MARKER}`]);
  });

  it("a sync to a missing S3 bucket fails with bucket_missing and can be retried", async () => {
    const local = tmp();
    writeFileSync(join(local, "a.json"), "{}");
    const missing = new S3Store({ bucket: "tl-sync-missing", ...s3Options() });
    const sync = new RunDirSync(local, missing, "r", { minIntervalMs: 60_000 });
    expect((await storeError(sync.maybeSync(0))).kind).toBe("bucket_missing");
    // The failed attempt still counts for the throttle: a broken store is not hammered every bar.
    expect(await sync.maybeSync(1_000)).toBe(false);
    missing.close();
  });
});
