// Run records in Redis, for the BullMQ executor: one hash per run (`json` = the record, `version` =
// its compare-and-set counter), a sorted set per DAG and one for all runs (score = logical start)
// for `list`, and one key per DAG for the scheduler's newest fire time. Creation is a Lua script
// (exists? else write and index), so two schedulers never create one slot twice; updates are
// optimistic compare-and-set on `version` (re-read and re-apply on conflict). Starting a DAG's
// queued runs holds a per-DAG lock key (SET NX with an expiry, released only by its holder).

import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { checkId } from "./dag.js";
import { byLogicalStart, RunNotFoundError, type RunRecordStore } from "./run-record-store.js";
import { dagRunSchema, type DagRun } from "./run-records.js";

/** Gives back the stored record if the key exists; else writes the new one and indexes it. */
const CREATE = `
local existing = redis.call("HGET", KEYS[1], "json")
if existing then return existing end
redis.call("HSET", KEYS[1], "json", ARGV[1], "version", ARGV[2])
redis.call("ZADD", KEYS[2], ARGV[3], ARGV[4])
redis.call("ZADD", KEYS[3], ARGV[3], ARGV[4])
return false
`;

/** Writes the record only if its stored version is still the one the change was applied to. */
const COMPARE_AND_SET = `
local v = redis.call("HGET", KEYS[1], "version")
if not v then return -1 end
if v ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "json", ARGV[2], "version", ARGV[3])
return 1
`;

/** Raises the stored fire time, never lowers it. */
const ADVANCE_MAX = `
local cur = redis.call("GET", KEYS[1])
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call("SET", KEYS[1], ARGV[1])
return 1
`;

/** Deletes the lock only if it still holds our token (it may have expired and been taken since). */
const RELEASE_LOCK = `
if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0
`;

const MAX_CAS_TRIES = 1000;
/**
 * A DAG's admission lock expires after this long, so a dispatcher that died holding it blocks the
 * others for at most this; admitting runs takes milliseconds.
 */
const ADMIT_LOCK_TTL_MS = 10_000;
const ADMIT_LOCK_WAIT_MS = 30_000;
const LIST_CHUNK = 500;

export class RedisRunStore implements RunRecordStore {
  constructor(
    /** Closed by `close()`: give the store a connection of its own. */
    readonly redis: Redis,
    readonly prefix = "tradeloop",
  ) {}

  /** Keys live under `<prefix>:orch:`, apart from BullMQ's `<prefix>:<queue>:` keys. */
  runKeyName(runKey: string): string {
    return `${this.prefix}:orch:run:${checkId("run key", runKey)}`;
  }

  private indexKey(dagId?: string): string {
    return dagId === undefined ? `${this.prefix}:orch:runs` : `${this.prefix}:orch:runs:${checkId("dag id", dagId)}`;
  }

  private lastFireKey(dagId: string): string {
    return `${this.prefix}:orch:last-fire:${checkId("dag id", dagId)}`;
  }

  async create(run: DagRun): Promise<{ created: boolean; run: DagRun }> {
    const key = this.runKeyName(run.runKey);
    const stored = dagRunSchema.parse(run);
    const existing = await this.redis.eval(CREATE, 3, key, this.indexKey(run.dagId), this.indexKey(), JSON.stringify(stored), String(stored.version), String(stored.logicalStart), stored.runKey);
    if (typeof existing === "string") return { created: false, run: this.parse(key, existing) };
    return { created: true, run: stored };
  }

  async get(runKey: string): Promise<DagRun | undefined> {
    const key = this.runKeyName(runKey);
    const json = await this.redis.hget(key, "json");
    return json === null ? undefined : this.parse(key, json);
  }

  async list(dagId?: string): Promise<DagRun[]> {
    const runKeys = await this.redis.zrange(this.indexKey(dagId), "0", "-1");
    const out: DagRun[] = [];
    for (let i = 0; i < runKeys.length; i += LIST_CHUNK) {
      const chunk = runKeys.slice(i, i + LIST_CHUNK);
      const pipe = this.redis.pipeline();
      for (const k of chunk) pipe.hget(this.runKeyName(k), "json");
      const replies = (await pipe.exec()) ?? [];
      replies.forEach(([err, json], j) => {
        const key = this.runKeyName(chunk[j] as string);
        if (err !== null) throw new Error(`redis key ${key}: ${err.message}`);
        // Indexed but gone (deleted by hand): not a run any more.
        if (typeof json === "string") out.push(this.parse(key, json));
      });
    }
    return out.sort(byLogicalStart);
  }

  async update(runKey: string, change: (run: DagRun) => boolean | void): Promise<DagRun> {
    const key = this.runKeyName(runKey);
    for (let attempt = 0; attempt < MAX_CAS_TRIES; attempt++) {
      const json = await this.redis.hget(key, "json");
      if (json === null) throw new RunNotFoundError(`no run ${runKey} (redis key ${key})`);
      const run = this.parse(key, json);
      const readVersion = run.version;
      if (change(run) === false) return run;
      run.version = readVersion + 1;
      const next = JSON.stringify(dagRunSchema.parse(run));
      const r = await this.redis.eval(COMPARE_AND_SET, 1, key, String(readVersion), next, String(run.version));
      if (r === 1) return run;
      if (r === -1) throw new RunNotFoundError(`no run ${runKey} (redis key ${key} vanished during an update)`);
      // Someone wrote in between: back off a little (more as conflicts repeat) and apply again.
      await new Promise((resolve) => setTimeout(resolve, Math.min(50, attempt) * Math.random()));
    }
    throw new Error(`redis key ${key}: gave up updating after ${MAX_CAS_TRIES} conflicting writes`);
  }

  async withDagLock<T>(dagId: string, admit: () => Promise<T>): Promise<T> {
    const key = `${this.prefix}:orch:admit:${checkId("dag id", dagId)}`;
    const token = randomUUID();
    const since = Date.now();
    for (let attempt = 0; (await this.redis.set(key, token, "PX", ADMIT_LOCK_TTL_MS, "NX")) !== "OK"; attempt++) {
      if (Date.now() - since > ADMIT_LOCK_WAIT_MS) throw new Error(`redis key ${key}: DAG ${dagId}'s admission lock still held after ${ADMIT_LOCK_WAIT_MS / 1000} s (it expires ${ADMIT_LOCK_TTL_MS / 1000} s after its holder took it)`);
      await new Promise((resolve) => setTimeout(resolve, 2 + Math.min(20, attempt) * Math.random()));
    }
    try {
      return await admit();
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, key, token);
    }
  }

  async lastFire(dagId: string): Promise<number | undefined> {
    const key = this.lastFireKey(dagId);
    const v = await this.redis.get(key);
    if (v === null) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`redis key ${key}: expected a time in ms, got ${JSON.stringify(v)}`);
    return n;
  }

  async advanceLastFire(dagId: string, fireAt: number): Promise<void> {
    if (!Number.isFinite(fireAt)) throw new Error(`advanceLastFire(${dagId}): fire time must be a number, got ${fireAt}`);
    await this.redis.eval(ADVANCE_MAX, 1, this.lastFireKey(dagId), String(fireAt));
  }

  async close(): Promise<void> {
    if (this.redis.status === "end") return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  /** A stored record, checked against the schema: a bad one names its key and field. */
  private parse(key: string, json: string): DagRun {
    let raw: unknown;
    try {
      raw = JSON.parse(json);
    } catch (err) {
      throw new Error(`redis key ${key}: not a JSON run record (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
    const parsed = dagRunSchema.safeParse(raw);
    if (!parsed.success) {
      const i = parsed.error.issues[0];
      throw new Error(`redis key ${key}: field ${i?.path.join(".") ?? "?"}: ${i?.message ?? "invalid"}`);
    }
    return parsed.data;
  }
}
