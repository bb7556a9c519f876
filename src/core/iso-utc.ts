// ISO-8601 UTC text of epoch ms, with milliseconds: the form logs and recorded files carry.
// Hot writers format an instant per order, quote and bar line: toISOString builds a Date per call
// and was a tenth of recording. Within a day the text is the day's prefix (made once per day) and
// the time of day in fixed-width fields; the last two instants are also kept, since a bar line
// formats its start and its knowledge time, which alternate.

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00Z: from there toISOString writes a signed six-digit year. */
const YEAR_10000_MS = 253_402_300_800_000;

const PAD2: string[] = [];
for (let i = 0; i < 100; i++) PAD2.push(String(i).padStart(2, "0"));
const PAD3: string[] = [];
for (let i = 0; i < 1000; i++) PAD3.push(String(i).padStart(3, "0"));

let msA = Number.NaN;
let textA = "";
let msB = Number.NaN;
let textB = "";
let prefixDay = Number.NaN;
/** "YYYY-MM-DDT" of prefixDay. */
let prefix = "";

export function isoUtc(ms: number): string {
  if (ms === msA) return textA;
  if (ms === msB) return textB;
  // Formatted before the cache moves: an instant toISOString refuses must not be remembered.
  const text = format(ms);
  msB = msA;
  textB = textA;
  msA = ms;
  textA = text;
  return text;
}

function format(ms: number): string {
  // Fractions, NaN and years outside 0000-9999 take toISOString's own rules (or its RangeError).
  if (!Number.isInteger(ms) || ms < -62_167_219_200_000 || ms >= YEAR_10000_MS) return new Date(ms).toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== prefixDay) {
    prefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    prefixDay = day;
  }
  let t = ms - day * DAY_MS;
  const h = Math.floor(t / 3_600_000);
  t -= h * 3_600_000;
  const m = Math.floor(t / 60_000);
  t -= m * 60_000;
  const s = Math.floor(t / 1000);
  return `${prefix}${PAD2[h] as string}:${PAD2[m] as string}:${PAD2[s] as string}.${PAD3[t - s * 1000] as string}Z`;
}
