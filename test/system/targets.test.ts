import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WideDecimal } from "../../src/core/wide-decimal.js";
import { computeTargets, decimalTargetRow, scaledTargetRow, sizeTargetShares, parentOrdersFor, targetConfigSchema, targetRow, targetWeights, type TargetInputs } from "../../src/system/targets.js";

const limits = { minAmount: "0.001", minCost: "10", amountStep: "0.001" };
const cfg = targetConfigSchema.parse({ grossExposure: 10_000, volatilityScaling: false, maxWeight: 1 });

describe("targets", () => {
  it("spends the gross exposure in proportion to predictions", () => {
    const rows = computeTargets(
      [
        { assetId: 1, symbol: "A", prediction: 3, volatility: undefined, price: new Decimal(100), holdings: new Decimal(0), limits },
        { assetId: 2, symbol: "B", prediction: -1, volatility: undefined, price: new Decimal(50), holdings: new Decimal(10), limits },
      ],
      cfg,
    );
    // weights 0.75 / -0.25: A 7500 USDT = 75 shares; B -2500 USDT = -50 shares, trade -60 from +10.
    expect(rows.map((r) => [r.targetNotionalBeforeLimits, r.targetHoldingsSharesBeforeLimits, r.targetTradesShares, r.targetHoldingsShares])).toEqual([
      ["7500", "75", "75", "75"],
      ["-2500", "-50", "-60", "-50"],
    ]);
  });

  it("volatility scaling divides by volatility; dollar neutral demeans", () => {
    const w = targetWeights([{ prediction: 1, volatility: 0.01 }, { prediction: 1, volatility: 0.04 }], { ...cfg, volatilityScaling: true });
    expect(w[0]).toBeCloseTo(0.8);
    expect(w[1]).toBeCloseTo(0.2);
    const n = targetWeights([{ prediction: 2, volatility: undefined }, { prediction: 1, volatility: undefined }, { prediction: 0, volatility: undefined }], { ...cfg, dollarNeutral: true });
    expect(n.reduce((a, b) => a + b, 0)).toBeCloseTo(0);
  });

  it("exchange limits zero small trades and keep the pre-limit values (DOMAIN.md section 4, `<=` on min cost)", () => {
    const rows = computeTargets([{ assetId: 1, symbol: "A", prediction: 1, volatility: undefined, price: new Decimal(100), holdings: new Decimal("99.9"), limits }], cfg);
    const r = rows[0];
    // target 100 shares, trade 0.1 share = 10 USDT: at the minimum, so dropped.
    expect(r?.targetTradesSharesBeforeLimits).toBe("0.1");
    expect(r?.targetTradesShares).toBe("0");
    expect(r?.targetHoldingsShares).toBe("99.9");
    expect(r?.limitOutcome).toBe("below_min_cost");
  });

  it("an asset without a price keeps its holdings", () => {
    const rows = computeTargets([{ assetId: 1, symbol: "A", prediction: 1, volatility: undefined, price: undefined, holdings: new Decimal(2), limits }], cfg);
    expect(rows[0]?.limitOutcome).toBe("no_price");
    expect(rows[0]?.targetHoldingsShares).toBe("2");
  });

  it("a mark of zero (a price below half a tick, put on the grid) is no price, as a Decimal or a WideDecimal", () => {
    for (const price of [new Decimal(0), WideDecimal.of(0), WideDecimal.of("-1")]) {
      const inp: TargetInputs = { assetId: 1, symbol: "A", prediction: 1, volatility: undefined, price, holdings: WideDecimal.of("2"), limits };
      expect(computeTargets([inp], cfg)[0]?.limitOutcome).toBe("no_price");
      expect(decimalTargetRow(inp, 1, 10_000).limitOutcome).toBe("no_price");
      expect(scaledTargetRow(inp, 1, 10_000)).toBeUndefined();
    }
  });

  it("property: |weights| sum to 1 (or 0), and no weight exceeds the cap", () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.double({ min: -5, max: 5, noNaN: true }), { nil: undefined }), { minLength: 1, maxLength: 30 }), fc.double({ min: 0.05, max: 1, noNaN: true }), (preds, cap) => {
        const w = targetWeights(preds.map((p) => ({ prediction: p, volatility: undefined })), { ...cfg, maxWeight: cap });
        const s = w.reduce((a, b) => a + Math.abs(b), 0);
        expect(w.every((x) => Math.abs(x) <= cap + 1e-9)).toBe(true);
        expect(s).toBeLessThanOrEqual(1 + 1e-9);
        const live = preds.filter((p) => p !== undefined && p !== 0).length;
        if (live * cap >= 1 + 1e-9 && live > 0) expect(s).toBeGreaterThan(0.999);
      }),
    );
  });

  it("sanity: target holdings = holdings + target trades; notional = shares * price", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: -3, max: 3, noNaN: true }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: -1000, max: 1000 })), { minLength: 1, maxLength: 10 }), (xs) => {
        const rows = computeTargets(xs.map(([p, price, h], k) => ({ assetId: k, symbol: `S${k}`, prediction: p, volatility: undefined, price: new Decimal(price).div(100), holdings: new Decimal(h).div(10), limits })), cfg);
        for (const r of rows) {
          expect(new Decimal(r.holdingsShares).add(r.targetTradesShares).eq(r.targetHoldingsShares)).toBe(true);
          expect(new Decimal(r.targetTradesShares).mul(r.price as string).eq(r.targetTradesNotional)).toBe(true);
        }
      }),
    );
  });

  it("makes one parent order per non-zero trade, TWAP over the bar", () => {
    const rows = computeTargets([{ assetId: 9, symbol: "A", prediction: 1, volatility: undefined, price: new Decimal(100), holdings: new Decimal(0), limits }], cfg);
    const orders = parentOrdersFor(rows, Date.UTC(2024, 0, 1), Date.UTC(2024, 0, 1, 0, 5), "price@twap", 4);
    expect(orders).toHaveLength(1);
    expect(orders[0]?.orderId).toBe(4);
    expect(orders[0]?.diffNumShares.toString()).toBe("100");
  });

  /** A decimal with up to `digits` significant digits and up to `places` decimals. */
  const decimalText = (digits: number, places: number): fc.Arbitrary<string> =>
    fc.tuple(fc.integer({ min: 0, max: 10 ** digits - 1 }), fc.integer({ min: 0, max: places })).map(([m, p]) => new Decimal(m).div(new Decimal(10).pow(p)).toFixed());
  const weight = fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }), fc.constantFrom(0, -0, 1, -1, 0.25, 1e-9));

  /** Compares targetRow (and its scaled path, where it is taken) with decimalTargetRow; true when the scaled path was taken. */
  function sameRow(w: number, gross: number, px: string, held: string, limits: TargetInputs["limits"]): boolean {
    const inp: TargetInputs = { assetId: 7, symbol: "X/USDT:USDT", prediction: 1, volatility: 0.01, price: new Decimal(px), holdings: new Decimal(held), limits };
    const expected = JSON.stringify(decimalTargetRow(inp, w, gross));
    expect(JSON.stringify(targetRow(inp, w, gross))).toBe(expected);
    const scaled = scaledTargetRow(inp, w, gross);
    if (scaled === undefined) return false;
    expect(JSON.stringify(scaled)).toBe(expected);
    return true;
  }

  it("writes decimal.js's row to the character, on the scaled path and its fallback", () => {
    const step = fc.constantFrom("1", "0.1", "0.001", "0.00001", "0.00000001", "0.5", "0.0025", "5");
    const limitsArb = fc.record({ minAmount: fc.oneof(fc.constant("0"), decimalText(3, 4)), minCost: fc.oneof(fc.constant("0"), fc.constant("10"), decimalText(4, 2)), amountStep: step });
    const price = decimalText(7, 8).filter((t) => t !== "0");
    fc.assert(
      fc.property(weight, fc.constantFrom(10_000, 1_000_000, 12_345.67), price, decimalText(9, 8), fc.boolean(), limitsArb, (w, gross, px, held, short, limits) => {
        sameRow(w, gross, px, short ? "-" + held : held, limits);
      }),
      { numRuns: 3000 },
    );
  });

  it("takes the scaled path for the prices, holdings and limits of a market", () => {
    let scaled = 0;
    // What a run holds: an earlier bar's target on the amount grid.
    const share = fc.oneof(fc.double({ min: -1, max: 1, noNaN: true }).filter((w) => Math.abs(w) > 1e-6), fc.integer({ min: -1000, max: 1000 }).map((k) => k / 1000));
    const price = fc.tuple(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: 0, max: 4 })).map(([m, p]) => new Decimal(m).div(new Decimal(10).pow(p)).toFixed());
    fc.assert(
      fc.property(share, share, price, fc.constantFrom(0, 3, 5), (w, earlier, px, places) => {
        const amountStep = new Decimal(10).pow(-places).toFixed();
        const held = new Decimal(earlier * 10_000).div(px).toDecimalPlaces(places).toFixed();
        if (sameRow(w, 10_000, px, held, { minAmount: amountStep, minCost: "10", amountStep })) scaled++;
      }),
      { numRuns: 1000 },
    );
    expect(scaled).toBeGreaterThan(950);
  });

  it("sizes a target without limits as decimal.js does", () => {
    fc.assert(
      fc.property(weight, fc.constantFrom(10_000, 12_345.67), decimalText(7, 8).filter((t) => t !== "0"), (w, gross, px) => {
        const price = new Decimal(px);
        const expected = new Decimal(w * gross).toSignificantDigits(12).div(price).toSignificantDigits(12);
        // Text for text (a WideDecimal has no negative zero; decimal.js's text has none either).
        expect(sizeTargetShares(w, gross, price).toString()).toBe(expected.toString());
      }),
      { numRuns: 2000 },
    );
  });
});
