// A session on an exchange that loses cancels: children whose cancels give up rest past their
// parent and go on filling. The books must still follow the exchange: every such fill is booked as
// a late fill of its parent at the next bar boundary, and the run's own log stays consistent.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { beforeAll, describe, expect, it } from "vitest";
import { reconcileRun, type ReconciliationResult } from "../../src/analysis/reconcile.js";
import { readBrokerLog } from "../../src/oms/broker-log-reader.js";
import { resolveConfig, type SystemConfigInput } from "../../src/system/config.js";
import { runSystem, type RunSystemResult } from "../../src/system/run-system.js";
import { loadSystemLog, type SystemLog } from "../../src/system/system-log-loader.js";
import { SMALL_RUN } from "../helpers/small-run.js";

const given: SystemConfigInput = {
  ...SMALL_RUN,
  // Nearly every cancel lost: with 3 retries and the sweep at the parent's end, a few children of
  // the session are left open by their parents, and some of those fill later.
  broker: { kind: "embedded", faults: { seed: 11, cancelNetworkError: 0.95 } },
};

describe("late fills of children left open by their parents", () => {
  let r: RunSystemResult;
  let log: SystemLog;
  let rec: ReconciliationResult;
  beforeAll(async () => {
    const root = mkdtempSync(join(tmpdir(), "tl-late-"));
    r = await runSystem(resolveConfig({ ...given, outputRoot: root }), { given });
    log = loadSystemLog(r.systemLogDir);
    rec = await reconcileRun(r.runDir, { runTimestamp: "20240103_000000" });
  }, 120_000);

  it("are booked into the portfolio under the bar before the boundary that collected them", () => {
    const late = log.fills.filter((f) => f.late === true);
    expect(late.length).toBeGreaterThan(0);
    const orderBar = new Map(log.orders.map((o) => [o.orderId, o.bar]));
    for (const f of late) expect(f.bar).toBeGreaterThan(orderBar.get(f.parentOrderId) as number);
    expect(r.summary.warnings.some((w) => /booked as a late fill under bar/.test(w))).toBe(true);
  });

  it("make the fills add up to the exchange's trades, asset by asset", () => {
    const broker = readBrokerLog(join(r.systemLogDir, "broker_log"));
    const traded = new Map<string, Decimal>();
    for (const t of broker.trades) traded.set(t.symbol, (traded.get(t.symbol) ?? new Decimal(0)).add(new Decimal(t.amount).mul(t.side === "buy" ? 1 : -1)));
    const symbolOf = new Map(log.portfolio.flatMap((p) => p.assets.map((a) => [a.assetId, a.symbol] as const)));
    const filled = new Map<string, Decimal>();
    for (const f of log.fills) {
      const s = symbolOf.get(f.assetId) as string;
      filled.set(s, (filled.get(s) ?? new Decimal(0)).add(f.numShares));
    }
    expect([...filled.keys()].sort()).toEqual([...traded.keys()].sort());
    for (const [s, v] of traded) expect(filled.get(s)?.toString(), s).toBe(v.toString());
    // And the final holdings are what was filled.
    const last = log.portfolio.at(-1);
    for (const a of last?.assets ?? []) expect(a.holdingsShares.toString(), a.symbol ?? String(a.assetId)).toBe((filled.get(a.symbol ?? "") ?? new Decimal(0)).toString());
  });

  it("leave the run's log consistent with itself, the broker log's parent fills included", () => {
    expect(rec.summary.logConsistency.checks.find((c) => c.name === "fills_match_broker_log")?.checked).toBeGreaterThan(0);
    expect(rec.summary.logConsistency.issues).toBe(0);
  });
});
