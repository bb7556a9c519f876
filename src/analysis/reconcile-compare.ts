// The comparisons of a reconciliation (DOMAIN.md section 8), as pure functions over loaded logs:
// portfolios column by column, model outputs node by node, fills parent by parent, and the run's own
// log against itself (fills vs the broker log, executed trades vs fills, holdings, notional and PnL
// identities). Every difference found is *named* (bar, symbol, field, both values) so a reader can
// go straight to the line; the counts and maxima feed the verdict.

import { Decimal } from "decimal.js";
import type { LoggedDagOutput, LoggedFill } from "../system/system-log-loader.js";
import { pearson } from "./statistics.js";

export type SideName = "prod" | "sim" | "research";

export interface SideAssetBar {
  assetId: number;
  holdingsShares: Decimal;
  price: Decimal;
  holdingsNotional: Decimal;
  executedTradesShares: Decimal;
  executedTradesNotional: Decimal;
  pnl: Decimal | undefined;
  fees: Decimal;
}

/** A portfolio bar as both the run's log and the research portfolio give it. */
export interface SidePortfolioBar {
  timestamp: number;
  pnl: Decimal | undefined;
  fees: Decimal;
  assets: readonly SideAssetBar[];
}

export const PORTFOLIO_COLUMNS = ["holdings_shares", "holdings_notional", "executed_trades_shares", "executed_trades_notional", "pnl", "price", "fees"] as const;
export type PortfolioColumn = (typeof PORTFOLIO_COLUMNS)[number];

export const DIFFERENCE_KINDS = [
  "log_inconsistency",
  "bar_missing",
  "model_output",
  "fill_dropped",
  "fill_extra",
  "fill_differs",
  "portfolio",
  "underfill",
] as const;
export type DifferenceKind = (typeof DIFFERENCE_KINDS)[number];

export interface Difference {
  kind: DifferenceKind;
  /** Whether the verdict counts it (see the options: some pairs are expected to differ). */
  gated: boolean;
  message: string;
  bar?: number;
  symbol?: string;
  field?: string;
  node?: string;
  parentOrderId?: number;
  /** The values compared, as exact text, by side. */
  values?: Partial<Record<SideName | "broker_log" | "expected", string | null>>;
}

/**
 * Collects differences: counts every one, keeps the first `keepPerKind` of each kind (in the order
 * found: by bar), and lists gated kinds before the rest.
 */
export class DifferenceList {
  private readonly kept = new Map<DifferenceKind, Difference[]>();
  readonly counts = new Map<DifferenceKind, { total: number; gated: number }>();

  constructor(private readonly keepPerKind: number) {}

  add(d: Difference): void {
    const c = this.counts.get(d.kind) ?? { total: 0, gated: 0 };
    c.total++;
    if (d.gated) c.gated++;
    this.counts.set(d.kind, c);
    let list = this.kept.get(d.kind);
    if (list === undefined) {
      list = [];
      this.kept.set(d.kind, list);
    }
    if (list.length < this.keepPerKind) list.push(d);
  }

  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c.total;
    return n;
  }

  gatedCount(kind?: DifferenceKind): number {
    if (kind !== undefined) return this.counts.get(kind)?.gated ?? 0;
    let n = 0;
    for (const c of this.counts.values()) n += c.gated;
    return n;
  }

  /** At most `max` differences: gated first, then by kind in DIFFERENCE_KINDS order, then as found. */
  listed(max: number): Difference[] {
    const all: Difference[] = [];
    for (const gated of [true, false]) for (const k of DIFFERENCE_KINDS) for (const d of this.kept.get(k) ?? []) if (d.gated === gated) all.push(d);
    return all.slice(0, max);
  }
}

/** Percent difference of two values: 0 when equal, else 100 * |a - b| / max(|a|, |b|). */
export function pctDiff(a: Decimal, b: Decimal): number {
  if (a.eq(b)) return 0;
  return pctDiffNumber(a.toNumber(), b.toNumber());
}

function pctDiffNumber(a: number, b: number): number {
  if (a === b) return 0;
  return (100 * Math.abs(a - b)) / Math.max(Math.abs(a), Math.abs(b));
}

export interface ColumnComparison {
  column: PortfolioColumn;
  /** Cells (bar x asset) compared. */
  cells: number;
  /** Cells whose percent difference exceeds the tolerance. */
  differing: number;
  maxAbsPctDiff: number;
  /** The largest absolute difference, exact. */
  maxAbsDiff: string;
  /** Where the largest percent difference is, e.g. "bar 37 S01/USDT". */
  at: string | null;
}

export interface PortfolioComparison {
  pair: string;
  barsCompared: number;
  /** Bars one side has and the other lacks (a killed run, a shorter window). */
  barsOnlyIn: Partial<Record<SideName, number>>;
  columns: ColumnComparison[];
}

function columnOf(a: SideAssetBar | undefined, col: PortfolioColumn): Decimal | undefined {
  if (a === undefined) return col === "price" ? undefined : ZERO;
  switch (col) {
    case "holdings_shares":
      return a.holdingsShares;
    case "holdings_notional":
      return a.holdingsNotional;
    case "executed_trades_shares":
      return a.executedTradesShares;
    case "executed_trades_notional":
      return a.executedTradesNotional;
    case "pnl":
      return a.pnl;
    case "price":
      // A mark of 0 means "not priced" (an asset the portfolio no longer holds): nothing to compare.
      return a.price.isZero() ? undefined : a.price;
    case "fees":
      return a.fees;
  }
}

const ZERO = new Decimal(0);

/** Column values as floats (NaN: nothing to compare), computed once per row: a side is in two pairs. */
const FLOATS = new WeakMap<SideAssetBar, Float64Array>();
const ABSENT = Float64Array.from(PORTFOLIO_COLUMNS, (c) => (c === "price" ? NaN : 0));

function floatsOf(row: SideAssetBar | undefined): Float64Array {
  if (row === undefined) return ABSENT;
  let f = FLOATS.get(row);
  if (f === undefined) {
    f = new Float64Array(PORTFOLIO_COLUMNS.length);
    for (let c = 0; c < PORTFOLIO_COLUMNS.length; c++) f[c] = columnOf(row, PORTFOLIO_COLUMNS[c] as PortfolioColumn)?.toNumber() ?? NaN;
    FLOATS.set(row, f);
  }
  return f;
}

export interface CompareOptions {
  names: [SideName, SideName];
  symbolOf: ReadonlyMap<number, string>;
  tolerancePct: number;
  /** Where named differences go; none are named when absent (only counted in the columns). */
  differences?: DifferenceList;
  gated?: boolean;
}

/**
 * Compares two portfolios bar by bar and asset by asset on every column; an asset one side does not
 * list at a bar counts as holding and trading nothing there.
 */
export function comparePortfolios(a: readonly SidePortfolioBar[], b: readonly SidePortfolioBar[], opts: CompareOptions): PortfolioComparison {
  const [na, nb] = opts.names;
  const n = Math.min(a.length, b.length);
  const stats = PORTFOLIO_COLUMNS.map((column) => ({ column, cells: 0, differing: 0, maxAbsPctDiff: 0, maxAbsDiff: ZERO, maxAbsDiffFloat: 0, at: null as string | null }));
  const barsOnlyIn: Partial<Record<SideName, number>> = {};
  if (a.length > n) barsOnlyIn[na] = a.length - n;
  if (b.length > n) barsOnlyIn[nb] = b.length - n;
  for (const [side, bars] of [[na, a], [nb, b]] as const) {
    for (let i = n; i < bars.length && opts.differences !== undefined; i++) {
      opts.differences.add({ kind: "bar_missing", gated: opts.gated ?? false, bar: i, message: `bar ${i} (${iso((bars[i] as SidePortfolioBar).timestamp)}): in ${side} only` });
    }
  }
  for (let i = 0; i < n; i++) {
    const ba = a[i] as SidePortfolioBar;
    const bb = b[i] as SidePortfolioBar;
    if (ba.timestamp !== bb.timestamp) {
      opts.differences?.add({ kind: "bar_missing", gated: opts.gated ?? false, bar: i, message: `bar ${i}: ${na} is at ${iso(ba.timestamp)}, ${nb} at ${iso(bb.timestamp)}` });
      continue;
    }
    const ma = new Map(ba.assets.map((x) => [x.assetId, x]));
    const mb = new Map(bb.assets.map((x) => [x.assetId, x]));
    const ids = [...new Set([...ma.keys(), ...mb.keys()])].sort((x, y) => x - y);
    for (const id of ids) {
      const ra = ma.get(id);
      const rb = mb.get(id);
      const fa = floatsOf(ra);
      const fb = floatsOf(rb);
      for (let c = 0; c < stats.length; c++) {
        const s = stats[c] as (typeof stats)[number];
        const xa = fa[c] as number;
        const xb = fb[c] as number;
        if (Number.isNaN(xa) || Number.isNaN(xb)) continue;
        s.cells++;
        // Equal floats may still hide a difference beyond 17 digits: only then is the exact test needed.
        if (xa === xb && (columnOf(ra, s.column) as Decimal).eq(columnOf(rb, s.column) as Decimal)) continue;
        const va = columnOf(ra, s.column) as Decimal;
        const vb = columnOf(rb, s.column) as Decimal;
        const pct = xa === xb ? pctDiff(va, vb) : pctDiffNumber(xa, xb);
        // The exact difference only where it may be the largest: most cells of a research pair differ.
        if (Math.abs(xa - xb) >= s.maxAbsDiffFloat * (1 - 1e-12)) {
          const abs = va.sub(vb).abs();
          if (abs.gt(s.maxAbsDiff)) {
            s.maxAbsDiff = abs;
            s.maxAbsDiffFloat = abs.toNumber();
          }
        }
        if (pct > s.maxAbsPctDiff) {
          s.maxAbsPctDiff = pct;
          s.at = `bar ${i} ${opts.symbolOf.get(id) ?? String(id)}`;
        }
        if (pct <= opts.tolerancePct) continue;
        s.differing++;
        const symbol = opts.symbolOf.get(id) ?? String(id);
        opts.differences?.add({
          kind: "portfolio", gated: opts.gated ?? false, bar: i, symbol, field: s.column,
          values: { [na]: va.toFixed(), [nb]: vb.toFixed() },
          message: `bar ${i} ${symbol}: ${s.column} ${va.toFixed()} vs ${nb} ${vb.toFixed()} (${fmtPct(pct)})`,
        });
      }
    }
  }
  return {
    pair: `${na}_vs_${nb}`,
    barsCompared: n,
    barsOnlyIn,
    columns: stats.map((s) => ({ column: s.column, cells: s.cells, differing: s.differing, maxAbsPctDiff: s.maxAbsPctDiff, maxAbsDiff: s.maxAbsDiff.toFixed(), at: s.at })),
  };
}

export interface NodeComparison {
  node: string;
  barsCompared: number;
  values: number;
  differing: number;
  maxAbsDiff: number;
  maxPctChange: number;
  at: string | null;
}

/** Model outputs per node, bar and symbol (percent change; a value on one side only is a difference). */
export function compareModelOutputs(a: ReadonlyMap<string, readonly LoggedDagOutput[]>, b: ReadonlyMap<string, readonly LoggedDagOutput[]>, opts: Omit<CompareOptions, "symbolOf">): NodeComparison[] {
  const [na, nb] = opts.names;
  const nodes = [...new Set([...a.keys(), ...b.keys()])].sort();
  return nodes.map((node) => {
    const ra = a.get(node);
    const rb = b.get(node);
    const out: NodeComparison = { node, barsCompared: 0, values: 0, differing: 0, maxAbsDiff: 0, maxPctChange: 0, at: null };
    if (ra === undefined || rb === undefined) {
      const only = ra === undefined ? nb : na;
      out.differing = (ra ?? rb ?? []).length;
      out.maxPctChange = 100;
      opts.differences?.add({ kind: "model_output", gated: opts.gated ?? false, node, message: `node ${node}: output logged by ${only} only` });
      return out;
    }
    const byBar = new Map(rb.map((r) => [r.bar, r]));
    for (const x of ra) {
      const y = byBar.get(x.bar);
      if (y === undefined) {
        out.differing++;
        opts.differences?.add({ kind: "model_output", gated: opts.gated ?? false, node, bar: x.bar, message: `bar ${x.bar} node ${node}: output logged by ${na} only` });
        continue;
      }
      out.barsCompared++;
      const symbols = [...new Set([...Object.keys(x.values), ...Object.keys(y.values)])].sort();
      for (const s of symbols) {
        const va = x.values[s];
        const vb = y.values[s];
        out.values++;
        if (va === vb) continue;
        const bothNumbers = typeof va === "number" && typeof vb === "number";
        const pct = bothNumbers ? pctDiffNumber(va, vb) : 100;
        const abs = bothNumbers ? Math.abs(va - vb) : NaN;
        if (Number.isFinite(abs) && abs > out.maxAbsDiff) out.maxAbsDiff = abs;
        if (pct > out.maxPctChange) {
          out.maxPctChange = pct;
          out.at = `bar ${x.bar} ${s}`;
        }
        if (pct <= opts.tolerancePct) continue;
        out.differing++;
        const show = (v: number | null | undefined): string => (v === undefined ? "absent" : v === null ? "null" : String(v));
        opts.differences?.add({
          kind: "model_output", gated: opts.gated ?? false, node, bar: x.bar, symbol: s,
          values: { [na]: va === undefined ? null : String(va), [nb]: vb === undefined ? null : String(vb) },
          message: `bar ${x.bar} node ${node} ${s}: ${show(va)} vs ${nb} ${show(vb)} (${bothNumbers ? fmtPct(pct) : "missing on one side"})`,
        });
      }
    }
    const barsA = new Set(ra.map((x) => x.bar));
    for (const y of rb) {
      if (barsA.has(y.bar)) continue;
      out.differing++;
      opts.differences?.add({ kind: "model_output", gated: opts.gated ?? false, node, bar: y.bar, message: `bar ${y.bar} node ${node}: output logged by ${nb} only` });
    }
    return out;
  });
}

export interface FillComparison {
  pair: string;
  fills: Partial<Record<SideName, number>>;
  matched: number;
  dropped: number;
  extra: number;
  differing: number;
}

/**
 * Parent fills of two runs of the same orders, matched on (bar, asset): a fill the second has and the
 * first lacks is "dropped", the reverse "extra", and a matched pair must agree on shares, price and fees.
 */
export function compareFills(a: readonly LoggedFill[], b: readonly LoggedFill[], opts: CompareOptions): FillComparison {
  const [na, nb] = opts.names;
  const key = (f: LoggedFill): string => `${f.bar}:${f.assetId}`;
  const mb = new Map(b.map((f) => [key(f), f]));
  const ma = new Map(a.map((f) => [key(f), f]));
  const out: FillComparison = { pair: `${na}_vs_${nb}`, fills: { [na]: a.length, [nb]: b.length }, matched: 0, dropped: 0, extra: 0, differing: 0 };
  const sym = (id: number): string => opts.symbolOf.get(id) ?? String(id);
  const gated = opts.gated ?? false;
  for (const f of b) {
    if (ma.has(key(f))) continue;
    out.dropped++;
    opts.differences?.add({
      kind: "fill_dropped", gated, bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId,
      values: { [na]: null, [nb]: `${f.numShares.toFixed()} @ ${f.price.toFixed()}` },
      message: `fill dropped: parent ${f.parentOrderId} (bar ${f.bar} ${sym(f.assetId)}): ${nb} filled ${f.numShares.toFixed()} at ${f.price.toFixed()}, ${na} has no fill`,
    });
  }
  for (const f of a) {
    const g = mb.get(key(f));
    if (g === undefined) {
      out.extra++;
      opts.differences?.add({
        kind: "fill_extra", gated, bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId,
        values: { [na]: `${f.numShares.toFixed()} @ ${f.price.toFixed()}`, [nb]: null },
        message: `extra fill: parent ${f.parentOrderId} (bar ${f.bar} ${sym(f.assetId)}): ${na} filled ${f.numShares.toFixed()} at ${f.price.toFixed()}, ${nb} has no fill`,
      });
      continue;
    }
    out.matched++;
    const worst = Math.max(pctDiff(f.numShares, g.numShares), pctDiff(f.price, g.price), pctDiff(f.fees, g.fees));
    if (worst <= opts.tolerancePct) continue;
    out.differing++;
    opts.differences?.add({
      kind: "fill_differs", gated, bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId,
      values: { [na]: `${f.numShares.toFixed()} @ ${f.price.toFixed()} fees ${f.fees.toFixed()}`, [nb]: `${g.numShares.toFixed()} @ ${g.price.toFixed()} fees ${g.fees.toFixed()}` },
      message: `bar ${f.bar} ${sym(f.assetId)} (parent ${f.parentOrderId}): executed ${f.numShares.toFixed()} at ${f.price.toFixed()}, fees ${f.fees.toFixed()} vs ${nb} ${g.numShares.toFixed()} at ${g.price.toFixed()}, fees ${g.fees.toFixed()}`,
    });
  }
  return out;
}

/** A parent fill as the broker logged it (broker_log/oms_fills.jsonl). */
export interface BrokerParentFill {
  bar: number;
  assetId: number;
  parentOrderId: number;
  numShares: Decimal;
  price: Decimal;
  fees: Decimal;
}

export interface PortfolioLogBar extends SidePortfolioBar {
  bar: number;
}

export interface ConsistencyReport {
  /** Checks run, by name, and how many found a problem. */
  checks: { name: string; checked: number; issues: number }[];
  issues: number;
}

/**
 * The run's own log against itself: what the broker filled is what the system logged
 * (fills.jsonl vs broker_log/oms_fills.jsonl), and each portfolio bar follows from the previous one
 * and the fills (executed trades = fills of the previous bar's orders; holdings = previous + executed;
 * notional = shares x price; pnl = notional change - executed notional). Exact: these are identities.
 */
export function checkRunLog(side: SideName, portfolio: readonly PortfolioLogBar[], fills: readonly LoggedFill[], brokerFills: readonly BrokerParentFill[] | undefined, opts: { symbolOf: ReadonlyMap<number, string>; differences: DifferenceList; gated: boolean }): ConsistencyReport {
  const sym = (id: number): string => opts.symbolOf.get(id) ?? String(id);
  const add = (d: Omit<Difference, "kind" | "gated">): void => opts.differences.add({ kind: "log_inconsistency", gated: opts.gated, ...d });
  const checks = new Map<string, { checked: number; issues: number }>();
  const tick = (name: string, ok: boolean): boolean => {
    const c = checks.get(name) ?? { checked: 0, issues: 0 };
    c.checked++;
    if (!ok) c.issues++;
    checks.set(name, c);
    return ok;
  };

  if (brokerFills !== undefined) {
    const logged = new Map(fills.map((f) => [f.parentOrderId, f]));
    const broker = new Map(brokerFills.map((f) => [f.parentOrderId, f]));
    for (const b of brokerFills) {
      const f = logged.get(b.parentOrderId);
      if (!tick("fills_match_broker_log", f !== undefined)) {
        add({ bar: b.bar, symbol: sym(b.assetId), parentOrderId: b.parentOrderId, values: { broker_log: `${b.numShares.toFixed()} @ ${b.price.toFixed()}`, [side]: null }, message: `fill dropped: parent ${b.parentOrderId} (bar ${b.bar} ${sym(b.assetId)}) is in broker_log/oms_fills.jsonl (${b.numShares.toFixed()} at ${b.price.toFixed()}) but not in ${side}'s fills.jsonl` });
        continue;
      }
      const same = f !== undefined && f.numShares.eq(b.numShares) && f.price.eq(b.price) && f.fees.eq(b.fees) && f.assetId === b.assetId;
      if (!same && f !== undefined) {
        add({
          bar: b.bar, symbol: sym(b.assetId), parentOrderId: b.parentOrderId,
          values: { broker_log: `${b.numShares.toFixed()} @ ${b.price.toFixed()} fees ${b.fees.toFixed()}`, [side]: `${f.numShares.toFixed()} @ ${f.price.toFixed()} fees ${f.fees.toFixed()}` },
          message: `fill differs from the broker log: parent ${b.parentOrderId} (bar ${b.bar} ${sym(b.assetId)}): fills.jsonl ${f.numShares.toFixed()} at ${f.price.toFixed()} (fees ${f.fees.toFixed()}), broker_log/oms_fills.jsonl ${b.numShares.toFixed()} at ${b.price.toFixed()} (fees ${b.fees.toFixed()})`,
        });
        const c = checks.get("fills_match_broker_log") as { issues: number };
        c.issues++;
      }
    }
    for (const f of fills) {
      if (tick("fills_in_broker_log", broker.has(f.parentOrderId))) continue;
      add({ bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId, message: `extra fill: parent ${f.parentOrderId} (bar ${f.bar} ${sym(f.assetId)}) is in ${side}'s fills.jsonl but not in broker_log/oms_fills.jsonl` });
    }
  }

  // Fills of the orders sent at bar i land in the portfolio of bar i + 1.
  const execByBar = new Map<number, Map<number, { shares: Decimal; notional: Decimal; fees: Decimal }>>();
  for (const f of fills) {
    let m = execByBar.get(f.bar + 1);
    if (m === undefined) {
      m = new Map();
      execByBar.set(f.bar + 1, m);
    }
    const e = m.get(f.assetId) ?? { shares: ZERO, notional: ZERO, fees: ZERO };
    m.set(f.assetId, { shares: e.shares.add(f.numShares), notional: e.notional.add(f.numShares.mul(f.price)), fees: e.fees.add(f.fees) });
  }
  const prev = new Map<number, { shares: Decimal; notional: Decimal }>();
  for (const p of portfolio) {
    const exec = execByBar.get(p.bar) ?? new Map<number, { shares: Decimal; notional: Decimal; fees: Decimal }>();
    const rows = new Map(p.assets.map((a) => [a.assetId, a]));
    const ids = [...new Set([...rows.keys(), ...exec.keys()])].sort((x, y) => x - y);
    for (const id of ids) {
      const a = rows.get(id);
      const e = exec.get(id) ?? { shares: ZERO, notional: ZERO, fees: ZERO };
      const s = sym(id);
      const execShares = a?.executedTradesShares ?? ZERO;
      if (!tick("executed_equals_fills", execShares.eq(e.shares) && (a?.executedTradesNotional ?? ZERO).eq(e.notional))) {
        add({
          bar: p.bar, symbol: s, field: "executed_trades_shares", values: { [side]: execShares.toFixed(), expected: e.shares.toFixed() },
          message: `bar ${p.bar} ${s}: portfolio executed_trades_shares ${execShares.toFixed()} (notional ${(a?.executedTradesNotional ?? ZERO).toFixed()}), but the fills of bar ${p.bar - 1} in fills.jsonl sum to ${e.shares.toFixed()} (notional ${e.notional.toFixed()})`,
        });
      }
      if (a === undefined) continue;
      const before = prev.get(id) ?? { shares: ZERO, notional: ZERO };
      const expectShares = before.shares.add(a.executedTradesShares);
      if (!tick("holdings_follow_trades", a.holdingsShares.eq(expectShares))) {
        add({ bar: p.bar, symbol: s, field: "holdings_shares", values: { [side]: a.holdingsShares.toFixed(), expected: expectShares.toFixed() }, message: `bar ${p.bar} ${s}: holdings_shares ${a.holdingsShares.toFixed()}, but the previous bar's ${before.shares.toFixed()} plus executed ${a.executedTradesShares.toFixed()} is ${expectShares.toFixed()}` });
      }
      const notional = a.holdingsShares.mul(a.price);
      if (!tick("notional_is_shares_times_price", a.holdingsNotional.eq(notional))) {
        add({ bar: p.bar, symbol: s, field: "holdings_notional", values: { [side]: a.holdingsNotional.toFixed(), expected: notional.toFixed() }, message: `bar ${p.bar} ${s}: holdings_notional ${a.holdingsNotional.toFixed()} is not shares ${a.holdingsShares.toFixed()} x price ${a.price.toFixed()} = ${notional.toFixed()}` });
      }
      if (a.pnl !== undefined) {
        const pnl = a.holdingsNotional.sub(before.notional).sub(a.executedTradesNotional);
        if (!tick("pnl_identity", a.pnl.eq(pnl))) {
          add({ bar: p.bar, symbol: s, field: "pnl", values: { [side]: a.pnl.toFixed(), expected: pnl.toFixed() }, message: `bar ${p.bar} ${s}: pnl ${a.pnl.toFixed()} is not notional ${a.holdingsNotional.toFixed()} - previous ${before.notional.toFixed()} - executed ${a.executedTradesNotional.toFixed()} = ${pnl.toFixed()}` });
        }
      }
      prev.set(id, { shares: a.holdingsShares, notional: a.holdingsNotional });
    }
  }
  const list = [...checks.entries()].map(([name, c]) => ({ name, ...c }));
  return { checks: list, issues: list.reduce((n, c) => n + c.issues, 0) };
}

/**
 * Pearson correlation of two per-bar PnL series over the bars both have; 1 when they are identical
 * (even if flat), null when either is flat or fewer than 2 bars overlap.
 */
export function pnlCorrelation(a: readonly SidePortfolioBar[], b: readonly SidePortfolioBar[]): number | null {
  const xs: number[] = [];
  const ys: number[] = [];
  let identical = a.length === b.length;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const pa = (a[i] as SidePortfolioBar).pnl;
    const pb = (b[i] as SidePortfolioBar).pnl;
    if (pa === undefined || pb === undefined) continue;
    if (!pa.eq(pb)) identical = false;
    xs.push(pa.toNumber());
    ys.push(pb.toNumber());
  }
  if (xs.length >= 1 && identical) return 1;
  const r = pearson(xs, ys);
  return Number.isFinite(r) ? r : null;
}

export function fmtPct(pct: number): string {
  if (pct === 0) return "0 %";
  if (pct < 0.001) return `${pct.toExponential(2)} %`;
  return `${pct.toPrecision(3)} %`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
