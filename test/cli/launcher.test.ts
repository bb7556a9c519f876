// The CLI launcher (bin/tradeloop.mjs) and the npm scripts run node with the same V8 flags
// (bin/node-flags.json), and the launcher starts the CLI.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

const flags = JSON.parse(readFileSync("bin/node-flags.json", "utf8")) as string[];
const scripts = (JSON.parse(readFileSync("package.json", "utf8")) as { scripts: Record<string, string> }).scripts;

describe("CLI launcher", () => {
  it("the npm scripts that run tradeloop or the benchmarks pass every flag of bin/node-flags.json", () => {
    expect(flags.length).toBeGreaterThan(0);
    for (const name of ["start", "tradeloop", "bench"]) {
      for (const f of flags) expect(scripts[name], `script ${name}`).toContain(`node ${f}`);
    }
  });

  it("bin/tradeloop.mjs starts the CLI", () => {
    const r = spawnSync(process.execPath, ["bin/tradeloop.mjs", "--help"], { encoding: "utf8", timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/Usage: tradeloop/);
  });
});
