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
    const timer: PendingTimer = { at: Math.max(at, this.current), seq: this.nextSeq++, id: this.nextId++, fn };
    this.push(timer);
    return { id: timer.id };
  }

  clearTimer(handle: TimerHandle): void {
    this.cancelled.add(handle.id);
  }

  sleepUntil(at: EpochMs): Promise<void> {
    return new Promise((resolve) => this.setTimer(at, resolve));
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

  /** Like runUntil, but yields to the microtask queue after every timer so awaiting code keeps pace. */
  async runUntilAsync(until: EpochMs): Promise<void> {
    for (;;) {
      const top = this.heap[0];
      if (top === undefined || top.at > until) break;
      this.pop();
      if (this.cancelled.delete(top.id)) continue;
      this.current = top.at;
      top.fn();
      await drainMicrotasks();
    }
    if (until > this.current) this.current = until;
    await drainMicrotasks();
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

/** Lets every already-queued promise continuation run (several hops, for chained awaits). */
async function drainMicrotasks(): Promise<void> {
  for (let i = 0; i < 8; i++) await Promise.resolve();
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
