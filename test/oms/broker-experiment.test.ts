import { describe, expect, it } from "vitest";
import { brokerExperimentSchema } from "../../src/oms/broker-experiment.js";

const issues = (over: Record<string, unknown>): string[] => {
  const r = brokerExperimentSchema.safeParse({ outDir: "/tmp/unused", ...over });
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
};

describe("broker experiment arguments", () => {
  it("refuses wave lengths that never trade: under the 4 s skip rule, or as long as the TWAP", () => {
    expect(issues({ frequencySeconds: 3 })).toEqual([expect.stringMatching(/^frequencySeconds: 3 s waves never trade/)]);
    expect(issues({ durationMinutes: 1, frequencySeconds: 60 })).toEqual([expect.stringMatching(/^frequencySeconds: a 60 s wave is not shorter than the 60 s 1-minute TWAP/)]);
  });

  it("refuses a wave length that does not divide the TWAP", () => {
    expect(issues({ frequencySeconds: 45 })).toEqual([expect.stringMatching(/^frequencySeconds: 45 s does not divide the 300 s 5-minute TWAP/)]);
  });

  it("accepts the defaults and a 4 s wave", () => {
    expect(issues({})).toEqual([]);
    expect(issues({ frequencySeconds: 4 })).toEqual([]);
  });
});
