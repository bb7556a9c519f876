import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runBrokerExperiment, type BrokerExperimentResult } from "../../src/oms/broker-experiment.js";
import { BROKER_LOG_STREAMS, BrokerLogError } from "../../src/oms/broker-log.js";
import { readBrokerLog, readBrokerLogStream } from "../../src/oms/broker-log-reader.js";
import { formatOrder } from "../../src/oms/parent-order.js";

async function experiment(seed: number): Promise<BrokerExperimentResult> {
  return runBrokerExperiment({ seed, bars: 3, assets: 4, ordersPerBar: 3, outDir: mkdtempSync(join(tmpdir(), "tl-blog-")) });
}

function readAll(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(dir).sort()) out[f] = readFileSync(join(dir, f), "utf8");
  return out;
}

describe("broker experiment execution quality", () => {
  it("prices each wave: slippage against its parent's arrival and fees, which the parents' totals weigh back together", async () => {
    const r = await experiment(5);
    const waves = r.summary.perWave;
    expect(waves.length).toBeGreaterThan(1);
    // By hand from the broker log: per wave, filled cost and fees of its children (fees in USDT here).
    const log = readBrokerLog(r.logDir);
    const costByWave = new Map<number, number>();
    for (const st of log.orderStates) costByWave.set(st.wave, (costByWave.get(st.wave) ?? 0) + (st.cost ?? 0));
    const feesByWave = new Map<number, number>();
    for (const t of log.trades) feesByWave.set(t.wave, (feesByWave.get(t.wave) ?? 0) + (t.fee?.cost ?? 0));
    for (const w of waves) {
      const cost = costByWave.get(w.wave) ?? 0;
      if (cost === 0) continue;
      expect(w.feesBps, `wave ${w.wave}`).toBeCloseTo((1e4 * (feesByWave.get(w.wave) ?? 0)) / cost, 6);
      expect(Number.isFinite(w.slippageBps)).toBe(true);
    }
    // Fees: the waves' notional-weighted fees are the run's.
    const total = [...costByWave.values()].reduce((a, c) => a + c, 0);
    const weighted = waves.reduce((a, w) => a + ((w.feesBps ?? 0) * (costByWave.get(w.wave) ?? 0)) / total, 0);
    expect(weighted).toBeCloseTo(r.summary.feesBps, 6);
  });
});

describe("broker log", () => {
  it("reads every stream back as typed records, acknowledgements and markets included; a bad field names its file and line", async () => {
    const r = await experiment(5);
    let streams = 0;
    for (const stream of BROKER_LOG_STREAMS) {
      const file = join(r.logDir, `${stream}.jsonl`);
      const records = readBrokerLogStream(r.logDir, stream);
      if (!existsSync(file)) {
        expect(records, stream).toEqual([]);
        continue;
      }
      streams++;
      expect(records.length, stream).toBe(readFileSync(file, "utf8").split("\n").filter((l) => l !== "").length);
    }
    expect(streams).toBeGreaterThanOrEqual(10);
    const acks = readBrokerLogStream(r.logDir, "oms_child_orders").filter((c) => c.event === "acknowledged");
    expect(acks.length).toBeGreaterThan(0);
    for (const a of acks) expect(typeof (a as { ackAt: unknown }).ackAt).toBe("number");
    expect(readBrokerLogStream(r.logDir, "exchange_markets").map((m) => m.market.quote)).toContain("USDT");
    const bidAsk = join(r.logDir, "bid_ask.jsonl");
    const lines = readFileSync(bidAsk, "utf8").split("\n");
    lines[2] = (lines[2] as string).replace(/"rows":\d+/, '"rows":"six"');
    writeFileSync(bidAsk, lines.join("\n"));
    expect(() => readBrokerLogStream(r.logDir, "bid_ask")).toThrow(new RegExp(`bid_ask\\.jsonl:3: field "rows": `));
  });

  it("reads back what the broker wrote, as typed records", async () => {
    const r = await experiment(5);
    const log = readBrokerLog(r.logDir);
    expect(log.parentOrders).toHaveLength(r.parentOrders);
    expect(log.parentFills).toHaveLength(r.parentFills);
    expect(log.trades).toHaveLength(r.trades);
    expect(new Set(log.childOrders.filter((c) => c.event === "sending").map((c) => c.clientOrderId)).size).toBe(r.childOrders);
    expect(log.orderStates.length).toBe(r.childOrders);
    expect(log.config?.["runKey"]).toMatch(/^broker_experiment\.manual\./);
    expect(log.experimentArgs?.["bars"]).toBe(3);
    // The text form round-trips through the log.
    for (const p of log.parentOrders) expect(formatOrder(p.order)).toMatch(/^Order: order_id=\d+ /);
    // Parent fills agree with the trades of their children.
    for (const f of log.parentFills) {
      const kids = new Set(log.orderStates.filter((s) => s.clientOrderId.split("-")[2] === String(f.parentOrderId) && s.clientOrderId.split("-")[1] === String(f.bar)).map((s) => s.id));
      const traded = log.trades.filter((t) => t.order !== undefined && kids.has(t.order)).reduce((a, t) => a + t.amount, 0);
      expect(f.numShares.abs().toNumber()).toBeCloseTo(traded, 9);
    }
  });

  it("is byte-identical for the same seed", async () => {
    const a = await experiment(11);
    const b = await experiment(11);
    expect(readAll(b.logDir)).toEqual(readAll(a.logDir));
  });

  it("names the file and line of a corrupt record, and of a torn last line", async () => {
    const r = await experiment(6);
    const file = join(r.logDir, "ccxt_trades.jsonl");
    const lines = readFileSync(file, "utf8").split("\n");
    const good = lines.join("\n");
    lines[1] = "{not json";
    writeFileSync(file, lines.join("\n"));
    expect(() => readBrokerLog(r.logDir)).toThrow(new RegExp(`ccxt_trades\\.jsonl:2: corrupt record`));
    writeFileSync(file, good);
    appendFileSync(file, '{"bar": 9, "wave": 0, "trade": {"id"');
    const n = good.split("\n").length;
    expect(() => readBrokerLog(r.logDir)).toThrow(new RegExp(`ccxt_trades\\.jsonl:${n}: truncated record`));
    const tolerant = readBrokerLog(r.logDir, { tolerateTruncatedTail: true });
    expect(tolerant.truncated).toEqual([{ file, line: n }]);
    expect(tolerant.trades).toHaveLength(r.trades);
  });

  it("names the field of a record that parses but is wrong", async () => {
    const r = await experiment(7);
    const file = join(r.logDir, "oms_fills.jsonl");
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    lines[0] = (lines[0] as string).replace(/"price":"[^"]*"/, '"price":"abc"');
    writeFileSync(file, lines.join("\n") + "\n");
    expect(() => readBrokerLog(r.logDir)).toThrow(BrokerLogError);
    expect(() => readBrokerLog(r.logDir)).toThrow(/oms_fills\.jsonl:1: field "price"/);
  });
});
