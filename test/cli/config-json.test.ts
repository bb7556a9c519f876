// A JSON syntax error in what a user hands the CLI (a system config, reconcile options, a DAG
// conf, the markets file of a recorded run it replays or reconciles) is reported as
// <file>:<line>:<column>, not as a character position.

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

describe("JSON syntax errors in user input", () => {
  it("name the file, line and column in run --config, pnl history --config, reconcile --options and dags trigger --conf", async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-json-"));
    const file = join(root, "system.json");
    writeFileSync(file, '{\n  "model": {"name": "momentum"},\n  "barMinutes": 5,\n}\n');
    const want = `tradeloop: ${file}:3:18: not valid JSON: a trailing comma before '}' (JSON allows none)\n`;
    for (const args of [["run", "--config", file, "--root", root], ["pnl", "history", "--model", "momentum", "--start", "2024-01-01", "--end", "2024-01-01", "--config", file, "--root", root], ["reconcile", root, "--options", file]]) {
      const r = await runCli(args);
      expect(r.status, args.join(" ")).toBe(1);
      expect(r.stderr, args.join(" ")).toBe(want);
    }
    const conf = await runCli(["dags", "trigger", "demo", "--root", root, "--conf", '{"system": {"barMinutes": 5,}}']);
    expect(conf.status).toBe(1);
    expect(conf.stderr).toContain("--conf must be a JSON object: --conf:1:28: not valid JSON: a trailing comma before '}' (JSON allows none)");
  });
});

describe("a recorded run's markets.json with a syntax error", () => {
  it("is named with its line and column by a replay (run --data files) and by reconcile", async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-json-markets-"));
    const window = ["--start", "2024-01-02T00:00:00Z", "--end", "2024-01-02T06:00:00Z", "--bar-minutes", "60", "--assets", "2"];
    const first = await runCli(["run", "--mode", "simulation", ...window, "--root", root]);
    expect(first.status, first.stderr).toBe(0);
    const runDir = /run directory: (.*)/.exec(first.stdout)?.[1] as string;
    const file = join(runDir, "system_log_dir", "market_data", "markets.json");
    const text = readFileSync(file, "utf8");
    expect(text.split("\n")[14]).toBe('    "precision": {');
    writeFileSync(file, text.replace('"precision"', "'precision'"));
    const want = `tradeloop: ${file}:15:5: not valid JSON: a property name takes double quotes, not single\n`;
    const replay = await runCli(["run", "--mode", "simulation", "--data", "files", "--data-dir", join(runDir, "system_log_dir", "market_data"), "--broker", "instant_fill", ...window, "--root", join(root, "replay")]);
    expect(replay.status).toBe(1);
    expect(replay.stderr).toBe(want);
    const rec = await runCli(["reconcile", runDir]);
    expect(rec.status).toBe(1);
    expect(rec.stderr.endsWith(want)).toBe(true);
  });
});
