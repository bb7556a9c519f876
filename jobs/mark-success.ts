// DAG success hook: writes `_SUCCESS` into the run directory once every task of the DAG run has
// succeeded, so readers can tell a finished run from one still going or abandoned.

import { writeFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { SUCCESS_MARKER } from "../src/storage/run-layout.js";

export async function markRunDirSuccess(outputs: Readonly<Record<string, unknown>>): Promise<void> {
  const out = outputs["run_system"] as { runDir?: unknown } | undefined;
  if (typeof out?.runDir !== "string") throw new Error("run_system gave no runDir: cannot write _SUCCESS");
  const file = join(out.runDir, SUCCESS_MARKER);
  writeFileSync(`${file}.tmp`, "");
  renameSync(`${file}.tmp`, file);
}
