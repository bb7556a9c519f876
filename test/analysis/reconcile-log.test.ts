// The reconciliation's reader of a system log (src/analysis/reconcile-log.ts) on hand-written logs:
// what it keeps, decimals as their logged text, and bad input named by file, line and field; a torn
// last line fails, or is reported when tolerated.

import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ReconcileLogFollower, readReconcileLog } from "../../src/analysis/reconcile-log.js";

const made: string[] = [];
afterAll(() => {
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

const asset = { assetId: 7, symbol: "S01/USDT:USDT", holdingsShares: "1.5", price: "2", holdingsNotional: "3", executedTradesShares: "1.5", executedTradesNotional: "3", pnl: null, fees: "0.01" };
const bar0 = { bar: 0, timestamp: 60_000, cash: "100", nmv: "0", gmv: "0", netWealth: "100", leverage: 0, grossVolume: "0", netVolume: "0", pnl: null, fees: "0", assets: [] };
const bar1 = { ...bar0, bar: 1, timestamp: 120_000, pnl: "0", assets: [asset] };
const target = { bar: 0, timestamp: 60_000, rows: [{ assetId: 7, symbol: "S01/USDT:USDT", price: "2", volatility: 0.01, weight: 1, holdingsShares: "0", targetTradesShares: "1.5" }] };
const order = { bar: 0, timestamp: 60_000, orderId: 0, text: "Order: order_id=0 creation_timestamp=2024-01-02 00:01:00+00:00 asset_id=7 type_=market start_timestamp=2024-01-02 00:01:00+00:00 end_timestamp=2024-01-02 00:02:00+00:00 curr_num_shares=0.0 diff_num_shares=1.5 tz=UTC extra_params={}" };
const fill = { bar: 0, timestamp: 60_000, assetId: 7, parentOrderId: 0, numShares: "1.5", price: "2", fees: "0.01" };

function logDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tl-reclog-"));
  made.push(dir);
  mkdirSync(join(dir, "dag"));
  const all: Record<string, string> = {
    "config.resolved.json": "{}",
    "portfolio.jsonl": `${JSON.stringify(bar0)}\n${JSON.stringify(bar1)}\n`,
    "targets.jsonl": `${JSON.stringify(target)}\n`,
    "orders.jsonl": `${JSON.stringify(order)}\n`,
    "fills.jsonl": `${JSON.stringify(fill)}\n`,
    "dag/prediction.jsonl": `${JSON.stringify({ bar: 0, timestamp: 60_000, values: { "S01/USDT:USDT": 0.5 } })}\n`,
    ...files,
  };
  for (const [name, text] of Object.entries(all)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("readReconcileLog", () => {
  it("keeps what a reconciliation compares, decimals as logged", () => {
    const log = readReconcileLog(logDir({}), { volatility: true });
    expect(log.portfolio.map((b) => b.bar)).toEqual([0, 1]);
    expect(log.portfolio[1]?.assets[0]).toMatchObject({ assetId: 7, holdingsShares: "1.5", pnl: undefined, fees: "0.01" });
    expect(log.fills).toEqual([{ bar: 0, timestamp: 60_000, assetId: 7, parentOrderId: 0, numShares: "1.5", price: "2", fees: "0.01" }]);
    expect(log.orders).toEqual([{ bar: 0, timestamp: 60_000, orderId: 0, assetId: 7, diff: "1.5" }]);
    expect(log.universe).toEqual([{ assetId: 7, symbol: "S01/USDT:USDT" }]);
    expect(log.arrival.get(7)).toBe("2");
    expect(log.volatility[0]?.bySymbol.get("S01/USDT:USDT")).toBe(0.01);
    expect([...log.dag.keys()]).toEqual(["prediction"]);
    expect(log.hasSummary).toBe(false);
    expect(log.truncated).toEqual([]);
  });

  it("names the file, line and field of a bad record", () => {
    const badAsset = logDir({ "portfolio.jsonl": `${JSON.stringify(bar0)}\n${JSON.stringify({ ...bar1, assets: [{ ...asset, price: "x1" }] })}\n` });
    expect(() => readReconcileLog(badAsset)).toThrow(`${join(badAsset, "portfolio.jsonl")}:2: field "assets.0.price": "x1" is not a number`);
    const badBar = logDir({ "fills.jsonl": `${JSON.stringify({ ...fill, bar: "0" })}\n` });
    expect(() => readReconcileLog(badBar)).toThrow(`${join(badBar, "fills.jsonl")}:1: field "bar": expected an integer, got "0"`);
    const badRow = logDir({ "targets.jsonl": `${JSON.stringify({ ...target, rows: [{ ...target.rows[0], symbol: 3 }] })}\n` });
    expect(() => readReconcileLog(badRow)).toThrow(`${join(badRow, "targets.jsonl")}:1: field "rows.0.symbol": expected a string, got 3`);
    const badDag = logDir({ "dag/prediction.jsonl": `${JSON.stringify({ bar: 0, timestamp: 1, values: { a: "1" } })}\n` });
    expect(() => readReconcileLog(badDag)).toThrow(`${join(badDag, "dag", "prediction.jsonl")}:1: field "values.a": expected a number or null, got "1"`);
    const corrupt = logDir({ "orders.jsonl": `{"bar":0,\n${JSON.stringify(order)}\n` });
    expect(() => readReconcileLog(corrupt)).toThrow(new RegExp(`orders\\.jsonl:1: corrupt record: `));
    expect(() => readReconcileLog(join(corrupt, "nope"))).toThrow(/not a system log directory/);
  });

  it("a torn last line fails, or ends the file and is reported when tolerated", () => {
    const torn = logDir({ "fills.jsonl": `${JSON.stringify(fill)}\n{"bar":1,"times` });
    expect(() => readReconcileLog(torn)).toThrow(`${join(torn, "fills.jsonl")}:2: truncated record (the run was probably killed mid-write)`);
    const log = readReconcileLog(torn, { tolerateTruncatedTail: true });
    expect(log.fills).toHaveLength(1);
    expect(log.truncated).toEqual([{ file: join(torn, "fills.jsonl"), line: 2 }]);
  });
});

describe("ReconcileLogFollower", () => {
  it("reads a log as it is written, polled between writes, to what readReconcileLog reads of the whole", () => {
    const whole = logDir({});
    const growing = mkdtempSync(join(tmpdir(), "tl-reclog-grow-"));
    made.push(growing);
    const names = ["portfolio.jsonl", "targets.jsonl", "orders.jsonl", "fills.jsonl", "dag/prediction.jsonl"];
    const text = new Map(names.map((n) => [n, readFileSync(join(whole, n), "utf8")]));
    // Nothing there yet (no config either): the follower waits rather than fails.
    const f = new ReconcileLogFollower(growing, { volatility: true }, false);
    f.poll();
    writeFileSync(join(growing, "config.resolved.json"), "{}");
    // Each file in three pieces cut mid-line, with polls between; the DAG folder appears midway.
    for (let piece = 0; piece < 3; piece++) {
      if (piece === 1) mkdirSync(join(growing, "dag"));
      for (const n of names) {
        if (n.startsWith("dag/") && piece === 0) continue;
        const t = text.get(n) as string;
        const from = n.startsWith("dag/") ? Math.floor(((piece - 1) * t.length) / 2) : Math.floor((piece * t.length) / 3);
        const to = n.startsWith("dag/") ? Math.floor((piece * t.length) / 2) : Math.floor(((piece + 1) * t.length) / 3);
        appendFileSync(join(growing, n), t.slice(from, piece === 2 ? t.length : to));
      }
      f.poll();
    }
    const followed = f.finish();
    const read = readReconcileLog(whole, { volatility: true });
    expect({ ...followed, dir: "", brokerLogDir: "" }).toEqual({ ...read, dir: "", brokerLogDir: "" });
    expect(readdirSync(join(growing, "dag"))).toEqual(["prediction.jsonl"]);
  });
});

