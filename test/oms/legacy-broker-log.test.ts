import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { loadStream } from "../../src/oms/broker-log.js";
import { readBrokerLog } from "../../src/oms/broker-log-reader.js";
import { convertLegacyBrokerLog, importLegacyBrokerLog, LegacyBrokerLogError, legacyToParentOrder } from "../../src/oms/legacy-broker-log.js";
import { formatOrder } from "../../src/oms/parent-order.js";

const FIXTURE = join("test", "fixtures", "legacy_broker_log");
const GOLDEN_CHILD = "oms_child_orders/1464553467_20220805_143500.20220805-103645.json";

function scratch(): string {
  const dir = join(mkdtempSync(join(tmpdir(), "tl-legacy-")), "log");
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe("legacy broker log import", () => {
  const log = importLegacyBrokerLog(FIXTURE);

  it("reads every stream, in file-name order, never by time", () => {
    // `1467591036_20220805-143500...` sorts before `1467591036_20220805_143500...` ('-' < '_'),
    // and every file of asset 1464553467 before any of 1467591036, whatever the times inside.
    expect(log.childOrders.map((c) => c.value.orderId)).toEqual([2, 4, 5, 3]);
    expect(log.childOrderResponses.map((r) => r.source.file)).toEqual(log.childOrders.map((c) => c.source.file.replace("oms_child_orders/", "ccxt_child_order_responses/")));
    // `oms_parent_orders_20220805-143700.json` (the later bar) sorts first.
    expect(log.parentOrders.map((p) => [p.source.file, p.value.orderId])).toEqual([
      ["oms_parent_orders/oms_parent_orders_20220805-143700.json", 9],
      ["oms_parent_orders/oms_parent_orders_20220805_143500.json", 0],
      ["oms_parent_orders/oms_parent_orders_20220805_143500.json", 1],
    ]);
    // Wave 2's file is named in New York time (10:38:43), wave 1's in UTC (14:37:43): name order puts wave 2 first.
    expect(log.ccxtFills.map((f) => f.value.id)).toEqual(["8389765599793650580", "185320000991", "185320000123"]);
    expect(log.ccxtTrades.map((t) => [t.source.file, t.source.line, t.value.id])).toEqual([
      ["child_order_fills/ccxt_trades/ccxt_trades_20220805-103843.txt", 1, "2504590"],
      ["child_order_fills/ccxt_trades/ccxt_trades_20220805-103843.txt", 3, "2504611"],
      ["child_order_fills/ccxt_trades/ccxt_trades_20220805-143743.json", 1, "2504481"],
      ["child_order_fills/ccxt_trades/ccxt_trades_20220805-143743.json", 1, "2504482"],
    ]);
    expect(log.skipped).toEqual([{ file: "oms_parent_orders/oms_parent_orders_20220805_143500.json.20220805-103745", reason: expect.stringContaining("superseded copy") }]);
    expect([log.omsFills.length, log.bidAsk.length, log.exchangeMarkets.length, log.leverageInfo.length, log.positions.length, log.balances.length]).toEqual([1, 2, 1, 1, 2, 1]);
    expect(log.brokerConfig?.["stage"]).toBe("preprod");
    expect(log.args?.["num_bars"]).toBe(2);
  });

  it("types a child order (golden)", () => {
    const c = log.childOrders[0];
    expect(c?.source).toEqual({ file: GOLDEN_CHILD, line: 1 });
    const o = c?.value;
    expect(o?.orderId).toBe(2);
    expect(o?.assetId).toBe(1464553467);
    expect(o?.type).toBe("limit");
    expect(o?.tz).toBe("America/New_York");
    expect([o?.creationTimestamp.text, o?.startTimestamp.text, o?.endTimestamp.text]).toEqual(["2022-08-05 10:36:45.402117-04:00", "2022-08-05 10:36:45.402117-04:00", "2022-08-05 10:37:44.976104-04:00"]);
    expect(o?.currNumShares).toEqual(new Decimal(0));
    expect(o?.diffNumShares).toEqual(new Decimal("0.06"));
    expect(o?.limitPrice).toEqual(new Decimal("22990.09"));
    expect(o?.ccxtIds).toEqual(["185320000123"]);
    expect(o?.extraParams["wave_id"]).toBe(0);
    expect(o?.fields["bid_price_mean"]).toBe(22989.95);
    // The big exchange id stays exact; ccxt_id -1 means no response.
    expect(log.childOrders[1]?.value.ccxtIds).toEqual(["8389765599793650580"]);
    expect(log.childOrders[3]?.value.ccxtIds).toEqual([]);
  });

  it("recognises a failed submission, bid/ask tables and the reduce-only folders", () => {
    expect(log.childOrderResponses[3]?.value).toEqual({ kind: "failed", symbol: "ETH/USDT", fields: { symbol: "ETH/USDT", empty: true, id: -1 } });
    expect(log.childOrderResponses[0]?.value.kind).toBe("order");
    const snap = log.bidAsk[0]?.value;
    expect(snap?.columns).toEqual(["timestamp", "currency_pair", "exchange_id", "bid_size_l1", "bid_price_l1", "ask_size_l1", "ask_price_l1", "knowledge_timestamp"]);
    expect(snap?.rows[1]).toEqual({ timestamp: "2022-08-05 14:36:44.900000+00:00", currency_pair: "BTC_USDT", exchange_id: "binance", bid_size_l1: 0.951, bid_price_l1: 22990, ask_size_l1: 1.033, ask_price_l1: 22990.2, knowledge_timestamp: "2022-08-05 14:36:45.120000+00:00" });
    expect(log.reduceOnlyChildOrders.map((c) => [c.value.orderId, c.value.type, c.value.diffNumShares.toString(), c.value.extraParams["reduce_only"]])).toEqual([[10, "market", "-0.09", true]]);
    expect(log.reduceOnlyChildOrderResponses[0]?.value.kind).toBe("order");
    expect(log.omsFills[0]?.value.timestamp.toString()).toBe("2022-08-05 14:38:45.201000+00:00");
    // A parent order becomes a tradeloop parent order whose text form round-trips.
    const p = log.parentOrders[1]?.value;
    expect(p && formatOrder(legacyToParentOrder(p))).toBe(
      "Order: order_id=0 creation_timestamp=2022-08-05 10:36:44.976104-04:00 asset_id=1464553467 type_=price@twap start_timestamp=2022-08-05 10:36:44.976104-04:00 end_timestamp=2022-08-05 10:38:44.976104-04:00 curr_num_shares=0.0 diff_num_shares=0.121 tz=America/New_York extra_params={'ccxt_id': [185320000123, '8389765599793650580']}",
    );
  });

  it("names the file and line of a bad record, in indented and in line-per-record files", () => {
    const dir = scratch();
    try {
      const child = join(dir, GOLDEN_CHILD);
      const good = readFileSync(child, "utf8");
      const lineOf = (needle: string): number => good.split("\n").findIndex((l) => l.includes(needle)) + 1;
      writeFileSync(child, good.replace('"diff_num_shares",\n                        0.06', '"diff_num_shares",\n                        "0.06"'));
      expect(() => importLegacyBrokerLog(dir)).toThrow(`${child}:${lineOf('"diff_num_shares"')}: child order field "diff_num_shares": Invalid input: expected number, received string`);
      writeFileSync(child, good.replace('"wave_id": 0', '"wave_id": {"py/set": [0]}'));
      expect(() => importLegacyBrokerLog(dir)).toThrow(`${child}:${lineOf('"wave_id"')}: at $["py/reduce"][4]["py/tuple"][9]["py/tuple"][1].wave_id["py/set"]: unknown jsonpickle tag "py/set"`);
      writeFileSync(child, good);

      const txt = join(dir, "child_order_fills/ccxt_trades/ccxt_trades_20220805-103843.txt");
      const lines = readFileSync(txt, "utf8").split("\n");
      writeFileSync(txt, [lines[0], lines[1], "{\"id\": \"9\", \"side\": \"buy\"", lines[2]].join("\n"));
      expect(() => importLegacyBrokerLog(dir)).toThrow(`${txt}:3:26: not valid JSON`);
      writeFileSync(txt, [lines[0], "", (lines[2] as string).replace('"side": "buy"', '"side": "BUY"')].join("\n"));
      expect(() => importLegacyBrokerLog(dir)).toThrow(`${txt}:3: ccxt trade field "side"`);
      writeFileSync(txt, lines.join("\n"));

      const failed = join(dir, "ccxt_child_order_responses/1467591036_20220805_143500.20220805-103645.json");
      writeFileSync(failed, '{"symbol": "ETH/USDT", "empty": true, "id": 7}');
      expect(() => importLegacyBrokerLog(dir)).toThrow(`${failed}:1: failed submission field "id"`);
      rmSync(failed);

      const csv = join(dir, "bid_ask/20220805_143500.20220805-103744.csv");
      writeFileSync(csv, readFileSync(csv, "utf8").replace("binance,3.0,", "binance,"));
      expect(() => importLegacyBrokerLog(dir)).toThrow(`${csv}:4: 7 fields, but the header has 8`);
      rmSync(csv);

      writeFileSync(join(dir, "positions/positions.20220805-103600.pkl"), "");
      expect(() => importLegacyBrokerLog(dir)).toThrow(/positions\.20220805-103600\.pkl: unsupported file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("legacy broker log conversion", () => {
  it("writes a tradeloop broker log that readBrokerLog reads", () => {
    const out = join(mkdtempSync(join(tmpdir(), "tl-legacy-out-")), "broker_log");
    const report = convertLegacyBrokerLog(FIXTURE, out);
    expect(report.written).toEqual({
      oms_parent_orders: 3,
      oms_child_orders: 4,
      ccxt_child_order_responses: 4,
      reduce_only_oms_child_orders: 1,
      reduce_only_ccxt_child_order_responses: 1,
      ccxt_fills: 3,
      ccxt_trades: 4,
      bid_ask: 2,
      exchange_markets: 2,
      leverage_info: 1,
      positions: 1,
      balances: 1,
    });
    expect(report.warnings).toEqual([]);
    expect(report.documents).toEqual(["legacy_oms_fills.json", "broker_config.json", "experiment_args.json", "legacy_import.json"]);

    const log = readBrokerLog(out);
    expect(log.parentOrders.map((p) => [p.bar, p.symbol, p.order.orderId])).toEqual([
      [0, "BTC/USDT", 9],
      [1, "BTC/USDT", 0],
      [1, "ETH/USDT", 1],
    ]);
    expect(log.orderStates.map((s) => [s.bar, s.wave, s.id, s.clientOrderId, s.status])).toEqual([
      [-1, -1, "8389765599793650580", "x-xcKtGhcu77e0d2c5a4b94c61a0e3d2", "canceled"],
      [-1, -1, "185320000991", "x-xcKtGhcu3f9a01d6e2c84b7d95c0aa", "canceled"],
      [-1, -1, "185320000123", "x-xcKtGhcu1b2c64a8f0e14cf3bb1f9a", "closed"],
    ]);
    expect(log.trades.map((t) => [t.id, t.order, t.amount, t.fee?.cost])).toEqual([
      ["2504590", "8389765599793650580", 0.01, 0.04602098],
      ["2504611", "8389765599793650580", 0.02, 0.09204196],
      ["2504481", "185320000123", 0.04, 0.18392072],
      ["2504482", "185320000123", 0.02, 0.09196036],
    ]);
    // Legacy child orders carry no parent id, bar or wave: they are in the stream, not in the typed view.
    expect(log.childOrders).toEqual([]);
    expect(log.config?.["stage"]).toBe("preprod");
    expect(log.experimentArgs?.["num_bars"]).toBe(2);

    const children = loadStream(out, "oms_child_orders").records as Record<string, unknown>[];
    expect(children[0]).toMatchObject({
      event: "legacy_child_order",
      orderId: 2,
      clientOrderId: "x-xcKtGhcu1b2c64a8f0e14cf3bb1f9a",
      exchangeOrderId: "185320000123",
      assetId: 1464553467,
      symbol: "BTC/USDT",
      side: "buy",
      amount: "0.06",
      limitPrice: "22990.09",
      limitInputs: { computer: "passivity", latestBid: 22990, latestAsk: 22990.2, meanBid: 22989.95, meanAsk: 22990.15, bidUsed: "latest", askUsed: "latest", passivityFactor: 0.55 },
      status: "submitted",
      timestamp: 1659710205402,
      source: `${GOLDEN_CHILD}:1`,
    });
    expect(children[3]).toMatchObject({ orderId: 3, side: "sell", amount: "0.5", status: "rejected", symbol: "ETH/USDT" });
    const responses = loadStream(out, "ccxt_child_order_responses").records as Record<string, unknown>[];
    expect(responses[3]).toMatchObject({ assetId: 1467591036, symbol: "ETH/USDT", empty: true, id: -1 });
    expect(responses[1]).toMatchObject({ clientOrderId: "x-xcKtGhcu77e0d2c5a4b94c61a0e3d2", assetId: 1464553467, response: { id: "8389765599793650580", side: "buy", amount: 0.061, price: 23010.49 } });
    // Python None is absent, as in JavaScript ccxt.
    expect(responses[1]?.["response"]).not.toHaveProperty("average");
    expect(loadStream(out, "reduce_only_oms_child_orders").records).toMatchObject([{ orderId: 10, type: "market", side: "sell", amount: "0.09", reduceOnly: true, clientOrderId: "x-xcKtGhcu0c4e2b7f91d34a6e8b5f17" }]);
    expect(loadStream(out, "exchange_markets").records).toMatchObject([
      { symbol: "BTC/USDT", assetId: 1464553467, market: { precision: { amount: 3, price: 2 } } },
      { symbol: "ETH/USDT", assetId: 1467591036 },
    ]);
    expect(loadStream(out, "bid_ask").records).toMatchObject([{ snapshot: 0, rows: 4 }, { snapshot: 1, rows: 4 }]);
    expect(JSON.parse(readFileSync(join(out, "legacy_oms_fills.json"), "utf8"))).toEqual([
      { assetId: 1464553467, symbol: "BTC/USDT", fillId: 6, timestamp: 1659710325201, numShares: "0.09", price: "22996.89", source: "child_order_fills/oms_fills/oms_fills_20220805-103844.json:1" },
    ]);

    // Converting twice into one folder would mix two logs.
    expect(() => convertLegacyBrokerLog(FIXTURE, out)).toThrow(LegacyBrokerLogError);
  });
});
