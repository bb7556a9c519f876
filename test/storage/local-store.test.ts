// LocalStore on a real temporary folder: round trips, atomic writes, listings and refused keys; plus
// the data-root parsing of open-store (s3:// URLs, joinKey).

import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { isTempFileName, LocalStore } from "../../src/storage/local-store.js";
import { isS3Url, joinKey, openStore, parseS3Url } from "../../src/storage/open-store.js";
import { S3Store } from "../../src/storage/s3-store.js";
import { StoreError } from "../../src/storage/store.js";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "tl-local-store-"));
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

describe("LocalStore", () => {
  it("puts, gets, lists, checks and deletes objects under its root", async () => {
    const root = tmp();
    const s = new LocalStore(root);
    expect(s.root).toBe(root);
    await s.put("a/b/c.txt", "hello");
    await s.put("a/bin.dat", new Uint8Array([1, 2, 3]));
    await s.put("top.json", "{}", { contentType: "application/json", cacheControl: "no-cache" });
    expect(readFileSync(join(root, "a", "b", "c.txt"), "utf8")).toBe("hello");
    expect(new TextDecoder().decode(await s.get("a/b/c.txt"))).toBe("hello");
    expect(Array.from(await s.get("a/bin.dat"))).toEqual([1, 2, 3]);
    expect(await s.exists("a/b/c.txt")).toBe(true);
    expect(await s.exists("a/b")).toBe(false); // a folder is not an object
    expect(await s.exists("nope/x")).toBe(false);
    expect(await s.exists("top.json/x")).toBe(false);
    expect(await s.list("")).toEqual(["a/b/c.txt", "a/bin.dat", "top.json"]);
    expect(await s.list("a")).toEqual(["a/b/c.txt", "a/bin.dat"]);
    expect(await s.list("a/")).toEqual(["a/b/c.txt", "a/bin.dat"]);
    expect(await s.list("a/b")).toEqual(["a/b/c.txt"]);
    expect(await s.list("missing")).toEqual([]);
    await s.delete("a/bin.dat");
    await s.delete("a/bin.dat"); // deleting a missing key succeeds, as on S3
    expect(await s.list("a")).toEqual(["a/b/c.txt"]);
  });

  it("lists whole segments only, sorted, and never a file still being written", async () => {
    const root = tmp();
    const s = new LocalStore(root);
    for (const k of ["runs/ab/x", "runs/a/z", "runs/a/y/1", "runs/a.b"]) await s.put(k, k);
    writeFileSync(join(root, "runs", "a", "z.tmp-4242"), "half"); // a JSONL / Parquet writer's temp file
    writeFileSync(join(root, "runs", "a", "z.tmp-4242-0badcafe"), "half"); // this store's own
    expect(await s.list("runs/a")).toEqual(["runs/a/y/1", "runs/a/z"]);
    expect(await s.list("runs")).toEqual(["runs/a.b", "runs/a/y/1", "runs/a/z", "runs/ab/x"]);
    expect(isTempFileName("portfolio.jsonl.tmp-12")).toBe(true);
    expect(isTempFileName("portfolio.jsonl")).toBe(false);
    expect(isTempFileName("tmp-12")).toBe(false);
  });

  it("replaces an object atomically and leaves no temporary file behind", async () => {
    const root = tmp();
    const s = new LocalStore(root);
    await s.put("k/v.txt", "one");
    await s.put("k/v.txt", "two");
    expect(readFileSync(join(root, "k", "v.txt"), "utf8")).toBe("two");
    expect(readdirSync(join(root, "k"))).toEqual(["v.txt"]);
    // A write that fails (the key's folder is a file) leaves no temp file and names the path.
    await s.put("f", "file");
    const e = await storeError(s.put("f/x", "y"));
    expect(e.kind).toBe("io");
    expect(e.message).toContain(join(root, "f"));
    expect(readdirSync(root)).toEqual(["f", "k"]);
  });

  it("putFile copies a local file in (via a temporary file, then rename)", async () => {
    const root = tmp();
    const src = join(tmp(), "big.bin");
    const data = new Uint8Array(300_000).map((_, i) => i % 251);
    writeFileSync(src, data);
    const s = new LocalStore(root);
    await s.putFile("copies/big.bin", src);
    expect(Buffer.compare(readFileSync(join(root, "copies", "big.bin")), Buffer.from(data))).toBe(0);
    expect(readdirSync(join(root, "copies"))).toEqual(["big.bin"]);
    const missing = await storeError(s.putFile("copies/none", join(tmpdir(), "tl-no-such-file")));
    expect(missing.kind).toBe("not_found");
    expect(missing.message).toContain("tl-no-such-file");
    const dir = await storeError(s.putFile("copies/dir", tmpdir()));
    expect(dir.kind).toBe("io");
  });

  it("reports a missing object as not_found, naming the path", async () => {
    const root = tmp();
    const e = await storeError(new LocalStore(root).get("no/such.json"));
    expect(e.kind).toBe("not_found");
    expect(e.message).toContain(join(root, "no", "such.json"));
  });

  it("refuses keys that would escape the root or name nothing", async () => {
    const s = new LocalStore(tmp());
    for (const key of ["..", "../x", "a/../../x", "/abs", "/etc/passwd", "a//b", "./a", "", "a\\b"]) {
      for (const op of [() => s.put(key, "x"), () => s.get(key), () => s.exists(key), () => s.delete(key), () => s.putFile(key, "/dev/null")]) {
        expect((await storeError(op())).kind).toBe("invalid_key");
      }
    }
    expect((await storeError(s.list("../up"))).kind).toBe("invalid_key");
    expect((await storeError(s.list("/abs"))).kind).toBe("invalid_key");
  });

  it.skipIf(process.getuid?.() === 0)("reports a folder it may not write as access_denied", async () => {
    const root = tmp();
    mkdirSync(join(root, "ro"));
    chmodSync(join(root, "ro"), 0o500);
    const e = await storeError(new LocalStore(root).put("ro/x", "y"));
    expect(e.kind).toBe("access_denied");
    chmodSync(join(root, "ro"), 0o700);
  });
});

describe("openStore and S3 URLs", () => {
  it("parses s3://bucket/prefix and refuses URLs that name no place", () => {
    expect(isS3Url("s3://b/p")).toBe(true);
    expect(isS3Url("storage")).toBe(false);
    expect(parseS3Url("s3://my-bucket")).toEqual({ bucket: "my-bucket", prefix: "" });
    expect(parseS3Url("s3://my-bucket/")).toEqual({ bucket: "my-bucket", prefix: "" });
    expect(parseS3Url("s3://my-bucket/runs/dev/")).toEqual({ bucket: "my-bucket", prefix: "runs/dev" });
    for (const bad of ["s3://", "s3:///prefix", "s3://b/../x", "s3://bucket/a/../b", "s3://bucket/a//b", "s3://bucket/./a", "s3://b c/x", "storage/x"]) {
      expect(() => parseS3Url(bad), bad).toThrow(StoreError);
    }
    expect(() => parseS3Url("s3:///x")).toThrow(/names no bucket/);
  });

  it("joins key pieces with single slashes", () => {
    expect(joinKey("runs/", "/dev", "", "x.json")).toBe("runs/dev/x.json");
    expect(joinKey("", "a")).toBe("a");
    expect(joinKey()).toBe("");
  });

  it("opens S3 for s3:// and local disk for anything else", () => {
    const dir = tmp();
    const local = openStore(dir);
    expect(local).toBeInstanceOf(LocalStore);
    expect(local.root).toBe(dir);
    const fromUrl = openStore(pathToFileURL(dir).href);
    expect(fromUrl).toBeInstanceOf(LocalStore);
    expect((fromUrl as LocalStore).pathOf("x")).toBe(join(dir, "x"));
    const s3 = openStore("s3://bucket/a/b/", { endpoint: "http://127.0.0.1:1", region: "us-east-1" });
    expect(s3).toBeInstanceOf(S3Store);
    expect(s3.root).toBe("s3://bucket/a/b");
    expect((s3 as S3Store).objectKey("x/y")).toBe("a/b/x/y");
    (s3 as S3Store).close();
    expect(() => openStore("")).toThrow(StoreError);
    expect(existsSync(join(dir, "x"))).toBe(false);
  });
});
