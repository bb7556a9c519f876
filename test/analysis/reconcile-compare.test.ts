import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareFills, comparePortfolios, DifferenceList, pnlCorrelation, type SideAssetBar, type SideFill, type SidePortfolioBar } from "../../src/analysis/reconcile-compare.js";

const value = fc.integer({ min: -1_000_000, max: 1_000_000 }).map((m) => String(m / 1000));

const row = (assetId: number): fc.Arbitrary<SideAssetBar> =>
  fc.record({ holdingsShares: value, price: value, holdingsNotional: value, executedTradesShares: value, executedTradesNotional: value, pnl: fc.option(value, { nil: undefined }), fees: value }).map((r) => ({ assetId, ...r }));

/** A side's bars: per bar, a subset of assets 1..6 in id order, with values near the other side's or not. */
const side = (bars: number): fc.Arbitrary<SidePortfolioBar[]> =>
  fc.array(
    fc.subarray([1, 2, 3, 4, 5, 6], { minLength: 0 }).chain((ids) => fc.tuple(...ids.map(row)).map((assets) => assets)),
    { minLength: bars, maxLength: bars },
  ).map((perBar) => perBar.map((assets, i) => ({ timestamp: 60_000 * i, pnl: undefined, fees: "0", assets })));

const opts = (differences: DifferenceList) => ({ names: ["prod", "sim"] as ["prod", "sim"], symbolOf: new Map([[1, "A"]]), tolerancePct: 0.01, differences });

describe("comparePortfolios", () => {
  it("compares asset by asset whatever order each side lists its rows in (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 4 }).chain((n) => fc.tuple(side(n), side(n))), fc.boolean(), ([a, b], sameRows) => {
        // Half the cases: b lists the very assets a does (the positional pairing), with other values.
        const bb = sameRows ? b.map((bar, i) => ({ ...bar, assets: (a[i] as SidePortfolioBar).assets.map((r, k) => ({ ...r, ...(bar.assets[k] ?? {}), assetId: r.assetId })) })) : b;
        const reversed = (bars: SidePortfolioBar[]): SidePortfolioBar[] => bars.map((bar) => ({ ...bar, assets: [...bar.assets].reverse() }));
        const d1 = new DifferenceList(1000);
        const d2 = new DifferenceList(1000);
        const inOrder = comparePortfolios(a, bb, opts(d1));
        const shuffled = comparePortfolios(reversed(a), reversed(bb), opts(d2));
        expect(inOrder).toEqual(shuffled);
        expect(d1.listed(1000)).toEqual(d2.listed(1000));
      }),
      { numRuns: 300 },
    );
  });

  it("pairs bars by time: a resumed run that skipped bars compares the bars it has with the sim's at the same times (property)", () => {
    fc.assert(
      fc.property(side(12), fc.subarray([...Array(12).keys()], { minLength: 1 }), (all, kept) => {
        // Same values where both have a bar; prod was down for the bars not kept.
        const sim = all.map((b, i) => ({ ...b, pnl: String(((i * 7919) % 23) - 11) }));
        const prod = kept.map((i) => sim[i] as SidePortfolioBar);
        const d = new DifferenceList(1000);
        const c = comparePortfolios(prod, sim, opts(d));
        expect(c.barsCompared).toBe(kept.length);
        expect(c.barsOnlyIn).toEqual(kept.length === 12 ? {} : { sim: 12 - kept.length });
        expect(c.columns.every((col) => col.differing === 0)).toBe(true);
        expect(d.listed(1000).map((x) => x.kind)).toEqual(Array(12 - kept.length).fill("bar_missing"));
        // The correlation is over the same bars: identical PnL where both have one.
        const r = pnlCorrelation(prod, sim);
        const pnls = new Set(prod.map((b) => b.pnl));
        if (kept.length >= 2 && pnls.size > 1) expect(r).toBeCloseTo(1, 12);
      }),
      { numRuns: 200 },
    );
  });
});

describe("compareFills", () => {
  const opts = { names: ["prod", "sim"] as ["prod", "sim"], symbolOf: new Map([[7, "X/USDT"]]), tolerancePct: 1e-9 };
  const fill = (parentOrderId: number, numShares: string, price: string, fees: string, bar = 4): SideFill => ({ bar, assetId: 7, parentOrderId, numShares, price, fees });

  it("compares a parent's fill and a late fill booked under the same bar as one, at their VWAP", () => {
    // Prod: bar 4's own parent bought 2 at 10, and an earlier parent's child left open bought 1 at 13.
    const prod = [fill(9, "2", "10", "0.02"), fill(3, "1", "13", "0.013")];
    const same = compareFills(prod, [fill(9, "3", "11", "0.033")], opts);
    expect([same.matched, same.differing, same.dropped, same.extra]).toEqual([1, 0, 0, 0]);
    const differences = new DifferenceList(10);
    const other = compareFills(prod, [fill(9, "2", "10", "0.02")], { ...opts, differences });
    expect([other.matched, other.differing]).toEqual([1, 1]);
    expect(differences.listed(10)[0]?.message).toMatch(/executed 3 at 11, fees 0.033 vs sim 2 at 10/);
    // Opposite sides net out in the shares; the price stays an average of what traded.
    const netted = compareFills([fill(9, "-2", "10", "0.02"), fill(3, "1", "13", "0.013")], [fill(9, "-1", "11", "0.033")], opts);
    expect([netted.matched, netted.differing, netted.fills]).toEqual([1, 0, { prod: 1, sim: 1 }]);
  });
});
