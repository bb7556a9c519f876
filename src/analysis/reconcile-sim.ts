// The reconciliation's simulation on a worker thread. It is most of a reconciliation's time (the
// whole run again, on the recorded market data) and needs nothing of the run's log, so it runs on the
// second core while this thread loads the run's log and computes the research portfolio.

import { SystemRunWorker, type WorkerRunOptions } from "../system/system-run-worker.js";

export interface SimulationRun {
  /** Settles when the simulation has finished (or failed): where it wrote, or why it failed. */
  done: Promise<{ runDir: string; systemLogDir: string }>;
  /** Stops the simulation (when the reconciliation fails before needing it) and its worker. */
  cancel(): Promise<void>;
}

/**
 * Starts `runSystem(resolveConfig(given, where), { given, ...options })` on a worker thread. A
 * failure rejects `done` with the simulation's own message.
 */
export function runSimulationInWorker(given: Readonly<Record<string, unknown>>, where: string, options: WorkerRunOptions): SimulationRun {
  const worker = new SystemRunWorker();
  const done = worker.run(given, where, options).then((r) => ({ runDir: r.runDir, systemLogDir: r.systemLogDir }));
  // The caller may fail before awaiting `done`; its rejection is then reported by that failure.
  done.catch(() => undefined);
  return { done, cancel: () => worker.close() };
}
