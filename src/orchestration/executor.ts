// The Executor seam: how task instances of started DAG runs get executed. Local runs them in this
// process; BullMQ hands them to worker processes through Redis. The scheduling rules, run states
// and DAG semantics are the Orchestrator's, shared by both.

import type { Orchestrator } from "./orchestrator.js";

export interface Executor {
  readonly kind: "local" | "bullmq";
  readonly orchestrator: Orchestrator;
  /**
   * Starts queued runs (within maxActiveRuns) and gets their ready tasks executed. Local: runs them
   * here and returns when nothing is left to run. BullMQ: enqueues them and returns at once.
   */
  dispatch(): Promise<void>;
  close(): Promise<void>;
}
