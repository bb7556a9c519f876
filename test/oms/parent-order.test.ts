import { readFileSync } from "node:fs";
import { Decimal } from "decimal.js";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatTimestamp, parseTimestamp } from "../../src/core/timestamp.js";
import { formatOrder, OrderTextError, parseOrder, parseOrders } from "../../src/oms/parent-order.js";

const GOLDEN =
  "Order: order_id=0 creation_timestamp=2022-08-05 10:36:44.976104-04:00 asset_id=1464553467 type_=price@twap start_timestamp=2022-08-05 10:36:44.976104-04:00 end_timestamp=2022-08-05 10:38:44.976104-04:00 curr_num_shares=0.0 diff_num_shares=0.121 tz=America/New_York extra_params={}";

/** The nine orders of seed 001, as the document has them (folded across lines). */
function seedOrdersText(): string {
  return readFileSync(new URL("../fixtures/seed001-orders.txt", import.meta.url), "utf8");
}

describe("parent order text form", () => {
  it("parses and prints the DOMAIN golden line exactly", () => {
    const o = parseOrder(GOLDEN);
    expect(o.orderId).toBe(0);
    expect(o.assetId).toBe(1464553467);
    expect(o.type).toBe("price@twap");
    expect(o.diffNumShares.equals(new Decimal("0.121"))).toBe(true);
    expect(o.endTimestamp.epochUs - o.startTimestamp.epochUs).toBe(120_000_000);
    expect(o.startTimestamp.epochUs).toBe(Date.UTC(2022, 7, 5, 14, 36, 44) * 1000 + 976104);
    expect(formatOrder(o)).toBe(GOLDEN);
  });

  it("round-trips the old form without extra_params", () => {
    const old = GOLDEN.replace(" extra_params={}", "");
    expect(formatOrder(parseOrder(old))).toBe(old);
  });

  it("parses the nine orders of seed 001 and prints them back", () => {
    const text = seedOrdersText();
    const orders = parseOrders(text, "seed 001");
    expect(orders).toHaveLength(9);
    expect(orders.map((o) => o.diffNumShares.toString())).toEqual(["0.121", "0.011", "169.063", "2.828", "-33.958", "6052.094", "-0.07", "3.885", "1.384"]);
    const printed = orders.map(formatOrder);
    expect(printed.join(" ")).toBe(text.replace(/\s+/g, " ").trim().replace(/ (?=Order: )/g, " "));
    expect(parseOrders(printed.join("\n")).map(formatOrder)).toEqual(printed);
  });

  it("prints shares as Python's str() prints the float (golden cases from CPython 3)", () => {
    // python3 -c 'print(repr(x))' for each x.
    const cases: [string, string][] = [
      ["1e-05", "1e-05"], ["1.5e-05", "1.5e-05"], ["0.0001", "0.0001"], ["0.00012", "0.00012"], ["1e16", "1e+16"],
      ["1.2345e20", "1.2345e+20"], ["9999999999999998", "9999999999999998.0"], ["123", "123.0"], ["-0.0", "-0.0"], ["0", "0.0"],
      ["-3.5e-05", "-3.5e-05"], ["1e100", "1e+100"], ["5e-324", "5e-324"], ["1.7976931348623157e308", "1.7976931348623157e+308"],
      ["0.1", "0.1"], ["-33.958", "-33.958"], ["1e15", "1000000000000000.0"], ["123456789012345.6", "123456789012345.6"],
    ];
    for (const [value, python] of cases) {
      const line = GOLDEN.replace("diff_num_shares=0.121", `diff_num_shares=${value}`);
      const printed = formatOrder(parseOrder(line));
      expect(printed).toBe(GOLDEN.replace("diff_num_shares=0.121", `diff_num_shares=${python}`));
      // What is printed reads back as the same value, sign of zero included.
      const again = parseOrder(printed).diffNumShares;
      expect(again.equals(new Decimal(value)) && again.isNegative() === new Decimal(value).isNegative()).toBe(true);
    }
  });

  it("round-trips any share amount through print and parse", () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.double({ noNaN: true, noDefaultInfinity: true }), (curr, diff) => {
        const o = { ...parseOrder(GOLDEN), currNumShares: new Decimal(curr), diffNumShares: new Decimal(diff) };
        const back = parseOrder(formatOrder(o));
        expect(back.currNumShares.equals(o.currNumShares) && back.currNumShares.isNegative() === o.currNumShares.isNegative()).toBe(true);
        expect(back.diffNumShares.equals(o.diffNumShares) && back.diffNumShares.isNegative() === o.diffNumShares.isNegative()).toBe(true);
        expect(formatOrder(back)).toBe(formatOrder(o));
      }),
    );
  });

  it("keeps extra params", () => {
    const line = GOLDEN.replace("extra_params={}", "extra_params={'ccxt_id': [12, 13], 'note': 'x', 'flag': True, 'none': None}");
    const o = parseOrder(line);
    expect(o.extraParams).toEqual({ ccxt_id: [12, 13], note: "x", flag: true, none: null });
    expect(formatOrder(o)).toBe(line);
  });

  it("names the field of bad input", () => {
    expect(() => parseOrder(GOLDEN.replace("type_=price@twap", "type_=vwap"))).toThrow(/type_ must be one of/);
    expect(() => parseOrder(GOLDEN.replace("asset_id=1464553467 ", ""))).toThrow(/asset_id is missing/);
    expect(() => parseOrder(GOLDEN.replace("diff_num_shares=0.121", "diff_num_shares=abc"))).toThrow(OrderTextError);
    expect(() => parseOrder(GOLDEN.replace("2022-08-05 10:38", "2022-13-05 10:38"))).toThrow(/end_timestamp/);
  });

  it("prints timestamps like pandas", () => {
    expect(formatTimestamp(parseTimestamp("2022-08-05 10:36:44-04:00"))).toBe("2022-08-05 10:36:44-04:00");
    expect(formatTimestamp(parseTimestamp("2023-06-26 13:10:00.000001+00:00"))).toBe("2023-06-26 13:10:00.000001+00:00");
    expect(formatTimestamp(parseTimestamp("2023-06-26T13:10:00Z"))).toBe("2023-06-26 13:10:00+00:00");
  });
});
