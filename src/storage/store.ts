// The Store seam: where runs, recordings and published artifacts live, on local disk or S3. Keys
// are relative, '/'-separated paths under the store's root (a folder, or s3://bucket/prefix). Every
// write is atomic: a reader sees the old object or the new one, never half of one.

export interface PutOptions {
  contentType?: string;
  cacheControl?: string;
}

/** What went wrong with a store, so the error can say what to check. */
export type StoreErrorKind = "not_found" | "unreachable" | "access_denied" | "bucket_missing" | "invalid_key" | "io";

export class StoreError extends Error {
  constructor(
    readonly kind: StoreErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
  }
}

export interface Store {
  /** The root as the user wrote it: a folder path or `s3://bucket/prefix`. */
  readonly root: string;
  /**
   * Whether `put` keeps the content type and cache control with the object (S3 does). A folder
   * cannot: the web server in front of it decides what headers its files are served with.
   */
  readonly keepsHeaders: boolean;
  put(key: string, body: Uint8Array | string, opts?: PutOptions): Promise<void>;
  /** Uploads a local file (streamed; multipart on S3 when large). */
  putFile(key: string, localPath: string, opts?: PutOptions): Promise<void>;
  get(key: string): Promise<Uint8Array>;
  exists(key: string): Promise<boolean>;
  /**
   * Every key under `prefix` (recursively), sorted. The prefix is whole segments, like a folder
   * ('' for everything): `list("runs/a")` never returns `runs/ab/...`.
   */
  list(prefix: string): Promise<string[]>;
  delete(key: string): Promise<void>;
}

/** Rejects keys and key segments that would escape the root or name nothing. */
export function checkKey(key: string): string {
  if (key.length === 0 || key.startsWith("/") || key.includes("\\") || key.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new StoreError("invalid_key", `store key ${JSON.stringify(key)} is not a relative path of plain segments ('..', '.', empty segments and leading '/' are refused)`);
  }
  return key;
}

/** Normalizes a list prefix: '' (everything) or whole key segments, with or without a trailing '/'. */
export function checkPrefix(prefix: string): string {
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return p === "" ? "" : checkKey(p);
}
