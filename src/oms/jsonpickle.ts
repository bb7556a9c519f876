// A decoder for the jsonpickle JSON written by the legacy Python broker (DOMAIN.md section 11).
//
// Two stages:
// 1. `parseJsonDocument`: a JSON parser that keeps what JSON.parse loses here: integers beyond
//    2^53 (pandas epoch nanoseconds, some exchange order ids) become bigints; Python's `NaN`,
//    `Infinity` and `-Infinity` tokens are accepted; object keys stay in document order (JS objects
//    would move integer-like keys first, which would change the back-reference numbering); every
//    value knows the line it starts on, so errors name a line.
// 2. `decodeJsonpickle`: turns the jsonpickle tags into values.
//
// The subset (anything else is an error naming the file, the line and the JSON path):
// - plain objects -> plain JS objects; lists -> arrays; `{"py/tuple": [...]}` -> arrays;
// - `py/reduce` of `collections.OrderedDict` (dict items as a tuple of key/value tuples) -> a plain
//   object with the keys in logged order;
// - `py/reduce` of `pandas._libs.tslibs.timestamps._unpickle_timestamp` (epoch value, freq, tz,
//   resolution) -> `PyTimestamp`;
// - `py/reduce` of `pytz._p` (zone name, ...) -> `PyTimeZone`; also, beyond DOMAIN.md but what
//   jsonpickle writes for the other pytz zones pandas uses: `pytz._UTC` and `pytz.FixedOffset`;
// - `py/reduce` of `numpy.core.multiarray.scalar` (a `numpy.dtype` and `py/b64` bytes) for the
//   dtypes f8, f4, i8, i4, b1 -> number (bigint beyond 2^53) or boolean: what numpy float64 and
//   int64 values (pandas means, for instance) become under jsonpickle;
// - `{"py/id": N}` -> the N-th object decoded in this document.
//
// Back-reference numbering (checked against jsonpickle 3.0's encoder): the root is 0; an object
// gets its number when its decoding starts, before its children (pre-order). Dicts, lists and
// every py/reduce count; tuples, py/type, py/function and py/b64 do not. So in a child order
// (an OrderedDict) `{"py/id": 1}` is its creation timestamp and `{"py/id": 2}` that timestamp's
// time zone. A reference to an object whose decoding has not finished (a cycle) is an error: the
// legacy logs hold plain data.
//
// Each jsonpickle document numbers from 0: a JSON-lines file is one document per line.

import { Decimal } from "decimal.js";
import type { Timestamp } from "../core/timestamp.js";

export class JsonpickleError extends Error {
  override readonly name = "JsonpickleError";
}

// ---------------------------------------------------------------------------------------------
// Stage 1: JSON with lines, bigints and document-ordered keys
// ---------------------------------------------------------------------------------------------

export interface JsonEntry {
  readonly key: string;
  readonly value: JsonNode;
  /** Line the key starts on. */
  readonly line: number;
}

export class JsonObjectNode {
  constructor(
    readonly entries: readonly JsonEntry[],
    readonly line: number,
  ) {}
}

export class JsonArrayNode {
  constructor(
    readonly items: readonly JsonNode[],
    /** Line each item starts on. */
    readonly itemLines: readonly number[],
    readonly line: number,
  ) {}
}

export type JsonNode = null | boolean | number | bigint | string | JsonObjectNode | JsonArrayNode;

const MAX_DEPTH = 1000;

/**
 * Parses one JSON document. `firstLine` is the file line the text starts on (for JSON lines).
 * Errors read `<file>:<line>:<column>: <problem>`.
 */
export function parseJsonDocument(text: string, file: string, firstLine = 1): JsonNode {
  return new JsonParser(text, file, firstLine).document();
}

class JsonParser {
  private pos = 0;
  private line: number;
  private lineStart = 0;

  constructor(
    private readonly text: string,
    private readonly file: string,
    firstLine: number,
  ) {
    this.line = firstLine;
  }

  document(): JsonNode {
    this.ws();
    if (this.pos >= this.text.length) this.fail("empty document");
    const v = this.value(0);
    this.ws();
    if (this.pos < this.text.length) this.fail(`unexpected ${this.describe()} after the document`);
    return v;
  }

  private fail(message: string): never {
    throw new JsonpickleError(`${this.file}:${this.line}:${this.pos - this.lineStart + 1}: not valid JSON: ${message}`);
  }

  private describe(): string {
    const c = this.text[this.pos];
    return c === undefined ? "end of input" : `character ${JSON.stringify(c)}`;
  }

  private ws(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x0a) {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === 0x20 || c === 0x09 || c === 0x0d) {
        this.pos++;
      } else {
        return;
      }
    }
  }

  private value(depth: number): JsonNode {
    if (depth > MAX_DEPTH) this.fail(`nested deeper than ${MAX_DEPTH} levels`);
    const c = this.text[this.pos];
    switch (c) {
      case "{":
        return this.object(depth);
      case "[":
        return this.array(depth);
      case '"':
        return this.string();
      case "t":
        return this.word("true", true);
      case "f":
        return this.word("false", false);
      case "n":
        return this.word("null", null);
      case "N":
        return this.word("NaN", Number.NaN);
      case "I":
        return this.word("Infinity", Number.POSITIVE_INFINITY);
      default:
        if (c === "-" && this.text.startsWith("-Infinity", this.pos)) return this.word("-Infinity", Number.NEGATIVE_INFINITY);
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.number();
        return this.fail(`unexpected ${this.describe()}`);
    }
  }

  private word<T>(w: string, v: T): T {
    if (!this.text.startsWith(w, this.pos)) this.fail(`unexpected ${this.describe()}`);
    this.pos += w.length;
    return v;
  }

  private number(): number | bigint {
    const re = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
    re.lastIndex = this.pos;
    const m = re.exec(this.text);
    if (m === null) return this.fail("malformed number");
    this.pos += m[0].length;
    const isInteger = m[1] === undefined && m[2] === undefined;
    const n = Number(m[0]);
    if (isInteger && !Number.isSafeInteger(n)) return BigInt(m[0]);
    return n;
  }

  private string(): string {
    const start = this.pos;
    const t = this.text;
    let i = start + 1;
    for (;;) {
      const c = t.charCodeAt(i);
      if (Number.isNaN(c)) {
        this.pos = i;
        this.fail("unterminated string");
      }
      if (c === 0x22) break;
      if (c === 0x5c) i += 2;
      else if (c < 0x20) {
        this.pos = i;
        this.fail("control character in a string");
      } else i++;
    }
    this.pos = i + 1;
    try {
      return JSON.parse(t.slice(start, i + 1)) as string;
    } catch (e) {
      this.pos = start;
      return this.fail(`bad string escape (${(e as Error).message})`);
    }
  }

  private object(depth: number): JsonObjectNode {
    const line = this.line;
    this.pos++;
    const entries: JsonEntry[] = [];
    const seen = new Set<string>();
    this.ws();
    if (this.text[this.pos] === "}") {
      this.pos++;
      return new JsonObjectNode(entries, line);
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail(`expected a key, got ${this.describe()}`);
      const keyLine = this.line;
      const keyPos = this.pos;
      const key = this.string();
      if (seen.has(key)) {
        this.pos = keyPos;
        this.fail(`duplicate key ${JSON.stringify(key)}`);
      }
      seen.add(key);
      this.ws();
      if (this.text[this.pos] !== ":") this.fail(`expected ":", got ${this.describe()}`);
      this.pos++;
      this.ws();
      entries.push({ key, value: this.value(depth + 1), line: keyLine });
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "}") return new JsonObjectNode(entries, line);
      if (c !== ",") {
        this.pos--;
        this.fail(`expected "," or "}", got ${this.describe()}`);
      }
    }
  }

  private array(depth: number): JsonArrayNode {
    const line = this.line;
    this.pos++;
    const items: JsonNode[] = [];
    const itemLines: number[] = [];
    this.ws();
    if (this.text[this.pos] === "]") {
      this.pos++;
      return new JsonArrayNode(items, itemLines, line);
    }
    for (;;) {
      this.ws();
      itemLines.push(this.line);
      items.push(this.value(depth + 1));
      this.ws();
      const c = this.text[this.pos];
      this.pos++;
      if (c === "]") return new JsonArrayNode(items, itemLines, line);
      if (c !== ",") {
        this.pos--;
        this.fail(`expected "," or "]", got ${this.describe()}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Decoded values
// ---------------------------------------------------------------------------------------------

export type PyValue = null | boolean | number | bigint | string | PyTimestamp | PyTimeZone | readonly PyValue[] | PyDict;
export interface PyDict {
  readonly [key: string]: PyValue;
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

function zoneFormatter(zone: string): Intl.DateTimeFormat {
  let f = offsetFormatters.get(zone);
  if (f === undefined) {
    f = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
    offsetFormatters.set(zone, f);
  }
  return f;
}

/** A pytz time zone: a named zone (with its DST rules), UTC, or a fixed offset. */
export class PyTimeZone {
  private constructor(
    /** The zone name as pandas prints it: `America/New_York`, `UTC`, `pytz.FixedOffset(-240)`. */
    readonly name: string,
    /** Set for fixed offsets (and UTC): minutes east of UTC. */
    readonly fixedOffsetMinutes: number | undefined,
  ) {}

  static named(zone: string): PyTimeZone {
    if (zone === "UTC") return PyTimeZone.utc();
    zoneFormatter(zone); // throws RangeError for a zone the runtime does not know
    return new PyTimeZone(zone, undefined);
  }

  static utc(): PyTimeZone {
    return new PyTimeZone("UTC", 0);
  }

  static fixed(minutes: number): PyTimeZone {
    return new PyTimeZone(`pytz.FixedOffset(${minutes})`, minutes);
  }

  /** The offset from UTC, in minutes, in force at an instant. */
  offsetMinutesAt(epochMs: number): number {
    if (this.fixedOffsetMinutes !== undefined) return this.fixedOffsetMinutes;
    const parts = zoneFormatter(this.name).formatToParts(new Date(epochMs));
    const get = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value ?? Number.NaN);
    const wall = new Date(0);
    wall.setUTCFullYear(get("year"), get("month") - 1, get("day"));
    wall.setUTCHours(get("hour"), get("minute"), get("second"), 0);
    const wholeSecondMs = Math.floor(epochMs / 1000) * 1000;
    return Math.round((wall.getTime() - wholeSecondMs) / 60_000);
  }

  toString(): string {
    return this.name;
  }

  toJSON(): string {
    return this.name;
  }
}

const NS_PER_S = 1_000_000_000n;

/** A pandas Timestamp: exact epoch nanoseconds and its time zone (none for a naive timestamp). */
export class PyTimestamp {
  /** `2022-08-05 10:36:44.976104-04:00`, as pandas `str()` prints it (nanoseconds only when non-zero). */
  readonly text: string;
  /** Offset from UTC in minutes at this instant; undefined for a naive timestamp. */
  readonly offsetMinutes: number | undefined;

  constructor(
    /** Nanoseconds since the Unix epoch, UTC (for a naive timestamp: of its wall time read as UTC). */
    readonly epochNs: bigint,
    readonly tz: PyTimeZone | null,
  ) {
    this.offsetMinutes = tz?.offsetMinutesAt(Number(floorDiv(epochNs, 1_000_000n)));
    this.text = formatPandas(epochNs, this.offsetMinutes, " ");
  }

  /** ISO 8601 as pandas `isoformat()` prints it: `2022-08-05T10:36:44.976104-04:00`. */
  get iso(): string {
    return this.text.replace(" ", "T");
  }

  /** Milliseconds since the epoch, rounded down. */
  get epochMs(): number {
    return Number(floorDiv(this.epochNs, 1_000_000n));
  }

  /** As the core timestamp of the text order form (microseconds; a naive timestamp reads as UTC). */
  toTimestamp(): Timestamp {
    return { epochUs: Number(floorDiv(this.epochNs, 1000n)), offsetMin: this.offsetMinutes ?? 0 };
  }

  toString(): string {
    return this.text;
  }

  toJSON(): string {
    return this.iso;
  }
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

function formatPandas(epochNs: bigint, offsetMin: number | undefined, sep: string): string {
  const local = epochNs + BigInt(offsetMin ?? 0) * 60n * NS_PER_S;
  const seconds = floorDiv(local, NS_PER_S);
  const ns = Number(local - seconds * NS_PER_S);
  const d = new Date(Number(seconds) * 1000);
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  const frac = ns === 0 ? "" : ns % 1000 === 0 ? "." + pad(ns / 1000, 6) : "." + pad(ns, 9);
  let off = "";
  if (offsetMin !== undefined) {
    const a = Math.abs(offsetMin);
    off = `${offsetMin < 0 ? "-" : "+"}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
  }
  return `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}${sep}${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}${off}`;
}

// ---------------------------------------------------------------------------------------------
// Stage 2: jsonpickle tags
// ---------------------------------------------------------------------------------------------

const TIMESTAMP_FN = "pandas._libs.tslibs.timestamps._unpickle_timestamp";
const ORDERED_DICT = "collections.OrderedDict";
const NUMPY_SCALAR_FN = "numpy.core.multiarray.scalar";
const NUMPY_DTYPE = "numpy.dtype";
const SUPPORTED_CALLABLES = [`py/type ${ORDERED_DICT}`, `py/function ${TIMESTAMP_FN}`, "py/function pytz._p", "py/function pytz._UTC", "py/function pytz.FixedOffset", `py/function ${NUMPY_SCALAR_FN}`];
/** numpy datetime units (NPY_DATETIMEUNIT) pandas pickles, to nanoseconds. */
const RESO_TO_NS: ReadonlyMap<number, bigint> = new Map([
  [7, NS_PER_S],
  [8, 1_000_000n],
  [9, 1000n],
  [10, 1n],
]);

/** A numpy dtype seen as the first argument of a numpy scalar; never part of a decoded value. */
class NumpyDtype {
  constructor(
    readonly code: string,
    readonly byteOrder: string,
  ) {}
}

type Decoded = PyValue | NumpyDtype;

export interface DecodedDocument {
  readonly value: PyValue;
  /**
   * The line of a value inside the decoded document, given its path of object keys and array
   * indices (as zod reports issues): the line of the deepest key or item found on the path.
   */
  lineOf(path: readonly PropertyKey[]): number;
}

/** Decodes a parsed jsonpickle document; `file` is for messages. */
export function decodeJsonpickle(root: JsonNode, file: string): DecodedDocument {
  const d = new Decoder(file);
  const rootLine = root instanceof JsonObjectNode || root instanceof JsonArrayNode ? root.line : 1;
  const value = d.general(root, rootLine);
  return { value, lineOf: (path) => d.lineOf(value, path, rootLine) };
}

/** Parses and decodes one jsonpickle document. */
export function decodeJsonpickleText(text: string, file: string, firstLine = 1): DecodedDocument {
  return decodeJsonpickle(parseJsonDocument(text, file, firstLine), file);
}

const PENDING: unique symbol = Symbol("pending");

class Decoder {
  private readonly objs: (Decoded | typeof PENDING)[] = [];
  /** Per decoded container: the line of each of its keys or items. */
  private readonly lines = new WeakMap<object, Map<PropertyKey, number>>();
  private readonly jsonPath: (string | number)[] = [];

  constructor(private readonly file: string) {}

  fail(line: number, message: string): never {
    throw new JsonpickleError(`${this.file}:${line}: at ${formatPath(this.jsonPath)}: ${message}`);
  }

  lineOf(root: PyValue, path: readonly PropertyKey[], rootLine: number): number {
    let line = rootLine;
    let cur: unknown = root;
    for (const key of path) {
      if (cur === null || typeof cur !== "object") break;
      const k = typeof key === "number" ? key : String(key);
      const l = this.lines.get(cur)?.get(Array.isArray(cur) ? Number(k) : k);
      if (l === undefined) break;
      line = l;
      cur = (cur as Record<PropertyKey, unknown>)[k];
    }
    return line;
  }

  private register(): number {
    this.objs.push(PENDING);
    return this.objs.length - 1;
  }

  /** Decodes a value that must be plain data (not a numpy dtype). */
  general(node: JsonNode, line: number): PyValue {
    const v = this.decode(node);
    if (v instanceof NumpyDtype) this.fail(line, "a numpy dtype is only supported as the first argument of a numpy scalar");
    return v;
  }

  private decode(node: JsonNode): Decoded {
    if (node instanceof JsonArrayNode) {
      const id = this.register();
      const out = this.items(node);
      this.objs[id] = out;
      return out;
    }
    if (!(node instanceof JsonObjectNode)) return node;
    const tag = node.entries.find((e) => e.key.startsWith("py/"));
    if (tag === undefined) return this.dict(node);
    if (node.entries.length !== 1) {
      this.fail(node.line, `unexpected key(s) ${node.entries.filter((e) => e !== tag).map((e) => JSON.stringify(e.key)).join(", ")} beside ${JSON.stringify(tag.key)}`);
    }
    this.jsonPath.push(tag.key);
    try {
      switch (tag.key) {
        case "py/id":
          return this.ref(tag.value, node.line);
        case "py/tuple":
          if (!(tag.value instanceof JsonArrayNode)) return this.fail(node.line, "py/tuple must hold a list");
          return this.items(tag.value);
        case "py/reduce":
          return this.reduce(tag.value, node.line);
        case "py/type":
        case "py/function":
          return this.fail(node.line, `${tag.key} ${JSON.stringify(tag.value)} is only supported as the callable of a py/reduce`);
        case "py/b64":
          return this.fail(node.line, "bytes (py/b64) are only supported as the data of a numpy scalar");
        default:
          return this.fail(node.line, `unknown jsonpickle tag ${JSON.stringify(tag.key)} (supported: py/reduce, py/tuple, py/id)`);
      }
    } finally {
      this.jsonPath.pop();
    }
  }

  private items(node: JsonArrayNode): PyValue[] {
    const out: PyValue[] = [];
    const lines = new Map<PropertyKey, number>();
    node.items.forEach((item, i) => {
      const l = node.itemLines[i] ?? node.line;
      this.jsonPath.push(i);
      out.push(this.general(item, l));
      this.jsonPath.pop();
      lines.set(i, l);
    });
    this.lines.set(out, lines);
    return out;
  }

  private dict(node: JsonObjectNode): PyDict {
    const id = this.register();
    const out: Record<string, PyValue> = {};
    const lines = new Map<PropertyKey, number>();
    for (const e of node.entries) {
      this.jsonPath.push(e.key);
      setKey(out, e.key, this.general(e.value, e.line));
      this.jsonPath.pop();
      lines.set(e.key, e.line);
    }
    this.lines.set(out, lines);
    this.objs[id] = out;
    return out;
  }

  private ref(value: JsonNode, line: number): Decoded {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) return this.fail(line, `py/id must be a whole number >= 0, got ${JSON.stringify(String(value))}`);
    if (value >= this.objs.length) return this.fail(line, `py/id ${value} refers to an object not decoded yet (objects 0..${this.objs.length - 1} exist so far)`);
    const target = this.objs[value];
    if (target === PENDING) return this.fail(line, `py/id ${value} refers to an object that contains this reference (a cycle), which plain data cannot hold`);
    return target as Decoded;
  }

  private reduce(value: JsonNode, line: number): Decoded {
    if (!(value instanceof JsonArrayNode) || value.items.length < 2 || value.items.length > 5) {
      return this.fail(line, "py/reduce must hold a list of 2 to 5 items (callable, args, state, listitems, dictitems)");
    }
    const id = this.register();
    const at = (i: number): number => value.itemLines[i] ?? line;
    this.jsonPath.push(0);
    const callable = this.callable(value.items[0] as JsonNode, at(0));
    this.jsonPath.pop();
    // jsonpickle decodes the items in order, so the numbering follows args, state, listitems, dictitems.
    const rest: Decoded[] = [];
    let numpyArgs: { dtype: Decoded; b64: string } | undefined;
    for (let i = 1; i < value.items.length; i++) {
      this.jsonPath.push(i);
      if (callable === `py/function ${NUMPY_SCALAR_FN}` && i === 1) {
        numpyArgs = this.numpyArgs(value.items[i] as JsonNode, at(i));
        rest.push([]);
      } else {
        rest.push(this.general(value.items[i] as JsonNode, at(i)));
      }
      this.jsonPath.pop();
    }
    const [args, state = null, listItems = null, dictItems = null] = rest;
    if (!Array.isArray(args)) return this.fail(at(1), `the arguments of ${callable} must be a py/tuple`);
    const argList = args as readonly Decoded[];
    const onlyArgs = (what: string): void => {
      if (state !== null || listItems !== null || dictItems !== null) this.fail(line, `${what}: unexpected state, listitems or dictitems`);
    };
    let out: Decoded;
    switch (callable) {
      case `py/type ${ORDERED_DICT}`:
        out = this.orderedDict(argList, state, listItems, dictItems, value, line);
        break;
      case `py/function ${TIMESTAMP_FN}`:
        onlyArgs("pandas Timestamp");
        out = this.timestamp(argList, at(1));
        break;
      case "py/function pytz._p": {
        onlyArgs("pytz time zone");
        const zone = argList[0];
        if (typeof zone !== "string") return this.fail(at(1), "pytz._p: the first argument must be the zone name");
        out = this.zone(zone, at(1));
        break;
      }
      case "py/function pytz._UTC":
        onlyArgs("pytz UTC");
        if (argList.length !== 0) return this.fail(at(1), "pytz._UTC takes no arguments");
        out = PyTimeZone.utc();
        break;
      case "py/function pytz.FixedOffset": {
        onlyArgs("pytz FixedOffset");
        const minutes = argList[0];
        if (argList.length !== 1 || typeof minutes !== "number" || !Number.isInteger(minutes) || Math.abs(minutes) >= 24 * 60) return this.fail(at(1), "pytz.FixedOffset takes one argument, whole minutes within a day");
        out = PyTimeZone.fixed(minutes);
        break;
      }
      case `py/type ${NUMPY_DTYPE}`: {
        const code = argList[0];
        const byteOrder = Array.isArray(state) ? (state as readonly PyValue[])[1] : undefined;
        if (typeof code !== "string" || typeof byteOrder !== "string" || listItems !== null || dictItems !== null) return this.fail(line, "numpy.dtype: expected (code, align, copy) and a state tuple with the byte order");
        out = new NumpyDtype(code, byteOrder);
        break;
      }
      case `py/function ${NUMPY_SCALAR_FN}`:
        onlyArgs("numpy scalar");
        if (numpyArgs === undefined) return this.fail(line, "numpy scalar: missing arguments");
        out = this.numpyScalar(numpyArgs.dtype, numpyArgs.b64, at(1));
        break;
      default:
        return this.fail(at(0), `unsupported py/reduce callable ${callable} (supported: ${SUPPORTED_CALLABLES.join(", ")})`);
    }
    this.objs[id] = out;
    return out;
  }

  private callable(node: JsonNode, line: number): string {
    if (node instanceof JsonObjectNode && node.entries.length === 1) {
      const e = node.entries[0] as JsonEntry;
      if ((e.key === "py/type" || e.key === "py/function") && typeof e.value === "string") return `${e.key} ${e.value}`;
    }
    return this.fail(line, 'the callable of a py/reduce must be {"py/type": name} or {"py/function": name}');
  }

  private orderedDict(args: readonly Decoded[], state: Decoded, listItems: Decoded, dictItems: Decoded, node: JsonArrayNode, line: number): PyDict {
    if (args.length !== 0 || state !== null || listItems !== null) this.fail(line, "OrderedDict: expected empty args, no state and no listitems");
    const out: Record<string, PyValue> = {};
    const lines = new Map<PropertyKey, number>();
    if (dictItems !== null) {
      const pairsNode = node.items[4];
      // The line of each item is the line of its key (inside the pair's py/tuple).
      const pairNodes = pairsNode instanceof JsonObjectNode && pairsNode.entries[0]?.value instanceof JsonArrayNode ? pairsNode.entries[0].value : undefined;
      const pairLines = (pairNodes?.items ?? []).map((p, i) => {
        const inner = p instanceof JsonObjectNode ? p.entries[0]?.value : undefined;
        return inner instanceof JsonArrayNode ? (inner.itemLines[0] ?? inner.line) : (pairNodes?.itemLines[i] ?? line);
      });
      if (!Array.isArray(dictItems)) this.fail(line, "OrderedDict: dictitems must be a py/tuple of key/value py/tuples");
      (dictItems as readonly PyValue[]).forEach((pair, i) => {
        const l = pairLines[i] ?? line;
        if (!Array.isArray(pair) || pair.length !== 2) {
          this.jsonPath.push(4, "py/tuple", i);
          this.fail(l, "OrderedDict: each item must be a (key, value) py/tuple");
        }
        const [k, v] = pair as unknown as readonly [PyValue, PyValue];
        if (typeof k !== "string") {
          this.jsonPath.push(4, "py/tuple", i);
          this.fail(l, `OrderedDict: key ${JSON.stringify(String(k))} is not a string`);
        }
        if (Object.prototype.hasOwnProperty.call(out, k)) {
          this.jsonPath.push(4, "py/tuple", i);
          this.fail(l, `OrderedDict: duplicate key ${JSON.stringify(k)}`);
        }
        setKey(out, k, v);
        lines.set(k, l);
      });
    }
    this.lines.set(out, lines);
    return out;
  }

  private timestamp(args: readonly Decoded[], line: number): PyTimestamp {
    // (value, freq, tz[, reso]): pandas before 1.5 wrote three arguments, always nanoseconds.
    if (args.length !== 3 && args.length !== 4) this.fail(line, `pandas Timestamp: expected (value, freq, tz, reso), got ${args.length} arguments`);
    const [value, freq, tz, reso = 10] = args;
    if (!((typeof value === "number" && Number.isInteger(value)) || typeof value === "bigint")) this.fail(line, "pandas Timestamp: the value must be a whole number");
    if (freq !== null) this.fail(line, "pandas Timestamp: a freq is not supported");
    if (tz !== null && !(tz instanceof PyTimeZone)) this.fail(line, "pandas Timestamp: tz must be a pytz time zone or null");
    const scale = typeof reso === "number" ? RESO_TO_NS.get(reso) : undefined;
    if (scale === undefined) this.fail(line, `pandas Timestamp: unsupported resolution ${JSON.stringify(String(reso))} (supported: 7 s, 8 ms, 9 us, 10 ns)`);
    return new PyTimestamp(BigInt(value) * scale, tz);
  }

  private zone(name: string, line: number): PyTimeZone {
    try {
      return PyTimeZone.named(name);
    } catch (e) {
      return this.fail(line, `unknown time zone ${JSON.stringify(name)} (${(e as Error).message})`);
    }
  }

  /** The arguments of a numpy scalar: `{"py/tuple": [dtype, {"py/b64": data}]}`; the dtype is numbered, the tuple and bytes are not. */
  private numpyArgs(node: JsonNode, line: number): { dtype: Decoded; b64: string } {
    const tuple = node instanceof JsonObjectNode && node.entries.length === 1 && node.entries[0]?.key === "py/tuple" ? node.entries[0].value : undefined;
    const dataNode = tuple instanceof JsonArrayNode && tuple.items.length === 2 ? tuple.items[1] : undefined;
    const b64 = dataNode instanceof JsonObjectNode && dataNode.entries.length === 1 && dataNode.entries[0]?.key === "py/b64" ? dataNode.entries[0].value : undefined;
    if (!(tuple instanceof JsonArrayNode) || typeof b64 !== "string") return this.fail(line, 'numpy scalar: expected {"py/tuple": [dtype, {"py/b64": data}]}');
    this.jsonPath.push("py/tuple", 0);
    const dtype = this.decode(tuple.items[0] as JsonNode);
    this.jsonPath.pop();
    this.jsonPath.pop();
    return { dtype, b64 };
  }

  private numpyScalar(dtype: Decoded, b64: string, line: number): number | bigint | boolean {
    if (!(dtype instanceof NumpyDtype)) return this.fail(line, "numpy scalar: the first argument must be a numpy.dtype");
    const bytes = Buffer.from(b64, "base64");
    const little = dtype.byteOrder !== ">";
    const need = (n: number): void => {
      if (bytes.length !== n) this.fail(line, `numpy scalar ${dtype.code}: expected ${n} bytes, got ${bytes.length}`);
    };
    switch (dtype.code) {
      case "f8":
        need(8);
        return little ? bytes.readDoubleLE(0) : bytes.readDoubleBE(0);
      case "f4":
        need(4);
        return little ? bytes.readFloatLE(0) : bytes.readFloatBE(0);
      case "i8": {
        need(8);
        const v = little ? bytes.readBigInt64LE(0) : bytes.readBigInt64BE(0);
        return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
      }
      case "i4":
        need(4);
        return little ? bytes.readInt32LE(0) : bytes.readInt32BE(0);
      case "b1":
        need(1);
        return bytes[0] !== 0;
      default:
        return this.fail(line, `numpy scalar: unsupported dtype ${JSON.stringify(dtype.code)} (supported: f8, f4, i8, i4, b1)`);
    }
  }
}

function setKey(out: Record<string, PyValue>, key: string, value: PyValue): void {
  if (key === "__proto__") Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
  else out[key] = value;
}

function formatPath(path: readonly (string | number)[]): string {
  let s = "$";
  for (const p of path) s += typeof p === "number" ? `[${p}]` : /^[A-Za-z_][A-Za-z0-9_]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`;
  return s;
}

/** Whether a decoded value is a dict (plain object or OrderedDict). */
export function isPyDict(v: unknown): v is PyDict {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof PyTimestamp) && !(v instanceof PyTimeZone) && !(v instanceof Decimal);
}
