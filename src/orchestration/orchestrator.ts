// The scheduling core both executors share: create runs for due schedule slots (with catchup after
// downtime), manual triggers, backfills, clearing a task for a rerun, and starting queued runs within
// `maxActiveRuns`. It only writes run records; executors decide how tasks are executed.

import { parseUtcTime, TimestampError } from "../core/timestamp.js";
import { DagDefinitionError, type DagDefinition } from "./dag.js";
import type { RunRecordStore } from "./run-record-store.js";
import { advanceRun, clearTask, newDagRun, type DagRun } from "./run-records.js";
import { defaultRunEnd, dueSlots, latestSlot, slotsWithStartIn } from "./schedule.js";

/** A run that cannot be replaced now (a try of it is running). */
export class RunReplaceError extends Error {
  override readonly name = "RunReplaceError";
}

export interface TickResult {
  created: DagRun[];
  /** Runs that already existed for a due slot (another scheduler, or an earlier tick, made them). */
  existing: DagRun[];
  /** Missed slots beyond each DAG's catchup limit, by DAG. */
  skippedSlots: Record<string, number>;
}

export class Orchestrator {
  private readonly dags: Map<string, DagDefinition>;

  constructor(
    dags: readonly DagDefinition[],
    readonly store: RunRecordStore,
    readonly now: () => number = () => Date.now(),
  ) {
    this.dags = new Map(dags.map((d) => [d.id, d]));
  }

  dag(id: string): DagDefinition {
    const d = this.dags.get(id);
    if (d === undefined) throw new DagDefinitionError(`no DAG "${id}" (known: ${[...this.dags.keys()].sort().join(", ")})`);
    return d;
  }

  allDags(): DagDefinition[] {
    return [...this.dags.values()].sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Creates runs for every due slot of every scheduled DAG. Safe to call from many schedulers at once. */
  async scheduleTick(): Promise<TickResult> {
    const now = this.now();
    const result: TickResult = { created: [], existing: [], skippedSlots: {} };
    for (const dag of this.allDags()) {
      if (dag.schedule === null) continue;
      const { due, skipped } = dueSlots(dag, await this.store.lastFire(dag.id), now);
      if (skipped > 0) result.skippedSlots[dag.id] = skipped;
      for (const slot of due) {
        const r = await this.store.create(newDagRun(dag, "scheduled", slot, {}, now));
        (r.created ? result.created : result.existing).push(r.run);
        await this.store.advanceLastFire(dag.id, slot.fireAt);
      }
    }
    return result;
  }

  /**
   * A manual run. Asking twice for the same logical start gives back the first run (`created`
   * false, its conf unchanged), unless `replace`: then the earlier record is discarded for a fresh
   * one with this conf and interval (`replaced` tells the state it had), which runs from the start.
   */
  async trigger(dagId: string, conf: Record<string, unknown> = {}, interval?: { start: number; end: number }, o: { replace?: boolean } = {}): Promise<{ created: boolean; run: DagRun; replaced?: DagRun["state"] }> {
    const dag = this.dag(dagId);
    const now = this.now();
    const iv = interval ?? manualInterval(dag, conf, now);
    if (!(iv.end > iv.start)) throw new DagDefinitionError(`dag ${dagId}: a run's end (${new Date(iv.end).toISOString()}) must be after its start`);
    const fresh = newDagRun(dag, "manual", iv, conf, now);
    const r = await this.store.create(fresh);
    if (r.created || o.replace !== true) return r;
    let replaced: DagRun["state"] = r.run.state;
    const run = await this.store.update(fresh.runKey, (old) => {
      // A try still running would write its result into the fresh record, or trade on beside its
      // replacement: refused, checked under the record's lock.
      const live = Object.entries(old.tasks).filter(([, t]) => t.state === "running").map(([id]) => id);
      if (live.length > 0) throw new RunReplaceError(`run ${old.runKey} is not replaced: its task(s) ${live.join(", ")} are running; wait for the run to end (tradeloop dags runs ${dagId}), or stop the process running it`);
      replaced = old.state;
      for (const k of Object.keys(old)) if (!(k in fresh)) Reflect.deleteProperty(old, k);
      // The version goes on counting (compare-and-set), everything else is the fresh run's.
      Object.assign(old, { ...structuredClone(fresh), version: old.version });
    });
    return { created: true, run, replaced };
  }

  /**
   * One backfill run per slot whose logical start is in [from, to]; existing ones are kept. A
   * range with no slot (reversed, or too short for the schedule) is refused: it would do nothing.
   */
  async backfill(dagId: string, from: number, to: number, conf: Record<string, unknown> = {}): Promise<{ created: DagRun[]; existing: DagRun[] }> {
    const dag = this.dag(dagId);
    const iso = (t: number): string => new Date(t).toISOString();
    if (to < from) throw new DagDefinitionError(`dag ${dagId}: the backfill's end ${iso(to)} is before its start ${iso(from)} (both are logical starts of runs: the first and the last)`);
    const slots = slotsWithStartIn(dag, from, to);
    if (slots.length === 0) throw new DagDefinitionError(`dag ${dagId}: no schedule slot (${dag.schedule?.cron ?? "?"} ${dag.schedule?.timezone ?? ""}) starts between ${iso(from)} and ${iso(to)}, so the backfill would run nothing`);
    const out = { created: [] as DagRun[], existing: [] as DagRun[] };
    for (const slot of slots) {
      const r = await this.store.create(newDagRun(dag, "backfill", slot, conf, this.now()));
      (r.created ? out.created : out.existing).push(r.run);
    }
    return out;
  }

  /**
   * Starts queued runs, oldest logical start first, while fewer than `maxActiveRuns` of their DAG
   * are running; queues their first tasks. Returns the runs it started.
   */
  async startQueuedRuns(): Promise<DagRun[]> {
    const started: DagRun[] = [];
    const runs = await this.store.list();
    for (const dag of this.allDags()) {
      if (!runs.some((r) => r.dagId === dag.id && r.state === "queued")) continue;
      // Counted and started under the DAG's lock, from a fresh list: another dispatcher may have
      // started runs since the list above.
      await this.store.withDagLock(dag.id, async () => {
        const mine = await this.store.list(dag.id);
        let active = mine.filter((r) => r.state === "running").length;
        for (const r of mine) {
          if (active >= dag.maxActiveRuns) break;
          if (r.state !== "queued") continue;
          let startedNow = false;
          const updated = await this.store.update(r.runKey, (run) => {
            // A store may apply the change again after a conflicting write: only the last counts.
            startedNow = false;
            if (run.state !== "queued") return false;
            run.state = "running";
            run.startedAt = this.now();
            advanceRun(dag, run, this.now());
            startedNow = true;
          });
          if (startedNow) started.push(updated);
          if (updated.state === "running") active++;
        }
      });
    }
    return started;
  }

  /** Clears a task and its downstream tasks of a run so they run again. */
  async clear(runKey: string, taskId: string): Promise<{ run: DagRun; cleared: string[] }> {
    let cleared: string[] = [];
    const current = await this.store.get(runKey);
    if (current === undefined) throw new DagDefinitionError(`no run ${runKey}`);
    const dag = this.dag(current.dagId);
    const run = await this.store.update(runKey, (r) => {
      cleared = clearTask(dag, r, taskId);
    });
    return { run, cleared };
  }
}

/**
 * A manual run covers the interval its conf (or the DAG's default conf) names as `start`/`end`
 * (ISO UTC; `end` defaults to one schedule interval after `start`, a day for a DAG without a
 * schedule). Without a start it is the latest schedule slot at or before now, the same window the
 * scheduler gives that slot's run: "now to the second" is never on a bar boundary, and the system
 * runs refuse such a window. A DAG without a schedule has no slot to take, so it needs a start.
 */
function manualInterval(dag: DagDefinition, conf: Record<string, unknown>, now: number): { start: number; end: number } {
  const start = confTime(dag, conf, "start");
  const end = confTime(dag, conf, "end");
  if (start !== undefined) return { start, end: end ?? defaultRunEnd(dag, start) };
  if (end !== undefined) throw new DagDefinitionError(`dag ${dag.id}: an end (${new Date(end).toISOString()}) without a start: give the start too (--start or conf.start), or neither for the latest schedule slot`);
  if (dag.schedule === null) throw new DagDefinitionError(`dag ${dag.id} has no schedule, so a manual run needs its logical start: give --start (or conf.start)`);
  const slot = latestSlot(dag, now);
  return { start: slot.start, end: slot.end };
}

function confTime(dag: DagDefinition, conf: Record<string, unknown>, key: "start" | "end"): number | undefined {
  const v = conf[key] ?? dag.defaultConf[key];
  if (v === undefined) return undefined;
  const bad = (): DagDefinitionError => new DagDefinitionError(`dag ${dag.id}: conf.${key} must be an ISO UTC time like 2024-01-02T00:00:00Z, got ${JSON.stringify(v)}`);
  if (typeof v !== "string") throw bad();
  try {
    return parseUtcTime(v);
  } catch (e) {
    if (e instanceof TimestampError) throw bad();
    throw e;
  }
}
