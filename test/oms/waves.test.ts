import { Decimal } from "decimal.js";
import { describe, expect, it } from "vitest";
import { dynamicChildSize, isSubmissionOver, numWaves, shouldSkipWave, staticChildSize, submissionTimes, waveId } from "../../src/oms/waves.js";

const t = (hh: number, mm: number, ss = 0, ms = 0): number => Date.UTC(2024, 0, 2, hh, mm, ss, ms);
const MIN = 60_000;

describe("TWAP waves (DOMAIN golden cases)", () => {
  it("a 09:30-09:34 parent at 1-minute frequency submits waves at 09:30, 09:31, 09:32", () => {
    expect(numWaves(t(9, 30), t(9, 34), MIN)).toBe(4);
    expect(submissionTimes(t(9, 30), t(9, 34), MIN)).toEqual([t(9, 30), t(9, 31), t(9, 32)]);
    expect(isSubmissionOver(t(9, 33), t(9, 34), MIN)).toBe(true);
    expect(isSubmissionOver(t(9, 32, 59), t(9, 34), MIN)).toBe(false);
    expect([t(9, 30), t(9, 31), t(9, 32), t(9, 33, 30)].map((n) => waveId(n, t(9, 30), t(9, 34), MIN))).toEqual([0, 1, 2, 3]);
  });

  it("counts waves from the start floored to the minute", () => {
    expect(numWaves(t(9, 30, 40), t(9, 35), MIN)).toBe(5);
    expect(numWaves(t(9, 30), t(9, 35), 2 * MIN)).toBe(3);
  });

  it("skips a wave with less than 4 s left", () => {
    expect(shouldSkipWave(t(9, 30, 56, 1), MIN)).toBe(true);
    expect(shouldSkipWave(t(9, 30, 56), MIN)).toBe(false);
    expect(submissionTimes(t(9, 30, 57), t(9, 34), MIN)).toEqual([t(9, 31), t(9, 32)]);
  });

  it("static sizes: -12 over 09:30-09:34 at 1 min gives -3 per wave (-9 sent)", () => {
    const waves = numWaves(t(9, 30), t(9, 34), MIN);
    const size = staticChildSize(-12, waves, 3);
    expect(size.toString()).toBe("-3");
    expect(size.mul(submissionTimes(t(9, 30), t(9, 34), MIN).length).toString()).toBe("-9");
    expect(staticChildSize("0.1", 3, 3).toString()).toBe("0.033");
    expect(staticChildSize("-0.1", 3, 3).toString()).toBe("-0.033");
  });

  it("dynamic sizes: -12, then -4.8 after 7.2 filled, then -2.4", () => {
    const w0 = dynamicChildSize(0, -12, 0, undefined, 3);
    expect(w0.size.toString()).toBe("-12");
    expect(w0.target.toString()).toBe("-12");
    const w1 = dynamicChildSize(1, -12, new Decimal("-7.2"), w0.target, 3);
    expect(w1.size.toString()).toBe("-4.8");
    const w2 = dynamicChildSize(2, -12, new Decimal("-9.6"), w1.target, 3);
    expect(w2.size.toString()).toBe("-2.4");
  });
});
