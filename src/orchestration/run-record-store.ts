// Where DAG runs and the scheduler's progress are persisted. Two implementations: files under the
// data root (local executor) and Redis (BullMQ executor). Both create a run only if its key is new,
// so no slot ever gets two runs, whoever asks twice, and update runs by compare-and-set.

import type { DagRun } from "./run-records.js";

export interface RunRecordStore {
  /** Creates the run unless one with its key exists; returns whichever is stored. */
  create(run: DagRun): Promise<{ created: boolean; run: DagRun }>;
  get(runKey: string): Promise<DagRun | undefined>;
  /** Runs of one DAG (or all), oldest logical start first. */
  list(dagId?: string): Promise<DagRun[]>;
  /**
   * Applies `change` to the current record and stores it if nobody wrote in between (else re-reads
   * and applies again). `change` returns false to leave the record as it is.
   */
  update(runKey: string, change: (run: DagRun) => boolean | void): Promise<DagRun>;
  /**
   * Runs `admit` holding the DAG's admission lock: one dispatcher at a time, across processes,
   * decides which of the DAG's queued runs start, so two dispatchers deciding at once cannot start
   * two different runs past maxActiveRuns. Keep `admit` short (a list and a few updates).
   */
  withDagLock<T>(dagId: string, admit: () => Promise<T>): Promise<T>;
  /** The newest fire time the scheduler has created runs for. */
  lastFire(dagId: string): Promise<number | undefined>;
  /** Raises the newest fire time (never lowers it). */
  advanceLastFire(dagId: string, fireAt: number): Promise<void>;
  close(): Promise<void>;
}

export class RunNotFoundError extends Error {
  override readonly name = "RunNotFoundError";
}

export function byLogicalStart(a: DagRun, b: DagRun): number {
  return a.logicalStart - b.logicalStart || a.dagId.localeCompare(b.dagId) || a.runKey.localeCompare(b.runKey);
}
