// The children a run's broker left open (their parents finished while their cancels failed), read
// back from its broker log: a live run resumed from its checkpoint takes the list over, so what they
// fill after the restart is booked as late fills, as the dead process would have booked it.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { readBrokerLogStream } from "./broker-log-reader.js";
import type { LoggedLeftOpen } from "./broker.js";
import type { CcxtTrade } from "./ccxt-types.js";

/**
 * Each child the log says was left open and not done with, with its booked amount as last logged
 * and the trades the log holds for it. `brokerLogDir` is a broker log cut back to a checkpoint (or
 * whole).
 */
export function leftOpenInLog(brokerLogDir: string): LoggedLeftOpen[] {
  const file = join(brokerLogDir, "oms_child_orders.jsonl");
  // Most runs leave nothing open: a look at the text spares parsing a day of child orders.
  if (!existsSync(file) || !readFileSync(file, "latin1").includes('"event":"left_open"')) return [];
  const events = readBrokerLogStream(brokerLogDir, "oms_child_orders");
  const sent = new Map<string, { parentOrderId: number; assetId: number; symbol: string; bar: number; wave: number; waveStart: number }>();
  const open = new Map<string, { exchangeOrderId: string; filled: number; cost: number }>();
  for (const r of events) {
    if (r.event === "sending" && "parentOrderId" in r) sent.set(r.clientOrderId, r);
    else if (r.event === "left_open" || r.event === "late_booked") {
      const e = r as { clientOrderId: string; exchangeOrderId: string; filled: number; cost: number };
      open.set(e.clientOrderId, { exchangeOrderId: e.exchangeOrderId, filled: e.filled, cost: e.cost });
    } else if (r.event === "left_open_done") open.delete((r as { clientOrderId: string }).clientOrderId);
  }
  if (open.size === 0) return [];
  const byOrder = new Map<string, CcxtTrade[]>();
  for (const r of readBrokerLogStream(brokerLogDir, "ccxt_trades")) {
    const t = r.trade as unknown as CcxtTrade;
    if (t.order === undefined) continue;
    const list = byOrder.get(t.order) ?? [];
    list.push(t);
    byOrder.set(t.order, list);
  }
  const out: LoggedLeftOpen[] = [];
  for (const [clientOrderId, o] of open) {
    const s = sent.get(clientOrderId);
    if (s === undefined) throw new Error(`${file}: child ${clientOrderId} is logged as left open but never as sent`);
    out.push({
      child: { clientOrderId, exchangeOrderId: o.exchangeOrderId, parentOrderId: s.parentOrderId, assetId: s.assetId, symbol: s.symbol, bar: s.bar, wave: s.wave, waveStart: s.waveStart },
      booked: { filled: o.filled, cost: o.cost },
      trades: byOrder.get(o.exchangeOrderId) ?? [],
    });
  }
  return out;
}
