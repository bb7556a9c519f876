import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isoUtc } from "../../src/core/iso-utc.js";

describe("isoUtc", () => {
  it("writes what toISOString writes, across days, years and the edges of its range", () => {
    const instant = fc.oneof(
      fc.integer({ min: -62_167_219_200_000, max: 253_402_300_799_999 }),
      fc.integer({ min: 1_704_067_200_000, max: 1_704_067_200_000 + 3 * 86_400_000 }),
      fc.constantFrom(0, -1, 86_399_999, 86_400_000, 951_782_400_000, 253_402_300_799_999, 253_402_300_800_000, -62_167_219_200_000, -62_167_219_200_001, 1.5),
    );
    fc.assert(
      fc.property(fc.array(instant, { minLength: 1, maxLength: 8 }), (ms) => {
        for (const x of ms) expect(isoUtc(x)).toBe(new Date(x).toISOString());
      }),
      { numRuns: 3000 },
    );
  });

  it("refuses what toISOString refuses, every time it is asked", () => {
    expect(() => isoUtc(Number.NaN)).toThrow(RangeError);
    isoUtc(0);
    for (const bad of [8.64e15 + 1, Infinity, -Infinity]) {
      expect(() => isoUtc(bad)).toThrow(RangeError);
      expect(() => isoUtc(bad)).toThrow(RangeError);
    }
    expect(isoUtc(0)).toBe("1970-01-01T00:00:00.000Z");
  });
});
