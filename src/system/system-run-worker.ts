// System runs on a worker thread: the reconciliation's simulation runs on the second core while the
// main thread reads the run's log, and a historical run runs several days at once, one per worker.
// A worker is kept for run after run (it takes ~0.4 s to start and load the system's modules).

import { Worker } from "node:worker_threads";
import type { RunSystemOptions } from "./run-system.js";

/** What a worker's run may be given besides the config: plain data (it crosses threads). */
export type WorkerRunOptions = Pick<RunSystemOptions, "runKey" | "resume" | "replaceExisting" | "brokerLogParquet" | "recordMarketData">;

export interface WorkerRunResult {
  runDir: string;
  systemLogDir: string;
  /** The run's PnL before fees. */
  totalPnl: number;
}

type FromWorker =
  | { type: "bar"; done: number; total: number; t: number }
  | { type: "done"; runDir: string; systemLogDir: string; totalPnl: number }
  | { type: "failed"; name: string; message: string };

/** A run that failed on a worker: the run's own error name and message. */
export class WorkerRunError extends Error {
  constructor(
    readonly originalName: string,
    message: string,
  ) {
    super(message);
    this.name = "WorkerRunError";
  }
}

interface Pending {
  resolve: (r: WorkerRunResult) => void;
  reject: (e: Error) => void;
  onBar: ((done: number, total: number, simTime: number) => void) | undefined;
}

export class SystemRunWorker {
  private readonly worker: Worker;
  private pending: Pending | undefined;
  /** Set once the worker died: every later run fails with it. */
  private dead: Error | undefined;

  constructor() {
    // Not the host's flags: an inherited `--import tsx` starts a second loader thread for nothing
    // (the entry registers tsx itself); V8's flags are the process's either way.
    this.worker = new Worker(new URL("./system-run-worker.mjs", import.meta.url), { execArgv: [] });
    this.worker.on("message", (m: FromWorker) => this.onMessage(m));
    this.worker.on("error", (e) => this.die(e));
    this.worker.on("exit", (code) => this.die(new Error(`the system run worker exited (code ${code})`)));
  }

  /** Runs `runSystem(resolveConfig(given, where), { given, ...options })` on the worker. */
  run(given: Readonly<Record<string, unknown>>, where: string, options: WorkerRunOptions = {}, onBar?: (done: number, total: number, simTime: number) => void): Promise<WorkerRunResult> {
    if (this.dead !== undefined) return Promise.reject(this.dead);
    if (this.pending !== undefined) return Promise.reject(new Error("system run worker: already running a run"));
    return new Promise<WorkerRunResult>((resolve, reject) => {
      this.pending = { resolve, reject, onBar };
      this.worker.postMessage({ type: "run", given, where, options, progress: onBar !== undefined });
    });
  }

  /** Stops the current run (runSystem's signal): it fails with the abort. */
  abort(): void {
    if (this.pending !== undefined) this.worker.postMessage({ type: "abort" });
  }

  /** Ends the worker; a run still going fails. */
  async close(): Promise<void> {
    if (this.dead === undefined) await this.worker.terminate();
  }

  private onMessage(m: FromWorker): void {
    const p = this.pending;
    if (p === undefined) return;
    if (m.type === "bar") {
      p.onBar?.(m.done, m.total, m.t);
      return;
    }
    this.pending = undefined;
    if (m.type === "done") p.resolve({ runDir: m.runDir, systemLogDir: m.systemLogDir, totalPnl: m.totalPnl });
    else p.reject(new WorkerRunError(m.name, m.message));
  }

  private die(e: Error): void {
    if (this.dead !== undefined) return;
    this.dead = e;
    const p = this.pending;
    this.pending = undefined;
    p?.reject(e);
  }
}
