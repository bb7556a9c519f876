// The broker builds its hot log lines member by member instead of JSON.stringify-ing an object made
// only to be logged; the bytes must be the ones JSON.stringify (through the JSON-lines appender)
// gives for that object, whatever the values.

import { Decimal } from "decimal.js";
import { WideDecimal } from "../../src/core/wide-decimal.js";
import { describe, expect, it } from "vitest";
import { childOrderLine, fillLine, type ChildOrder } from "../../src/oms/broker.js";
import type { ParentFill } from "../../src/oms/fills.js";
import type { LimitPriceInputs } from "../../src/oms/limit-price.js";
import { jsonMember, jsonObject, jsonReplacer, jsonValue, stringifyRecord } from "../../src/storage/jsonl.js";

const inputs: LimitPriceInputs = {
  computer: "passivity", side: "buy", latestBid: 51, latestAsk: 61, meanBid: 50.5, meanAsk: Number.NaN, bidUsed: "latest", askUsed: "mean",
  numDataPoints: 60, passivityFactor: 0.1, totalVolatility: undefined, volatilityMultiple: undefined, waveId: 2, limitPrice: "60.0",
};

function child(over: Partial<ChildOrder>): ChildOrder {
  return {
    clientOrderId: "tl0000abcd-3-17-2-0", parentOrderId: 17, assetId: 1950092065, symbol: "S02/USDT:USDT", bar: 3, wave: 2, attempt: 0,
    side: "sell", amount: "0.623289", limitPrice: "0", limitInputs: undefined, status: "submitted", exchangeOrderId: undefined, error: undefined,
    waveStart: 1704153600000, submittedAt: 1704153600123, ackAt: undefined, ...over,
  };
}

describe("hand-built broker log lines", () => {
  it("a child line is JSON.stringify({ ...child, event }) with and without its optional members", () => {
    const cases = [
      child({}),
      child({ limitInputs: inputs, limitPrice: "60", status: "rejected", error: 'refused: "price" \\ out of band\n\u0001 \u2028 é' }),
      child({ exchangeOrderId: "12345", ackAt: 1704153600456, status: "unknown", symbol: "BTC/USDT" }),
      child({ limitInputs: { ...inputs, computer: "volatility", meanBid: undefined, meanAsk: undefined, totalVolatility: 0.000267716930635328, volatilityMultiple: 0.75 } }),
    ];
    for (const c of cases) {
      for (const event of ["sending", "rejected", "unknown_outcome"]) expect(childOrderLine(c, event)).toBe(JSON.stringify({ ...c, event }));
    }
  });

  it("a parent fill line is JSON.stringify({ bar, assetId, symbol, ...fill }) with decimals as text", () => {
    const fills: ParentFill[] = [
      { parentOrderId: 4, numShares: WideDecimal.of("-0.623289"), price: WideDecimal.of("1362.1"), timestamp: 1704153600000, fees: WideDecimal.of("0.42449097345"), feeCurrencies: ["USDT"] },
      { parentOrderId: 5, numShares: WideDecimal.of("1e-9"), price: WideDecimal.of("123456789012345678901234.5"), timestamp: 0, fees: WideDecimal.of(-0), feeCurrencies: [] },
      { parentOrderId: 6, numShares: WideDecimal.of("2"), price: WideDecimal.of("3"), timestamp: 0, fees: WideDecimal.of("0.1"), feeCurrencies: ["BNB", "USDT"], unvaluedFees: [{ currency: "BNB", cost: new Decimal("0.002") }] },
    ];
    for (const f of fills) expect(fillLine(7, 17898083, "S04/USDT:USDT", f)).toBe(JSON.stringify({ bar: 7, assetId: 17898083, symbol: "S04/USDT:USDT", ...f }));
  });

  it("jsonValue prints any member value as a whole-record append would", () => {
    const values: unknown[] = [
      "a\"b", "", 0, -0, 1.5e-7, 1e21, Number.NaN, Number.POSITIVE_INFINITY, true, false, null, undefined, () => 1, Symbol("s"),
      [1, undefined, "x", { a: undefined, b: 2n }], { nested: new Decimal("-0.000"), d: new Date(0) }, new Decimal("12.3400"), 12n,
    ];
    for (const v of values) {
      const whole = stringifyRecord({ k: v, z: 1 });
      expect(jsonObject(jsonMember(',"k":', v) + jsonMember(',"z":', 1))).toBe(whole);
      if (typeof v === "bigint") expect(jsonValue(v)).toBe(JSON.stringify({ k: v }, jsonReplacer).slice(5, -1));
    }
    expect(jsonObject(jsonMember(',"a":', undefined))).toBe("{}");
  });
});
