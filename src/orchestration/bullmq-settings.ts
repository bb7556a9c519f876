// Settings of the BullMQ executor: where Redis is, the key prefix, and the worker's lock and stall
// settings, sized for 24-hour tasks and overridable from options or the environment (tests use
// short ones so a killed worker's job comes back in seconds).

import { Redis } from "ioredis";

export const DEFAULT_REDIS_URL = "redis://127.0.0.1:6379";
export const DEFAULT_PREFIX = "tradeloop";

export interface WorkerSettings {
  /** Task tries this worker runs at once. */
  concurrency: number;
  /**
   * How long a job's lock lasts without renewal. BullMQ renews it every half of this while the
   * task runs, so a 24-hour task holds it all day; a killed worker's job is free again after it.
   */
  lockDurationMs: number;
  /** How often workers look for jobs whose lock expired (and put them back in the queue). */
  stalledIntervalMs: number;
  /**
   * How often a job may come back from a dead worker before BullMQ fails it. Raised from BullMQ's 1:
   * a day-long session survives several worker deaths (each resumes from its checkpoint).
   */
  maxStalledCount: number;
  /** On SIGTERM, how long to wait for a stopping task to stop before its job goes back anyway. */
  handOffGraceMs: number;
  /** How often a job released before its upstream tasks are recorded as done looks again. */
  upstreamPollMs: number;
}

export const DEFAULT_WORKER_SETTINGS: WorkerSettings = {
  concurrency: 1,
  lockDurationMs: 60_000,
  stalledIntervalMs: 30_000,
  maxStalledCount: 10,
  handOffGraceMs: 30_000,
  upstreamPollMs: 2_000,
};

/** Environment variables that override the worker settings (all in ms but the counts). */
export const WORKER_SETTINGS_ENV: Record<keyof WorkerSettings, string> = {
  concurrency: "TRADELOOP_WORKER_CONCURRENCY",
  lockDurationMs: "TRADELOOP_LOCK_DURATION_MS",
  stalledIntervalMs: "TRADELOOP_STALLED_INTERVAL_MS",
  maxStalledCount: "TRADELOOP_MAX_STALLED_COUNT",
  handOffGraceMs: "TRADELOOP_HANDOFF_GRACE_MS",
  upstreamPollMs: "TRADELOOP_UPSTREAM_POLL_MS",
};

/** Defaults, then the environment, then explicit options; each value checked. */
export function workerSettings(overrides: Partial<WorkerSettings> = {}, env: NodeJS.ProcessEnv = process.env): WorkerSettings {
  const out: WorkerSettings = { ...DEFAULT_WORKER_SETTINGS };
  for (const k of Object.keys(WORKER_SETTINGS_ENV) as (keyof WorkerSettings)[]) {
    const name = WORKER_SETTINGS_ENV[k];
    const text = env[name];
    if (text !== undefined && text !== "") {
      const n = Number(text);
      if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number, got "${text}"`);
      out[k] = n;
    }
    const o = overrides[k];
    if (o !== undefined) {
      if (!Number.isInteger(o) || o <= 0) throw new Error(`worker setting ${k} must be a positive whole number, got ${o}`);
      out[k] = o;
    }
  }
  if (out.lockDurationMs < 1000) throw new Error(`lock duration ${out.lockDurationMs} ms is too short to be renewed reliably (>= 1000 ms)`);
  return out;
}

/** Checks a Redis URL up front, so a typo is reported as such and not as a connection timeout. */
export function checkRedisUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`REDIS_URL is not a URL like redis://127.0.0.1:6379`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") throw new Error(`REDIS_URL ${redactUrl(url)} must start with redis:// or rediss://`);
  return url;
}

/**
 * Connection options for BullMQ's classes (each opens its own connections). Commands wait for a
 * reconnect instead of failing (`maxRetriesPerRequest: null`): a Redis restart pauses the executor.
 */
export function bullmqConnection(redisUrl: string): { url: string; maxRetriesPerRequest: null } {
  return { url: checkRedisUrl(redisUrl), maxRetriesPerRequest: null };
}

/** A plain client (run records, generations), waiting out reconnects like BullMQ's. */
export function redisClient(redisUrl: string, log: (m: string) => void = () => undefined): Redis {
  const r = new Redis(checkRedisUrl(redisUrl), { maxRetriesPerRequest: null, retryStrategy: (times) => Math.min(50 * times, 1000) });
  let last = "";
  r.on("error", (err: Error) => {
    // One line per distinct error, not one per reconnect attempt.
    if (err.message !== last) log(`redis ${redactUrl(redisUrl)}: ${err.message}`);
    last = err.message;
  });
  r.on("ready", () => {
    last = "";
  });
  return r;
}

export class RedisUnreachableError extends Error {
  override readonly name = "RedisUnreachableError";
}

/**
 * Resolves once Redis at `redisUrl` answers a PING; rejects within `timeoutMs`, naming the URL and
 * the last connection error, when it does not. For one-shot commands: the executor's own clients
 * wait for Redis forever (right for a worker riding out a Redis restart), so a command run while
 * Redis is down would hang instead of saying so.
 */
export async function checkRedisReachable(redisUrl: string, timeoutMs: number): Promise<void> {
  const where = `Redis at ${redactUrl(redisUrl)}`;
  // disconnectTimeout: ioredis waits that long for a socket to close before destroying it, and a
  // refused socket never closes again: the default 2 s would keep a failed command alive.
  const r = new Redis(checkRedisUrl(redisUrl), { maxRetriesPerRequest: null, connectTimeout: timeoutMs, disconnectTimeout: 100, retryStrategy: (times) => Math.min(100 * times, 500) });
  let lastError = "";
  r.on("error", (err: Error) => {
    lastError = err.message;
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<{ kind: "timeout" }>((resolve) => {
    timer = setTimeout(() => resolve({ kind: "timeout" }), timeoutMs);
  });
  // Settles either way, so the PING that disconnect() cuts short is not an unhandled rejection.
  const ping = r.ping().then(
    () => ({ kind: "ok" as const }),
    (err: unknown) => ({ kind: "error" as const, message: err instanceof Error ? err.message : String(err) }),
  );
  try {
    const outcome = await Promise.race([ping, timedOut]);
    if (outcome.kind === "timeout") throw new RedisUnreachableError(`${where} did not answer within ${timeoutMs / 1000} s${lastError === "" ? "" : ` (${lastError})`}: start redis-server there, or set REDIS_URL to a running one`);
    if (outcome.kind === "error") throw new RedisUnreachableError(`${where}: ${outcome.message}`);
  } finally {
    clearTimeout(timer);
    r.disconnect();
  }
}

/** A Redis URL fit for a log line: its password (if any) replaced by `***`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.toString();
  } catch {
    return "(an invalid URL)";
  }
}
