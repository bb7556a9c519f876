// Where a DAG run's run directory is published besides the local data root: `conf.runStore`, a
// folder or an `s3://bucket/prefix` URL (credentials and endpoint from the standard AWS
// environment). The run is written locally (crash-safe appends need a file system), synced there
// while it runs, and `_SUCCESS` goes up last.

import { relative, sep } from "node:path";
import { openStore } from "../src/storage/open-store.js";
import { RunDirSync } from "../src/storage/run-store.js";
import type { Store } from "../src/storage/store.js";

export interface RunStoreTarget {
  store: Store;
  /** The run directory's key prefix in the store. */
  prefix: string;
  url: string;
}

export function runStoreTarget(conf: Readonly<Record<string, unknown>>, dataRoot: string, runDir: string): RunStoreTarget | undefined {
  const root = conf["runStore"];
  if (root === undefined) return undefined;
  if (typeof root !== "string" || root === "") throw new Error(`conf.runStore must be a folder or an s3://bucket/prefix URL, got ${JSON.stringify(root)}`);
  const store = openStore(root);
  const prefix = relative(dataRoot, runDir).split(sep).join("/");
  return { store, prefix, url: `${root.replace(/\/+$/, "")}/${prefix}` };
}

/**
 * Syncs the run directory at most every `minIntervalMs` while it runs. A failed sync during the run
 * is reported and retried by the next one; the final sync at `finish` must succeed or the task fails.
 */
export class ThrottledRunSync {
  private readonly sync: RunDirSync;
  private inFlight: Promise<unknown> = Promise.resolve();

  constructor(
    runDir: string,
    target: RunStoreTarget,
    minIntervalMs: number,
    private readonly report: (message: string) => void,
  ) {
    this.sync = new RunDirSync(runDir, target.store, target.prefix, { minIntervalMs });
  }

  /** Called after every bar; never blocks the bar loop. */
  poke(): void {
    this.inFlight = this.sync.maybeSync(Date.now()).catch((err: unknown) => {
      this.report(`run store sync failed (the next sync retries): ${err instanceof Error ? err.message : String(err)}`);
    });
  }

  async finish(): Promise<void> {
    await this.inFlight;
    await this.sync.finish();
  }
}
