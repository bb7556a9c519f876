import { appendFileSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonlError, JsonlFollower, forEachJsonlRecord } from "../../src/storage/jsonl.js";

const dir = mkdtempSync(join(tmpdir(), "tl-follow-"));
let n = 0;
const fileName = (): string => join(dir, `f${n++}.jsonl`);

/** Writes `bytes` to a new file in pieces cut at `cuts`, polling after each; then finishes. */
function followInPieces(bytes: Buffer, cuts: number[], keepLine?: (l: string) => boolean): [unknown, number][] {
  const file = fileName();
  const got: [unknown, number][] = [];
  const f = new JsonlFollower(file, (r, line) => got.push([r, line]), keepLine === undefined ? {} : { keepLine });
  f.poll(); // not there yet: nothing
  let at = 0;
  for (const cut of [...cuts].sort((a, b) => a - b)) {
    appendFileSync(file, bytes.subarray(at, cut));
    at = cut;
    f.poll();
  }
  appendFileSync(file, bytes.subarray(at));
  f.finish();
  return got;
}

describe("JsonlFollower", () => {
  it("gives the records and lines of a whole read however the file grew, UTF-8 split across writes included (property)", () => {
    const record = fc.record({ id: fc.nat(), text: fc.string({ unit: "binary", maxLength: 12 }), x: fc.double({ noNaN: true, noDefaultInfinity: true }) });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 30 }), fc.array(fc.nat(), { maxLength: 12 }), (records, rawCuts) => {
        const bytes = Buffer.from(records.map((r) => JSON.stringify(r) + "\n").join(""), "utf8");
        const cuts = rawCuts.map((c) => (bytes.length === 0 ? 0 : c % bytes.length));
        const whole = fileName();
        writeFileSync(whole, bytes);
        const expected: [unknown, number][] = [];
        forEachJsonlRecord(whole, {}, (r, line) => expected.push([r, line]));
        expect(expected.map(([r]) => r)).toEqual(records.map((r) => JSON.parse(JSON.stringify(r)) as unknown));
        expect(followInPieces(bytes, cuts)).toEqual(expected);
      }),
      { numRuns: 60 },
    );
  });

  it("holds back a line until its newline is written, and skips lines keepLine refuses (numbering them)", () => {
    const file = fileName();
    const got: [unknown, number][] = [];
    const f = new JsonlFollower(file, (r, line) => got.push([r, line]), { keepLine: (l) => !l.includes("skip") });
    writeFileSync(file, '{"a":1}\n{"skip":true}\n{"a":');
    f.poll();
    expect(got).toEqual([[{ a: 1 }, 1]]);
    appendFileSync(file, "3}\n");
    f.poll();
    expect(got).toEqual([[{ a: 1 }, 1], [{ a: 3 }, 3]]);
    expect(f.finish()).toEqual({ count: 2, truncatedTail: undefined });
    expect(() => f.poll()).toThrow(/already read to the end/);
  });

  it("applies the torn-tail rule at finish and names a corrupt line", () => {
    const torn = fileName();
    writeFileSync(torn, '{"a":1}\n{"a":');
    const f = new JsonlFollower(torn, () => undefined);
    f.poll();
    expect(() => f.finish()).toThrow(new RegExp(`${torn}:2: truncated record`));
    expect(new JsonlFollower(torn, () => undefined).finish({ tolerateTruncatedTail: true })).toEqual({ count: 1, truncatedTail: { file: torn, line: 2 } });
    const bad = fileName();
    writeFileSync(bad, '{"a":1}\nnot json\n');
    const g = new JsonlFollower(bad, () => undefined);
    expect(() => g.poll()).toThrow(JsonlError);
    expect(() => new JsonlFollower(bad, () => undefined).poll()).toThrow(new RegExp(`${bad}:2: corrupt record`));
  });
});
