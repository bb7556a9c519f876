// The run-directory layout of DOMAIN.md section 9, built in one place:
// `<root>/<stage>/<model>/<mode>/<dag_run_mode>/<start>.<end>/` with `system_log_dir/`,
// `reconciliation/<run_timestamp>/` and `_SUCCESS` inside. Every segment is checked so that no
// name can escape the data root.

import { join, sep } from "node:path";
import { compactUtc } from "../core/timestamp.js";

export interface RunIdentity {
  stage: string;
  model: string;
  mode: string;
  dagRunMode: string;
  startMs: number;
  endMs: number;
}

export class RunLayoutError extends Error {
  override readonly name = "RunLayoutError";
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;

export function checkSegment(what: string, value: string): string {
  if (!SEGMENT.test(value) || value === "." || value === "..") {
    throw new RunLayoutError(`${what} "${value}" cannot name a folder: use letters, digits, '_', '-' and '.' only (no '/', no '..')`);
  }
  return value;
}

/** `<stage>/<model>/<mode>/<dag_run_mode>/<start>.<end>` as path segments. */
export function runSegments(id: RunIdentity): string[] {
  return [
    checkSegment("stage", id.stage),
    checkSegment("model", id.model),
    checkSegment("mode", id.mode),
    checkSegment("dag_run_mode", id.dagRunMode),
    `${compactUtc(id.startMs)}.${compactUtc(id.endMs)}`,
  ];
}

export function runDir(root: string, id: RunIdentity): string {
  return join(root, ...runSegments(id));
}

export const SYSTEM_LOG_DIR = "system_log_dir";
export const SUCCESS_MARKER = "_SUCCESS";

export function systemLogDir(root: string, id: RunIdentity): string {
  return join(runDir(root, id), SYSTEM_LOG_DIR);
}

const COMPACT = /^(\d{4})(\d{2})(\d{2})_(\d{2})(\d{2})(\d{2})$/;

export function parseCompactUtc(text: string): number {
  const m = COMPACT.exec(text);
  if (m === null) throw new RunLayoutError(`"${text}" is not a YYYYMMDD_HHMMSS timestamp`);
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

/** Reads the identity back from a run directory path (the last five segments). */
/**
 * The identity of a directory in the run layout, or undefined for one outside it (a system log
 * copied elsewhere is still readable; it just has no identity from its path).
 */
export function runIdentityOf(path: string): RunIdentity | undefined {
  try {
    return parseRunDir(path);
  } catch (e) {
    if (!(e instanceof RunLayoutError)) throw e;
    return undefined;
  }
}

export function parseRunDir(path: string): RunIdentity {
  const parts = path.split(sep).filter((p) => p !== "");
  if (parts[parts.length - 1] === SYSTEM_LOG_DIR) parts.pop();
  if (parts.length < 5) throw new RunLayoutError(`${path}: not a run directory (<stage>/<model>/<mode>/<dag_run_mode>/<start>.<end>)`);
  const [stage, model, mode, dagRunMode, period] = parts.slice(-5) as [string, string, string, string, string];
  const [a, b, ...rest] = period.split(".");
  if (a === undefined || b === undefined || rest.length > 0) throw new RunLayoutError(`${path}: last segment "${period}" is not <start>.<end>`);
  return { stage, model, mode, dagRunMode, startMs: parseCompactUtc(a), endMs: parseCompactUtc(b) };
}
