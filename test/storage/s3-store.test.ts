// S3Store against a real S3 server (s3rver on loopback, no mocks): round trips, headers, multipart
// uploads, paginated listings, and the error kinds an operator sees (unreachable endpoint, missing
// bucket, refused credentials, bad keys).

import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../../src/storage/open-store.js";
import { MIN_PART_SIZE_BYTES, S3Store, type S3StoreOptions, type UploadProgress } from "../../src/storage/s3-store.js";
import { StoreError } from "../../src/storage/store.js";
import { S3RVER_CREDENTIALS, startS3rver, type S3rverHandle } from "../helpers/s3rver.js";

const BUCKET = "tl-store-test";

let server: S3rverHandle;
let raw: S3Client;
const opened: S3Store[] = [];

function store(over: Partial<S3StoreOptions> = {}): S3Store {
  const s = new S3Store({ bucket: BUCKET, prefix: "root/p", endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3RVER_CREDENTIALS, ...over });
  opened.push(s);
  return s;
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

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const address = srv.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return address.port;
}

beforeAll(async () => {
  server = await startS3rver([BUCKET]);
  raw = new S3Client({ endpoint: server.endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
});

afterAll(async () => {
  for (const s of opened) s.close();
  raw.destroy();
  await server.stop();
});

describe("S3Store on s3rver", () => {
  it("puts, gets, lists, checks and deletes objects under its prefix", async () => {
    const s = store({ prefix: "roundtrip/base" });
    expect(s.root).toBe(`s3://${BUCKET}/roundtrip/base`);
    await s.put("a/b/c.txt", "hello");
    await s.put("a/bin.dat", new Uint8Array([1, 2, 3]));
    await s.put("top.json", "{}");
    expect(new TextDecoder().decode(await s.get("a/b/c.txt"))).toBe("hello");
    expect(Array.from(await s.get("a/bin.dat"))).toEqual([1, 2, 3]);
    expect(await s.exists("a/b/c.txt")).toBe(true);
    expect(await s.exists("a/b")).toBe(false);
    expect(await s.exists("nope")).toBe(false);
    expect(await s.list("")).toEqual(["a/b/c.txt", "a/bin.dat", "top.json"]);
    expect(await s.list("a")).toEqual(["a/b/c.txt", "a/bin.dat"]);
    expect(await s.list("a/b/")).toEqual(["a/b/c.txt"]);
    expect(await s.list("zzz")).toEqual([]);
    // The object really sits under the prefix in the bucket.
    const head = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "roundtrip/base/a/b/c.txt" }));
    expect(head.ContentLength).toBe(5);
    await s.delete("a/bin.dat");
    await s.delete("a/bin.dat");
    expect(await s.list("a")).toEqual(["a/b/c.txt"]);
    const missing = await storeError(s.get("a/bin.dat"));
    expect(missing.kind).toBe("not_found");
    expect(missing.message).toContain(`s3://${BUCKET}/roundtrip/base/a/bin.dat`);
  });

  it("lists across pages, sorted", async () => {
    const s = store({ prefix: "paged", listPageSize: 2 });
    const keys = ["runs/a/1", "runs/a/2", "runs/a/3", "runs/a/sub/4", "runs/ab/5", "runs/b"];
    for (const k of keys) await s.put(k, k);
    expect(await s.list("runs/a")).toEqual(["runs/a/1", "runs/a/2", "runs/a/3", "runs/a/sub/4"]);
    expect(await s.list("")).toEqual(keys);
  });

  it("lists whole segments only: a prefix never matches part of a name", async () => {
    // Not paginated: s3rver walks its folders in an order that is not S3's key order, so with pages
    // it skips "runs/a.b" (which S3 sorts before "runs/a/1"); real S3 has no such problem.
    const s = store({ prefix: "segments" });
    for (const k of ["runs/a/1", "runs/a.b", "runs/ab/5"]) await s.put(k, k);
    expect(await s.list("runs/a")).toEqual(["runs/a/1"]);
    expect(await s.list("runs")).toEqual(["runs/a.b", "runs/a/1", "runs/ab/5"]);
  });

  it("stores the content type and cache control, and HeadObject returns them", async () => {
    const s = store({ prefix: "headers" });
    await s.put("pnl_for_investors/m/cumulative_pnl.since_inception.png", new Uint8Array([137, 80, 78, 71]), { contentType: "image/png", cacheControl: "max-age=300" });
    const h = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "headers/pnl_for_investors/m/cumulative_pnl.since_inception.png" }));
    expect(h.ContentType).toBe("image/png");
    expect(h.CacheControl).toBe("max-age=300");
    const file = join(mkdtempSync(join(tmpdir(), "tl-s3-")), "chart.svg");
    writeFileSync(file, "<svg/>");
    await s.putFile("chart.svg", file, { contentType: "image/svg+xml", cacheControl: "no-cache" });
    expect(await s.head("chart.svg")).toEqual({ contentType: "image/svg+xml", cacheControl: "no-cache", size: 6 });
    expect(await s.head("missing.svg")).toBeUndefined();
  });

  it("uploads a file above the part size as a completed multipart upload", async () => {
    const s = store({ prefix: "multipart", partSizeBytes: MIN_PART_SIZE_BYTES, queueSize: 2 });
    const size = 11 * 1024 * 1024 + 123;
    const data = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) data.writeUInt32LE((i * 2654435761) >>> 0, i);
    const file = join(mkdtempSync(join(tmpdir(), "tl-s3-")), "big.parquet");
    writeFileSync(file, data);
    const progress: UploadProgress[] = [];
    await s.putFile("broker_log/big.parquet", file, { contentType: "application/vnd.apache.parquet", onProgress: (p) => progress.push(p) });
    // Three parts (5 + 5 + 1 MiB): Upload reports each finished part.
    expect(progress.map((p) => p.part).sort()).toEqual([1, 2, 3]);
    expect(progress.every((p) => p.totalBytes === size)).toBe(true);
    const back = await s.get("broker_log/big.parquet");
    expect(back.byteLength).toBe(size);
    expect(createHash("sha256").update(back).digest("hex")).toBe(createHash("sha256").update(data).digest("hex"));
    const h = await raw.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "multipart/broker_log/big.parquet" }));
    expect(h.ContentType).toBe("application/vnd.apache.parquet");
    expect(h.ContentLength).toBe(size);
  });

  it("a file at or below the part size goes up in one PutObject", async () => {
    const s = store({ prefix: "single", partSizeBytes: MIN_PART_SIZE_BYTES });
    const file = join(mkdtempSync(join(tmpdir(), "tl-s3-")), "small.jsonl");
    writeFileSync(file, '{"a":1}\n');
    const progress: UploadProgress[] = [];
    await s.putFile("small.jsonl", file, { onProgress: (p) => progress.push(p) });
    expect(progress.map((p) => p.part)).toEqual([1]);
    expect(new TextDecoder().decode(await s.get("small.jsonl"))).toBe('{"a":1}\n');
  });

  it("refuses a missing local file before any request", async () => {
    const e = await storeError(store().putFile("x", join(tmpdir(), "tl-no-such-file.bin")));
    expect(e.kind).toBe("not_found");
    expect(e.message).toContain("tl-no-such-file.bin");
    expect(await store().exists("x")).toBe(false);
  });

  it("refuses keys that would escape the prefix, without a request", async () => {
    const s = store();
    for (const key of ["..", "../x", "a/../../x", "/abs", "a//b", "./a", ""]) {
      for (const op of [() => s.put(key, "x"), () => s.get(key), () => s.exists(key), () => s.delete(key), () => s.putFile(key, "/dev/null")]) {
        expect((await storeError(op())).kind).toBe("invalid_key");
      }
    }
    expect((await storeError(s.list("../up"))).kind).toBe("invalid_key");
    expect(() => store({ prefix: "a/../b" })).toThrow(StoreError);
  });

  it("a missing bucket is bucket_missing, naming the bucket and what to do", async () => {
    const s = store({ bucket: "tl-no-such-bucket" });
    for (const op of [() => s.put("k", "v"), () => s.get("k"), () => s.list(""), () => s.exists("k"), () => s.delete("k")]) {
      const e = await storeError(op());
      expect(e.kind).toBe("bucket_missing");
      expect(e.message).toContain('"tl-no-such-bucket"');
      expect(e.message).toMatch(/create it, or fix the bucket/);
    }
  });

  it("an unknown access key is access_denied, saying to check credentials and bucket policy", async () => {
    // s3rver knows one key pair (S3RVER/S3RVER) and refuses any other access key id. It does not
    // verify SigV4 signatures, so a wrong secret with the right key id is accepted there: the
    // SignatureDoesNotMatch mapping cannot be exercised against it.
    const s = store({ credentials: { accessKeyId: "NOT-A-KEY", secretAccessKey: "whatever" } });
    for (const op of [() => s.put("k", "v"), () => s.get("k"), () => s.list(""), () => s.exists("k")]) {
      const e = await storeError(op());
      expect(e.kind).toBe("access_denied");
      expect(e.message).toMatch(/check the credentials .* and the bucket policy/);
      expect(e.message).not.toContain("whatever");
    }
  });

  it("an unreachable endpoint is unreachable within seconds, naming the endpoint", async () => {
    const port = await closedPort();
    const s = store({ endpoint: `http://127.0.0.1:${port}` });
    for (const op of [() => s.put("k", "v"), () => s.get("k"), () => s.list(""), () => s.exists("k")]) {
      const t0 = performance.now();
      const e = await storeError(op());
      expect(performance.now() - t0).toBeLessThan(5_000);
      expect(e.kind).toBe("unreachable");
      expect(e.message).toContain(`http://127.0.0.1:${port}`);
      expect(e.message).toContain("AWS_ENDPOINT_URL");
    }
  });
});

describe("S3Store configuration from the AWS environment", () => {
  const saved: Record<string, string | undefined> = {};
  const names = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];
  afterEach(() => {
    for (const n of names) {
      if (saved[n] === undefined) delete process.env[n];
      else process.env[n] = saved[n];
    }
  });

  it("reads the endpoint, region and credentials from AWS_* variables", async () => {
    for (const n of names) saved[n] = process.env[n];
    delete process.env["AWS_ENDPOINT_URL_S3"];
    process.env["AWS_ENDPOINT_URL"] = server.endpoint;
    process.env["AWS_REGION"] = "us-east-1";
    process.env["AWS_ACCESS_KEY_ID"] = S3RVER_CREDENTIALS.accessKeyId;
    process.env["AWS_SECRET_ACCESS_KEY"] = S3RVER_CREDENTIALS.secretAccessKey;
    const s = openStore(`s3://${BUCKET}/from-env`);
    expect(s).toBeInstanceOf(S3Store);
    opened.push(s as S3Store);
    expect((s as S3Store).endpointLabel).toBe(server.endpoint);
    await s.put("x.txt", "env");
    expect(new TextDecoder().decode(await s.get("x.txt"))).toBe("env");
    expect(await store({ prefix: "from-env" }).list("")).toEqual(["x.txt"]);
  });
});
