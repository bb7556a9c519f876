// Test harness: a throwaway redis-server of our own (never the system one) on a free loopback port,
// in a temporary directory, with no persistence and `noeviction` (BullMQ needs every key it
// writes). `restart()` shuts it down and starts it again on the same port and directory; only a
// server started with `persistence: "aof"` keeps its data across that.

import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";

export interface RedisServerHandle {
  /** `redis://127.0.0.1:<port>`: what REDIS_URL is set to. */
  url: string;
  port: number;
  dir: string;
  /** A new client connection (the caller closes it). */
  client(): Redis;
  /** SHUTDOWN (with AOF: after a final fsync), then start again on the same port and directory. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /**
   * "none" (the default): no RDB, no AOF, as the tests need. "aof": appendonly with fsync on every
   * write, for a test that restarts the server and expects its jobs to be there: a Redis that must
   * survive restarts needs AOF, since without persistence a restart loses every key.
   */
  persistence?: "none" | "aof";
}

/** Debian's redis-server, from PATH (scripts/ensure-test-services.sh installs it when absent). */
const REDIS_SERVER = "redis-server";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => (addr !== null && typeof addr === "object" ? resolve(addr.port) : reject(new Error("no port"))));
    });
  });
}

async function waitForPing(port: number, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}: ${output()}`);
    const c = new Redis({ port, host: "127.0.0.1", lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    c.on("error", () => undefined);
    try {
      await c.connect();
      if ((await c.ping()) === "PONG") return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 15 s: ${output()}`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      c.disconnect();
    }
  }
}

/** Starts a redis-server of our own; resolves once it answers PING. */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const dir = mkdtempSync(join(tmpdir(), "tl-redis-"));
  const port = await freePort();
  const persistence = opts.persistence === "aof" ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"];
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", ...persistence, "--maxmemory-policy", "noeviction", "--daemonize", "no", "--logfile", ""];
  let child: ChildProcess;
  let out = "";
  const start = async (): Promise<void> => {
    out = "";
    child = spawn(REDIS_SERVER, args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
    });
    child.stderr?.on("data", (d: Buffer) => {
      out = (out + d.toString()).slice(-4000);
    });
    await waitForPing(port, child, () => out);
  };
  const shutdown = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    const c = new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on("error", () => undefined);
    try {
      // SHUTDOWN closes the connection instead of answering: the rejection is the success.
      // With AOF, a plain SHUTDOWN fsyncs the append-only file first.
      await (opts.persistence === "aof" ? c.call("SHUTDOWN") : c.call("SHUTDOWN", "NOSAVE")).catch(() => undefined);
    } finally {
      c.disconnect();
    }
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    client: () => new Redis({ port, host: "127.0.0.1", maxRetriesPerRequest: null }),
    async restart() {
      await shutdown();
      await start();
    },
    async stop() {
      await shutdown();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A server for the calling test file: started before its tests, stopped after them. `server` is
 * the handle, to use inside tests and hooks (it does not exist before the file's beforeAll). Call
 * it before the file registers hooks of its own: vitest runs afterAll hooks in reverse order (its
 * default `sequence.hooks: "stack"`), so theirs then run while the server is still up.
 */
export function redisForSuite(opts: RedisServerOptions = {}): { readonly server: RedisServerHandle } {
  let srv: RedisServerHandle | undefined;
  beforeAll(async () => {
    srv = await startRedisServer(opts);
  });
  afterAll(async () => {
    await srv?.stop();
  });
  return {
    get server(): RedisServerHandle {
      if (srv === undefined) throw new Error("redisForSuite: the server is started in beforeAll; use it inside tests and hooks");
      return srv;
    },
  };
}
