import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatScaled, fromSteps, parseStep, stepRatio, stepsToDecimal, toSteps, UnitsError } from "../../src/core/units.js";

describe("parseStep", () => {
  it("splits a step into an integer mantissa and a decimal scale", () => {
    expect(parseStep("0.01")).toEqual({ mantissa: 1, scale: 2, text: "0.01" });
    expect(parseStep("0.5")).toEqual({ mantissa: 5, scale: 1, text: "0.5" });
    expect(parseStep("1")).toEqual({ mantissa: 1, scale: 0, text: "1" });
    expect(parseStep("25")).toEqual({ mantissa: 25, scale: 0, text: "25" });
  });

  it("drops trailing zeros and accepts numbers and decimal.js values", () => {
    expect(parseStep("0.0100")).toEqual({ mantissa: 1, scale: 2, text: "0.01" });
    expect(parseStep(0.25)).toEqual({ mantissa: 25, scale: 2, text: "0.25" });
    expect(parseStep(new Decimal("0.005"))).toEqual({ mantissa: 5, scale: 3, text: "0.005" });
  });

  it("rejects zero, negative, malformed and over-precise steps", () => {
    for (const bad of ["0", "0.000", "-0.1", "abc", "", "1e-3", ".5", "1.", "0.0000000000000000001"]) {
      expect(() => parseStep(bad), bad).toThrow(UnitsError);
    }
    expect(() => parseStep(Number.NaN)).toThrow(UnitsError);
  });
});

describe("toSteps", () => {
  const tick = parseStep("0.01");
  const half = parseStep("0.5");

  it("converts exact multiples without binary floating point", () => {
    expect(toSteps("123.45", tick)).toBe(12345);
    expect(toSteps("0.01", tick)).toBe(1);
    expect(toSteps("0.3", tick)).toBe(30); // 0.1 + 0.2 style values stay exact
    expect(toSteps("7", tick)).toBe(700);
    expect(toSteps("2.5", half)).toBe(5);
    expect(toSteps(" 1.50 ", half)).toBe(3);
    expect(toSteps("1.5000000", half)).toBe(3);
    expect(toSteps(new Decimal("0.07"), tick)).toBe(7);
    expect(toSteps(0.07, tick)).toBe(7);
  });

  it("keeps the sign and normalises negative zero", () => {
    expect(toSteps("-1.25", tick)).toBe(-125);
    expect(toSteps("+1.25", tick)).toBe(125);
    expect(Object.is(toSteps("-0", tick), 0)).toBe(true);
  });

  it("detects off-step amounts", () => {
    expect(toSteps("0.001", tick)).toBeUndefined();
    expect(toSteps("1.005", tick)).toBeUndefined();
    expect(toSteps("1.2", half)).toBeUndefined();
    expect(toSteps("0.25", half)).toBeUndefined();
  });

  it("rejects what is not a plain decimal or cannot be held exactly", () => {
    for (const bad of ["", "abc", "1e3", "1,5", "1.", ".5", "NaN", "Infinity", "0x10", "1 000"]) expect(toSteps(bad, tick), bad).toBeUndefined();
    expect(toSteps(Number.NaN, tick)).toBeUndefined();
    expect(toSteps(Number.POSITIVE_INFINITY, tick)).toBeUndefined();
    expect(toSteps("90071992547409.93", tick)).toBeUndefined(); // 9007199254740993 > 2^53
    expect(toSteps("90071992547409.91", tick)).toBe(9007199254740991);
  });

  it("round-trips with fromSteps for any safe step count (property)", () => {
    const steps = [parseStep("0.01"), parseStep("0.5"), parseStep("0.00000001"), parseStep("1"), parseStep("25"), parseStep("0.0025")];
    fc.assert(
      fc.property(fc.integer({ min: -1e12, max: 1e12 }), fc.constantFrom(...steps), (n, step) => {
        const text = fromSteps(n, step);
        expect(toSteps(text, step)).toBe(n);
        expect(new Decimal(text).eq(new Decimal(n).mul(step.text))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });
});

describe("fromSteps / formatScaled / stepsToDecimal / stepRatio", () => {
  it("formats canonical decimal strings", () => {
    expect(fromSteps(12345, parseStep("0.01"))).toBe("123.45");
    expect(fromSteps(1, parseStep("0.001"))).toBe("0.001");
    expect(fromSteps(-3, parseStep("1"))).toBe("-3");
    expect(fromSteps(0, parseStep("0.01"))).toBe("0");
    expect(fromSteps(120, parseStep("0.01"))).toBe("1.2");
    expect(fromSteps(7, parseStep("0.5"))).toBe("3.5");
    expect(fromSteps(-1, parseStep("0.00000001"))).toBe("-0.00000001");
    expect(fromSteps(4, parseStep("25"))).toBe("100");
  });

  it("stays exact when steps x mantissa leaves the safe range", () => {
    expect(fromSteps(9007199254740991, parseStep("25"))).toBe("225179981368524775");
  });

  it("throws on a non-integer step count", () => {
    expect(() => fromSteps(1.5, parseStep("0.01"))).toThrow(UnitsError);
    expect(() => fromSteps(Number.NaN, parseStep("0.01"))).toThrow(UnitsError);
  });

  it("formatScaled pads and trims", () => {
    expect(formatScaled(5, 3)).toBe("0.005");
    expect(formatScaled(-5, 3)).toBe("-0.005");
    expect(formatScaled(1000, 3)).toBe("1");
    expect(formatScaled(1050, 3)).toBe("1.05");
    expect(formatScaled(42, 0)).toBe("42");
    expect(formatScaled(4200, 0)).toBe("4200");
    expect(formatScaled(-0, 4)).toBe("0");
  });

  it("formatScaled writes n x 10^-scale as decimal.js's toFixed() does (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 22 }), (n, scale) => {
        expect(formatScaled(n, scale)).toBe(new Decimal(n).div(new Decimal(10).pow(scale)).toFixed());
      }),
      { numRuns: 3000 },
    );
  });

  it("stepsToDecimal is exact", () => {
    expect(stepsToDecimal(3, parseStep("0.1")).toFixed()).toBe("0.3");
  });

  it("stepRatio is the whole number of fine steps in a coarse one", () => {
    expect(stepRatio(parseStep("0.1"), parseStep("0.01"))).toBe(10);
    expect(stepRatio(parseStep("0.0001"), parseStep("0.00000001"))).toBe(10000);
    expect(stepRatio(parseStep("0.01"), parseStep("0.01"))).toBe(1);
    expect(stepRatio(parseStep("0.01"), parseStep("0.1"))).toBeUndefined();
    expect(stepRatio(parseStep("0.5"), parseStep("0.2"))).toBeUndefined();
  });
});
