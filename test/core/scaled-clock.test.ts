import { describe, expect, it } from "vitest";
import { ScaledClock } from "../../src/core/scaled-clock.js";

describe("ScaledClock", () => {
  it("maps wall time to simulated time at the given speed", () => {
    let wall = 1_000;
    const c = new ScaledClock(Date.UTC(2024, 0, 1), 60, () => wall);
    expect(c.now()).toBe(Date.UTC(2024, 0, 1));
    wall += 1_000;
    expect(c.now()).toBe(Date.UTC(2024, 0, 1) + 60_000);
  });

  it("sleeps a simulated minute in about a real second at 60x, never waking early", async () => {
    const c = new ScaledClock(Date.UTC(2024, 0, 1), 600);
    const target = c.now() + 30_000;
    const t0 = performance.now();
    await c.sleepUntil(target);
    expect(c.now()).toBeGreaterThanOrEqual(target);
    // 30 s simulated at 600x is 50 ms real; the bound only guards against ignoring the speed.
    expect(performance.now() - t0).toBeLessThan(5_000);
  });

  it("rejects a bad speed", () => {
    expect(() => new ScaledClock(0, 0)).toThrow(/speed/);
  });
});
