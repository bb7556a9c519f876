// DAG success hook: writes `_SUCCESS` into the run directory once every task of the DAG run has
// succeeded, so readers can tell a finished run from one still going or abandoned.

import { writeTextAtomic } from "../src/storage/jsonl.js";
import { join } from "node:path";
import { SUCCESS_MARKER } from "../src/storage/run-layout.js";
import type { FinishedRun } from "../src/orchestration/dag.js";
import { uploadRunDir } from "../src/storage/run-store.js";
import { runStoreTarget } from "./run-store-target.js";

export async function markRunDirSuccess({ outputs, conf, dataRoot }: FinishedRun): Promise<void> {
  const out = outputs["run_system"] as { runDir?: unknown } | undefined;
  if (typeof out?.runDir !== "string") throw new Error("run_system gave no runDir: cannot write _SUCCESS");
  writeTextAtomic(join(out.runDir, SUCCESS_MARKER), "");
  const root = conf["runStore"];
  if (typeof root === "string") {
    // The run's files went up when run_system finished; reports and charts of later tasks too.
    const target = runStoreTarget(conf, dataRoot, out.runDir);
    if (target !== undefined) await uploadRunDir(out.runDir, target.store, target.prefix);
  }
}
