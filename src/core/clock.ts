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

/** A pending timer is also the handle given out for it (one object per timer, not two). */
interface PendingTimer extends TimerHandle {
  at: EpochMs;
  seq: number;
  id: number;
  fn: () => void;
  /** Set by sleepUntil: firing it resumes awaiting code, which must run before time moves on. */
  wakesAwaiter: boolean;
}

/**
 * Pending timers as a binary min-heap on (at, seq). The keys live in typed arrays beside the timer
 * objects, so the sifts, which run for every timer a simulated day sets (millions), compare
 * numbers in two flat arrays instead of fields spread over the objects.
 */
class TimerHeap {
  private at = new Float64Array(64);
  private seq = new Float64Array(64);
  private timers: (PendingTimer | undefined)[] = new Array<PendingTimer | undefined>(64).fill(undefined);
  size = 0;

  peek(): PendingTimer | undefined {
    return this.size > 0 ? this.timers[0] : undefined;
  }

  push(t: PendingTimer): void {
    if (this.size === this.at.length) this.grow();
    const at = this.at;
    const seq = this.seq;
    const timers = this.timers;
    let i = this.size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pa = at[parent] as number;
      if (t.at > pa || (t.at === pa && t.seq > (seq[parent] as number))) break;
      at[i] = pa;
      seq[i] = seq[parent] as number;
      timers[i] = timers[parent];
      i = parent;
    }
    at[i] = t.at;
    seq[i] = t.seq;
    timers[i] = t;
  }

  /** Removes the earliest timer (the heap must not be empty). */
  pop(): void {
    const at = this.at;
    const seq = this.seq;
    const timers = this.timers;
    const n = --this.size;
    const lastAt = at[n] as number;
    const lastSeq = seq[n] as number;
    const last = timers[n];
    timers[n] = undefined;
    if (n === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n) {
        const ra = at[r] as number;
        const la = at[l] as number;
        if (ra < la || (ra === la && (seq[r] as number) < (seq[l] as number))) c = r;
      }
      const ca = at[c] as number;
      if (ca > lastAt || (ca === lastAt && (seq[c] as number) > lastSeq)) break;
      at[i] = ca;
      seq[i] = seq[c] as number;
      timers[i] = timers[c];
      i = c;
    }
    at[i] = lastAt;
    seq[i] = lastSeq;
    timers[i] = last;
  }

  private grow(): void {
    const n = this.at.length * 2;
    const at = new Float64Array(n);
    at.set(this.at);
    const seq = new Float64Array(n);
    seq.set(this.seq);
    this.at = at;
    this.seq = seq;
    const timers = new Array<PendingTimer | undefined>(n).fill(undefined);
    for (let i = 0; i < this.size; i++) timers[i] = this.timers[i];
    this.timers = timers;
  }
}

/**
 * Discrete-event clock: time only moves when the owner advances it, jumping straight to the next
 * timer. Timers at the same instant fire in the order they were set, which keeps runs deterministic.
 */
export class SimulatedClock implements Clock {
  private current: EpochMs;
  private readonly heap = new TimerHeap();
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
    this.heap.push(timer);
    return timer;
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
    return this.heap.size;
  }

  /** Time of the next pending timer, or undefined. */
  peekNext(): EpochMs | undefined {
    return this.heap.peek()?.at;
  }

  /**
   * Fires every timer due at or before `until` in time order, then leaves the clock at `until`.
   * Timers set while running are honoured if they fall inside the window.
   * Synchronous: promise continuations of `sleepUntil` run after this returns; use `runUntilAsync`
   * when awaiting code must observe each step.
   */
  runUntil(until: EpochMs): void {
    for (;;) {
      const top = this.heap.peek();
      if (top === undefined || top.at > until) break;
      this.heap.pop();
      if (this.cancelled.size > 0 && this.cancelled.delete(top.id)) continue;
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
      const top = this.heap.peek();
      if (top === undefined || top.at > until) break;
      this.heap.pop();
      if (this.cancelled.size > 0 && this.cancelled.delete(top.id)) continue;
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
      const top = this.heap.peek();
      if (top === undefined) {
        await settle();
        if (done) return tracked;
        throw new Error("SimulatedClock.drive: the work is waiting but no timer is pending (it would never finish)");
      }
      this.heap.pop();
      if (this.cancelled.size > 0 && this.cancelled.delete(top.id)) continue;
      this.current = top.at;
      top.fn();
      drain = top.wakesAwaiter;
    }
  }
}

/**
 * Resolves once every queued promise continuation has run: setImmediate fires only after the
 * microtask queue is empty, however long the chain of awaits. (Simulated runs do no real I/O.)
 */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Real timers by id, for the clocks that run on the wall clock (real and scaled). */
export class WallTimers {
  private nextId = 1;
  private readonly timers = new Map<number, NodeJS.Timeout>();

  /** Runs `fn` after `delayMs` real milliseconds. */
  set(delayMs: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    const t = setTimeout(() => {
      this.timers.delete(id);
      fn();
    }, Math.max(0, delayMs));
    this.timers.set(id, t);
    return { id };
  }

  clear(handle: TimerHandle): void {
    const t = this.timers.get(handle.id);
    if (t !== undefined) {
      clearTimeout(t);
      this.timers.delete(handle.id);
    }
  }
}

/** Wall-clock time; with ScaledClock, the only place real timers are used. */
export class RealClock implements Clock {
  private readonly timers = new WallTimers();

  now(): EpochMs {
    return Date.now();
  }

  setTimer(at: EpochMs, fn: () => void): TimerHandle {
    return this.timers.set(at - Date.now(), fn);
  }

  clearTimer(handle: TimerHandle): void {
    this.timers.clear(handle);
  }

  sleepUntil(at: EpochMs): Promise<void> {
    return new Promise((resolve) => this.setTimer(at, resolve));
  }
}
