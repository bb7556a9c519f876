// Schedule slots: when a DAG fires and which data interval each firing covers. One cron parser
// (cron-parser, the one BullMQ's job schedulers use) for both executors, so the local scheduler and
// BullMQ agree on every slot, across DST changes included. node-cron only wakes the local
// scheduler; it never decides a slot (it reads day-of-month AND day-of-week, cron-parser OR).

import { CronExpressionParser, type CronExpression } from "cron-parser";
import { DagDefinitionError, type DagDefinition, type Schedule } from "./dag.js";

export interface Slot {
  /** When the run becomes due. */
  fireAt: number;
  /** The data interval [start, end) the run covers; `start` is its logical start. */
  start: number;
  end: number;
}

function parse(schedule: Schedule, currentDate: number): CronExpression {
  try {
    return CronExpressionParser.parse(schedule.cron, { currentDate, tz: schedule.timezone });
  } catch (err) {
    throw new DagDefinitionError(`schedule "${schedule.cron}" (${schedule.timezone}): ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function checkSchedule(schedule: Schedule): void {
  parse(schedule, Date.UTC(2024, 0, 1));
}

/** The first fire time strictly after `t`. */
export function nextFire(schedule: Schedule, t: number): number {
  return parse(schedule, t).next().getTime();
}

/**
 * The last fire time strictly before `t`, as the forward walk (which BullMQ's job schedulers use)
 * sees it. cron-parser's backward walk differs from its forward walk across DST changes (it skipped
 * the 03:30 CEST fire of a spring-forward day and invented a second 02:30 on the fall-back day), so
 * a backward step is checked and corrected forward.
 */
export function prevFire(schedule: Schedule, t: number): number {
  let p = parse(schedule, t).prev().getTime();
  for (let i = 0; i < 16 && nextFire(schedule, p - 1) !== p; i++) p = parse(schedule, p).prev().getTime();
  for (;;) {
    const n = nextFire(schedule, p);
    if (n >= t) return p;
    p = n;
  }
}

export function slotAt(dag: DagDefinition, fireAt: number): Slot {
  if (dag.schedule === null) throw new DagDefinitionError(`dag ${dag.id} has no schedule`);
  return dag.dataInterval === "following"
    ? { fireAt, start: fireAt, end: nextFire(dag.schedule, fireAt) }
    : { fireAt, start: prevFire(dag.schedule, fireAt), end: fireAt };
}

/**
 * The newest slot whose fire time is at or before `at`: the run a scheduler running at `at` would
 * have created last (a manual run without a start gets this window, so it lies on the schedule's
 * bar boundaries as a scheduled run does).
 */
export function latestSlot(dag: DagDefinition, at: number): Slot {
  if (dag.schedule === null) throw new DagDefinitionError(`dag ${dag.id} has no schedule, so it has no latest slot`);
  return slotAt(dag, prevFire(dag.schedule, at + 1));
}

/**
 * Where a run that starts at `start` ends when nobody says: one schedule interval later (the next
 * fire time after `start`), or a day later for a DAG without a schedule.
 */
export function defaultRunEnd(dag: DagDefinition, start: number): number {
  return dag.schedule === null ? start + 86_400_000 : nextFire(dag.schedule, start);
}

/** Fire times in (after, upTo], oldest first. */
export function fireTimesBetween(schedule: Schedule, after: number, upTo: number, max = 100_000): number[] {
  const out: number[] = [];
  const it = parse(schedule, after);
  for (;;) {
    const t = it.next().getTime();
    if (t > upTo) break;
    out.push(t);
    if (out.length > max) throw new DagDefinitionError(`schedule "${schedule.cron}" gives more than ${max} slots between ${new Date(after).toISOString()} and ${new Date(upTo).toISOString()}`);
  }
  return out;
}

/**
 * The slots to create at `now` for a DAG whose newest scheduled fire time is `lastFire` (undefined
 * before its first run): every fire time after `lastFire` and not before the start date, of which
 * only the newest `catchupLimit` are kept (the rest are reported as skipped). Walks backwards from
 * `now`, so a long downtime costs `catchupLimit` steps, not one per missed slot.
 */
export function dueSlots(dag: DagDefinition, lastFire: number | undefined, now: number): { due: Slot[]; skipped: number } {
  if (dag.schedule === null) return { due: [], skipped: 0 };
  const floor = Math.max(dag.startDate - 1, lastFire ?? -Infinity);
  const fires: number[] = [];
  let skipped = 0;
  let t = now + 1;
  for (;;) {
    t = prevFire(dag.schedule, t);
    if (t <= floor) break;
    if (fires.length < dag.catchupLimit) fires.push(t);
    else {
      // Count the skipped ones only as far as a bound, so a tiny interval over years stays cheap.
      skipped++;
      if (skipped >= 10_000) break;
    }
  }
  fires.reverse();
  return { due: fires.map((f) => slotAt(dag, f)), skipped };
}

/** Slots whose logical start lies in [from, to]: the runs a backfill over that range creates. */
export function slotsWithStartIn(dag: DagDefinition, from: number, to: number): Slot[] {
  if (dag.schedule === null) throw new DagDefinitionError(`dag ${dag.id} has no schedule: backfill needs one to know its slots`);
  // A slot's start is its fire time (following) or the fire time before it (preceding).
  const fires = fireTimesBetween(dag.schedule, from - 1, dag.dataInterval === "following" ? to : nextFire(dag.schedule, to));
  return fires
    .map((f) => slotAt(dag, f))
    .filter((s) => s.start >= from && s.start <= to);
}
