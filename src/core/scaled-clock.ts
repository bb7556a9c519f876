// A clock that runs N times faster than the wall clock from a chosen start: a demo of a day of
// paper trading in 24 minutes at 60x. Timers are real timers whose delay is divided by the speed,
// so it behaves like the real clock, only faster.

import type { Clock, EpochMs, TimerHandle } from "./clock.js";

export class ScaledClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();
  private readonly wallAnchor: number;

  constructor(
    private readonly start: EpochMs,
    readonly speed: number,
    wallNow: () => number = Date.now,
  ) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`ScaledClock: speed must be a positive number, got ${speed}`);
    if (!Number.isFinite(start)) throw new RangeError(`ScaledClock: start must be a finite epoch ms, got ${start}`);
    this.wallNow = wallNow;
    this.wallAnchor = wallNow();
  }

  private readonly wallNow: () => number;

  now(): EpochMs {
    return Math.floor(this.start + (this.wallNow() - this.wallAnchor) * this.speed);
  }

  setTimer(at: EpochMs, fn: () => void): TimerHandle {
    if (Number.isNaN(at)) throw new RangeError("ScaledClock.setTimer: time is NaN");
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, (at - this.now()) / this.speed));
    this.timers.set(id, t);
    return { id };
  }

  clearTimer(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }

  sleepUntil(at: EpochMs): Promise<void> {
    return new Promise((resolve) => {
      // A timer may fire a hair early after the division by speed; wait again until now() agrees.
      const wait = (): void => {
        if (this.now() >= at) resolve();
        else this.setTimer(at, wait);
      };
      wait();
    });
  }
}
