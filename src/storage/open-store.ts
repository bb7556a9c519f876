// Opens the Store behind a data root as the user writes it: `s3://bucket/prefix` is S3, anything else
// (a folder path, or a file:// URL) is local disk. The one place that reads such a root.

import { fileURLToPath } from "node:url";
import { LocalStore } from "./local-store.js";
import { S3Store, type S3Options } from "./s3-store.js";
import { StoreError, type Store } from "./store.js";

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing '/'; '' for the bucket's top. */
  prefix: string;
}

export function isS3Url(root: string): boolean {
  return /^s3:\/\//i.test(root);
}

// Loose on purpose (legacy buckets may hold capitals or '_'): S3 itself reports a name it refuses.
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

/** Splits `s3://bucket/some/prefix/` into bucket and prefix; refuses what could not name a place. */
export function parseS3Url(url: string): S3Location {
  if (!isS3Url(url)) throw new StoreError("invalid_key", `"${url}" is not an S3 URL (s3://bucket/prefix)`);
  const rest = url.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (bucket === "") throw new StoreError("invalid_key", `"${url}" names no bucket: write s3://<bucket>/<prefix>`);
  if (!BUCKET.test(bucket)) throw new StoreError("invalid_key", `"${url}": "${bucket}" is not a bucket name (letters, digits, '.', '-', '_', at least 3)`);
  const segments = slash < 0 ? [] : rest.slice(slash + 1).split("/");
  // A trailing '/' is harmless; an empty segment inside, '.' or '..' would make keys that S3 keeps
  // literally but a local mirror of the run could not represent (or would escape).
  while (segments.length > 0 && segments[segments.length - 1] === "") segments.pop();
  for (const s of segments) {
    if (s === "" || s === "." || s === "..") throw new StoreError("invalid_key", `"${url}": the prefix may not hold empty, '.' or '..' segments`);
    if (s.includes("\\")) throw new StoreError("invalid_key", `"${url}": the prefix may not hold '\\'`);
  }
  return { bucket, prefix: segments.join("/") };
}

/** Joins key pieces with single '/': `joinKey("runs/", "/dev", "x")` is `runs/dev/x`; empty pieces vanish. */
export function joinKey(...segments: string[]): string {
  return segments
    .map((s) => s.replace(/^\/+|\/+$/g, ""))
    .filter((s) => s !== "")
    .join("/");
}

/** The Store for a data root; `s3` carries the endpoint, region and credentials when not in the environment. */
export function openStore(root: string, s3?: S3Options): Store {
  if (isS3Url(root)) {
    const { bucket, prefix } = parseS3Url(root);
    return new S3Store({ ...s3, bucket, prefix });
  }
  if (root.startsWith("file://")) return new LocalStore(fileURLToPath(root));
  if (root === "") throw new StoreError("invalid_key", "the data root is empty: give a folder or an s3://bucket/prefix URL");
  return new LocalStore(root);
}
