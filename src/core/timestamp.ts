// Timestamps with microseconds and a UTC offset, for the text form of orders
// (`2022-08-05 10:36:44.976104-04:00`), which must print back exactly as it was read.

export interface Timestamp {
  /** Microseconds since the Unix epoch (UTC). Safe as a number until the year 2255. */
  readonly epochUs: number;
  /** The offset from UTC it is written in, in minutes (e.g. -240 for -04:00). */
  readonly offsetMin: number;
}

const TS_RE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?$/;

export class TimestampError extends Error {
  override readonly name = "TimestampError";
}

export function parseTimestamp(text: string): Timestamp {
  const m = TS_RE.exec(text.trim());
  if (m === null) throw new TimestampError(`"${text}" is not a timestamp like 2022-08-05 10:36:44.976104-04:00`);
  const [, y, mo, d, h, mi, s, frac, off] = m;
  const us = Number(((frac ?? "") + "000000").slice(0, 6));
  let offsetMin = 0;
  if (off !== undefined && off !== "Z") {
    const sign = off.startsWith("-") ? -1 : 1;
    const digits = off.slice(1).replace(":", "");
    offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
  }
  const localMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  const check = new Date(localMs);
  // Date.UTC rolls month 13 or 31 February over to a later date; a real timestamp never does.
  if (Number.isNaN(localMs) || check.getUTCMonth() !== Number(mo) - 1 || check.getUTCDate() !== Number(d) || check.getUTCHours() !== Number(h) || check.getUTCMinutes() !== Number(mi) || check.getUTCSeconds() !== Number(s)) {
    throw new TimestampError(`"${text}" is not a valid date and time`);
  }
  return { epochUs: (localMs - offsetMin * 60_000) * 1000 + us, offsetMin };
}

/** Prints like pandas: `YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM`, fraction only when non-zero. */
export function formatTimestamp(t: Timestamp): string {
  // Orders of one bar share their creation, start and end times: a few recent texts are kept.
  for (let i = 0; i < RECENT; i++) {
    const r = recent[i] as RecentText;
    if (r.epochUs === t.epochUs && r.offsetMin === t.offsetMin) return r.text;
  }
  const text = printTimestamp(t);
  recent[nextRecent] = { epochUs: t.epochUs, offsetMin: t.offsetMin, text };
  nextRecent = (nextRecent + 1) % RECENT;
  return text;
}

interface RecentText {
  epochUs: number;
  offsetMin: number;
  text: string;
}

const RECENT = 4;
const recent: RecentText[] = Array.from({ length: RECENT }, () => ({ epochUs: Number.NaN, offsetMin: Number.NaN, text: "" }));
let nextRecent = 0;

function pad2(n: number): string {
  return n < 10 ? "0" + String(n) : String(n);
}

function printTimestamp(t: Timestamp): string {
  const localUs = t.epochUs + t.offsetMin * 60_000_000;
  const ms = Math.floor(localUs / 1000);
  const us = localUs - ms * 1000;
  const d = new Date(ms);
  const micros = (ms - Math.floor(ms / 1000) * 1000) * 1000 + us;
  const frac = micros === 0 ? "" : "." + String(micros).padStart(6, "0");
  const sign = t.offsetMin < 0 ? "-" : "+";
  const off = Math.abs(t.offsetMin);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}${frac}${sign}${pad2(Math.floor(off / 60))}:${pad2(off % 60)}`;
}

export function timestampFromMs(epochMs: number, offsetMin = 0): Timestamp {
  return { epochUs: epochMs * 1000, offsetMin };
}

export function toEpochMs(t: Timestamp): number {
  return Math.floor(t.epochUs / 1000);
}

/** `YYYYMMDD_HHMMSS` in UTC, the form used in file and folder names. */
export function compactUtc(epochMs: number): string {
  const iso = new Date(epochMs).toISOString();
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/**
 * A UTC instant as a person writes one: a date (`2024-01-02`, its midnight UTC) or a date and time
 * with an optional offset (no offset: UTC). Strict where Date.parse is not: `2024-02-30` or `7`
 * fail, and the machine's time zone never enters.
 */
export function parseUtcTime(text: string): number {
  const t = text.trim();
  return toEpochMs(parseTimestamp(/^\d{4}-\d{2}-\d{2}$/.test(t) ? `${t}T00:00:00Z` : t));
}

