// JSON-lines files: the append format of every log the product writes as it goes (broker log,
// system log). Why JSON lines: a record is one write() of one line, so a killed process leaves every
// complete record readable and at worst one torn last line, which the reader reports with its file
// and line; pandas, DuckDB and jq read the format directly. Whole documents are written atomically.

import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { dirname, join } from "node:path";
import { Decimal } from "decimal.js";
import { WideDecimal } from "../core/wide-decimal.js";

export class JsonlError extends Error {
  override readonly name = "JsonlError";
}

// A Decimal serializes as its toString() in every JSON we write. decimal.js's own toJSON is valueOf,
// which prints negative zero as "-0"; the hot append path stringifies without a replacer function
// (a replacer is a call per value and made logging ~1.7x slower), so the prototype carries the rule.
Decimal.prototype.toJSON = Decimal.prototype.toString;

/** Decimals and bigints print as strings, so money round-trips exactly. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value !== null && typeof value === "object" && (value as { constructor?: { name?: string } }).constructor?.name === "Decimal") {
    return (value as { toString(): string }).toString();
  }
  return value;
}

/**
 * One record as one JSON line. Records hold no bigint in practice; when one does, JSON.stringify
 * refuses it with a TypeError and the record is written through the replacer instead.
 */
export function stringifyRecord(record: unknown): string {
  try {
    return JSON.stringify(record);
  } catch (e) {
    if (e instanceof TypeError && /BigInt/i.test(e.message)) return JSON.stringify(record, jsonReplacer);
    throw e;
  }
}

/**
 * The text JSON.stringify gives a value where it is a member of a record, or undefined when it
 * would leave the member out. Lets a hot writer build a record's line member by member (see
 * jsonMember) without making an object only to have it serialized; objects go through
 * stringifyRecord, so nested values print exactly as in a whole-record append.
 */
export function jsonValue(v: unknown): string | undefined {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      // What stringifyRecord's fallback (jsonReplacer) prints for a bigint.
      return JSON.stringify(v.toString());
    case "object":
      if (v === null) return "null";
      // Decimal text is digits, sign, point and exponent: nothing to escape.
      if (v instanceof Decimal || v instanceof WideDecimal) return '"' + v.toString() + '"';
      return stringifyRecord(v);
    default:
      return undefined;
  }
}

/** `<prefix><value>` for a record built member by member, or "" where JSON.stringify leaves the member out. */
export function jsonMember(prefix: string, v: unknown): string {
  const j = jsonValue(v);
  return j === undefined ? "" : prefix + j;
}

/**
 * A JSON object from members made by jsonMember, each with the prefix `,"<key>":` (the first
 * present member's comma is dropped here, so any member may be the one left out).
 */
export function jsonObject(members: string): string {
  return members === "" ? "{}" : "{" + members.slice(1) + "}";
}

/**
 * Appends records to `<dir>/<name>.jsonl` files. Records are buffered and written by `flush()`
 * (and `close()`), one write per file: a syscall per record cost more than the rest of logging.
 * Callers flush at the points that must survive a crash (before an order is sent, at a bar's end);
 * every flushed record is a complete line.
 */
export class JsonlAppender {
  private readonly fds = new Map<string, number>();
  private readonly pending = new Map<string, string[]>();
  private pendingCount = 0;
  private closed = false;

  constructor(
    readonly dir: string,
    /** Flush by itself once this many records wait (bounds memory between explicit flushes). */
    private readonly autoFlushRecords = 4096,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  append(name: string, record: unknown): void {
    if (this.closed) throw new JsonlError(`log ${this.dir} is closed; cannot append to ${name}`);
    this.push(name, stringifyRecord(record));
  }

  /**
   * Appends a record already serialized: one JSON text, no newline in it (JSON.stringify never
   * writes one). For hot records whose writer builds the text cheaper than JSON.stringify of an
   * object made only to be logged, or serializes a shared part once for two streams.
   */
  appendLine(name: string, json: string): void {
    if (this.closed) throw new JsonlError(`log ${this.dir} is closed; cannot append to ${name}`);
    this.push(name, json);
  }

  private push(name: string, json: string): void {
    let buf = this.pending.get(name);
    if (buf === undefined) {
      buf = [];
      this.pending.set(name, buf);
    }
    buf.push(json);
    if (++this.pendingCount >= this.autoFlushRecords) this.flush();
  }

  flush(): void {
    if (this.pendingCount === 0) return;
    for (const [name, buf] of this.pending) {
      if (buf.length === 0) continue;
      writeSync(this.fdOf(name), buf.join("\n") + "\n");
      buf.length = 0;
    }
    this.pendingCount = 0;
  }

  private fdOf(name: string): number {
    let fd = this.fds.get(name);
    if (fd === undefined) {
      const file = join(this.dir, `${name}.jsonl`);
      mkdirSync(dirname(file), { recursive: true });
      fd = openSync(file, "a");
      this.fds.set(name, fd);
    }
    return fd;
  }

  close(): void {
    if (this.closed) return;
    this.flush();
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
    this.closed = true;
  }
}

/** Reads a whole JSON document; undefined when the file is absent, a JsonlError naming it when corrupt. */
export function readJsonFile(path: string): unknown {
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, "utf8")) as unknown;
  } catch (e) {
    throw new JsonlError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeTextAtomic(path, JSON.stringify(value, jsonReplacer, 2) + "\n");
}

export function writeTextAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export interface ReadJsonlOptions {
  /** Accept a torn final line (a run killed mid-write) instead of failing; it is reported. */
  tolerateTruncatedTail?: boolean;
}

export interface JsonlRecords {
  records: unknown[];
  /** Set when a torn last line was skipped. */
  truncatedTail: { file: string; line: number } | undefined;
}

/** Reads a JSON-lines file; a corrupt record fails with `<file>:<line>`. A missing file is empty. */
export function readJsonl(file: string, opts: ReadJsonlOptions = {}): JsonlRecords {
  const records: unknown[] = [];
  const { truncatedTail } = forEachJsonlRecord(file, opts, (r) => records.push(r));
  return { records, truncatedTail };
}

const STREAM_BLOCK_BYTES = 8 << 20;

/**
 * Calls `each` with every record of a JSON-lines file and its 1-based line, reading the file in
 * blocks so a large log is never held whole (readJsonl's errors and torn-tail rule, the same words).
 * Returns the number of records and the torn tail, if one was skipped. A missing file has none.
 */
export function forEachJsonlRecord(file: string, opts: ReadJsonlOptions, each: (record: unknown, line: number) => void): { count: number; truncatedTail: JsonlRecords["truncatedTail"] } {
  return new JsonlFollower(file, each).finish(opts);
}

export interface JsonlFollowerOptions {
  /** Lines it returns false for are skipped unparsed (they still count for line numbers). */
  keepLine?: (line: string) => boolean;
}

/**
 * Reads a JSON-lines file that may still be growing: each `poll()` parses the lines completed since
 * the last one (a line is complete once its newline is written: writers append whole lines), and
 * `finish()`, once the writer is done, the rest with forEachJsonlRecord's torn-tail rule. Lets a
 * reader keep up with a run that is still writing instead of starting when it ends.
 */
export class JsonlFollower {
  private fd: number | undefined;
  private readonly decoder = new StringDecoder("utf8");
  private block: Buffer | undefined;
  private carry = "";
  private line = 0;
  private count = 0;
  private finished = false;

  constructor(
    readonly file: string,
    private readonly each: (record: unknown, line: number) => void,
    private readonly opts: JsonlFollowerOptions = {},
  ) {}

  /** Parses the lines completed since the last call; a file not there yet has none. */
  poll(): void {
    if (this.finished) throw new JsonlError(`${this.file}: already read to the end`);
    if (this.fd === undefined) {
      if (!existsSync(this.file)) return;
      this.fd = openSync(this.file, "r");
    }
    const block = (this.block ??= Buffer.allocUnsafe(STREAM_BLOCK_BYTES));
    for (;;) {
      // Position null: on from where the last read stopped, which also sees what was appended since.
      const n = readSync(this.fd, block, 0, STREAM_BLOCK_BYTES, null);
      if (n === 0) return;
      const text = this.carry + this.decoder.write(n === STREAM_BLOCK_BYTES ? block : block.subarray(0, n));
      let from = 0;
      for (let nl = text.indexOf("\n"); nl !== -1; nl = text.indexOf("\n", from)) {
        this.parse(text.slice(from, nl), false, false);
        from = nl + 1;
      }
      this.carry = text.slice(from);
    }
  }

  /** Reads the rest, once the file is complete; a torn last line fails unless tolerated. */
  finish(opts: ReadJsonlOptions = {}): { count: number; truncatedTail: JsonlRecords["truncatedTail"] } {
    try {
      this.poll();
    } finally {
      if (this.fd !== undefined) closeSync(this.fd);
      this.fd = undefined;
      this.finished = true;
      // A reader may hold many followers until it is done with all of them: let the block go now.
      this.block = undefined;
    }
    this.carry += this.decoder.end();
    // A last line without its newline: a record torn by a killed writer (or, if it parses, a
    // writer that never ended it; readJsonl accepts that too).
    if (this.carry !== "" && !this.parse(this.carry, true, opts.tolerateTruncatedTail === true)) return { count: this.count, truncatedTail: { file: this.file, line: this.line } };
    return { count: this.count, truncatedTail: undefined };
  }

  private parse(text: string, last: boolean, tolerate: boolean): boolean {
    const line = ++this.line;
    if (this.opts.keepLine !== undefined && !this.opts.keepLine(text)) return true;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch (e) {
      if (!(e instanceof SyntaxError)) throw e;
      if (last) {
        if (tolerate) return false;
        throw new JsonlError(`${this.file}:${line}: truncated record (the run was probably killed mid-write): ${e.message}`);
      }
      throw new JsonlError(`${this.file}:${line}: corrupt record: ${e.message}`);
    }
    this.each(record, line);
    this.count++;
    return true;
  }
}

/** Minimal structural view of a zod schema, so this module does not depend on zod's types. */
export interface RecordSchema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] } };
}

/**
 * Reads and validates every record of a JSON-lines file: a bad one fails with
 * `<file>:<line>: field "<path>": <problem>`. `keep` skips records of other kinds in mixed streams.
 */
export function readJsonlTyped<T>(file: string, schema: RecordSchema<T>, opts: ReadJsonlOptions = {}, keep?: (r: Record<string, unknown>) => boolean): { records: T[]; truncatedTail: JsonlRecords["truncatedTail"] } {
  const loaded = readJsonl(file, opts);
  const records: T[] = [];
  loaded.records.forEach((rec, i) => {
    if (keep !== undefined && !keep(rec as Record<string, unknown>)) return;
    const r = schema.safeParse(rec);
    if (!r.success) {
      const issue = r.error.issues[0];
      throw new JsonlError(`${file}:${i + 1}: field "${issue?.path.map(String).join(".") ?? "?"}": ${issue?.message ?? "invalid"}`);
    }
    records.push(r.data);
  });
  return { records, truncatedTail: loaded.truncatedTail };
}
