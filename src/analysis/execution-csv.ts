// Execution quality per bar and asset (DOMAIN.md section 7), one row per parent order of the run:
// the reconciliation's summary.json holds the totals, per bar and per asset; this file holds every
// order, for a spreadsheet or pandas. Shares are the logged decimal text; the measures are floats.

import Papa from "papaparse";
import { isoUtc } from "../core/iso-utc.js";
import { fixed, type Num } from "./exact-num.js";
import { parentMetrics, type ParentRow } from "./run-execution.js";

export const EXECUTION_CSV = "execution_by_bar_asset.csv";

const COLUMNS = [
  "bar", "time", "symbol", "parent_order_id", "target_shares", "filled_shares", "fill_rate", "arrival_price", "fill_price", "next_mark",
  "slippage_bps", "fees_bps", "underfill_shares", "opportunity_cost", "tracking_error_shares", "tracking_error_notional", "tracking_error_bps",
] as const;

/** A logged decimal as text in normal notation (the log's own text when it is already). */
const dec = (x: Num): string => (typeof x === "string" && !/[eE]/.test(x) ? x : fixed(x));
const num = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? "" : String(x));

export function executionCsv(parents: readonly ParentRow[]): string {
  const rows = parents.map((p) => {
    const m = parentMetrics(p);
    return [
      String(p.bar), isoUtc(p.timestamp), p.symbol, String(p.parentOrderId), dec(p.targetShares), dec(p.filledShares), num(m.fillRate),
      dec(p.arrivalPrice), p.fillPrice === undefined ? "" : dec(p.fillPrice), p.nextMark === undefined ? "" : dec(p.nextMark),
      num(m.slippage === undefined ? undefined : 1e4 * m.slippage), num(m.feesBps), num(m.underfill), num(m.opportunityCost),
      num(m.trackingErrorShares), num(m.trackingErrorNotional), num(m.trackingErrorBps),
    ];
  });
  return Papa.unparse({ fields: [...COLUMNS], data: rows }, { newline: "\n" }) + "\n";
}
