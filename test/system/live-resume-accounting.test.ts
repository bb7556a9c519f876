// A live session (scaled clock) that dies after a bar and is resumed from its checkpoint keeps its
// books: every bar's holdings are the previous bar's plus the fills logged for the previous bar,
// and cash moves by exactly their notional and fees, across the resume as everywhere else.

import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { resolveConfig, type SystemConfigInput } from "../../src/system/config.js";
import { runIdentity, runSystem } from "../../src/system/run-system.js";
import { systemLogDir } from "../../src/storage/run-layout.js";
import { loadSystemLog, type SystemLog } from "../../src/system/system-log-loader.js";

/** Every break of "holdings and cash follow the logged fills", one line each. */
function accountingBreaks(log: SystemLog): string[] {
  const out: string[] = [];
  const bars = log.portfolio;
  for (let k = 1; k < bars.length; k++) {
    const prev = bars[k - 1];
    const cur = bars[k];
    if (prev === undefined || cur === undefined) continue;
    const fills = log.fills.filter((f) => f.bar === prev.bar);
    let cash = new Decimal(prev.cash.toString());
    for (const f of fills) cash = cash.sub(new Decimal(f.numShares.toString()).mul(f.price.toString())).sub(f.fees.toString());
    if (!cash.eq(cur.cash.toString())) out.push(`bar ${cur.bar}: cash ${cur.cash.toString()}, the fills of bar ${prev.bar} give ${cash.toFixed()}`);
    for (const a of cur.assets) {
      const before = prev.assets.find((p) => p.assetId === a.assetId)?.holdingsShares.toString() ?? "0";
      const traded = fills.filter((f) => f.assetId === a.assetId).reduce((s, f) => s.add(f.numShares.toString()), new Decimal(0));
      if (!new Decimal(before).add(traded).eq(a.holdingsShares.toString())) out.push(`bar ${cur.bar} asset ${a.assetId}: holdings ${a.holdingsShares.toString()}, expected ${before} + ${traded.toFixed()}`);
      if (!traded.eq(a.executedTradesShares.toString())) out.push(`bar ${cur.bar} asset ${a.assetId}: executed ${a.executedTradesShares.toString()}, the fills of bar ${prev.bar} sum to ${traded.toFixed()}`);
    }
  }
  return out;
}

/** A 12-minute paper-trading session on a scaled clock (600x: a bar every 0.1 s), in a fresh root. */
function session(rootPrefix: string): SystemConfigInput {
  return {
    model: { name: "momentum", params: { lookbackBars: 2, volatilityBars: 4 } },
    mode: "paper_trading",
    clock: { kind: "scaled", speed: 600 },
    start: "2024-01-02T00:00:00Z",
    end: "2024-01-02T00:12:00Z",
    barMinutes: 1,
    universe: { kind: "synthetic", assets: 3, seed: 1 },
    broker: { kind: "instant_fill" },
    targets: { grossExposure: 20_000 },
    outputRoot: mkdtempSync(join(tmpdir(), rootPrefix)),
  };
}

describe("a live session resumed from its checkpoint", () => {
  it("applies the checkpoint bar's fills: holdings and cash follow the logged fills across the resume", async () => {
    const given = session("tl-resume-books-");
    const cfg = resolveConfig(given);
    const logDir = systemLogDir(cfg.outputRoot, runIdentity(cfg));
    // The live market's prices follow the wall clock, so which bars trade varies from run to run:
    // the process dies after the first bar from 4 on whose orders traded (its fills are on disk).
    const traded = (bar: number): boolean => existsSync(join(logDir, "fills.jsonl")) && readFileSync(join(logDir, "fills.jsonl"), "utf8").includes(`{"bar":${bar},`);
    let crashBar = -1;
    const crash = new AbortController();
    const first = runSystem(cfg, { given, runKey: "books", resume: true, signal: crash.signal, onBar: (done) => {
      if (crashBar < 0 && done >= 4 && traded(done)) {
        crashBar = done;
        crash.abort(new Error(`the process dies after bar ${done}`));
      }
    } });
    await expect(first).rejects.toThrow(/dies after bar \d+/);

    const r = await runSystem(cfg, { given, runKey: "books", resume: true });
    expect(r.resumedFromBar).toBe(crashBar);
    const log = loadSystemLog(r.systemLogDir);
    // The crash came after the bar's orders had traded: the check below spans a bar with fills.
    expect(log.fills.some((f) => f.bar === crashBar)).toBe(true);
    expect(log.portfolio.map((b) => b.bar)).toEqual([...Array(13).keys()]);
    expect(accountingBreaks(log)).toEqual([]);
  }, 60_000);

  it("takes over the children the dead process left open, and names those the exchange no longer knows", async () => {
    // The embedded venue loses nearly every cancel; a fresh process has a fresh venue, which knows
    // none of the dead process's orders.
    const given: SystemConfigInput = { ...session("tl-resume-left-"), broker: { kind: "embedded", faults: { seed: 5, cancelNetworkError: 0.97 } } };
    const cfg = resolveConfig(given);
    const logDir = systemLogDir(cfg.outputRoot, runIdentity(cfg));
    const issues = join(logDir, "broker_log", "fill_check_issues.jsonl");
    const leftOpen = (): boolean => existsSync(issues) && readFileSync(issues, "utf8").includes("still open at the exchange when its parent finished");
    const crash = new AbortController();
    let crashBar = -1;
    const first = runSystem(cfg, { given, runKey: "left", resume: true, signal: crash.signal, onBar: (done) => {
      if (crashBar < 0 && done >= 2 && leftOpen()) {
        crashBar = done;
        crash.abort(new Error(`the process dies after bar ${done}`));
      }
    } });
    await expect(first).rejects.toThrow(/dies after bar \d+/);
    const r = await runSystem(cfg, { given, runKey: "left", resume: true });
    expect(r.resumedFromBar).toBe(crashBar);
    const log = loadSystemLog(r.systemLogDir);
    expect(log.logText).toMatch(/resume: \d+ child order\(s\) the dead process left open taken over/);
    expect(readFileSync(issues, "utf8")).toMatch(/is unknown to the exchange now \(OrderNotFound/);
    expect(accountingBreaks(log)).toEqual([]);
  }, 60_000);

  it("says so when flattening at the end leaves positions the fresh simulated account never held", async () => {
    const given: SystemConfigInput = { ...session("tl-resume-flat-"), order: { flattenAtEnd: true } };
    const cfg = resolveConfig(given);
    const crash = new AbortController();
    await expect(runSystem(cfg, { given, runKey: "flat", resume: true, signal: crash.signal, onBar: (done) => {
      if (done === 10) crash.abort(new Error("the process dies after bar 10"));
    } })).rejects.toThrow(/dies after bar 10/);
    const r = await runSystem(cfg, { given, runKey: "flat", resume: true });
    const last = loadSystemLog(r.systemLogDir).portfolio.at(-1);
    const held = (last?.assets ?? []).filter((a) => !a.holdingsShares.isZero());
    // The account flattened holds only what was bought after the restart; the books held more.
    expect(held.length).toBeGreaterThan(0);
    const warning = r.summary.warnings.find((w) => w.startsWith("flatten: the portfolio still holds"));
    expect(warning).toBeDefined();
    for (const a of held) expect(warning).toContain(a.holdingsShares.toString());
  }, 60_000);
});
