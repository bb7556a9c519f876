// `tradeloop run` refuses a flag that cannot apply instead of dropping it (--data-dir without
// --data files ran on synthetic data where a replay was meant), and with a config that already
// chooses the kind, the flag sets the field.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { givenConfig } from "../../src/cli/run-command.js";
import { resolveConfig } from "../../src/system/config.js";
import { runCli } from "../helpers/cli.js";

describe("run flags that depend on another", () => {
  it.each([
    [["--data-dir", "/tmp/x"], /--data-dir applies only with --data files \(or a config whose data\.source is files\)/],
    [["--data", "venue", "--data-dir", "/tmp/x"], /--data-dir applies only with --data files, not --data venue/],
    [["--exchange-id", "binance"], /--exchange-id applies only with --broker ccxt/],
    [["--broker", "embedded", "--exchange-id", "binance"], /--exchange-id applies only with --broker ccxt, not --broker embedded/],
    [["--speed", "10"], /--speed applies only with --clock scaled/],
  ])("refuses %j", async (flags, message) => {
    const r = await runCli(["run", "--assets", "2", "--end", "2024-01-02T00:10:00Z", "--root", mkdtempSync(join(tmpdir(), "tl-flags-")), ...flags]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
  }, 30_000);

  it("sets the field when the config chose the kind", () => {
    const dir = mkdtempSync(join(tmpdir(), "tl-flags-cfg-"));
    const file = join(dir, "c.json");
    writeFileSync(file, JSON.stringify({ data: { source: "files", dir: "/old" }, clock: { kind: "scaled", speed: 5 } }));
    const { given } = givenConfig({ config: file, param: [], dataDir: "/new", speed: 50 });
    expect(given["data"]).toEqual({ source: "files", dir: "/new" });
    expect(given["clock"]).toEqual({ kind: "scaled", speed: 50 });
  });
});

describe("seeds", () => {
  // Seeds are 32-bit: 2^32 + 1 would silently replay seed 1's market.
  it.each([["run", "--assets", "2"], ["venue", "demo"], ["broker-experiment"]])("%s refuses a seed past 2^32 - 1", async (...cmd) => {
    const r = await runCli([...cmd, "--seed", "4294967297"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--seed must be a whole number from 0 to 4294967295, got "4294967297"/);
  }, 30_000);

  it("a config's seeds are checked the same way, naming the field", () => {
    expect(() => resolveConfig({ model: { name: "momentum" }, start: "2024-01-02", end: "2024-01-03", universe: { kind: "synthetic", assets: 2, seed: 2 ** 32 } }, "c.json")).toThrow(/c\.json: universe\.seed: a seed is a whole number from 0 to 4294967295/);
  });
});
