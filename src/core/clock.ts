// The one source of time for domain code. Domain code never calls Date.now() or setTimeout:
// it asks a Clock, so a simulated day runs in seconds and the same seed replays byte for byte.

/** Milliseconds since the Unix epoch, UTC. */
export type EpochMs = number;

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Current time in epoch milliseconds. */
  now(): EpochMs;
  /** Runs `fn` once when the clock reaches `at` (immediately on the next turn if `at` is past). */
  setTimer(at: EpochMs, fn: () => void): TimerHandle;
  /** Cancels a pending timer; cancelling a fired or cancelled timer is a no-op. */
  clearTimer(handle: TimerHandle): void;
  /** Resolves when the clock reaches `at`. */
  sleepUntil(at: EpochMs): Promise<void>;
}

interface PendingTimer {
  at: EpochMs;
  seq: number;
  id: number;
  fn: () => void;
  /** Set by sleepUntil: firing it resumes awaiting code, which must run before time moves on. */
  wakesAwaiter: boolean;
}

/**
 * Discrete-event clock: time only moves when the owner advances it, jumping straight to the next
 * timer. Timers at the same instant fire in the order they were set, which keeps runs deterministic.
 */
export class SimulatedClock implements Clock {
  private current: EpochMs;
  private readonly heap: PendingTimer[] = [];
  private readonly cancelled = new Set<number>();
  private nextSeq = 0;
  private nextId = 1;

  constructor(start: EpochMs) {
    if (!Number.isFinite(start)) throw new RangeError(`SimulatedClock: start must be a finite epoch ms, got ${start}`);
    this.current = start;
  }

  now(): EpochMs {
    return this.current;
  }

  setTimer(at: EpochMs, fn: () => void): TimerHandle {
    // NaN compares false both ways: it would sort anywhere in the heap and fire at once, setting now() to NaN.
    if (Number.isNaN(at)) throw new RangeError("SimulatedClock.setTimer: time is NaN");
    return this.schedule(at, fn, false);
  }

  private schedule(at: EpochMs, fn: () => void, wakesAwaiter: boolean): TimerHandle {
    const timer: PendingTimer = { at: Math.max(at, this.current), seq: this.nextSeq++, id: this.nextId++, fn, wakesAwaiter };
    this.push(timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle): void {
    this.cancelled.add(handle.id);
  }

  sleepUntil(at: EpochMs): Promise<void> {
    if (Number.isNaN(at)) return Promise.reject(new RangeError("SimulatedClock.sleepUntil: time is NaN"));
    return new Promise((resolve) => this.schedule(at, resolve, true));
  }

  /** Number of timers still pending (cancelled ones included until they are reached). */
  get pending(): number {
    return this.heap.length;
  }

  /** Time of the next pending timer, or undefined. */
  peekNext(): EpochMs | undefined {
    return this.heap[0]?.at;
  }

  /**
   * Fires every timer due at or before `until` in time order, then leaves the clock at `until`.
   * Timers set while running are honoured if they fall inside the window.
   * Synchronous: promise continuations of `sleepUntil` run after this returns; use `runUntilAsync`
   * when awaiting code must observe each step.
   */
  runUntil(until: EpochMs): void {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > until) break;
      this.pop();
      if (this.cancelled.delete(top.id)) continue;
      this.current = top.at;
      top.fn();
    }
    if (until > this.current) this.current = until;
  }

  /**
   * Like runUntil, but lets awaiting code run to its next wait after every timer that resumes it
   * (a `sleepUntil`), so async code sees time advance exactly as it asked. Timers set with
   * setTimer are plain callbacks and do not pay for the drain.
   */
  async runUntilAsync(until: EpochMs): Promise<void> {
    let drain = true;
    for (;;) {
      if (drain) await settle();
      drain = false;
      const top = this.heap[0];
      if (top === undefined || top.at > until) break;
      this.pop();
      if (this.cancelled.delete(top.id)) continue;
      this.current = top.at;
      top.fn();
      drain = top.wakesAwaiter;
    }
    if (until > this.current) this.current = until;
    await settle();
  }

  /**
   * Advances time until `work` settles and returns its result: the way to run async domain code
   * (a broker session, a system run) on simulated time. Throws if the work waits on nothing.
   */
  async drive<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const tracked = work.finally(() => {
      done = true;
    });
    // Keep the rejection for the caller, not an unhandled one.
    tracked.catch(() => undefined);
    let drain = true;
    for (;;) {
      if (drain) await settle();
      if (done) return tracked;
      drain = false;
      const top = this.heap[0];
      if (top === undefined) {
        await settle();
        if (done) return tracked;
        throw new Error("SimulatedClock.drive: the work is waiting but no timer is pending (it would never finish)");
      }
      this.pop();
      if (this.cancelled.delete(top.id)) continue;
      this.current = top.at;
      top.fn();
      drain = top.wakesAwaiter;
    }
  }

  private less(a: PendingTimer, b: PendingTimer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(t: PendingTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent] as PendingTimer;
      if (!this.less(t, p)) break;
      h[i] = p;
      i = parent;
    }
    h[i] = t;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as PendingTimer;
    if (h.length === 0) return;
    let i = 0;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(h[r] as PendingTimer, h[l] as PendingTimer)) c = r;
      if (!this.less(h[c] as PendingTimer, last)) break;
      h[i] = h[c] as PendingTimer;
      i = c;
    }
    h[i] = last;
  }
}

/**
 * Resolves once every queued promise continuation has run: setImmediate fires only after the
 * microtask queue is empty, however long the chain of awaits. (Simulated runs do no real I/O.)
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Wall-clock time; the only place real timers are used. */
export class RealClock implements Clock {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  now(): EpochMs {
    return Date.now();
  }

  setTimer(at: EpochMs, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, at - Date.now()));
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
    return new Promise((resolve) => this.setTimer(at, resolve));
  }
}
