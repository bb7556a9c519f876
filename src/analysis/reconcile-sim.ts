// The reconciliation's simulation on a worker thread. It is most of a reconciliation's time (the
// whole run again, on the recorded market data) and needs nothing of the run's log, so it runs on the
// second core while this thread loads the run's log and computes the research portfolio.

import { Worker } from "node:worker_threads";

export interface SimulationRun {
  /** Settles when the simulation has finished (or failed): where it wrote, or why it failed. */
  done: Promise<{ runDir: string; systemLogDir: string }>;
  /** Stops the simulation (when the reconciliation fails before needing it). */
  cancel(): Promise<void>;
}

type WorkerReport = { ok: true; runDir: string; systemLogDir: string } | { ok: false; message: string };

/**
 * Starts `runSystem(resolveConfig(given, where), { given, runKey })` on a worker thread. A failure
 * rejects `done` with the simulation's own message.
 */
export function runSimulationInWorker(given: Readonly<Record<string, unknown>>, where: string, runKey: string | undefined): SimulationRun {
  const worker = new Worker(new URL("./reconcile-sim-worker.mjs", import.meta.url), { workerData: { given, where, runKey } });
  let finished = false;
  const done = new Promise<{ runDir: string; systemLogDir: string }>((resolve, reject) => {
    worker.once("message", (m: WorkerReport) => {
      finished = true;
      if (m.ok) resolve({ runDir: m.runDir, systemLogDir: m.systemLogDir });
      else reject(new Error(m.message));
    });
    worker.once("error", (e) => {
      finished = true;
      reject(e);
    });
    worker.once("exit", (code) => {
      if (!finished) reject(new Error(`the simulation's worker exited (code ${code}) before it reported`));
    });
  });
  // The caller may fail before awaiting `done`; its rejection is then reported by that failure.
  done.catch(() => undefined);
  return {
    done,
    cancel: async () => {
      if (!finished) await worker.terminate();
    },
  };
}
