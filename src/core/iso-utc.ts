// ISO-8601 UTC text of epoch ms, with milliseconds: the form logs and recorded files carry.
// Hot writers format runs of the same instant (every symbol's quote of an instant, every order of
// a wave), so the last formatted instants are kept: toISOString builds a Date per call and was a
// tenth of recording. Two of them, because a bar line formats its start and its knowledge time,
// which alternate.

let msA = Number.NaN;
let textA = "";
let msB = Number.NaN;
let textB = "";

export function isoUtc(ms: number): string {
  if (ms === msA) return textA;
  if (ms === msB) return textB;
  msB = msA;
  textB = textA;
  msA = ms;
  textA = new Date(ms).toISOString();
  return textA;
}
