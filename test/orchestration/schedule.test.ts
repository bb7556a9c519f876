import { describe, expect, it } from "vitest";
import { defineDag, task } from "../../src/orchestration/dag.js";
import { dueSlots, fireTimesBetween, slotsWithStartIn } from "../../src/orchestration/schedule.js";

const noop = async (): Promise<unknown> => null;
const iso = (t: number): string => new Date(t).toISOString();

function daily(tz: string, interval: "preceding" | "following" = "preceding", catchupLimit = 3) {
  return defineDag({ id: "d", schedule: { cron: "30 2 * * *", timezone: tz }, dataInterval: interval, catchupLimit, startDate: Date.UTC(2024, 0, 1), tasks: [task({ id: "a", handler: noop })] });
}

describe("schedule slots", () => {
  it("fires at 02:30 local time across the Europe/Berlin spring-forward, where 02:30 does not exist", () => {
    const fires = fireTimesBetween({ cron: "30 2 * * *", timezone: "Europe/Berlin" }, Date.UTC(2024, 2, 29), Date.UTC(2024, 3, 2)).map(iso);
    // 29 Mar CET (+1), 31 Mar is the switch day, 1 Apr CEST (+2).
    expect(fires[0]).toBe("2024-03-29T01:30:00.000Z");
    expect(fires.at(-1)).toBe("2024-04-01T00:30:00.000Z");
    expect(new Set(fires).size).toBe(fires.length);
  });

  it("preceding intervals end at the fire time, following ones start there", () => {
    const pre = dueSlots(daily("UTC", "preceding", 1), undefined, Date.UTC(2024, 5, 10, 12)).due;
    expect(pre.map((s) => [iso(s.start), iso(s.end)])).toEqual([["2024-06-09T02:30:00.000Z", "2024-06-10T02:30:00.000Z"]]);
    const fol = dueSlots(daily("UTC", "following", 1), undefined, Date.UTC(2024, 5, 10, 12)).due;
    expect(fol.map((s) => [iso(s.start), iso(s.end)])).toEqual([["2024-06-10T02:30:00.000Z", "2024-06-11T02:30:00.000Z"]]);
  });

  it("catchup after downtime runs the newest slots up to the limit and counts the rest", () => {
    const dag = daily("UTC", "preceding", 3);
    const last = Date.UTC(2024, 5, 1, 2, 30);
    const r = dueSlots(dag, last, Date.UTC(2024, 5, 10, 3));
    expect(r.due.map((s) => iso(s.fireAt))).toEqual(["2024-06-08T02:30:00.000Z", "2024-06-09T02:30:00.000Z", "2024-06-10T02:30:00.000Z"]);
    expect(r.skipped).toBe(6);
    expect(dueSlots(dag, Date.UTC(2024, 5, 10, 2, 30), Date.UTC(2024, 5, 10, 3)).due).toEqual([]);
  });

  it("never schedules before the start date", () => {
    const r = dueSlots(daily("UTC", "preceding", 10), undefined, Date.UTC(2024, 0, 3, 12));
    expect(r.due.map((s) => iso(s.fireAt))).toEqual(["2024-01-01T02:30:00.000Z", "2024-01-02T02:30:00.000Z", "2024-01-03T02:30:00.000Z"]);
  });

  it("backfill covers the slots whose logical start is in the range", () => {
    const s = slotsWithStartIn(daily("UTC"), Date.UTC(2024, 1, 1), Date.UTC(2024, 1, 3, 23));
    expect(s.map((x) => iso(x.start))).toEqual(["2024-02-01T02:30:00.000Z", "2024-02-02T02:30:00.000Z", "2024-02-03T02:30:00.000Z"]);
  });
});
