// Parquet write/read throughput on a trades-like table (the shape of the broker log's ccxt_trades
// copy), printed as rows/s. Run: npx tsx bench/parquet-write.ts [--rows=100000] [--runs=5]
//
// Figures: writeParquetTable from ready columns (the storage layer alone) for the broker log's
// 17-column ccxt_trades shape and for the 5-column market-data trades shape of DOMAIN.md section 15
// (timestamp, symbol, price, quantity, side; price and quantity as decimal strings);
// writeBrokerLogParquet from a ccxt_trades.jsonl (JSONL parse + flatten + write: what closing a
// broker log costs); readParquetTable back into row objects. Each is the median of the timed runs
// after one warm-up. The machine's other load moves these figures a lot: compare runs side by side.

import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Rng } from "../src/core/rng.js";
import { flattenRecords, writeBrokerLogParquet } from "../src/oms/broker-log-parquet.js";
import { readParquetTable, writeParquetTable, type ParquetColumn } from "../src/storage/parquet-table.js";

const arg = (name: string, dflt: number): number => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`));
  return hit === undefined ? dflt : Number(hit.slice(name.length + 3));
};
const rowsWanted = arg("rows", 100_000);
const runs = arg("runs", 5);

function tradeRecords(n: number): unknown[] {
  const rng = new Rng(7);
  const symbols = ["BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT", "XRP/USDT:USDT", "DOGE/USDT:USDT"];
  const out: unknown[] = [];
  let t = 1704153600000;
  for (let i = 0; i < n; i++) {
    t += rng.int(500);
    const symbol = symbols[rng.int(symbols.length)] as string;
    const price = Math.round(rng.uniform(10, 50_000) * 100) / 100;
    const amount = Math.round(rng.uniform(0.001, 20) * 1e6) / 1e6;
    const cost = price * amount;
    out.push({
      bar: Math.floor(i / 1000),
      wave: Math.floor(i / 100) % 10,
      trade: {
        id: `${symbol}:${i}`,
        order: String(4000 + Math.floor(i / 3)),
        timestamp: t,
        datetime: new Date(t).toISOString(),
        symbol,
        type: "limit",
        side: rng.bool(0.5) ? "buy" : "sell",
        takerOrMaker: rng.bool(0.8) ? "maker" : "taker",
        price,
        amount,
        cost,
        fee: { cost: cost * 0.0002, currency: "USDT" },
        info: { tradeId: i, seq: 10_000 + i },
      },
    });
  }
  return out;
}

function marketTrades(n: number): ParquetColumn[] {
  const rng = new Rng(8);
  const symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"];
  const timestamp: number[] = [];
  const symbol: string[] = [];
  const price: string[] = [];
  const quantity: string[] = [];
  const side: string[] = [];
  let t = 1704153600000;
  for (let i = 0; i < n; i++) {
    t += rng.int(50);
    timestamp.push(t);
    symbol.push(symbols[rng.int(symbols.length)] as string);
    price.push((rng.int(5_000_000) / 100).toFixed(2));
    quantity.push((rng.int(20_000_000) / 1e6).toString());
    side.push(rng.bool(0.5) ? "buy" : "sell");
  }
  return [
    { name: "timestamp", type: "timestamp_ms", values: timestamp },
    { name: "symbol", type: "string", values: symbol },
    { name: "price", type: "string", values: price },
    { name: "quantity", type: "string", values: quantity },
    { name: "side", type: "string", values: side },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timed(label: string, rows: number, fn: () => unknown): Promise<void> {
  await fn();
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await fn();
    rates.push(rows / ((performance.now() - t0) / 1000));
  }
  console.log(`${label.padEnd(50)} ${Math.round(median(rates)).toLocaleString("en-US").padStart(10)} rows/s  (median of ${runs}; runs: ${rates.map((r) => Math.round(r / 1000) + "k").join(" ")})`);
}

const dir = mkdtempSync(join(tmpdir(), "tl-pq-bench-"));
try {
  const records = tradeRecords(rowsWanted);
  const columns = flattenRecords("bench", records);
  const table = join(dir, "table.parquet");
  writeFileSync(join(dir, "ccxt_trades.jsonl"), records.map((r) => JSON.stringify(r)).join("\n") + "\n");
  console.log(`${rowsWanted.toLocaleString("en-US")} trade rows, ${columns.length} columns; node ${process.version}`);
  await timed("writeParquetTable, broker ccxt_trades (17 cols)", rowsWanted, () => writeParquetTable(table, columns));
  console.log(`  file ${(statSync(table).size / 1e6).toFixed(2)} MB, JSONL ${(statSync(join(dir, "ccxt_trades.jsonl")).size / 1e6).toFixed(2)} MB`);
  const market = marketTrades(rowsWanted);
  const marketFile = join(dir, "trades.parquet");
  await timed("writeParquetTable, market trades (5 cols)", rowsWanted, () => writeParquetTable(marketFile, market));
  console.log(`  file ${(statSync(marketFile).size / 1e6).toFixed(2)} MB`);
  await timed("writeBrokerLogParquet (JSONL -> Parquet)", rowsWanted, () => writeBrokerLogParquet(dir, { streams: ["ccxt_trades"] }));
  await timed("readParquetTable (file -> row objects)", rowsWanted, () => readParquetTable(table));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
