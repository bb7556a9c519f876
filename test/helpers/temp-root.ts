// Vitest global setup: the temporary folders of one test run all go under one folder, removed when
// the run ends. Tests make theirs with mkdtempSync(join(tmpdir(), ...)) and servers they start
// (redis-server, s3rver, chromium) write under TMPDIR too; os.tmpdir() follows TMPDIR, which the
// test processes inherit from here. Without it every run left ~2 GB of folders in /tmp.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const root = mkdtempSync(join(tmpdir(), "tradeloop-test-"));
  const before = process.env["TMPDIR"];
  process.env["TMPDIR"] = root;
  return () => {
    if (before === undefined) delete process.env["TMPDIR"];
    else process.env["TMPDIR"] = before;
    // KEEP_TEST_TMP=1 leaves the run's files for a look (the path is printed).
    if (process.env["KEEP_TEST_TMP"] === "1") console.log(`test temporary files kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  };
}
