// Test harness: a real S3-compatible server (s3rver) on loopback with a throwaway data folder, for
// storage tests that talk the S3 protocol without an AWS account.
//
// s3rver runs in a child Node process started with --openssl-legacy-provider (see
// s3rver-process.mjs): in this Node, without that flag, any truncated ListObjectsV2 answer fails
// with a 500 because s3rver builds its continuation token with DES.

import { fork } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** s3rver's one built-in account: any other access key id is refused with InvalidAccessKeyId. */
export const S3RVER_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`: use it with forcePathStyle (no bucket subdomains on an IP). */
  endpoint: string;
  stop(): Promise<void>;
}

const RUNNER = fileURLToPath(new URL("./s3rver-process.mjs", import.meta.url));

/** Starts s3rver with the given buckets already created; resolves once it listens. */
export async function startS3rver(buckets: string[] = []): Promise<S3rverHandle> {
  const directory = mkdtempSync(join(tmpdir(), "tl-s3rver-"));
  const child = fork(RUNNER, [JSON.stringify({ directory, buckets })], {
    execArgv: ["--openssl-legacy-provider"],
    stdio: ["ignore", "ignore", "pipe", "ipc"],
  });
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s3rver did not start within 20 s: ${stderr}`)), 20_000);
    child.once("message", (m: unknown) => {
      clearTimeout(timer);
      const p = (m as { port?: unknown }).port;
      if (typeof p === "number") resolve(p);
      else reject(new Error(`s3rver sent an unexpected message: ${JSON.stringify(m)}`));
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`s3rver exited with code ${code ?? "null"} before listening: ${stderr}`));
    });
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.disconnect();
        await exited;
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
