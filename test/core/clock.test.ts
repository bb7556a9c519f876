import { describe, expect, it } from "vitest";
import { SimulatedClock } from "../../src/core/clock.js";

const T0 = Date.UTC(2024, 0, 1);

describe("SimulatedClock", () => {
  it("starts where told and only moves when run", () => {
    const c = new SimulatedClock(T0);
    expect(c.now()).toBe(T0);
    c.setTimer(T0 + 10, () => undefined);
    expect(c.now()).toBe(T0);
    c.runUntil(T0 + 5);
    expect(c.now()).toBe(T0 + 5);
    expect(c.pending).toBe(1);
    expect(c.peekNext()).toBe(T0 + 10);
  });

  it("rejects a non-finite start", () => {
    expect(() => new SimulatedClock(Number.NaN)).toThrow(RangeError);
    expect(() => new SimulatedClock(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });

  it("fires timers in time order whatever order they were set in, at their own time", () => {
    const c = new SimulatedClock(T0);
    const fired: [string, number][] = [];
    const at = (name: string, dt: number): void => {
      c.setTimer(T0 + dt, () => fired.push([name, c.now() - T0]));
    };
    at("c", 30);
    at("a", 10);
    at("e", 50);
    at("b", 20);
    at("d", 40);
    c.runUntil(T0 + 100);
    expect(fired).toEqual([["a", 10], ["b", 20], ["c", 30], ["d", 40], ["e", 50]]);
    expect(c.now()).toBe(T0 + 100);
    expect(c.pending).toBe(0);
  });

  it("fires timers due at the same instant first-in first-out", () => {
    const c = new SimulatedClock(T0);
    const fired: number[] = [];
    // Enough timers to exercise the heap's sift in both directions.
    for (let i = 0; i < 40; i++) c.setTimer(T0 + (i % 3 === 0 ? 5 : 7), () => fired.push(i));
    c.runUntil(T0 + 10);
    const at5 = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 === 0);
    const at7 = Array.from({ length: 40 }, (_, i) => i).filter((i) => i % 3 !== 0);
    expect(fired).toEqual([...at5, ...at7]);
  });

  it("leaves timers after the window pending, and runs timers set while running when they fall inside", () => {
    const c = new SimulatedClock(T0);
    const fired: number[] = [];
    c.setTimer(T0 + 10, () => {
      fired.push(10);
      c.setTimer(T0 + 15, () => fired.push(15));
      c.setTimer(T0 + 25, () => fired.push(25));
    });
    c.runUntil(T0 + 20);
    expect(fired).toEqual([10, 15]);
    expect(c.pending).toBe(1);
    c.runUntil(T0 + 30);
    expect(fired).toEqual([10, 15, 25]);
  });

  it("runs a timer set in the past at the current time, after timers already due now", () => {
    const c = new SimulatedClock(T0);
    c.runUntil(T0 + 100);
    const fired: [string, number][] = [];
    c.setTimer(T0 + 100, () => fired.push(["now", c.now() - T0]));
    c.setTimer(T0, () => fired.push(["past", c.now() - T0]));
    c.runUntil(T0 + 100);
    expect(fired).toEqual([["now", 100], ["past", 100]]);
  });

  it("never moves backwards", () => {
    const c = new SimulatedClock(T0 + 50);
    c.runUntil(T0);
    expect(c.now()).toBe(T0 + 50);
  });

  it("clearTimer cancels a pending timer and is a no-op on a fired or cleared one", () => {
    const c = new SimulatedClock(T0);
    const fired: string[] = [];
    const a = c.setTimer(T0 + 1, () => fired.push("a"));
    const b = c.setTimer(T0 + 2, () => fired.push("b"));
    c.setTimer(T0 + 3, () => fired.push("c"));
    c.clearTimer(b);
    c.clearTimer(b);
    c.runUntil(T0 + 1);
    c.clearTimer(a); // already fired
    c.runUntil(T0 + 10);
    expect(fired).toEqual(["a", "c"]);
    expect(c.pending).toBe(0);
  });

  it("a timer can cancel a later one due at the same instant", () => {
    const c = new SimulatedClock(T0);
    const fired: string[] = [];
    const later: ReturnType<SimulatedClock["setTimer"]>[] = [];
    c.setTimer(T0 + 5, () => {
      fired.push("first");
      for (const h of later) c.clearTimer(h);
    });
    later.push(c.setTimer(T0 + 5, () => fired.push("second")));
    c.runUntil(T0 + 5);
    expect(fired).toEqual(["first"]);
  });

  it("rejects a NaN timer time instead of corrupting the clock", () => {
    const c = new SimulatedClock(T0);
    expect(() => c.setTimer(Number.NaN, () => undefined)).toThrow(RangeError);
    c.runUntil(T0 + 1);
    expect(c.now()).toBe(T0 + 1);
  });

  it("sleepUntil resolves at the right simulated time under runUntilAsync, for chained sleeps", async () => {
    const c = new SimulatedClock(T0);
    const seen: [string, number][] = [];
    const worker = async (name: string, step: number, n: number): Promise<void> => {
      for (let i = 1; i <= n; i++) {
        await c.sleepUntil(T0 + i * step);
        seen.push([name, c.now() - T0]);
      }
    };
    const done = Promise.all([worker("x", 10, 3), worker("y", 15, 2)]);
    await c.runUntilAsync(T0 + 100);
    await done;
    // At 30 both wake; y set its timer first (at 15, x at 20), so y goes first.
    expect(seen).toEqual([["x", 10], ["y", 15], ["x", 20], ["y", 30], ["x", 30]]);
    expect(c.now()).toBe(T0 + 100);
  });

  it("sleepUntil in the past resolves at the current time", async () => {
    const c = new SimulatedClock(T0 + 10);
    let at = -1;
    const p = c.sleepUntil(T0).then(() => {
      at = c.now();
    });
    await c.runUntilAsync(T0 + 10);
    await p;
    expect(at).toBe(T0 + 10);
  });
});
