// A replay over recorded files that do not cover its session is refused before it starts, naming
// the data dir, the session and what the files hold (it used to "succeed" with no symbol and PnL 0).

import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isoUtc } from "../../src/core/iso-utc.js";
import { loadRecordedMarketData } from "../../src/marketdata/recorded-files.js";
import { resolveConfig } from "../../src/system/config.js";
import { checkReplayCoverage } from "../../src/system/replay-coverage.js";
import { runSystem } from "../../src/system/run-system.js";

const MIN = 60_000;
const DAY = Date.UTC(2024, 0, 2);
const SYMBOLS = ["S01/USDT:USDT", "S02/USDT:USDT"];

/** One-minute bars and a quote a minute for each symbol over [fromMs, toMs) of 2024-01-02. */
function recording(fromMs: number, toMs: number, symbols = SYMBOLS): string {
  const dir = mkdtempSync(join(tmpdir(), "tl-cover-"));
  mkdirSync(join(dir, "ohlcv"));
  mkdirSync(join(dir, "bid_ask"));
  const bars = ["timestamp,symbol,interval,open,high,low,close,volume,knowledge_timestamp"];
  const quotes = ["timestamp,symbol,bid_price,bid_qty,ask_price,ask_qty,knowledge_timestamp"];
  for (let t = fromMs; t < toMs; t += MIN) {
    for (const s of symbols) {
      bars.push(`${isoUtc(t)},${s},1m,100,101,99,100.5,10,${isoUtc(t + MIN)}`);
      quotes.push(`${isoUtc(t)},${s},100,1,100.1,1,${isoUtc(t)}`);
    }
  }
  writeFileSync(join(dir, "ohlcv", "ohlcv_20240102.csv"), bars.join("\n") + "\n");
  writeFileSync(join(dir, "bid_ask", "bid_ask_20240102.csv"), quotes.join("\n") + "\n");
  const market = { quote: "USDT", spot: false, swap: true, precision: { amount: 0.001, price: 0.01 }, limits: { amount: { min: 0.001 }, price: {}, cost: { min: 5 }, leverage: {} } };
  writeFileSync(join(dir, "markets.json"), JSON.stringify(Object.fromEntries(SYMBOLS.map((s) => [s, { symbol: s, base: s.slice(0, 3), ...market }]))));
  return dir;
}

async function check(dir: string, startMs: number, endMs: number): Promise<void> {
  const store = await loadRecordedMarketData(dir, { fromMs: startMs - 30 * MIN, toMs: endMs, types: ["ohlcv", "bid_ask"] });
  await checkReplayCoverage(dir, store, SYMBOLS, { startMs, endMs, barMs: 5 * MIN });
}

describe("replay coverage", () => {
  it("accepts a recording that covers the session", async () => {
    await expect(check(recording(DAY, DAY + 120 * MIN), DAY + 30 * MIN, DAY + 120 * MIN)).resolves.toBeUndefined();
  });

  it("refuses another day's recording, naming the dir, the session and what the files hold", async () => {
    const dir = recording(DAY, DAY + 120 * MIN);
    const e = check(dir, DAY + 100 * MIN, DAY + 220 * MIN);
    await expect(e).rejects.toThrow(dir);
    await expect(e).rejects.toThrow(/does not cover the session 2024-01-02T01:40:00\.000Z \.\. 2024-01-02T03:40:00\.000Z: S01\/USDT:USDT has bars only up to 2024-01-02T02:00:00\.000Z/);
    await expect(e).rejects.toThrow(/The ohlcv files \(ohlcv_20240102\.csv\) hold bars of 2 symbols from 2024-01-02T00:00:00\.000Z to 2024-01-02T02:00:00\.000Z/);
  });

  it("refuses a recording that starts late, or lacks a symbol of markets.json", async () => {
    await expect(check(recording(DAY + 40 * MIN, DAY + 120 * MIN), DAY + 30 * MIN, DAY + 120 * MIN)).rejects.toThrow(/S01\/USDT:USDT has bars only from 2024-01-02T00:40:00\.000Z/);
    await expect(check(recording(DAY, DAY + 120 * MIN, ["S01/USDT:USDT"]), DAY + 30 * MIN, DAY + 120 * MIN)).rejects.toThrow(/S02\/USDT:USDT has no bars in it/);
  });

  it("a run over a recording of another day fails before it starts and leaves no run behind", async () => {
    const dir = recording(DAY, DAY + 120 * MIN);
    const root = mkdtempSync(join(tmpdir(), "tl-cover-run-"));
    const cfg = resolveConfig({ model: { name: "momentum" }, start: "2024-01-03T00:00:00Z", end: "2024-01-03T02:00:00Z", data: { source: "files", dir }, broker: { kind: "instant_fill" }, outputRoot: root });
    await expect(runSystem(cfg)).rejects.toThrow(/does not cover the session 2024-01-03T00:00:00\.000Z \.\. 2024-01-03T02:00:00\.000Z: S01\/USDT:USDT has no bars in it/);
    expect(existsSync(join(root, "dev"))).toBe(false);
  });
});
