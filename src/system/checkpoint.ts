// Checkpoints of a running system: after every bar, `checkpoint.json` in the system log dir records
// the bar, the portfolio's net wealth and the size of every log file at that moment. A run whose
// process died resumes from it (see run-system.ts). On the simulated clock the state in memory is
// rebuilt by replaying the deterministic run up to the checkpoint bar into a fresh directory,
// checked byte for byte against what the dead process had written, and the run goes on from the
// next bar. On a real or scaled clock (a live session cannot be replayed) the log is cut back to the
// checkpoint and the portfolio restored from its last bar; trading goes on at the next bar boundary. What the dead process
// wrote after the checkpoint (a half-done bar) is dropped, but the child orders it sent are read
// first (recover-sent.ts): the broker asks the exchange for them before sending them again, and a
// live run folds what they filled into its books.

import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readSync, readdirSync, rmSync, statSync, truncateSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { z } from "zod";
import { readJsonFile, writeJsonAtomic } from "../storage/jsonl.js";
import { MEASURED_FILES, SYSTEM_LOG_FILES } from "./system-log.js";

export const CHECKPOINT_FILE = "checkpoint.json";

/**
 * The children a dead live process sent after its checkpoint, kept while a resume books them: the
 * log they were read from is cut back before the booking, so a resume that fails (the exchange does
 * not answer) and is tried again reads them here. Not a log file: no checkpoint counts or cuts it.
 */
export const RESUME_PENDING_FILE = "resume_pending.json";

const checkpointSchema = z.object({
  bar: z.number().int().min(0),
  timestamp: z.number(),
  netWealth: z.string(),
  /** Byte size of every log file (relative '/' path) when the bar was done. */
  files: z.record(z.string(), z.number().int().min(0)),
});

export type Checkpoint = z.infer<typeof checkpointSchema>;

export class ResumeError extends Error {
  override readonly name = "ResumeError";
}

/** Files whose bytes are not a function of config and seed, or are written whole at the end. */
function excluded(rel: string): boolean {
  return (
    rel === CHECKPOINT_FILE ||
    rel === RESUME_PENDING_FILE ||
    rel === SYSTEM_LOG_FILES.summary ||
    rel === SYSTEM_LOG_FILES.configGiven ||
    rel.endsWith(".parquet") ||
    rel.includes(".tmp") ||
    (MEASURED_FILES as readonly string[]).includes(rel)
  );
}

export function logFileSizes(logDir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const rel = relative(logDir, p).split(sep).join("/");
        if (!excluded(rel)) out[rel] = statSync(p).size;
      }
    }
  };
  walk(logDir);
  return out;
}

export function writeCheckpoint(logDir: string, bar: number, timestamp: number, netWealth: string): void {
  const cp: Checkpoint = { bar, timestamp, netWealth, files: logFileSizes(logDir) };
  writeJsonAtomic(join(logDir, CHECKPOINT_FILE), cp);
}

export function readCheckpoint(logDir: string): Checkpoint | undefined {
  const file = join(logDir, CHECKPOINT_FILE);
  if (!existsSync(file)) return undefined;
  const parsed = checkpointSchema.safeParse(readJsonFile(file));
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new ResumeError(`${file}: field ${i?.path.join(".") ?? "?"}: ${i?.message ?? "invalid"}`);
  }
  return parsed.data;
}

function prefixHash(file: string, bytes: number): string {
  const h = createHash("sha256");
  const fd = openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let pos = 0;
    while (pos < bytes) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, bytes - pos), pos);
      if (n <= 0) throw new ResumeError(`${file}: shorter than the ${bytes} bytes its checkpoint recorded`);
      h.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return h.digest("hex");
}

/**
 * Checks that the replayed directory holds, file for file, exactly the bytes the interrupted one
 * held at the checkpoint; names the first file that differs.
 */
export function verifyReplay(replayDir: string, interruptedDir: string, cp: Checkpoint): void {
  const now = logFileSizes(replayDir);
  for (const [rel, size] of Object.entries(cp.files)) {
    if (now[rel] !== size) throw new ResumeError(`resume: replay diverged from the interrupted run at bar ${cp.bar}: ${rel} has ${now[rel] ?? "no"} bytes, the checkpoint says ${size}`);
    if (prefixHash(join(replayDir, rel), size) !== prefixHash(join(interruptedDir, rel), size)) {
      throw new ResumeError(`resume: replay diverged from the interrupted run at bar ${cp.bar}: ${rel} differs in content`);
    }
  }
}

/**
 * Cuts every log file back to its size at the checkpoint, in place, and removes log files made
 * after it: what stays is exactly the finished bars (resuming a live run, which cannot be replayed).
 */
export function truncateToCheckpoint(logDir: string, cp: Checkpoint): void {
  for (const [rel, size] of Object.entries(logFileSizes(logDir))) {
    const want = cp.files[rel];
    if (want === undefined) rmSync(join(logDir, rel));
    else if (size > want) truncateSync(join(logDir, rel), want);
    else if (size < want) throw new ResumeError(`${join(logDir, rel)}: ${size} bytes, shorter than the ${want} its checkpoint recorded: the log was changed after the run`);
  }
}
