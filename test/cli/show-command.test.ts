// The console summary of a run (`tradeloop run` / `tradeloop show`): money at cents, counts a killed
// run cannot give as "-", warnings listed.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { formatRunSummary, summaryOf } from "../../src/cli/show-command.js";
import { buildRunSummary } from "../../src/system/run-summary.js";

const facts = {
  model: "momentum", mode: "simulation", start: "2024-01-02T00:00:00.000Z", end: "2024-01-02T00:03:00.000Z", barMinutes: 1,
  barsPlanned: 3, barsDone: 3, parentOrders: 4, parentFills: 4, childOrders: 4, exchangeTrades: 4, warnings: [], complete: true,
};

function bar(netWealth: string, pnl: string | undefined) {
  const d = (x: string) => new Decimal(x);
  return { timestamp: 0, netWealth: d(netWealth), pnl: pnl === undefined ? undefined : d(pnl), gmv: d("1000"), nmv: d("0"), grossVolume: d("10"), netVolume: d("0"), fees: d("0.5"), cash: d(netWealth), leverage: 0.01 };
}

describe("formatRunSummary", () => {
  it("shows the final net wealth to the cent (half up), as it shows PnL and fees", () => {
    const s = buildRunSummary(facts, [bar("100000", undefined), bar("100000.004999", "0.004999"), bar("99846.360161374425", "-153.644838625575")]);
    expect(s.finalNetWealth).toBe("99846.360161374425");
    const text = formatRunSummary(s, "out/run");
    expect(text).toContain("final net wealth 99846.36\n");
    expect(text).toMatch(/^PnL -153\.64 {2}fees 1\.50 {2}final net wealth 99846\.36$/m);
    expect(formatRunSummary({ ...s, finalNetWealth: "100.005" }, "out/run")).toContain("final net wealth 100.01\n");
    expect(formatRunSummary({ ...s, finalNetWealth: undefined, childOrders: Number.NaN }, "out/run")).toMatch(/child orders - .*final net wealth -\n/s);
  });
});

describe("show on a summary.json of another shape", () => {
  it("names the file and the field instead of failing on a property of undefined", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "tl-show-")), "system_log_dir");
    mkdirSync(dir);
    writeFileSync(join(dir, "config.resolved.json"), JSON.stringify({ model: { name: "momentum" }, mode: "simulation", start: "2024-01-02T00:00:00.000Z", end: "2024-01-03T00:00:00.000Z", barMinutes: 5 }));
    writeFileSync(join(dir, "portfolio.jsonl"), "");
    writeFileSync(join(dir, "summary.json"), JSON.stringify({ x: 1 }));
    expect(() => summaryOf(dir)).toThrow(/system_log_dir\/summary\.json: .*model/);
  });
});

describe("show reads what it shows", () => {
  it("a finished run is shown from its summary, without parsing its per-bar logs; a killed one from its bars", () => {
    const dir = join(mkdtempSync(join(tmpdir(), "tl-show-")), "system_log_dir");
    mkdirSync(dir);
    writeFileSync(join(dir, "config.resolved.json"), JSON.stringify({ model: { name: "momentum" }, mode: "simulation", start: "2024-01-02T00:00:00.000Z", end: "2024-01-02T00:03:00.000Z", barMinutes: 1 }));
    // Not a record: a reader that parsed it would fail, naming the file.
    writeFileSync(join(dir, "portfolio.jsonl"), "{not json\n{}\n");
    writeFileSync(join(dir, "targets.jsonl"), "{not json\n{}\n");
    const summary = buildRunSummary(facts, [bar("100000", undefined), bar("100012.5", "12.5")]);
    writeFileSync(join(dir, "summary.json"), JSON.stringify(summary));
    expect(summaryOf(dir).summary.totalPnl).toBe(12.5);
    rmSync(join(dir, "summary.json"));
    expect(() => summaryOf(dir)).toThrow(/portfolio\.jsonl:1/);
  });
});
