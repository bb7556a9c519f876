// A clock that runs N times faster than the wall clock from a chosen start: a demo of a day of
// paper trading in 24 minutes at 60x. Timers are real timers whose delay is divided by the speed,
// so it behaves like the real clock, only faster.

import { WallTimers, type Clock, type EpochMs, type TimerHandle } from "./clock.js";

export class ScaledClock implements Clock {
  private readonly timers = new WallTimers();
  private readonly wallAnchor: number;

  constructor(
    private readonly start: EpochMs,
    readonly speed: number,
    private readonly wallNow: () => number = Date.now,
  ) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`ScaledClock: speed must be a positive number, got ${speed}`);
    if (!Number.isFinite(start)) throw new RangeError(`ScaledClock: start must be a finite epoch ms, got ${start}`);
    this.wallAnchor = wallNow();
  }

  now(): EpochMs {
    return Math.floor(this.start + (this.wallNow() - this.wallAnchor) * this.speed);
  }

  setTimer(at: EpochMs, fn: () => void): TimerHandle {
    if (Number.isNaN(at)) throw new RangeError("ScaledClock.setTimer: time is NaN");
    return this.timers.set((at - this.now()) / this.speed, fn);
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.clear(handle);
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
