import { describe, expect, it } from "vitest";
import { Account, applyTrade, marginFor, type Position } from "../../src/exchange/ledger.js";

const fresh = (): Position => ({ size: 0, basis: 0, realized: 0, leverage: 10, margin: 0 });

describe("applyTrade", () => {
  it("opens, adds to, reduces, flips and closes a position with exact realized PnL", () => {
    const p = fresh();
    // Buy 10 lots for 1000 units (100 a lot), then 10 more for 1200 (120 a lot).
    expect(applyTrade(p, 10, 1000)).toBe(0);
    expect(applyTrade(p, 10, 1200)).toBe(0);
    expect([p.size, p.basis]).toEqual([20, 2200]);
    // Sell 5 for 600 (120 a lot): releases 5/20 of the basis = 550, realizes 50.
    expect(applyTrade(p, -5, 600)).toBe(50);
    expect([p.size, p.basis, p.realized]).toEqual([15, 1650, 50]);
    // Sell 25 for 2500 (100 a lot): closes 15 (gets 1500, gives up 1650: -150), opens a short of 10 at 1000.
    expect(applyTrade(p, -25, 2500)).toBe(-150);
    expect([p.size, p.basis, p.realized]).toEqual([-10, -1000, -100]);
    // Short adds: sell 10 more for 1100.
    expect(applyTrade(p, -10, 1100)).toBe(0);
    expect([p.size, p.basis]).toEqual([-20, -2100]);
    // Buy back 5 for 450 (90 a lot): the short sold those at 105 a lot, so +75.
    expect(applyTrade(p, 5, 450)).toBe(75);
    expect([p.size, p.basis, p.realized]).toEqual([-15, -1575, -25]);
    // Buy back the rest for 1800 (120 a lot): sold for 1575, lose 225.
    expect(applyTrade(p, 15, 1800)).toBe(-225);
    expect([p.size, p.basis, p.realized]).toEqual([0, 0, -250]);
  });

  it("keeps the rounding of a partial close inside the remaining basis", () => {
    const p = fresh();
    applyTrade(p, 3, 10); // 3.33.. per lot
    const r = applyTrade(p, -1, 4);
    // closedBasis = round(10 / 3) = 3: realized 1, remaining basis 7.
    expect(r).toBe(1);
    expect([p.size, p.basis]).toEqual([2, 7]);
    expect(applyTrade(p, -2, 8)).toBe(1);
    expect([p.size, p.basis, p.realized]).toEqual([0, 0, 2]);
  });
});

describe("marginFor and Account", () => {
  it("rounds initial margin up and ignores the sign", () => {
    expect(marginFor(1000, 10)).toBe(100);
    expect(marginFor(1001, 10)).toBe(101);
    expect(marginFor(-1001, 10)).toBe(101);
    expect(marginFor(0, 5)).toBe(0);
  });

  it("free is total minus locked minus position margin; positions take the account's leverage", () => {
    const a = new Account(3, "x", 2);
    a.total[1] = 1000;
    a.locked[1] = 200;
    a.positionMargin[1] = 50;
    expect(a.free(1)).toBe(750);
    expect(a.free(0)).toBe(0);
    expect(a.position(7, 10).leverage).toBe(10);
    a.leverage.set(8, 3);
    expect(a.position(8, 10).leverage).toBe(3);
    expect(a.position(7, 20)).toBe(a.positions.get(7));
  });
});
