import { describe, expect, it } from "vitest";
import { parseRunDir, runDir, systemLogDir } from "../../src/storage/run-layout.js";

const id = { stage: "preprod", model: "C3a", mode: "paper_trading", dagRunMode: "scheduled", startMs: Date.UTC(2023, 5, 26, 13, 10), endMs: Date.UTC(2023, 5, 27, 13, 5) };

describe("run layout", () => {
  it("builds the DOMAIN.md section 9 example", () => {
    expect(runDir("/data", id)).toBe("/data/preprod/C3a/paper_trading/scheduled/20230626_131000.20230627_130500");
    expect(systemLogDir("s", id)).toBe("s/preprod/C3a/paper_trading/scheduled/20230626_131000.20230627_130500/system_log_dir");
  });

  it("parses a run directory back", () => {
    expect(parseRunDir(systemLogDir("/x/y", id))).toEqual(id);
    expect(() => parseRunDir("/a/b")).toThrow(/not a run directory/);
  });

  it("rejects names that would escape the data root", () => {
    for (const model of ["..", "a/b", "../x", "", "a b"]) expect(() => runDir("/data", { ...id, model })).toThrow(/model/);
  });
});
