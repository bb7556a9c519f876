import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { decodeJsonpickleText, JsonpickleError, PyTimestamp, PyTimeZone, type PyDict, type PyValue } from "../../src/oms/jsonpickle.js";

const FIXTURE = join("test", "fixtures", "legacy_broker_log", "oms_child_orders", "1464553467_20220805_143500.20220805-103645.json");
const TS = "pandas._libs.tslibs.timestamps._unpickle_timestamp";
const NY_EDT = `{"py/reduce": [{"py/function": "pytz._p"}, {"py/tuple": ["America/New_York", -14400, 3600, "EDT"]}]}`;
const ts = (ns: string, tz: string): string => `{"py/reduce": [{"py/function": "${TS}"}, {"py/tuple": [${ns}, null, ${tz}, 10]}]}`;
const od = (pairs: string[]): string => `{"py/reduce": [{"py/type": "collections.OrderedDict"}, {"py/tuple": []}, null, null, {"py/tuple": [${pairs.map((p) => `{"py/tuple": [${p}]}`).join(", ")}]}]}`;
const decode = (text: string): PyValue => decodeJsonpickleText(text, "doc.json").value;
const dict = (v: PyValue): PyDict => v as PyDict;

describe("jsonpickle decoder", () => {
  it("decodes a legacy child order (golden)", () => {
    const v = dict(decodeJsonpickleText(readFileSync(FIXTURE, "utf8"), FIXTURE).value);
    const ny = PyTimeZone.named("America/New_York");
    const created = new PyTimestamp(1659710205402117000n, ny);
    expect(v).toEqual({
      order_id: 2,
      creation_timestamp: created,
      asset_id: 1464553467,
      type_: "limit",
      start_timestamp: created,
      end_timestamp: new PyTimestamp(1659710264976104000n, ny),
      curr_num_shares: 0,
      diff_num_shares: 0.06,
      tz: ny,
      extra_params: {
        stats: {
          "_submit_twap_child_order::bid_ask_market_data.start": new PyTimestamp(1659710205398001000n, ny),
          "_submit_twap_child_order::bid_ask_market_data.done": new PyTimestamp(1659710205399523000n, ny),
          "_submit_single_order_to_ccxt::attempt_num": 1,
        },
        ccxt_id: [185320000123],
        oms_parent_order_id: 0,
        wave_id: 0,
      },
      passivity_factor: 0.55,
      latest_bid_price: 22990.0,
      latest_ask_price: 22990.2,
      bid_price_mean: 22989.95,
      ask_price_mean: 22990.15,
      used_bid_price: "latest_bid_price",
      used_ask_price: "latest_ask_price",
      limit_price: 22990.09,
      ccxt_id: [185320000123],
    });
    // Keys in logged order.
    expect(Object.keys(v).slice(0, 10)).toEqual(["order_id", "creation_timestamp", "asset_id", "type_", "start_timestamp", "end_timestamp", "curr_num_shares", "diff_num_shares", "tz", "extra_params"]);
    // Back-references are the objects they point to: py/id 1 = the creation timestamp, py/id 2 = its
    // time zone, py/id 9 = the ccxt_id list of extra_params (lists count, tuples do not).
    const c = v["creation_timestamp"] as PyTimestamp;
    expect(v["start_timestamp"]).toBe(c);
    expect((v["end_timestamp"] as PyTimestamp).tz).toBe(c.tz);
    expect(v["ccxt_id"]).toBe(dict(v["extra_params"] as PyValue)["ccxt_id"]);
    expect(c.text).toBe("2022-08-05 10:36:45.402117-04:00");
    expect(c.iso).toBe("2022-08-05T10:36:45.402117-04:00");
    expect(c.epochMs).toBe(1659710205402);
    expect(c.toTimestamp()).toEqual({ epochUs: 1659710205402117, offsetMin: -240 });
  });

  it("numbers objects in pre-order: the root is 0, a timestamp before its time zone", () => {
    const doc = od([`"creation_timestamp", ${ts("1659710204976104000", NY_EDT)}`, `"a", {"py/id": 1}`, `"b", {"py/id": 2}`]);
    const v = dict(decode(doc));
    expect(v["a"]).toBe(v["creation_timestamp"]);
    expect(v["b"]).toBe((v["creation_timestamp"] as PyTimestamp).tz);
    expect(v["b"]).toBeInstanceOf(PyTimeZone);
  });

  it("counts dicts, lists and reduced objects; not tuples, py/type, py/function or py/b64", () => {
    // root list 0, tuple (none), dict 1, list 2, dict 3
    const v = decode(`[{"py/tuple": [{"x": 1}, [{"y": 2}]]}, {"py/id": 1}, {"py/id": 2}, {"py/id": 3}]`) as PyValue[];
    const tuple = v[0] as PyValue[];
    expect(v[1]).toBe(tuple[0]);
    expect(v[2]).toBe(tuple[1]);
    expect(v[3]).toBe((tuple[1] as PyValue[])[0]);
    // numpy: the scalar, then its dtype (shared by the second scalar).
    const np = (b64: string, dtype: string): string => `{"py/reduce": [{"py/function": "numpy.core.multiarray.scalar"}, {"py/tuple": [${dtype}, {"py/b64": "${b64}"}]}]}`;
    const f8 = `{"py/reduce": [{"py/type": "numpy.dtype"}, {"py/tuple": ["f8", false, true]}, {"py/tuple": [3, "<", null, null, null, -1, -1, 0]}]}`;
    const n = dict(decode(`{"a": ${np("AAAAAAAA+D8=", f8)}, "b": ${np("AAAAAAAABEA=", '{"py/id": 2}')}, "c": {"py/id": 1}}`));
    expect(n).toEqual({ a: 1.5, b: 2.5, c: 1.5 });
  });

  it("reads numpy int64, float32 and bool scalars", () => {
    const np = (code: string, order: string, b64: string): string =>
      `{"py/reduce": [{"py/function": "numpy.core.multiarray.scalar"}, {"py/tuple": [{"py/reduce": [{"py/type": "numpy.dtype"}, {"py/tuple": ["${code}", false, true]}, {"py/tuple": [3, "${order}", null, null, null, -1, -1, 0]}]}, {"py/b64": "${b64}"}]}]}`;
    expect(decode(`[${np("i8", "<", "BwAAAAAAAAA=")}, ${np("f4", "<", "AAAAPw==")}, ${np("b1", "|", "AQ==")}]`)).toEqual([7, 0.5, true]);
  });

  it("keeps big integers exact, and reads Python's NaN and Infinity", () => {
    const v = decode(`{"id": 8389765599793650580, "small": 185320000123, "f": 1e21, "nan": NaN, "inf": -Infinity}`);
    expect(v).toEqual({ id: 8389765599793650580n, small: 185320000123, f: 1e21, nan: Number.NaN, inf: Number.NEGATIVE_INFINITY });
  });

  it("prints timestamps like pandas: offsets from the zone rules, nanoseconds only when present", () => {
    const winter = decode(ts("1641051000000000000", NY_EDT)) as PyTimestamp; // 2022-01-01 15:30Z; the pickled EDT args do not matter
    expect(winter.text).toBe("2022-01-01 10:30:00-05:00");
    expect((decode(ts("1659710204976104001", NY_EDT)) as PyTimestamp).text).toBe("2022-08-05 10:36:44.976104001-04:00");
    expect((decode(ts("1659710204976104000", "null")) as PyTimestamp).text).toBe("2022-08-05 14:36:44.976104");
    const utc = decode(ts("1659710205100000000", `{"py/reduce": [{"py/function": "pytz._UTC"}, {"py/tuple": []}]}`)) as PyTimestamp;
    expect(utc.iso).toBe("2022-08-05T14:36:45.100000+00:00");
    const fixed = decode(ts("1659710204976104000", `{"py/reduce": [{"py/function": "pytz.FixedOffset"}, {"py/tuple": [-240]}]}`)) as PyTimestamp;
    expect([fixed.text, fixed.tz?.name]).toEqual(["2022-08-05 10:36:44.976104-04:00", "pytz.FixedOffset(-240)"]);
    // Older pandas wrote (value, freq, tz) without the resolution; resolution 9 is microseconds.
    expect((decode(`{"py/reduce": [{"py/function": "${TS}"}, {"py/tuple": [1659710204976104000, null, null]}]}`) as PyTimestamp).epochNs).toBe(1659710204976104000n);
    expect((decode(`{"py/reduce": [{"py/function": "${TS}"}, {"py/tuple": [1659710204976104, null, null, 9]}]}`) as PyTimestamp).epochNs).toBe(1659710204976104000n);
  });

  it("names the file, the line and the JSON path of an unknown tag", () => {
    const text = `{\n  "a": 1,\n  "b": {\n    "py/object": "datetime.datetime",\n    "__reduce__": []\n  }\n}`;
    expect(() => decodeJsonpickleText(text, "x/y.json")).toThrow(JsonpickleError);
    expect(() => decodeJsonpickleText(`{"a": [1, {"py/object": "datetime.datetime"}]}`, "x/y.json")).toThrow('x/y.json:1: at $.a[1]["py/object"]: unknown jsonpickle tag "py/object"');
    expect(() => decodeJsonpickleText(`{\n"a":\n {"py/set": [1]}}`, "f.json")).toThrow('f.json:3: at $.a["py/set"]: unknown jsonpickle tag "py/set"');
    // Inside an OrderedDict: the path runs through the reduce.
    expect(() => decode(od([`"k", {"py/repr": "x"}`]))).toThrow('doc.json:1: at $["py/reduce"][4]["py/tuple"][0]["py/tuple"][1]["py/repr"]: unknown jsonpickle tag "py/repr"');
  });

  it("rejects what it cannot decode faithfully, with file and line", () => {
    expect(() => decode(`[{"py/id": 3}]`)).toThrow("doc.json:1: at $[0][\"py/id\"]: py/id 3 refers to an object not decoded yet (objects 0..0 exist so far)");
    expect(() => decode(`{"a": {"b": {"py/id": 1}}}`)).toThrow("a cycle");
    expect(() => decode(`{"py/tuple": [], "x": 1}`)).toThrow('unexpected key(s) "x" beside "py/tuple"');
    expect(() => decode(`{"py/reduce": [{"py/function": "pandas._libs.tslibs.timedeltas._timedelta_unpickle"}, {"py/tuple": [60000000000, 10]}]}`)).toThrow(
      "unsupported py/reduce callable py/function pandas._libs.tslibs.timedeltas._timedelta_unpickle",
    );
    expect(() => decode(`{"a": {"py/type": "collections.OrderedDict"}}`)).toThrow("only supported as the callable of a py/reduce");
    expect(() => decode(ts("1", `{"py/reduce": [{"py/function": "pytz._p"}, {"py/tuple": ["Mars/Olympus_Mons"]}]}`))).toThrow('unknown time zone "Mars/Olympus_Mons"');
    expect(() => decodeJsonpickleText(`{"a": 1,\n "a": 2}`, "d.json")).toThrow('d.json:2:2: not valid JSON: duplicate key "a"');
    expect(() => decodeJsonpickleText(`{"a": 1,\n "b": }`, "d.json", 7)).toThrow("d.json:8:7: not valid JSON: unexpected character");
    expect(() => decodeJsonpickleText("", "d.json")).toThrow("d.json:1:1: not valid JSON: empty document");
  });
});
