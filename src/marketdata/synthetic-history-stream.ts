// Synthetic history generated on a worker thread while the run that reads it trades. A day of
// 100 symbols at one snapshot a second is ~9 M snapshot steps, ~0.9 s of generation that used to
// come before the first bar on the run's own thread; here the second core makes it, chunk by
// chunk, and the run takes each chunk into its store before it needs the times it covers. The
// data are the same rows generateSyntheticHistory makes (the same code runs on the worker), so a
// run's outputs do not change.
//
// Waiting is synchronous (Atomics.wait on a counter the worker bumps after each post, and
// receiveMessageOnPort): a simulated run asks for data inside synchronous bar hooks, and only its
// start ever waits, while the worker gets ahead.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { MarketDataStore, type SeriesRows } from "./market-data-store.js";
import { reserveSnapshots, resolveHistorySpec, type SyntheticHistorySpec } from "./synthetic-history.js";

/** Rows per chunk, in generated time: ~20 ms of generation for 100 symbols, so the first chunk comes soon. */
const CHUNK_MS = 30 * 60_000;
/** How long a wait may see no new chunk before the worker is taken for dead. */
const STALL_MS = 120_000;

type StreamMessage =
  | { type: "rows"; throughMs: number; last: boolean; rows: SeriesRows[] }
  | { type: "failed"; name: string; message: string };

export class SyntheticHistoryError extends Error {
  override readonly name = "SyntheticHistoryError";
}

export class SyntheticHistoryStream {
  /** Holds every row known at or before the last `ensureThrough` (and maybe more). */
  readonly store: MarketDataStore;
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly posted: Int32Array;
  private throughMs = -Infinity;
  private done = false;
  private closed = false;

  constructor(spec: SyntheticHistorySpec, opts: { storeL2?: boolean } = {}) {
    // Validated here, so a bad spec fails in the caller with the generator's own message.
    const { cfg, symbols } = resolveHistorySpec(spec);
    if (cfg.keepMs !== undefined) throw new RangeError("synthetic history stream: keepMs is not supported (the stream's store keeps every row)");
    const storeL2 = opts.storeL2 ?? true;
    this.store = new MarketDataStore({ symbols, l2Levels: cfg.l2Levels });
    reserveSnapshots(this.store, cfg, storeL2);
    const signal = new SharedArrayBuffer(4);
    this.posted = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const entry = new URL("./synthetic-history-worker.mjs", import.meta.url);
    // A missing entry fails on the worker before any of its code runs, which a synchronous wait
    // would only see as silence: checked here, for a clear error (a bundle without the file).
    if (!existsSync(entry)) throw new SyntheticHistoryError(`synthetic history: the worker entry ${fileURLToPath(entry)} is missing`);
    this.worker = new Worker(entry, {
      // Not the host's flags: an inherited `--import tsx` starts a second loader thread (~0.4 s); the entry registers tsx itself.
      execArgv: [],
      workerData: { spec, storeL2, everyMs: CHUNK_MS, port: port2, signal },
      transferList: [port2],
    });
    // The run does not wait for the worker to exit; close() stops it early.
    this.worker.unref();
  }

  /**
   * Blocks until the store holds every row known at or before `t` (every row, past the end): the
   * rows any query bounded by a knowledge time up to `t` sees.
   */
  ensureThrough(t: number): void {
    if (this.closed) throw new SyntheticHistoryError("synthetic history: the stream is closed");
    let waitedSince = performance.now();
    while (!this.done && this.throughMs < t) {
      const seen = Atomics.load(this.posted, 0);
      const m = receiveMessageOnPort(this.port);
      if (m !== undefined) {
        this.take(m.message as StreamMessage);
        waitedSince = performance.now();
        continue;
      }
      if (performance.now() - waitedSince > STALL_MS) {
        throw new SyntheticHistoryError(`synthetic history: the generator thread sent nothing for ${STALL_MS / 1000} s (data made through ${Number.isFinite(this.throughMs) ? new Date(this.throughMs).toISOString() : "none yet"}); it may have died`);
      }
      Atomics.wait(this.posted, 0, seen, 1_000);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.port.close();
    void this.worker.terminate();
  }

  private take(m: StreamMessage): void {
    if (m.type === "failed") {
      this.close();
      throw new SyntheticHistoryError(`synthetic history generator: ${m.name}: ${m.message}`);
    }
    this.store.appendRows(m.rows);
    this.throughMs = m.throughMs;
    if (m.last) this.done = true;
  }
}
