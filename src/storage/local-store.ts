// The Store on local disk: keys are '/'-separated paths under a root folder. Writes go to a temporary
// file in the destination's own folder and are renamed into place, so a reader (or a crash) sees
// the old file or the new one, never a torn one; rename is only atomic within one file system,
// which is why the temporary file sits beside its destination and not in os.tmpdir().

import { randomBytes } from "node:crypto";
import type { Dirent } from "node:fs";
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve, sep } from "node:path";
import { checkKey, checkPrefix, StoreError, type PutOptions, type Store } from "./store.js";

/**
 * Names of files that are still being written: this store's own (`<name>.tmp-<pid>-<hex>`) and
 * those of the JSON-lines and Parquet writers (`<name>.tmp-<pid>`). Listings and run uploads skip
 * them: they are never a finished object.
 */
export function isTempFileName(name: string): boolean {
  return /\.tmp-\d+(?:-[0-9a-f]+)?$/.test(name);
}

function tempPathFor(path: string): string {
  return `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export class LocalStore implements Store {
  readonly keepsHeaders = false;
  readonly root: string;
  private readonly dir: string;

  constructor(rootDir: string) {
    this.root = rootDir;
    this.dir = resolve(rootDir);
  }

  /** The local path of a key (checked: it cannot leave the root). */
  pathOf(key: string): string {
    return join(this.dir, ...checkKey(key).split("/"));
  }

  async put(key: string, body: Uint8Array | string, _opts?: PutOptions): Promise<void> {
    // Content type and cache control have no place on a local file; they matter once published.
    const path = this.pathOf(key);
    await this.writeVia(key, path, (tmp) => writeFile(tmp, body));
  }

  async putFile(key: string, localPath: string, _opts?: PutOptions): Promise<void> {
    const path = this.pathOf(key);
    try {
      const s = await stat(localPath);
      if (!s.isFile()) throw new StoreError("io", `cannot store ${localPath} as ${key}: it is not a regular file`);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw this.mapError(e, "read", localPath, `the local file ${localPath} to store as ${key}`);
    }
    await this.writeVia(key, path, (tmp) => copyFile(localPath, tmp));
  }

  async get(key: string): Promise<Uint8Array> {
    const path = this.pathOf(key);
    try {
      return new Uint8Array(await readFile(path));
    } catch (e) {
      throw this.mapError(e, "read", path, key);
    }
  }

  async exists(key: string): Promise<boolean> {
    const path = this.pathOf(key);
    try {
      return (await stat(path)).isFile();
    } catch (e) {
      const code = errnoOf(e);
      if (code === "ENOENT" || code === "ENOTDIR") return false;
      throw this.mapError(e, "check", path, key);
    }
  }

  async list(prefix: string): Promise<string[]> {
    const p = checkPrefix(prefix);
    const start = p === "" ? this.dir : join(this.dir, ...p.split("/"));
    const out: string[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries: Dirent[];
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        const code = errnoOf(e);
        // A prefix that names no folder (or names a file) holds no keys, as on S3.
        if (code === "ENOENT" || code === "ENOTDIR") return;
        throw this.mapError(e, "list", dir, keyPrefix === "" ? "(root)" : keyPrefix);
      }
      for (const entry of entries) {
        const key = keyPrefix === "" ? entry.name : `${keyPrefix}/${entry.name}`;
        if (entry.isDirectory()) await walk(join(dir, entry.name), key);
        else if (entry.isFile() && !isTempFileName(entry.name)) out.push(key);
      }
    };
    await walk(start, p);
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    const path = this.pathOf(key);
    try {
      // Deleting a missing key succeeds, as on S3: a retried cleanup must not fail.
      await rm(path, { force: true });
    } catch (e) {
      throw this.mapError(e, "delete", path, key);
    }
  }

  private async writeVia(key: string, path: string, write: (tmp: string) => Promise<void>): Promise<void> {
    const tmp = tempPathFor(path);
    try {
      await mkdir(dirname(path), { recursive: true });
      await write(tmp);
      await rename(tmp, path);
    } catch (e) {
      await rm(tmp, { force: true }).catch(() => undefined);
      throw this.mapError(e, "write", path, key);
    }
  }

  private mapError(e: unknown, op: string, path: string, what: string): StoreError {
    const code = errnoOf(e);
    const detail = e instanceof Error ? e.message : String(e);
    if (code === "ENOENT" && op === "read") return new StoreError("not_found", `${what}: no such file ${path}`, { cause: e });
    if (code === "EISDIR" && op === "read") return new StoreError("not_found", `${what}: ${path} is a folder, not a stored object`, { cause: e });
    if (code === "EACCES" || code === "EPERM") {
      return new StoreError("access_denied", `cannot ${op} ${path} (${what}): permission denied; check the owner and mode of the folder under ${this.dir}`, { cause: e });
    }
    if (code === "ENOTDIR" || code === "EEXIST" || code === "EISDIR") {
      return new StoreError("io", `cannot ${op} ${path} (${what}): a file and a folder of the same name collide under ${this.dir}${sep}`, { cause: e });
    }
    return new StoreError("io", `cannot ${op} ${path} (${what}): ${detail}`, { cause: e });
  }
}
