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
  const localUs = t.epochUs + t.offsetMin * 60_000_000;
  const ms = Math.floor(localUs / 1000);
  const us = localUs - ms * 1000;
  const d = new Date(ms);
  const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
  const micros = (ms - Math.floor(ms / 1000) * 1000) * 1000 + us;
  const frac = micros === 0 ? "" : "." + pad(micros, 6);
  const sign = t.offsetMin < 0 ? "-" : "+";
  const off = Math.abs(t.offsetMin);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${frac}${sign}${pad(Math.floor(off / 60))}:${pad(off % 60)}`;
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
