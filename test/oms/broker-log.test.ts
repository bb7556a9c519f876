import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { summarizeExecution, type ParentExecution, type WaveFill, type WaveQuality } from "../../src/analysis/execution-quality.js";
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

describe("broker experiment summary against the exact reference", () => {
  it("agrees with summarizeExecution (decimal.js) over parents and waves rebuilt from the log", async () => {
    const r = await experiment(7);
    const log = readBrokerLog(r.logDir);
    // Arrival: the mid of the bid/ask the broker saw at the parent's first wave (the bar's start).
    const mid = new Map<string, Decimal>();
    for (const q of readBrokerLogStream(r.logDir, "bid_ask")) {
      if (q.wave === 0 && q.bid !== undefined && q.ask !== undefined) mid.set(`${q.bar}|${q.symbol}`, new Decimal(q.bid).add(q.ask).div(2));
    }
    const parents = new Map<number, ParentExecution>();
    for (const p of log.parentOrders) {
      if (parents.has(p.order.orderId)) continue;
      parents.set(p.order.orderId, {
        parentOrderId: p.order.orderId, symbol: p.symbol, targetShares: p.order.diffNumShares, filledShares: new Decimal(0), fillPrice: undefined,
        arrivalPrice: mid.get(`${p.bar}|${p.symbol}`) as Decimal, fees: new Decimal(0),
      });
    }
    for (const f of log.parentFills) {
      const p = parents.get(f.parentOrderId) as ParentExecution;
      p.filledShares = new Decimal(f.numShares);
      p.fillPrice = new Decimal(f.price);
      p.fees = new Decimal(f.fees);
    }
    // Waves: per parent and wave, its children's amounts, fills and filled cost, and their trades.
    const parentOf = new Map(log.childOrders.map((c) => [c.clientOrderId, c.parentOrderId]));
    const groups = new Map<string, WaveFill & { parent: ParentExecution }>();
    const group = (parentId: number, wave: number): WaveFill & { parent: ParentExecution } => {
      const key = `${parentId}|${wave}`;
      let g = groups.get(key);
      if (g === undefined) {
        const zero = new Decimal(0);
        g = { wave, childAmount: zero, filled: zero, makerAmount: zero, takerAmount: zero, parent: parents.get(parentId) as ParentExecution };
        groups.set(key, g);
      }
      return g;
    };
    const cost = new Map<string, Decimal>();
    const fees = new Map<string, Decimal>();
    const parentOfOrder = new Map<string, number>();
    for (const st of log.orderStates) {
      const parentId = parentOf.get(st.clientOrderId) as number;
      parentOfOrder.set(st.id, parentId);
      const g = group(parentId, st.wave);
      g.childAmount = g.childAmount.add(new Decimal(st.amount));
      g.filled = g.filled.add(new Decimal(st.filled ?? 0));
      const key = `${parentId}|${st.wave}`;
      cost.set(key, (cost.get(key) ?? new Decimal(0)).add(new Decimal(st.cost ?? 0)));
    }
    for (const t of log.trades) {
      const parentId = parentOfOrder.get(t.order as string) as number;
      const g = group(parentId, t.wave);
      if (t.takerOrMaker === "maker") g.makerAmount = g.makerAmount.add(new Decimal(t.amount));
      else g.takerAmount = g.takerAmount.add(new Decimal(t.amount));
      const key = `${parentId}|${t.wave}`;
      fees.set(key, (fees.get(key) ?? new Decimal(0)).add(new Decimal(t.fee?.cost ?? 0)));
    }
    const waves: WaveFill[] = [...groups.entries()].map(([key, g]) => ({
      wave: g.wave, childAmount: g.childAmount, filled: g.filled, makerAmount: g.makerAmount, takerAmount: g.takerAmount,
      priced: { filledCost: cost.get(key) ?? new Decimal(0), fees: fees.get(key) ?? new Decimal(0), arrivalPrice: g.parent.arrivalPrice, side: g.parent.targetShares.isPositive() ? 1 : -1 },
    }));
    const exact = summarizeExecution([...parents.values()], waves);
    const close = (a: number | undefined, b: number | undefined, what: string): void => {
      expect(a === undefined || Number.isNaN(a), what).toBe(b === undefined || Number.isNaN(b));
      if (a !== undefined && b !== undefined && !Number.isNaN(b)) expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(b)));
    };
    const s = r.summary;
    expect(s.parents).toBe(exact.parents);
    expect(exact.filledNotional).toBeGreaterThan(0);
    for (const k of ["fillRate", "slippageBps", "feesBps", "makerShare", "filledNotional", "trackingErrorNotional"] as const) close(s[k], exact[k], k);
    expect(s.perWave.map((w) => [w.wave, w.children])).toEqual(exact.perWave.map((w) => [w.wave, w.children]));
    s.perWave.forEach((w, i) => {
      const e = exact.perWave[i] as WaveQuality;
      for (const k of ["fillRate", "makerShare", "slippageBps", "feesBps"] as const) close(w[k], e[k], `wave ${w.wave} ${k}`);
    });
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
