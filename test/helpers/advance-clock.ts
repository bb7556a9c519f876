import type { SimulatedClock } from "../../src/core/clock.js";

/**
 * Moves the clock to `until` in small steps, letting each poll's promise settle between them: a
 * polling feed sets its next timer when a poll has finished, as on the real clock prod runs on.
 */
export async function advance(clock: SimulatedClock, until: number): Promise<void> {
  while (clock.now() < until) {
    clock.runUntil(Math.min(until, clock.now() + 250));
    await new Promise((resolve) => setImmediate(resolve));
  }
}
