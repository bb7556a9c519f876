// Reconciles a run wherever it is: a local run directory, a file:// URL, or an s3:// URL. A remote
// run is brought into the local run cache (storage/run-store.ts openRunDir), reconciled there, and
// its summary.json, report.html and execution CSV are put back beside the run's system_log_dir on S3, so the report
// opens from the bucket like the run's other files. The CLI and the reconcile job both come here.

import { join } from "node:path";
import { isS3Url, joinKey, parseS3Url } from "../storage/open-store.js";
import { contentTypeFor, openRunDir } from "../storage/run-store.js";
import { S3Store, type S3Options } from "../storage/s3-store.js";
import { EXECUTION_CSV } from "./execution-csv.js";
import { reconcileRun, type ReconcileDeps, type ReconcileOptionsInput, type ReconciliationResult } from "./reconcile.js";

export interface ReconcileAtDeps extends ReconcileDeps {
  /** Where s3:// runs are materialized (default: the run store's cache under the temp folder). */
  cacheRoot?: string;
  /** Endpoint, region and credentials when not in the environment. */
  s3?: S3Options;
}

export interface ReconcileAtResult extends ReconciliationResult {
  /** The local copy that was reconciled (the run directory itself when it is local). */
  localRunDir: string;
  /** s3:// URLs of the summary and report put beside a remote run (empty for a local run). */
  published: string[];
}

export async function reconcileRunAt(runDirOrUrl: string, options: ReconcileOptionsInput = {}, deps: ReconcileAtDeps = {}): Promise<ReconcileAtResult> {
  const remote = isS3Url(runDirOrUrl);
  if (remote) deps.progress?.(`fetching ${runDirOrUrl}`);
  const localRunDir = remote ? await openRunDir(runDirOrUrl, deps.cacheRoot, deps.s3) : await openRunDir(runDirOrUrl);
  const r = await reconcileRun(localRunDir, options, deps);
  const published: string[] = [];
  if (remote) {
    const { bucket, prefix } = parseS3Url(runDirOrUrl);
    const store = new S3Store({ ...deps.s3, bucket, prefix });
    try {
      for (const [name, path] of [["summary.json", r.summaryPath], ["report.html", r.reportPath], [EXECUTION_CSV, join(r.dir, EXECUTION_CSV)]] as const) {
        const key = joinKey("reconciliation", r.summary.runTimestamp, name);
        const type = contentTypeFor(name);
        await store.putFile(key, path, type === undefined ? {} : { contentType: type });
        published.push(`s3://${joinKey(bucket, prefix, key)}`);
      }
    } finally {
      store.close();
    }
  }
  return { ...r, localRunDir, published };
}
