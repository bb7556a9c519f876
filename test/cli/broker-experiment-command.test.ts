// `tradeloop broker-experiment` run as a user runs it: a bad argument or a failed run must end the
// process (the progress bar's timer kept it alive forever) with one line naming the flag.

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

function cli(...args: string[]): { status: number | null; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "broker-experiment", ...args], { encoding: "utf8", timeout: 20_000 });
  return { status: r.status, stderr: r.stderr };
}

describe("broker-experiment command", () => {
  it("a bad argument exits non-zero at once, naming the flag (no zod dump)", () => {
    const out = mkdtempSync(join(tmpdir(), "tl-bx-"));
    const r = cli("--bars", "2", "--passivity", "3", "--out", out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^tradeloop: --passivity: .*1/m);
    expect(r.stderr).not.toMatch(/"origin"|"code"/);
    const many = cli("--bars", "2", "--assets", "4", "--orders-per-bar", "6", "--out", out);
    expect(many.status, many.stderr).toBe(1);
    expect(many.stderr).toMatch(/^tradeloop: --orders-per-bar: ordersPerBar cannot exceed the number of assets/m);
  });

  it("a run that fails after the progress bar started stops it and exits non-zero", () => {
    const blocker = join(mkdtempSync(join(tmpdir(), "tl-bx-")), "a-file");
    writeFileSync(blocker, "not a folder");
    const r = cli("--bars", "1", "--assets", "2", "--orders-per-bar", "1", "--out", join(blocker, "out"));
    expect(r.status, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^tradeloop: .*a-file/m);
  });
});
