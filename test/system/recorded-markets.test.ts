// markets.json beside recorded data is validated: errors name the file, the symbol and the field.

import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { resolveConfig } from "../../src/system/config.js";
import { readRecordedMarkets } from "../../src/system/recorded-markets.js";
import { runSystem } from "../../src/system/run-system.js";

/** As the recorder writes it (a run's market_data/markets.json). */
function market(symbol: string): Record<string, unknown> {
  const base = symbol.slice(0, 3);
  return {
    id: `${base}USDT`, symbol, base, quote: "USDT", settle: "USDT", type: "swap", spot: false, swap: true, contract: true, linear: true, active: true, contractSize: 1,
    precision: { amount: 0.0001, price: 0.001 }, limits: { amount: { min: 0.0001 }, price: { min: 0.001 }, cost: { min: 5 }, leverage: { min: 1, max: 50 } },
    maker: 0.0002, taker: 0.0005, info: { symbol },
  };
}

function dirWith(markets: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), "tl-markets-"));
  writeFileSync(join(dir, "markets.json"), JSON.stringify(markets));
  return dir;
}

describe("markets.json of recorded data", () => {
  it("reads what the recorder writes, with ccxt's absent limits as undefined", () => {
    const m = { ...market("S02/USDT:USDT"), limits: { amount: { min: null }, cost: {} } };
    const read = readRecordedMarkets(dirWith({ "S01/USDT:USDT": market("S01/USDT:USDT"), "S02/USDT:USDT": m }));
    expect(read["S01/USDT:USDT"]).toEqual(market("S01/USDT:USDT"));
    expect(read["S02/USDT:USDT"]?.limits.cost.min).toBeUndefined();
    expect(read["S02/USDT:USDT"]?.limits.amount.min).toBeUndefined();
  });

  it("a missing field is named with the file and symbol (it was a context-free TypeError)", () => {
    const { precision: _dropped, ...noPrecision } = market("S02/USDT:USDT");
    const dir = dirWith({ "S01/USDT:USDT": market("S01/USDT:USDT"), "S02/USDT:USDT": noPrecision });
    expect(() => readRecordedMarkets(dir)).toThrow(`${join(dir, "markets.json")}: S02/USDT:USDT: precision: `);
  });

  it("a minimum cost that is not a number is refused (it silently disabled the minimum)", () => {
    const bad = market("S02/USDT:USDT");
    bad["limits"] = { amount: { min: 0.0001 }, cost: { min: "ten" } };
    expect(() => readRecordedMarkets(dirWith({ "S02/USDT:USDT": bad }))).toThrow(/markets\.json: S02\/USDT:USDT: limits\.cost\.min: .*number/);
  });

  it("refuses a symbol listed under another key, a file that is not an object of markets, and an empty one", () => {
    expect(() => readRecordedMarkets(dirWith({ "S09/USDT:USDT": market("S01/USDT:USDT") }))).toThrow(/markets\.json: S09\/USDT:USDT: symbol: "S01\/USDT:USDT" is listed under "S09\/USDT:USDT"/);
    expect(() => readRecordedMarkets(dirWith([1, 2]))).toThrow(/markets\.json: .*record|markets\.json: .*object/);
    expect(() => readRecordedMarkets(dirWith({}))).toThrow(/markets\.json: lists no market/);
  });

  it("a replay whose markets.json lacks a field fails naming it", async () => {
    const dir = dirWith({ "S01/USDT:USDT": { ...market("S01/USDT:USDT"), precision: undefined } });
    mkdirSync(join(dir, "ohlcv"));
    writeFileSync(join(dir, "ohlcv", "ohlcv_20240102.csv"), "timestamp,symbol,interval,open,high,low,close,volume,knowledge_timestamp\n2024-01-02T00:00:00.000Z,S01/USDT:USDT,1m,1,1,1,1,0,2024-01-02T00:01:00.000Z\n");
    const cfg = resolveConfig({ model: { name: "momentum" }, start: "2024-01-02T00:00:00Z", end: "2024-01-02T01:00:00Z", data: { source: "files", dir }, broker: { kind: "instant_fill" }, outputRoot: mkdtempSync(join(tmpdir(), "tl-markets-run-")) });
    await expect(runSystem(cfg)).rejects.toThrow(/markets\.json: S01\/USDT:USDT: precision: /);
  });
});
