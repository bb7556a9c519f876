// Run directories (DOMAIN.md section 9) on any Store: upload a finished local run, keep a long run's
// remote copy fresh while it is written, and bring a run back from a Store (s3:// included) into a
// local folder that the file-based loaders (loadSystemLog, readBrokerLog...) read as they are.
// `_SUCCESS` always goes up last, so a remote reader that sees it sees every other file too.

import { createHash } from "node:crypto";
import { existsSync, statSync } from "node:fs";
import { stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalStore } from "./local-store.js";
import { isS3Url, joinKey, parseS3Url } from "./open-store.js";
import { runSegments, SUCCESS_MARKER, type RunIdentity } from "./run-layout.js";
import { S3Store, type S3Options } from "./s3-store.js";
import { checkPrefix, StoreError, type PutOptions, type Store } from "./store.js";

/** The key prefix of a run: `<stage>/<model>/<mode>/<dag_run_mode>/<start>.<end>`. */
export function runPrefix(id: RunIdentity): string {
  return runSegments(id).join("/");
}

const CONTENT_TYPES: Record<string, string> = {
  ".json": "application/json",
  ".jsonl": "application/x-ndjson",
  ".txt": "text/plain; charset=utf-8",
  ".log": "text/plain; charset=utf-8",
  ".csv": "text/csv; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".parquet": "application/vnd.apache.parquet",
};

/** The content type a browser needs to show a run file from S3 (undefined: the store's default). */
export function contentTypeFor(name: string): string | undefined {
  return CONTENT_TYPES[extname(name).toLowerCase()];
}

/** Runs `fn` on every item, `limit` at a time; returns the failures (every item is attempted). */
async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>): Promise<unknown[]> {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const item = items[next++] as T;
      try {
        await fn(item);
      } catch (e) {
        failures.push(e);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return failures;
}

/** The first failure, its message extended with how many others there were. */
function withCount(failures: unknown[], what: string): unknown {
  const first = failures[0];
  if (failures.length === 1 || !(first instanceof StoreError)) return first;
  return new StoreError(first.kind, `${first.message} (and ${failures.length - 1} more failed ${what})`, { cause: first });
}

interface ChangedFile {
  rel: string;
  /** `size:mtimeNs` */
  signature: string;
  size: number;
}

function requireDir(path: string, what: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new StoreError("not_found", `${what} ${path} does not exist or is not a folder`);
}

export interface RunUploadResult {
  /** Store keys written, in the order they completed (`_SUCCESS`, when present, last). */
  keys: string[];
  bytes: number;
}

export interface RunUploadOptions {
  /** Uploads in flight at once (default 4). */
  concurrency?: number;
}

/**
 * Mirrors a local run directory into a Store under `prefix`, keeping the relative layout; files still
 * being written (temporary names) are skipped, and `_SUCCESS`, only if present locally, goes last.
 */
export async function uploadRunDir(localRunDir: string, store: Store, prefix: string, opts: RunUploadOptions = {}): Promise<RunUploadResult> {
  requireDir(localRunDir, "run directory");
  const sync = new RunDirSync(localRunDir, store, prefix, { minIntervalMs: 0, concurrency: opts.concurrency });
  return sync.finish();
}

export interface RunDirSyncOptions {
  /** `maybeSync` uploads at most this often (wall-clock ms). */
  minIntervalMs: number;
  concurrency?: number | undefined;
}

/**
 * Keeps a Store's copy of a run directory current while the run writes it. Each sync uploads the
 * files whose size or modification time changed since the last sync, each as a whole object
 * (append-only JSON-lines files go up whole again: simple, and fine at a throttled pace). A remote
 * reader may see a JSON-lines file one torn line short of the local one; the loaders report and
 * skip such a tail, and the next sync sends the complete file.
 */
export class RunDirSync {
  /** Relative path -> `size:mtimeNs` as uploaded; a failed upload leaves its entry unchanged. */
  private readonly uploaded = new Map<string, string>();
  private readonly local: LocalStore;
  private readonly prefix: string;
  private readonly minIntervalMs: number;
  private readonly concurrency: number;
  private lastSyncWallMs: number | undefined;
  /** Syncs asked for and not yet settled. */
  private pending = 0;
  /** Syncs are serialized: two passes never upload the same file at once. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly localRunDir: string,
    readonly store: Store,
    prefix: string,
    opts: RunDirSyncOptions,
  ) {
    this.local = new LocalStore(localRunDir);
    this.prefix = checkPrefix(prefix);
    this.minIntervalMs = opts.minIntervalMs;
    this.concurrency = opts.concurrency ?? 4;
  }

  /** Uploads every file changed since the last sync (after any sync already under way). */
  syncNow(): Promise<RunUploadResult> {
    this.pending++;
    const pass = this.chain.then(() => this.syncOnce()).finally(() => {
      this.pending--;
    });
    // The caller gets the failure; the chain only needs to know the pass is over.
    this.chain = pass.catch(() => undefined);
    return pass;
  }

  /**
   * Syncs when at least `minIntervalMs` passed since the last sync started and none is under way;
   * resolves true when it synced. Call it freely (say after every bar). A failure is thrown to the
   * caller; the files it missed go up on the next sync.
   */
  async maybeSync(nowWallMs: number): Promise<boolean> {
    if (this.pending > 0) return false;
    if (this.lastSyncWallMs !== undefined && nowWallMs - this.lastSyncWallMs < this.minIntervalMs) return false;
    // Counted from the start of the attempt, so a failing store is not retried on every call.
    this.lastSyncWallMs = nowWallMs;
    await this.syncNow();
    return true;
  }

  /** The final sync: everything changed since the last one, `_SUCCESS` last when present. */
  async finish(): Promise<RunUploadResult> {
    return this.syncNow();
  }

  private async syncOnce(): Promise<RunUploadResult> {
    const files = existsSync(this.localRunDir) ? await this.local.list("") : [];
    const changed: ChangedFile[] = [];
    let marker: ChangedFile | undefined;
    for (const rel of files) {
      let file: ChangedFile;
      try {
        // Stat before the upload: a file that grows meanwhile looks changed on the next pass.
        const s = await stat(this.local.pathOf(rel), { bigint: true });
        file = { rel, signature: `${s.size}:${s.mtimeNs}`, size: Number(s.size) };
      } catch (e) {
        // Gone between the listing and now (a writer's rename): nothing to send.
        if ((e as { code?: unknown }).code === "ENOENT") continue;
        throw e;
      }
      if (this.uploaded.get(rel) === file.signature) continue;
      if (rel === SUCCESS_MARKER) marker = file;
      else changed.push(file);
    }
    const result: RunUploadResult = { keys: [], bytes: 0 };
    const send = async (f: ChangedFile): Promise<void> => {
      const key = joinKey(this.prefix, f.rel);
      const opts: PutOptions = {};
      const type = contentTypeFor(f.rel);
      if (type !== undefined) opts.contentType = type;
      await this.store.putFile(key, this.local.pathOf(f.rel), opts);
      this.uploaded.set(f.rel, f.signature);
      result.keys.push(key);
      result.bytes += f.size;
    };
    const failures = await forEachLimited(changed, this.concurrency, send);
    // On any failure _SUCCESS stays local: the remote copy is not complete.
    if (failures.length > 0) throw withCount(failures, `uploads from ${this.localRunDir}`);
    if (marker !== undefined) await send(marker);
    return result;
  }
}

export interface MaterializeResult {
  dir: string;
  keys: number;
  bytes: number;
}

/**
 * Downloads every object under `prefix` into `cacheDir` with the same relative layout, each file
 * written atomically. Files are added or replaced, never removed: a run's objects only grow.
 */
export async function materializeRun(store: Store, prefix: string, cacheDir: string, opts: RunUploadOptions = {}): Promise<MaterializeResult> {
  const p = checkPrefix(prefix);
  const keys = await store.list(p);
  if (keys.length === 0) {
    throw new StoreError("not_found", `no run under ${p === "" ? store.root : `${store.root}/${p}`}: nothing is stored there (check the URL)`);
  }
  const local = new LocalStore(cacheDir);
  const strip = p === "" ? 0 : p.length + 1;
  let bytes = 0;
  const failures = await forEachLimited(keys, opts.concurrency ?? 4, async (key) => {
    const body = await store.get(key);
    await local.put(key.slice(strip), body);
    bytes += body.byteLength;
  });
  if (failures.length > 0) throw withCount(failures, `downloads into ${cacheDir}`);
  return { dir: cacheDir, keys: keys.length, bytes };
}

/** The default cache folder for runs read from S3. */
export function defaultRunCacheRoot(): string {
  return join(tmpdir(), "tradeloop-runs");
}

/**
 * A local path for a run directory given as a path, a file:// URL or an s3:// URL. An S3 run is
 * downloaded under `<cacheRoot>/<hash of endpoint and bucket>/<prefix...>`: the cached folder ends
 * with the run's own `<stage>/<model>/<mode>/<dag_run_mode>/<start>.<end>` segments, so the loaders
 * still read the run's identity from its path.
 */
export async function openRunDir(runDirOrUrl: string, cacheRoot: string = defaultRunCacheRoot(), s3?: S3Options): Promise<string> {
  if (!isS3Url(runDirOrUrl)) {
    const path = runDirOrUrl.startsWith("file://") ? fileURLToPath(runDirOrUrl) : runDirOrUrl;
    requireDir(path, "run directory");
    return path;
  }
  const { bucket, prefix } = parseS3Url(runDirOrUrl);
  const store = new S3Store({ ...s3, bucket, prefix });
  try {
    const hash = createHash("sha256").update(`${store.endpointLabel}\n${bucket}`).digest("hex").slice(0, 16);
    const dir = join(resolve(cacheRoot), hash, ...(prefix === "" ? [] : prefix.split("/")));
    await materializeRun(store, "", dir);
    return dir;
  } finally {
    store.close();
  }
}
