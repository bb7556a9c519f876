// JSON text from a user (a config file, a conf flag) parsed with its syntax errors reported as
// `<where>:<line>:<column>: not valid JSON: <what>`. JSON.parse says where at best as a character
// offset ("... in JSON at position 812"), sometimes not at all ("Unexpected token 'x', "<the
// text>" is not valid JSON", "Unexpected end of JSON input"), and a person reads a file by lines.
// JSON.parse still does the parsing; only text it refuses is scanned again here, by a strict
// RFC 8259 checker, to find where and what. The checker accepts exactly what JSON.parse accepts
// (a property test holds them together); should they ever disagree, JSON.parse's own message is
// reported rather than nothing.

export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";

  constructor(
    readonly where: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${where}:${line}:${column}: not valid JSON: ${detail}`);
  }
}

/** JSON.parse, with a JsonSyntaxError naming `where`, the line and the column on bad syntax. */
export function parseJsonText(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    const found = locateJsonError(text) ?? { offset: v8Offset(err.message) ?? 0, message: err.message };
    const { line, column } = lineAndColumn(text, found.offset);
    throw new JsonSyntaxError(where, line, column, found.message);
  }
}

/** The first syntax error of `text` (offset in UTF-16 units, and what is wrong), or undefined when it is valid JSON. */
export function locateJsonError(text: string): { offset: number; message: string } | undefined {
  try {
    new JsonChecker(text).check();
    return undefined;
  } catch (err) {
    if (err instanceof Located) return { offset: err.offset, message: err.message };
    throw err;
  }
}

/** 1-based line and column of an offset; lines end at \n, \r\n or \r; a column counts characters (code points). */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: [...text.slice(lineStart, offset)].length + 1 };
}

function v8Offset(message: string): number | undefined {
  const m = /at position (\d+)/.exec(message);
  return m === null ? undefined : Number(m[1]);
}

class Located extends Error {
  constructor(
    readonly offset: number,
    message: string,
  ) {
    super(message);
  }
}

interface OpenContainer {
  kind: "object" | "array";
  at: number;
}

const WORDS = ["true", "false", "null"];
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const NUMBER_CHARS = /[-+0-9.eE]+/y;
const WORD = /[A-Za-z0-9_$]+/y;

/** What a sticky regex matches at `pos` ("" when nothing). */
function matchAt(re: RegExp, text: string, pos: number): string {
  re.lastIndex = pos;
  return re.exec(text)?.[0] ?? "";
}
const ESCAPES = new Set(['"', "\\", "/", "b", "f", "n", "r", "t"]);

/**
 * A strict JSON checker (no values built). Iterative, with its own stack of open containers, so a
 * deeply nested file cannot overflow the call stack.
 */
class JsonChecker {
  private pos = 0;
  private readonly open: OpenContainer[] = [];

  constructor(private readonly text: string) {}

  check(): void {
    let expect: "value" | "key" | "after" = "value";
    for (;;) {
      this.skipWhitespace();
      if (expect === "value") {
        expect = this.value();
      } else if (expect === "key") {
        const c = this.text[this.pos];
        if (c !== '"') this.fail(c === undefined ? this.unclosed() : c === "'" ? "a property name takes double quotes, not single" : /[A-Za-z_$]/.test(c) ? "a property name takes double quotes" : `expected a property name in double quotes, found ${this.found()}`);
        this.string();
        this.skipWhitespace();
        if (this.text[this.pos] !== ":") this.fail(`expected ':' after the property name, found ${this.found()}`);
        this.pos++;
        expect = "value";
      } else {
        const top = this.open.at(-1);
        if (top === undefined) {
          if (this.pos < this.text.length) this.fail(`unexpected ${this.found()} after the JSON value (one value per file)`);
          return;
        }
        const c = this.text[this.pos];
        const close = top.kind === "object" ? "}" : "]";
        if (c === ",") {
          const comma = this.pos++;
          this.skipWhitespace();
          if (this.text[this.pos] === close) this.failAt(comma, `a trailing comma before '${close}' (JSON allows none)`);
          expect = top.kind === "object" ? "key" : "value";
        } else if (c === close) {
          this.pos++;
          this.open.pop();
        } else if (c === undefined) {
          this.fail(this.unclosed());
        } else {
          this.fail(`expected ',' or '${close}' after ${top.kind === "object" ? "a property value" : "an array element"}, found ${this.found()}`);
        }
      }
    }
  }

  /** A value, or the start of a container; returns what comes next. */
  private value(): "value" | "key" | "after" {
    const c = this.text[this.pos];
    if (c === "{" || c === "[") {
      const kind = c === "{" ? "object" : "array";
      const at = this.pos++;
      this.skipWhitespace();
      if (this.text[this.pos] === (kind === "object" ? "}" : "]")) {
        this.pos++;
        return "after";
      }
      this.open.push({ kind, at });
      return kind === "object" ? "key" : "value";
    }
    if (c === '"') this.string();
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) this.number();
    else if (c !== undefined && /[A-Za-z]/.test(c)) this.word();
    else if (c === undefined) this.fail(this.open.length === 0 ? "the text is empty: expected a JSON value" : `unexpected end of the text: expected a value; ${this.unclosed()}`);
    else if (c === "'") this.fail("a string takes double quotes, not single");
    else if (c === "/" && (this.text[this.pos + 1] === "/" || this.text[this.pos + 1] === "*")) this.fail("JSON has no comments");
    else this.fail(`expected a value (a string, number, object, array, true, false or null), found ${this.found()}`);
    return "after";
  }

  private string(): void {
    const start = this.pos++;
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.failAt(start, "a string that is not closed before the end of the text");
      if (c === 0x22) {
        this.pos++;
        return;
      }
      if (c === 0x0a || c === 0x0d) this.fail("a line break inside a string (is its closing '\"' missing? a line break in a value is written \\n)");
      if (c < 0x20) this.fail(`a control character (${codePoint(c)}) inside a string: write it escaped`);
      if (c === 0x5c) {
        const e = this.text[this.pos + 1];
        if (e === "u") {
          if (!/^[0-9A-Fa-f]{4}$/.test(this.text.slice(this.pos + 2, this.pos + 6))) this.fail("\\u takes four hex digits");
          this.pos += 6;
          continue;
        }
        if (e === undefined || !ESCAPES.has(e)) this.fail(`a bad escape ${e === undefined ? "\\ at the end of the text" : `\\${e}`} (JSON knows \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`);
        this.pos += 2;
        continue;
      }
      this.pos++;
    }
  }

  private number(): void {
    const m = matchAt(NUMBER, this.text, this.pos);
    // No character that may follow a number (whitespace , ] }) is one of these, so the whole run
    // must be the number: "1.", "-", "1e", "01", "1.2.3" are not.
    const run = matchAt(NUMBER_CHARS, this.text, this.pos);
    if (m.length < run.length || m.length === 0) this.fail(`"${run}" is not a JSON number${/^-?0[0-9]/.test(run) ? " (no leading zeros)" : ""}`);
    this.pos += m.length;
  }

  private word(): void {
    const w = matchAt(WORD, this.text, this.pos);
    if (!WORDS.includes(w)) this.fail(`expected a value, found "${w}"${wordHint(w)}`);
    this.pos += w.length;
  }

  private skipWhitespace(): void {
    for (;;) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.pos++;
    }
  }

  private found(): string {
    const c = this.text.codePointAt(this.pos);
    if (c === undefined) return "the end of the text";
    if (c === 0xfeff) return "a byte order mark (U+FEFF; save the file as UTF-8 without one)";
    return c < 0x20 || c === 0x7f ? codePoint(c) : `'${String.fromCodePoint(c)}'`;
  }

  /** What is still open at the end of the text. */
  private unclosed(): string {
    const top = this.open.at(-1);
    if (top === undefined) return "unexpected end of the text";
    const { line, column } = lineAndColumn(this.text, top.at);
    return `the ${top.kind} opened at ${line}:${column} is not closed ('${top.kind === "object" ? "}" : "]"}' missing)`;
  }

  private fail(message: string): never {
    throw new Located(this.pos, message);
  }

  private failAt(offset: number, message: string): never {
    throw new Located(offset, message);
  }
}

function wordHint(w: string): string {
  const near = WORDS.find((x) => x.startsWith(w) || w.startsWith(x));
  if (near !== undefined) return ` (${near}?)`;
  if (["True", "False", "None", "NaN", "Infinity", "undefined"].includes(w)) return " (JSON has true, false, null and finite numbers only)";
  return " (a string takes double quotes)";
}

function codePoint(c: number): string {
  return `U+${c.toString(16).toUpperCase().padStart(4, "0")}`;
}
