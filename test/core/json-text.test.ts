// JSON text from users: syntax errors named by file, line and column, with what is wrong; the
// checker that locates them accepts exactly what JSON.parse accepts.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonSyntaxError, lineAndColumn, locateJsonError, parseJsonText } from "../../src/core/json-text.js";

const message = (text: string): string => {
  try {
    parseJsonText(text, "cfg.json");
  } catch (e) {
    if (e instanceof JsonSyntaxError) return e.message;
    throw e;
  }
  throw new Error(`${JSON.stringify(text)} parsed`);
};

describe("parseJsonText", () => {
  it("returns what JSON.parse returns for valid text", () => {
    expect(parseJsonText('{"a": [1, 2.5e3, -0, "x\\n"], "b": null}', "x")).toEqual({ a: [1, 2500, -0, "x\n"], b: null });
  });

  it("names the file, line and column of the usual mistakes, and what is wrong", () => {
    const cases: [string, string][] = [
      ['{\n  "model": {"name": "momentum"},\n  "barMinutes": 5,\n}\n', "cfg.json:3:18: not valid JSON: a trailing comma before '}' (JSON allows none)"],
      ['{\n  "barMinutes": 5\n  "seed": 1\n}', "cfg.json:3:3: not valid JSON: expected ',' or '}' after a property value, found '\"'"],
      ['{\n  "a": 1\n', "cfg.json:3:1: not valid JSON: the object opened at 1:1 is not closed ('}' missing)"],
      ['{\n  "a": tru\n}', 'cfg.json:2:8: not valid JSON: expected a value, found "tru" (true?)'],
      ["{\n  model: 1\n}", "cfg.json:2:3: not valid JSON: a property name takes double quotes"],
      ["{\r\n  'a': 1\r\n}", "cfg.json:2:3: not valid JSON: a property name takes double quotes, not single"],
      ['{"a": "x\ny"}', "cfg.json:1:9: not valid JSON: a line break inside a string (is its closing '\"' missing? a line break in a value is written \\n)"],
      ['[1, 2]\n[3]', "cfg.json:2:1: not valid JSON: unexpected '[' after the JSON value (one value per file)"],
      ["", "cfg.json:1:1: not valid JSON: the text is empty: expected a JSON value"],
      ["// note\n{}", "cfg.json:1:1: not valid JSON: JSON has no comments"],
      ['{"x": 01}', 'cfg.json:1:7: not valid JSON: "01" is not a JSON number (no leading zeros)'],
      ['{"x": NaN}', 'cfg.json:1:7: not valid JSON: expected a value, found "NaN" (JSON has true, false, null and finite numbers only)'],
      ['{"é€😀": [1 2]}', "cfg.json:1:12: not valid JSON: expected ',' or ']' after an array element, found '2'"],
    ];
    for (const [text, want] of cases) expect(message(text), JSON.stringify(text)).toBe(want);
  });

  it("gives line and column over \\n, \\r\\n and \\r line ends, counting characters", () => {
    expect(lineAndColumn("a\nb\r\nc\rd", 7)).toEqual({ line: 4, column: 1 });
    expect(lineAndColumn("😀x", 2)).toEqual({ line: 1, column: 2 });
  });

  it("copes with nesting deeper than the call stack", () => {
    const deep = "[".repeat(200_000) + "]".repeat(199_999);
    expect(() => JSON.parse(deep)).toThrow();
    expect(message(deep)).toBe("cfg.json:1:400000: not valid JSON: the array opened at 1:1 is not closed (']' missing)");
  });

  it("finds an error exactly when JSON.parse refuses the text (valid JSON and random edits of it)", () => {
    const alphabet = fc.constantFrom(..."{}[],:\"\\ \n\r\t0123456789-+.eEtrufalsn x'/\u0001\u00e9");
    const edited = fc.tuple(fc.json(), fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.string({ unit: alphabet, maxLength: 3 })), { maxLength: 4 })).map(([json, edits]) => {
      let t = json;
      for (const [at, cut, insert] of edits) {
        const i = at % (t.length + 1);
        t = t.slice(0, i) + insert + t.slice(i + cut);
      }
      return t;
    });
    const valid = (t: string): boolean => {
      try {
        JSON.parse(t);
        return true;
      } catch {
        return false;
      }
    };
    fc.assert(fc.property(fc.oneof(edited, fc.string({ unit: alphabet, maxLength: 12 }), fc.json()), (t) => (locateJsonError(t) === undefined) === valid(t)), { numRuns: 20_000 });
  });
});
