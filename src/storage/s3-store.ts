// The Store on S3 or any S3-compatible endpoint (MinIO, s3rver, Ceph...), through @aws-sdk/client-s3.
// Objects are only ever whole: small ones go up in one PutObject, large files as a multipart upload
// that is completed (visible at once) or aborted (nothing visible). SDK errors become StoreErrors
// whose message says what failed and what to check, without any credential in it.

import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { checkKey, checkPrefix, StoreError, type PutOptions, type Store } from "./store.js";

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How to reach S3; every field falls back to the standard AWS environment and config files. */
export interface S3Options {
  /** e.g. `http://127.0.0.1:9000`; else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS itself. */
  endpoint?: string;
  /** Else AWS_REGION / AWS_DEFAULT_REGION / the profile; `us-east-1` for a custom endpoint. */
  region?: string;
  /** `http://host/bucket/key` addressing; default true for a custom endpoint, false on AWS. */
  forcePathStyle?: boolean;
  /** Else the SDK's chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profile, instance role. */
  credentials?: S3Credentials;
  /** Attempts per request, retries included (default 2; AWS_MAX_ATTEMPTS when set). */
  maxAttempts?: number;
  /** Time allowed to open a connection (default 2000 ms). */
  connectionTimeoutMs?: number;
  /** Files larger than this go up as multipart uploads of parts this size (default 16 MiB, at least 5 MiB). */
  partSizeBytes?: number;
  /** Parts in flight at once during a multipart upload (default 4; memory is about queueSize x partSize). */
  queueSize?: number;
  /** Keys per ListObjectsV2 page (default 1000, S3's maximum). */
  listPageSize?: number;
}

export interface S3StoreOptions extends S3Options {
  bucket: string;
  /** Key prefix inside the bucket, without leading or trailing '/'; '' for the whole bucket. */
  prefix?: string;
}

export interface UploadProgress {
  key: string;
  loadedBytes: number;
  totalBytes: number | undefined;
  /** The part just finished, for a multipart upload (1-based); 1 for a single PUT. */
  part: number | undefined;
}

export interface PutFileOptions extends PutOptions {
  onProgress?: (p: UploadProgress) => void;
}

export const DEFAULT_PART_SIZE_BYTES = 16 * 1024 * 1024;
/** S3 refuses multipart parts below 5 MiB (except the last one). */
export const MIN_PART_SIZE_BYTES = 5 * 1024 * 1024;

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH", "ENETUNREACH", "EPIPE", "ECONNABORTED"]);
const ACCESS_NAMES = new Set(["AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken", "TokenRefreshRequired", "AllAccessDisabled", "CredentialsProviderError"]);

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  errors?: unknown;
  cause?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** The system error code (ECONNREFUSED...) of a network failure, looking through wrappers. */
function networkCode(e: unknown, depth = 0): string | undefined {
  if (e === null || typeof e !== "object" || depth > 3) return undefined;
  const x = e as SdkErrorShape;
  if (typeof x.code === "string" && NETWORK_CODES.has(x.code)) return x.code;
  // Node 20 tries IPv4 and IPv6 in turn and reports both failures in one AggregateError.
  if (Array.isArray(x.errors)) {
    for (const inner of x.errors) {
      const c = networkCode(inner, depth + 1);
      if (c !== undefined) return c;
    }
  }
  return networkCode(x.cause, depth + 1);
}

function envValue(name: string): string | undefined {
  const v = process.env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

/** An endpoint URL fit for a message: any user:password@ part is dropped. */
function withoutUserInfo(endpoint: string): string {
  try {
    const u = new URL(endpoint);
    if (u.username === "" && u.password === "") return endpoint;
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return endpoint;
  }
}

export class S3Store implements Store {
  readonly keepsHeaders = true;
  readonly root: string;
  readonly bucket: string;
  readonly prefix: string;
  /** The endpoint in use, as shown in error messages: a URL, or `AWS S3 (<region>)`. */
  readonly endpointLabel: string;
  private readonly client: S3Client;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly listPageSize: number;
  /** Set once any request reached the bucket: a later 404 on HEAD then means "no such key". */
  private bucketSeen = false;

  constructor(opts: S3StoreOptions) {
    if (opts.bucket === "") throw new StoreError("invalid_key", "S3 store: the bucket name is empty");
    this.bucket = opts.bucket;
    this.prefix = checkPrefix(opts.prefix ?? "");
    this.root = this.prefix === "" ? `s3://${this.bucket}` : `s3://${this.bucket}/${this.prefix}`;
    const partSize = opts.partSizeBytes ?? DEFAULT_PART_SIZE_BYTES;
    if (partSize < MIN_PART_SIZE_BYTES) throw new StoreError("invalid_key", `S3 store: partSizeBytes ${partSize} is below S3's 5 MiB minimum part size`);
    this.partSize = partSize;
    this.queueSize = Math.max(1, opts.queueSize ?? 4);
    this.listPageSize = Math.min(1000, Math.max(1, opts.listPageSize ?? 1000));

    // The SDK reads most of the environment itself, but the endpoint and region are resolved here
    // too, so that error messages can name the endpoint that failed.
    const endpoint = opts.endpoint ?? envValue("AWS_ENDPOINT_URL_S3") ?? envValue("AWS_ENDPOINT_URL");
    const region = opts.region ?? envValue("AWS_REGION") ?? envValue("AWS_DEFAULT_REGION") ?? (endpoint !== undefined ? "us-east-1" : undefined);
    this.endpointLabel = endpoint !== undefined ? withoutUserInfo(endpoint) : `AWS S3 (${region ?? "region from the AWS profile"})`;
    const config: S3ClientConfig = {
      // Modest retries and a short connection timeout: an unreachable endpoint fails in seconds
      // and the task's own retry policy decides what happens next.
      maxAttempts: opts.maxAttempts ?? (envValue("AWS_MAX_ATTEMPTS") === undefined ? 2 : undefined),
      requestHandler: { connectionTimeout: opts.connectionTimeoutMs ?? 2_000, socketTimeout: 60_000 },
      // Most S3-compatible servers are reached by IP or a single host name: no bucket subdomains.
      forcePathStyle: opts.forcePathStyle ?? endpoint !== undefined,
    };
    if (endpoint !== undefined) config.endpoint = endpoint;
    if (region !== undefined) config.region = region;
    if (opts.credentials !== undefined) config.credentials = opts.credentials;
    this.client = new S3Client(config);
  }

  /** The full object key of a store key. */
  objectKey(key: string): string {
    checkKey(key);
    return this.prefix === "" ? key : `${this.prefix}/${key}`;
  }

  async put(key: string, body: Uint8Array | string, opts: PutOptions = {}): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key, Body: body, ContentType: opts.contentType, CacheControl: opts.cacheControl }));
      this.bucketSeen = true;
    } catch (e) {
      throw this.mapError(e, "write", Key);
    }
  }

  async putFile(key: string, localPath: string, opts: PutFileOptions = {}): Promise<void> {
    const Key = this.objectKey(key);
    try {
      const s = await stat(localPath);
      if (!s.isFile()) throw new StoreError("io", `cannot upload ${localPath} to ${this.urlOf(Key)}: it is not a regular file`);
    } catch (e) {
      if (e instanceof StoreError) throw e;
      const code = (e as { code?: unknown }).code;
      throw new StoreError(code === "ENOENT" ? "not_found" : "io", `cannot upload ${localPath} to ${this.urlOf(Key)}: ${(e as Error).message}`, { cause: e });
    }
    // Upload sends a body of at most one part as a single PutObject, and anything larger as a
    // multipart upload that it aborts on failure (leavePartsOnError false), so no half object shows.
    const body = createReadStream(localPath);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key, Body: body, ContentType: opts.contentType, CacheControl: opts.cacheControl },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const onProgress = opts.onProgress;
    if (onProgress !== undefined) {
      upload.on("httpUploadProgress", (p) => onProgress({ key, loadedBytes: p.loaded ?? 0, totalBytes: p.total, part: p.part }));
    }
    try {
      await upload.done();
      this.bucketSeen = true;
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      // The file vanished or became unreadable between stat and read.
      if ((code === "ENOENT" || code === "EACCES" || code === "EISDIR") && (e as { path?: unknown }).path === localPath) {
        throw new StoreError("io", `cannot upload ${localPath} to ${this.urlOf(Key)}: ${(e as Error).message}`, { cause: e });
      }
      throw this.mapError(e, "write", Key);
    } finally {
      // A failed upload stops reading early; the file descriptor must not wait for GC.
      body.destroy();
    }
  }

  async get(key: string): Promise<Uint8Array> {
    const Key = this.objectKey(key);
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key }));
      this.bucketSeen = true;
      if (r.Body === undefined) return new Uint8Array();
      return await r.Body.transformToByteArray();
    } catch (e) {
      throw this.mapError(e, "read", Key);
    }
  }

  /** Content type, cache control and size of an object (undefined when absent). */
  async head(key: string): Promise<{ contentType: string | undefined; cacheControl: string | undefined; size: number | undefined } | undefined> {
    const Key = this.objectKey(key);
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key }));
      this.bucketSeen = true;
      return { contentType: r.ContentType, cacheControl: r.CacheControl, size: r.ContentLength };
    } catch (e) {
      if (this.httpStatus(e) === 404) {
        await this.checkBucket(Key);
        return undefined;
      }
      throw this.mapError(e, "check", Key);
    }
  }

  async exists(key: string): Promise<boolean> {
    return (await this.head(key)) !== undefined;
  }

  async list(prefix: string): Promise<string[]> {
    const p = checkPrefix(prefix);
    // Whole segments only, as on disk: listing "runs/a" must not return "runs/ab/...".
    const full = [this.prefix, p].filter((s) => s !== "").join("/");
    const Prefix = full === "" ? undefined : `${full}/`;
    const strip = this.prefix === "" ? 0 : this.prefix.length + 1;
    const out: string[] = [];
    let token: string | undefined;
    try {
      do {
        const r = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix, ContinuationToken: token, MaxKeys: this.listPageSize }));
        this.bucketSeen = true;
        for (const o of r.Contents ?? []) {
          // Keys ending in '/' are "folder" placeholders made by consoles, not objects.
          if (o.Key !== undefined && !o.Key.endsWith("/")) out.push(o.Key.slice(strip));
        }
        token = r.IsTruncated === true ? r.NextContinuationToken : undefined;
      } while (token !== undefined);
    } catch (e) {
      throw this.mapError(e, "list", Prefix ?? "");
    }
    return out.sort();
  }

  async delete(key: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key }));
      this.bucketSeen = true;
    } catch (e) {
      throw this.mapError(e, "delete", Key);
    }
  }

  /** Closes the client's sockets; the store is unusable afterwards. */
  close(): void {
    this.client.destroy();
  }

  private urlOf(objectKey: string): string {
    return objectKey === "" ? `s3://${this.bucket}` : `s3://${this.bucket}/${objectKey}`;
  }

  private httpStatus(e: unknown): number | undefined {
    return (e as SdkErrorShape | null)?.$metadata?.httpStatusCode;
  }

  /** HEAD answers carry no body, so a 404 cannot say whether the key or the bucket is missing. */
  private async checkBucket(objectKey: string): Promise<void> {
    if (this.bucketSeen) return;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      this.bucketSeen = true;
    } catch (e) {
      if (this.httpStatus(e) === 404) throw this.bucketMissing(e);
      throw this.mapError(e, "check", objectKey);
    }
  }

  private bucketMissing(cause: unknown): StoreError {
    return new StoreError("bucket_missing", `S3 bucket "${this.bucket}" does not exist at ${this.endpointLabel}: create it, or fix the bucket in the store URL (${this.root})`, { cause });
  }

  private mapError(e: unknown, op: "read" | "write" | "check" | "list" | "delete", objectKey: string): StoreError {
    if (e instanceof StoreError) return e;
    const x = (e ?? {}) as SdkErrorShape;
    const name = typeof x.name === "string" ? x.name : "Error";
    const message = typeof x.message === "string" ? x.message : String(e);
    const status = this.httpStatus(e);
    const where = `${op} ${this.urlOf(objectKey)}`;
    const net = networkCode(e);
    if (net !== undefined || name === "TimeoutError" || name === "RequestTimeout") {
      return new StoreError("unreachable", `S3 endpoint ${this.endpointLabel} is unreachable (${net ?? name}: ${message}) during ${where}: check AWS_ENDPOINT_URL (or the endpoint option) and the network`, { cause: e });
    }
    if (name === "NoSuchBucket") return this.bucketMissing(e);
    if (ACCESS_NAMES.has(name) || status === 403) {
      return new StoreError("access_denied", `S3 access denied (${name}${status !== undefined ? `, HTTP ${status}` : ""}) during ${where} at ${this.endpointLabel}: check the credentials (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or AWS_PROFILE) and the bucket policy`, { cause: e });
    }
    if (name === "NoSuchKey" || name === "NotFound" || status === 404) {
      return new StoreError("not_found", `no object ${this.urlOf(objectKey)} at ${this.endpointLabel}`, { cause: e });
    }
    if (name === "PermanentRedirect" || status === 301) {
      return new StoreError("io", `S3 bucket "${this.bucket}" is in another region than the client's during ${where}: set AWS_REGION (or the region option) to the bucket's region`, { cause: e });
    }
    if (/region is missing/i.test(message)) {
      return new StoreError("io", `S3 region unknown during ${where}: set AWS_REGION (or the region option), or an endpoint URL`, { cause: e });
    }
    return new StoreError("io", `S3 ${where} at ${this.endpointLabel} failed: ${name}${status !== undefined ? ` (HTTP ${status})` : ""}: ${message}`, { cause: e });
  }
}
