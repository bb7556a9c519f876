// The comparisons of a reconciliation (DOMAIN.md section 8), as pure functions over loaded logs:
// portfolios column by column, model outputs node by node, fills parent by parent, and the run's own
// log against itself (fills vs the broker log, executed trades vs fills, holdings, notional and PnL
// identities). Every difference found is *named* (bar, symbol, field, both values) so a reader can
// go straight to the line; the counts and maxima feed the verdict.

import { Decimal } from "decimal.js";
import type { LoggedDagOutput } from "../system/system-log-loader.js";
import { ExactSum, fillsBy, fixed, numEq, productEq, sumIsZero, toDec, toNum, type Num } from "./exact-num.js";
import { pearson } from "./statistics.js";

export type SideName = "prod" | "sim" | "research";

/** Exact values are Decimals (the research portfolio) or the text a log holds (exact-num.ts). */
export interface SideAssetBar {
  assetId: number;
  holdingsShares: Num;
  price: Num;
  holdingsNotional: Num;
  executedTradesShares: Num;
  executedTradesNotional: Num;
  pnl: Num | undefined;
  fees: Num;
}

/** A portfolio bar as both the run's log and the research portfolio give it. */
export interface SidePortfolioBar {
  /** The bar's number in its run, when the side has one (a resumed run's skip bars: not its index). */
  bar?: number;
  timestamp: number;
  pnl: Num | undefined;
  fees: Num;
  assets: readonly SideAssetBar[];
}

/** A parent fill as the system log (fills.jsonl) or the broker log (oms_fills.jsonl) has it. */
export interface SideFill {
  bar: number;
  assetId: number;
  parentOrderId: number;
  numShares: Num;
  price: Num;
  fees: Num;
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
export function pctDiff(a: Num, b: Num): number {
  if (numEq(a, b)) return 0;
  return pctDiffNumber(toNum(a), toNum(b));
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

function columnOf(a: SideAssetBar | undefined, col: PortfolioColumn): Num | undefined {
  if (a === undefined) return col === "price" ? undefined : "0";
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
      return isZero(a.price) ? undefined : a.price;
    case "fees":
      return a.fees;
  }
}

const ZERO = new Decimal(0);

function isZero(x: Num): boolean {
  // A value's double is 0 when it is 0, and when it is too small for a double: only then ask Decimal.
  return typeof x === "string" ? Number(x) === 0 && toDec(x).isZero() : x.isZero();
}

/** Column values as floats (NaN: nothing to compare), computed once per row: a side is in two pairs. */
const FLOATS = new WeakMap<SideAssetBar, Float64Array>();
const ABSENT = Float64Array.from(PORTFOLIO_COLUMNS, (c) => (c === "price" ? NaN : 0));

function floatsOf(row: SideAssetBar | undefined): Float64Array {
  if (row === undefined) return ABSENT;
  let f = FLOATS.get(row);
  if (f === undefined) {
    f = new Float64Array(PORTFOLIO_COLUMNS.length);
    for (let c = 0; c < PORTFOLIO_COLUMNS.length; c++) {
      const v = columnOf(row, PORTFOLIO_COLUMNS[c] as PortfolioColumn);
      f[c] = v === undefined ? NaN : toNum(v);
    }
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
 * Pairs two portfolios' bars by timestamp (each side in time order): `both` for a bar both have,
 * `only` for one side's bar the other lacks. By time, not position: a resumed live run skips the
 * bars it was down for, and everything after the gap would otherwise pair with the wrong bar.
 */
export function pairBarsByTime<T extends { timestamp: number }>(a: readonly T[], b: readonly T[], both: (ba: T, bb: T, i: number) => void, only: (side: 0 | 1, bar: T, i: number) => void): void {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const ba = a[i];
    const bb = b[j];
    if (bb === undefined || (ba !== undefined && ba.timestamp < bb.timestamp)) only(0, ba as T, i++);
    else if (ba === undefined || bb.timestamp < ba.timestamp) only(1, bb, j++);
    else {
      both(ba, bb, i);
      i++;
      j++;
    }
  }
}

/**
 * Compares two portfolios bar by bar (paired by timestamp) and asset by asset on every column; an
 * asset one side does not list at a bar counts as holding and trading nothing there.
 */
export function comparePortfolios(a: readonly SidePortfolioBar[], b: readonly SidePortfolioBar[], opts: CompareOptions): PortfolioComparison {
  const [na, nb] = opts.names;
  const stats = PORTFOLIO_COLUMNS.map((column) => ({ column, cells: 0, differing: 0, maxAbsPctDiff: 0, maxAbsDiff: ZERO, maxAbsDiffFloat: 0, at: null as string | null }));
  const barsOnlyIn: Partial<Record<SideName, number>> = {};
  let barsCompared = 0;
  pairBarsByTime(a, b, (ba, bb, i) => compareBar(ba, bb, ba.bar ?? bb.bar ?? i), (side, bar, i) => {
    const name = side === 0 ? na : nb;
    const n = bar.bar ?? i;
    barsOnlyIn[name] = (barsOnlyIn[name] ?? 0) + 1;
    opts.differences?.add({ kind: "bar_missing", gated: opts.gated ?? false, bar: n, message: `bar ${n} (${iso(bar.timestamp)}): in ${name} only` });
  });
  return {
    pair: `${na}_vs_${nb}`,
    barsCompared,
    barsOnlyIn,
    columns: stats.map((s) => ({ column: s.column, cells: s.cells, differing: s.differing, maxAbsPctDiff: s.maxAbsPctDiff, maxAbsDiff: s.maxAbsDiff.toFixed(), at: s.at })),
  };

  function compareBar(ba: SidePortfolioBar, bb: SidePortfolioBar, i: number): void {
    barsCompared++;
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
        if (xa === xb && numEq(columnOf(ra, s.column) as Num, columnOf(rb, s.column) as Num)) continue;
        const va = columnOf(ra, s.column) as Num;
        const vb = columnOf(rb, s.column) as Num;
        const pct = xa === xb ? pctDiff(va, vb) : pctDiffNumber(xa, xb);
        // The exact difference only where it may be the largest: most cells of a research pair differ.
        if (Math.abs(xa - xb) >= s.maxAbsDiffFloat * (1 - 1e-12)) {
          const abs = toDec(va).sub(toDec(vb)).abs();
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
          values: { [na]: fixed(va), [nb]: fixed(vb) },
          message: `bar ${i} ${symbol}: ${s.column} ${fixed(va)} vs ${nb} ${fixed(vb)} (${fmtPct(pct)})`,
        });
      }
    }
  }
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
export function compareFills(a: readonly SideFill[], b: readonly SideFill[], opts: CompareOptions): FillComparison {
  const [na, nb] = opts.names;
  // Bar x 2^32 + asset id (asset ids are 32-bit hashes): exact, and no string per fill.
  const key = (f: SideFill): number => f.bar * 4294967296 + f.assetId;
  // A late fill (see fillsBy) is booked under the bar of the mark before it; when that bar's own
  // parent of the asset filled too (or, with flattenAtEnd, a closing order), they are compared as one.
  const mb = fillsBy(b, key);
  const ma = fillsBy(a, key);
  // Counted as compared: a parent's fills on one bar are one.
  const out: FillComparison = { pair: `${na}_vs_${nb}`, fills: { [na]: ma.size, [nb]: mb.size }, matched: 0, dropped: 0, extra: 0, differing: 0 };
  const sym = (id: number): string => opts.symbolOf.get(id) ?? String(id);
  const gated = opts.gated ?? false;
  for (const f of mb.values()) {
    if (ma.has(key(f))) continue;
    out.dropped++;
    opts.differences?.add({
      kind: "fill_dropped", gated, bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId,
      values: { [na]: null, [nb]: `${fixed(f.numShares)} @ ${fixed(f.price)}` },
      message: `fill dropped: parent ${f.parentOrderId} (bar ${f.bar} ${sym(f.assetId)}): ${nb} filled ${fixed(f.numShares)} at ${fixed(f.price)}, ${na} has no fill`,
    });
  }
  for (const f of ma.values()) {
    const g = mb.get(key(f));
    if (g === undefined) {
      out.extra++;
      opts.differences?.add({
        kind: "fill_extra", gated, bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId,
        values: { [na]: `${fixed(f.numShares)} @ ${fixed(f.price)}`, [nb]: null },
        message: `extra fill: parent ${f.parentOrderId} (bar ${f.bar} ${sym(f.assetId)}): ${na} filled ${fixed(f.numShares)} at ${fixed(f.price)}, ${nb} has no fill`,
      });
      continue;
    }
    out.matched++;
    const worst = Math.max(pctDiff(f.numShares, g.numShares), pctDiff(f.price, g.price), pctDiff(f.fees, g.fees));
    if (worst <= opts.tolerancePct) continue;
    out.differing++;
    opts.differences?.add({
      kind: "fill_differs", gated, bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId,
      values: { [na]: `${fixed(f.numShares)} @ ${fixed(f.price)} fees ${fixed(f.fees)}`, [nb]: `${fixed(g.numShares)} @ ${fixed(g.price)} fees ${fixed(g.fees)}` },
      message: `bar ${f.bar} ${sym(f.assetId)} (parent ${f.parentOrderId}): executed ${fixed(f.numShares)} at ${fixed(f.price)}, fees ${fixed(f.fees)} vs ${nb} ${fixed(g.numShares)} at ${fixed(g.price)}, fees ${fixed(g.fees)}`,
    });
  }
  return out;
}

/** A parent fill as the broker logged it (broker_log/oms_fills.jsonl). */
export type BrokerParentFill = SideFill;

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
 * notional = shares x price; pnl = notional change - executed notional). Exact: these are identities
 * (checked on scaled integers where they fit, in decimal.js otherwise: exact-num.ts).
 */
export function checkRunLog(side: SideName, portfolio: readonly PortfolioLogBar[], fills: readonly SideFill[], brokerFills: readonly SideFill[] | undefined, opts: { symbolOf: ReadonlyMap<number, string>; differences: DifferenceList; gated: boolean }): ConsistencyReport {
  const sym = (id: number): string => opts.symbolOf.get(id) ?? String(id);
  const add = (d: Omit<Difference, "kind" | "gated">): void => opts.differences.add({ kind: "log_inconsistency", gated: opts.gated, ...d });
  const checks = new Map<string, { checked: number; issues: number }>();
  const counter = (name: string): { checked: number; issues: number } => {
    let c = checks.get(name);
    if (c === undefined) {
      c = { checked: 0, issues: 0 };
      checks.set(name, c);
    }
    return c;
  };
  const tick = (name: string, ok: boolean): boolean => {
    const c = counter(name);
    c.checked++;
    if (!ok) c.issues++;
    return ok;
  };

  if (brokerFills !== undefined) {
    // Per parent: one with a late fill has two in each log (see fillsBy).
    const logged = fillsBy(fills, (f) => f.parentOrderId);
    const broker = fillsBy(brokerFills, (f) => f.parentOrderId);
    for (const b of broker.values()) {
      const f = logged.get(b.parentOrderId);
      if (!tick("fills_match_broker_log", f !== undefined)) {
        add({ bar: b.bar, symbol: sym(b.assetId), parentOrderId: b.parentOrderId, values: { broker_log: `${fixed(b.numShares)} @ ${fixed(b.price)}`, [side]: null }, message: `fill dropped: parent ${b.parentOrderId} (bar ${b.bar} ${sym(b.assetId)}) is in broker_log/oms_fills.jsonl (${fixed(b.numShares)} at ${fixed(b.price)}) but not in ${side}'s fills.jsonl` });
        continue;
      }
      const same = f !== undefined && numEq(f.numShares, b.numShares) && numEq(f.price, b.price) && numEq(f.fees, b.fees) && f.assetId === b.assetId;
      if (!same && f !== undefined) {
        add({
          bar: b.bar, symbol: sym(b.assetId), parentOrderId: b.parentOrderId,
          values: { broker_log: `${fixed(b.numShares)} @ ${fixed(b.price)} fees ${fixed(b.fees)}`, [side]: `${fixed(f.numShares)} @ ${fixed(f.price)} fees ${fixed(f.fees)}` },
          message: `fill differs from the broker log: parent ${b.parentOrderId} (bar ${b.bar} ${sym(b.assetId)}): fills.jsonl ${fixed(f.numShares)} at ${fixed(f.price)} (fees ${fixed(f.fees)}), broker_log/oms_fills.jsonl ${fixed(b.numShares)} at ${fixed(b.price)} (fees ${fixed(b.fees)})`,
        });
        counter("fills_match_broker_log").issues++;
      }
    }
    for (const f of logged.values()) {
      if (tick("fills_in_broker_log", broker.has(f.parentOrderId))) continue;
      add({ bar: f.bar, symbol: sym(f.assetId), parentOrderId: f.parentOrderId, message: `extra fill: parent ${f.parentOrderId} (bar ${f.bar} ${sym(f.assetId)}) is in ${side}'s fills.jsonl but not in broker_log/oms_fills.jsonl` });
    }
  }

  // Fills of the orders sent at bar i land in the portfolio of bar i + 1.
  interface Executed {
    shares: ExactSum;
    notional: ExactSum;
  }
  const execByBar = new Map<number, Map<number, Executed>>();
  for (const f of fills) {
    let m = execByBar.get(f.bar + 1);
    if (m === undefined) {
      m = new Map();
      execByBar.set(f.bar + 1, m);
    }
    let e = m.get(f.assetId);
    if (e === undefined) {
      e = { shares: new ExactSum(), notional: new ExactSum() };
      m.set(f.assetId, e);
    }
    e.shares.add(f.numShares);
    e.notional.addProduct(f.numShares, f.price);
  }
  const none = new Map<number, Executed>();
  const prev = new Map<number, { shares: Num; notional: Num }>();
  const rows = new Map<number, SideAssetBar>();
  const executedEqualsFills = counter("executed_equals_fills");
  for (const p of portfolio) {
    const exec = execByBar.get(p.bar) ?? none;
    rows.clear();
    let sorted = true;
    let last = -Infinity;
    for (const a of p.assets) {
      rows.set(a.assetId, a);
      if (a.assetId <= last) sorted = false;
      last = a.assetId;
    }
    let ids: readonly number[];
    let extra = false;
    for (const id of exec.keys()) if (!rows.has(id)) extra = true;
    if (sorted && !extra) ids = p.assets.map((a) => a.assetId);
    else ids = [...new Set([...rows.keys(), ...exec.keys()])].sort((x, y) => x - y);
    for (const id of ids) {
      const a = rows.get(id);
      const e = exec.get(id);
      const s = sym(id);
      const execShares = a?.executedTradesShares ?? "0";
      const execNotional = a?.executedTradesNotional ?? "0";
      const ok = e === undefined ? numEq(execShares, "0") && numEq(execNotional, "0") : e.shares.eq(execShares) && e.notional.eq(execNotional);
      executedEqualsFills.checked++;
      if (!ok) {
        executedEqualsFills.issues++;
        const eShares = e?.shares.value() ?? ZERO;
        const eNotional = e?.notional.value() ?? ZERO;
        add({
          bar: p.bar, symbol: s, field: "executed_trades_shares", values: { [side]: fixed(execShares), expected: eShares.toFixed() },
          message: `bar ${p.bar} ${s}: portfolio executed_trades_shares ${fixed(execShares)} (notional ${fixed(execNotional)}), but the fills of bar ${p.bar - 1} in fills.jsonl sum to ${eShares.toFixed()} (notional ${eNotional.toFixed()})`,
        });
      }
      if (a === undefined) continue;
      const before = prev.get(id) ?? { shares: "0", notional: "0" };
      // holdings = previous + executed, as Decimal would add them.
      const holdsOk = sumIsZero([a.holdingsShares, before.shares, a.executedTradesShares], [1, -1, -1], () => toDec(a.holdingsShares).eq(toDec(before.shares).add(toDec(a.executedTradesShares))));
      if (!tick("holdings_follow_trades", holdsOk)) {
        const expectShares = toDec(before.shares).add(toDec(a.executedTradesShares));
        add({ bar: p.bar, symbol: s, field: "holdings_shares", values: { [side]: fixed(a.holdingsShares), expected: expectShares.toFixed() }, message: `bar ${p.bar} ${s}: holdings_shares ${fixed(a.holdingsShares)}, but the previous bar's ${fixed(before.shares)} plus executed ${fixed(a.executedTradesShares)} is ${expectShares.toFixed()}` });
      }
      if (!tick("notional_is_shares_times_price", productEq(a.holdingsShares, a.price, a.holdingsNotional))) {
        const notional = toDec(a.holdingsShares).mul(toDec(a.price));
        add({ bar: p.bar, symbol: s, field: "holdings_notional", values: { [side]: fixed(a.holdingsNotional), expected: notional.toFixed() }, message: `bar ${p.bar} ${s}: holdings_notional ${fixed(a.holdingsNotional)} is not shares ${fixed(a.holdingsShares)} x price ${fixed(a.price)} = ${notional.toFixed()}` });
      }
      const aPnl = a.pnl;
      if (aPnl !== undefined) {
        const expected = (): Decimal => toDec(a.holdingsNotional).sub(toDec(before.notional)).sub(toDec(a.executedTradesNotional));
        const pnlOk = sumIsZero([a.holdingsNotional, before.notional, a.executedTradesNotional, aPnl], [1, -1, -1, -1], () => toDec(aPnl).eq(expected()));
        if (!tick("pnl_identity", pnlOk)) {
          const pnl = expected();
          add({ bar: p.bar, symbol: s, field: "pnl", values: { [side]: fixed(aPnl), expected: pnl.toFixed() }, message: `bar ${p.bar} ${s}: pnl ${fixed(aPnl)} is not notional ${fixed(a.holdingsNotional)} - previous ${fixed(before.notional)} - executed ${fixed(a.executedTradesNotional)} = ${pnl.toFixed()}` });
        }
      }
      prev.set(id, { shares: a.holdingsShares, notional: a.holdingsNotional });
    }
  }
  const list = [...checks.entries()].filter(([, c]) => c.checked > 0).map(([name, c]) => ({ name, ...c }));
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
  // Over the bars both sides have (paired by time, as comparePortfolios pairs them).
  pairBarsByTime(
    a,
    b,
    (ba, bb) => {
      const pa = ba.pnl;
      const pb = bb.pnl;
      if (pa === undefined || pb === undefined) return;
      if (identical && !numEq(pa, pb)) identical = false;
      xs.push(toNum(pa));
      ys.push(toNum(pb));
    },
    () => {
      identical = false;
    },
  );
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
