// Run records as JSON files under `<data root>/_orchestration/`: one file per run, one per DAG for
// the scheduler's progress. A run file is created by hard-linking a finished temp file to its name,
// which fails if the name exists: atomic and exclusive, so two schedulers never create one slot
// twice. Updates hold a lock file per run (created exclusively; broken when its holder is dead), and
// starting a DAG's queued runs holds one per DAG (`scheduler/<dag>.admit.lock`).

import { closeSync, existsSync, linkSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { checkId } from "./dag.js";
import { byLogicalStart, RunNotFoundError, type RunRecordStore } from "./run-record-store.js";
import { dagRunSchema, type DagRun } from "./run-records.js";

export const ORCHESTRATION_DIR = "_orchestration";
const LOCK_STALE_MS = 30_000;

export class FileRunStore implements RunRecordStore {
  private readonly runsDir: string;
  private readonly schedulerDir: string;
  private tmpSeq = 0;

  constructor(dataRoot: string) {
    this.runsDir = join(dataRoot, ORCHESTRATION_DIR, "runs");
    this.schedulerDir = join(dataRoot, ORCHESTRATION_DIR, "scheduler");
  }

  private runFile(runKey: string): string {
    const dagId = runKey.split(".").slice(0, -2).join(".");
    checkId("run key", runKey);
    return join(this.runsDir, dagId, `${runKey}.json`);
  }

  private tempFile(dir: string): string {
    mkdirSync(dir, { recursive: true });
    return join(dir, `.tmp-${process.pid}-${++this.tmpSeq}`);
  }

  async create(run: DagRun): Promise<{ created: boolean; run: DagRun }> {
    const file = this.runFile(run.runKey);
    const dir = join(file, "..");
    const tmp = this.tempFile(dir);
    writeWhole(tmp, JSON.stringify(run, null, 1));
    try {
      linkSync(tmp, file);
      return { created: true, run };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      return { created: false, run: this.read(file) };
    } finally {
      unlinkSync(tmp);
    }
  }

  async get(runKey: string): Promise<DagRun | undefined> {
    const file = this.runFile(runKey);
    return existsSync(file) ? this.read(file) : undefined;
  }

  async list(dagId?: string): Promise<DagRun[]> {
    if (!existsSync(this.runsDir)) return [];
    const dags = dagId === undefined ? readdirSync(this.runsDir) : [checkId("dag id", dagId)];
    const out: DagRun[] = [];
    for (const d of dags) {
      const dir = join(this.runsDir, d);
      if (!existsSync(dir)) continue;
      for (const f of readdirSync(dir).sort()) if (f.endsWith(".json")) out.push(this.read(join(dir, f)));
    }
    return out.sort(byLogicalStart);
  }

  async update(runKey: string, change: (run: DagRun) => boolean | void): Promise<DagRun> {
    const file = this.runFile(runKey);
    if (!existsSync(file)) throw new RunNotFoundError(`no run ${runKey}`);
    const release = await acquireLock(`${file}.lock`);
    try {
      const run = this.read(file);
      if (change(run) === false) return run;
      run.version += 1;
      const tmp = this.tempFile(join(file, ".."));
      writeWhole(tmp, JSON.stringify(run, null, 1));
      renameSync(tmp, file);
      return run;
    } finally {
      release();
    }
  }

  async withDagLock<T>(dagId: string, admit: () => Promise<T>): Promise<T> {
    mkdirSync(this.schedulerDir, { recursive: true });
    const release = await acquireLock(join(this.schedulerDir, `${checkId("dag id", dagId)}.admit.lock`));
    try {
      return await admit();
    } finally {
      release();
    }
  }

  async lastFire(dagId: string): Promise<number | undefined> {
    const file = join(this.schedulerDir, `${checkId("dag id", dagId)}.json`);
    if (!existsSync(file)) return undefined;
    const v = (JSON.parse(readFileSync(file, "utf8")) as { lastFire?: unknown }).lastFire;
    if (typeof v !== "number") throw new Error(`${file}: field lastFire: expected a number`);
    return v;
  }

  async advanceLastFire(dagId: string, fireAt: number): Promise<void> {
    const file = join(this.schedulerDir, `${checkId("dag id", dagId)}.json`);
    mkdirSync(this.schedulerDir, { recursive: true });
    const release = await acquireLock(`${file}.lock`);
    try {
      const cur = await this.lastFire(dagId);
      if (cur !== undefined && cur >= fireAt) return;
      const tmp = this.tempFile(this.schedulerDir);
      writeWhole(tmp, JSON.stringify({ dagId, lastFire: fireAt, lastFireIso: new Date(fireAt).toISOString() }) + "\n");
      renameSync(tmp, file);
    } finally {
      release();
    }
  }

  async close(): Promise<void> {}

  private read(file: string): DagRun {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, "utf8"));
    } catch (err) {
      throw new Error(`${file}: not a JSON run record (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    const parsed = dagRunSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`${file}: field ${i?.path.join(".") ?? "?"}: ${i?.message ?? "invalid"}`);
    }
    return parsed.data;
  }
}

function writeWhole(file: string, text: string): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}

/** An exclusive lock file holding its owner's pid; a lock whose owner is gone or that is stale is broken. */
async function acquireLock(lockFile: string): Promise<() => void> {
  for (let i = 0; ; i++) {
    try {
      const fd = openSync(lockFile, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lockFile, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      if (lockIsAbandoned(lockFile)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (i > 2000) throw new Error(`${lockFile}: still locked after 20 s; if no tradeloop process is running, delete it`, { cause: err });
      await new Promise((r) => setTimeout(r, 10));
    }
  }
}

function lockIsAbandoned(lockFile: string): boolean {
  let pid: number;
  let age: number;
  try {
    pid = Number(readFileSync(lockFile, "utf8"));
    age = Date.now() - statSync(lockFile).mtimeMs;
  } catch {
    return false; // released between our open and this read: try again
  }
  if (age > LOCK_STALE_MS) return true;
  if (!Number.isInteger(pid) || pid <= 0) return age > 1000;
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}
