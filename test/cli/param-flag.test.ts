// `--param name=value` of `tradeloop run` and `tradeloop pnl history`: a parameter without `=` is
// refused by name with the expected form (pnl history cut the name short instead); a good one
// reaches the model's params.

import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const tmp = (): string => mkdtempSync(join(tmpdir(), "tl-param-"));
const HISTORY = ["pnl", "history", "--model", "momentum", "--start", "2024-01-01", "--end", "2024-01-01", "--bar-minutes", "60", "--assets", "2", "--data", "synthetic", "--broker", "instant_fill"];

describe("--param", () => {
  it("without '=value' is refused by pnl history and run, naming the bad --param and the form name=value", async () => {
    for (const cmd of [HISTORY, ["run", "--mode", "simulation"]]) {
      const root = tmp();
      const r = await runCli([...cmd, "--root", root, "--param", "lookbackBars"]);
      expect(r.status, cmd[0]).toBe(1);
      expect(r.stderr).toContain(`option '--param <name=value>' argument 'lookbackBars' is invalid. --param takes name=value (a model parameter name, "=", then its value), got "lookbackBars"`);
    }
  });

  it("name=value reaches the model's params in pnl history", async () => {
    const root = tmp();
    const r = await runCli([...HISTORY, "--root", root, "--param", "lookbackBars=12"]);
    expect(r.status, r.stderr).toBe(0);
    const dir = r.stdout.split("\t")[2] as string;
    const given = JSON.parse(readFileSync(join(dir, "system_log_dir", "config.given.json"), "utf8")) as { model: { params: unknown } };
    expect(given.model.params).toEqual({ lookbackBars: 12 });
  });
});
