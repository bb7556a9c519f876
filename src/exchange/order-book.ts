// The bare limit order book of one instrument: integers only (price in ticks, quantity in lots),
// price-time priority, no accounts and no events. The engine (engine.ts) wraps it with validation,
// funds and events; benchmarks drive it directly.
//
// Design, for speed and a small heap:
// - Orders live in a struct-of-arrays pool (typed arrays indexed by slot) with a free list, so an
//   add or a cancel allocates nothing. A handle is `generation * 2^24 + slot`: a stale handle (the
//   slot was freed and reused) is recognised and ignored, which makes cancel idempotent.
// - Price levels are a dense ladder indexed by `price - base`, one ladder for both sides (a resting
//   book is never crossed, so a level is either all bids or all asks). Each level keeps a FIFO
//   doubly-linked list of slots, its total quantity and its order count.
// - A bitmap of non-empty levels finds the next best price with Math.clz32 when a level empties.

export const BUY = 0;
export const SELL = 1;
export type Side = typeof BUY | typeof SELL;

/** Self-trade prevention, applied when a taker meets a resting order of the same owner. */
export const STP_NONE = 0;
export const STP_CANCEL_TAKER = 1;
export const STP_CANCEL_MAKER = 2;
export const STP_CANCEL_BOTH = 3;
export type StpMode = typeof STP_NONE | typeof STP_CANCEL_TAKER | typeof STP_CANCEL_MAKER | typeof STP_CANCEL_BOTH;

/** Returned by bestBid/bestAsk when that side is empty. */
export const NO_PRICE = -1;

const SLOT_BITS = 24;
const SLOT_SPAN = 1 << SLOT_BITS;
const SLOT_MASK = SLOT_SPAN - 1;
const GEN_MASK = (1 << 29) - 1;
/**
 * The widest ladder a book will grow to (4M levels, ~84 MB at worst); the engine rejects prices
 * that would need more as too far from the book, so one stray order cannot exhaust memory.
 */
export const MAX_LADDER_LEVELS = 1 << 22;
const MIN_LADDER_LEVELS = 1024;

export const FILL_TRADE = 0;
export const FILL_STP_CANCEL_MAKER = 1;

/** Reusable output of `match`: one row per maker touched, in execution order. */
export class FillBuffer {
  count = 0;
  /** Set when self-trade prevention cancelled the taker. */
  takerCancelled = false;
  kind = new Uint8Array(64);
  makerHandle = new Float64Array(64);
  makerOwner = new Int32Array(64);
  makerTag = new Float64Array(64);
  price = new Int32Array(64);
  qty = new Float64Array(64);
  /** Maker quantity left after this row (0: the maker is done and its handle is dead). */
  makerRemaining = new Float64Array(64);

  reset(): void {
    this.count = 0;
    this.takerCancelled = false;
  }

  push(kind: number, handle: number, owner: number, tag: number, price: number, qty: number, remaining: number): void {
    if (this.count === this.kind.length) this.grow();
    const i = this.count++;
    this.kind[i] = kind;
    this.makerHandle[i] = handle;
    this.makerOwner[i] = owner;
    this.makerTag[i] = tag;
    this.price[i] = price;
    this.qty[i] = qty;
    this.makerRemaining[i] = remaining;
  }

  private grow(): void {
    const n = this.kind.length * 2;
    this.kind = growU8(this.kind, n);
    this.makerHandle = growF64(this.makerHandle, n);
    this.makerOwner = growI32(this.makerOwner, n);
    this.makerTag = growF64(this.makerTag, n);
    this.price = growI32(this.price, n);
    this.qty = growF64(this.qty, n);
    this.makerRemaining = growF64(this.makerRemaining, n);
  }
}

export interface LevelView {
  price: number;
  qty: number;
  count: number;
}

export class OrderBook {
  // Order pool, indexed by slot.
  private capacity: number;
  private oPrice: Int32Array;
  private oQty: Float64Array;
  private oOwner: Int32Array;
  private oTag: Float64Array;
  private oNext: Int32Array;
  private oPrev: Int32Array;
  private oSide: Uint8Array;
  private oLive: Uint8Array;
  private oGen: Uint32Array;
  private freeSlots: Int32Array;
  private freeCount = 0;
  private used = 0;
  private liveCount = 0;

  // Price ladder, indexed by price - base.
  private base = 0;
  private size = 0;
  private head: Int32Array = new Int32Array(0);
  private tail: Int32Array = new Int32Array(0);
  private lvQty: Float64Array = new Float64Array(0);
  private lvCount: Int32Array = new Int32Array(0);
  private bitmap: Uint32Array = new Uint32Array(0);
  private bestBidIdx = -1;
  private bestAskIdx = -1;

  /** When on, every level whose quantity changes is appended here as `price * 2 + side`. */
  trackTouched = false;
  touched: Float64Array = new Float64Array(64);
  touchedCount = 0;

  constructor(initialCapacity = 1024) {
    this.capacity = Math.max(16, initialCapacity);
    const c = this.capacity;
    this.oPrice = new Int32Array(c);
    this.oQty = new Float64Array(c);
    this.oOwner = new Int32Array(c);
    this.oTag = new Float64Array(c);
    this.oNext = new Int32Array(c);
    this.oPrev = new Int32Array(c);
    this.oSide = new Uint8Array(c);
    this.oLive = new Uint8Array(c);
    this.oGen = new Uint32Array(c).fill(1);
    this.freeSlots = new Int32Array(c);
  }

  // ---- queries ----

  get orderCount(): number {
    return this.liveCount;
  }

  bestBid(): number {
    return this.bestBidIdx < 0 ? NO_PRICE : this.bestBidIdx + this.base;
  }

  bestAsk(): number {
    return this.bestAskIdx < 0 ? NO_PRICE : this.bestAskIdx + this.base;
  }

  /** Whether a price can be held without growing the ladder past MAX_LADDER_LEVELS. */
  fits(price: number): boolean {
    if (!Number.isSafeInteger(price) || price <= 0 || price > 0x7fffffff) return false;
    if (this.size === 0) return true;
    const lo = Math.min(this.base, price);
    const hi = Math.max(this.base + this.size - 1, price);
    return hi - lo + 1 <= MAX_LADDER_LEVELS;
  }

  isLive(handle: number): boolean {
    const slot = handle & SLOT_MASK;
    return slot < this.used && this.oLive[slot] === 1 && this.oGen[slot] === genOf(handle);
  }

  /** Remaining quantity of a live order, 0 when the handle is dead. */
  qtyOf(handle: number): number {
    return this.isLive(handle) ? (this.oQty[handle & SLOT_MASK] as number) : 0;
  }

  priceOf(handle: number): number {
    return this.oPrice[handle & SLOT_MASK] as number;
  }

  sideOf(handle: number): Side {
    return this.oSide[handle & SLOT_MASK] as Side;
  }

  ownerOf(handle: number): number {
    return this.oOwner[handle & SLOT_MASK] as number;
  }

  tagOf(handle: number): number {
    return this.oTag[handle & SLOT_MASK] as number;
  }

  /** Total resting quantity at a price (0 when empty or outside the ladder). */
  levelQty(price: number): number {
    const idx = price - this.base;
    return idx >= 0 && idx < this.size ? (this.lvQty[idx] as number) : 0;
  }

  levelCount(price: number): number {
    const idx = price - this.base;
    return idx >= 0 && idx < this.size ? (this.lvCount[idx] as number) : 0;
  }

  /** Handles resting at a price, in time priority. */
  levelHandles(price: number): number[] {
    const out: number[] = [];
    const idx = price - this.base;
    if (idx < 0 || idx >= this.size) return out;
    for (let s = this.head[idx] as number; s >= 0; s = this.oNext[s] as number) out.push(handleOf(this.oGen[s] as number, s));
    return out;
  }

  /** Top `n` levels of one side, best first. */
  depth(side: Side, n: number): LevelView[] {
    const out: LevelView[] = [];
    let idx = side === BUY ? this.bestBidIdx : this.bestAskIdx;
    while (idx >= 0 && out.length < n) {
      out.push({ price: idx + this.base, qty: this.lvQty[idx] as number, count: this.lvCount[idx] as number });
      idx = side === BUY ? this.prevNonEmpty(idx - 1) : this.nextNonEmpty(idx + 1);
    }
    return out;
  }

  /** Every live order handle, bids best-first then asks best-first, time priority within a level. */
  allHandles(): number[] {
    const out: number[] = [];
    for (const side of [BUY, SELL] as const) {
      for (const lv of this.depth(side, Number.MAX_SAFE_INTEGER)) out.push(...this.levelHandles(lv.price));
    }
    return out;
  }

  /** Heap bytes held by the pool and the ladder (typed arrays only). */
  get reservedBytes(): number {
    const pool = this.capacity * (4 + 8 + 4 + 8 + 4 + 4 + 1 + 1 + 4 + 4);
    const ladder = this.size * (4 + 4 + 8 + 4) + this.bitmap.byteLength;
    return pool + ladder;
  }

  // ---- mutations ----

  /**
   * Rests an order at the tail of its level. The caller has already matched it: a price that
   * would cross the other side is a caller bug and throws. Returns the order's handle.
   */
  add(side: Side, price: number, qty: number, owner: number, tag: number): number {
    if (this.size === 0 || price < this.base || price >= this.base + this.size) this.growLadder(price);
    const idx = price - this.base;
    if (side === BUY ? this.bestAskIdx >= 0 && idx >= this.bestAskIdx : this.bestBidIdx >= 0 && idx <= this.bestBidIdx) {
      throw new RangeError(`OrderBook.add: ${side === BUY ? "buy" : "sell"} at ${price} would cross the book`);
    }
    const slot = this.allocSlot();
    this.oPrice[slot] = price;
    this.oQty[slot] = qty;
    this.oOwner[slot] = owner;
    this.oTag[slot] = tag;
    this.oSide[slot] = side;
    this.oLive[slot] = 1;
    this.oNext[slot] = -1;
    const t = this.tail[idx] as number;
    this.oPrev[slot] = t;
    if (t >= 0) this.oNext[t] = slot;
    else this.head[idx] = slot;
    this.tail[idx] = slot;
    this.lvQty[idx] = (this.lvQty[idx] as number) + qty;
    const before = this.lvCount[idx] as number;
    this.lvCount[idx] = before + 1;
    if (before === 0) {
      this.bitmap[idx >>> 5] = (this.bitmap[idx >>> 5] as number) | (1 << (idx & 31));
      if (side === BUY) {
        if (idx > this.bestBidIdx) this.bestBidIdx = idx;
      } else if (this.bestAskIdx < 0 || idx < this.bestAskIdx) {
        this.bestAskIdx = idx;
      }
    }
    if (this.trackTouched) this.touch(price, side);
    this.liveCount++;
    return handleOf(this.oGen[slot] as number, slot);
  }

  /** Removes a live order; returns the quantity it still had, or 0 for a dead handle (idempotent). */
  cancel(handle: number): number {
    if (!this.isLive(handle)) return 0;
    const slot = handle & SLOT_MASK;
    const qty = this.oQty[slot] as number;
    this.unlink(slot);
    this.freeSlot(slot);
    return qty;
  }

  /** Lowers a live order's quantity in place, keeping its time priority. Returns false otherwise. */
  reduce(handle: number, newQty: number): boolean {
    if (!this.isLive(handle)) return false;
    const slot = handle & SLOT_MASK;
    const old = this.oQty[slot] as number;
    if (!(newQty > 0 && newQty < old)) return false;
    const idx = (this.oPrice[slot] as number) - this.base;
    this.oQty[slot] = newQty;
    this.lvQty[idx] = (this.lvQty[idx] as number) - (old - newQty);
    if (this.trackTouched) this.touch(idx + this.base, this.oSide[slot] as number);
    return true;
  }

  /**
   * Matches an incoming order against the opposite side, best price first and FIFO within a level,
   * at each maker's price, up to `qty` lots and no worse than `limit` (for a market order pass
   * Number.MAX_SAFE_INTEGER for a buy or 0 for a sell). Rows go to `out`. Returns the quantity left.
   */
  match(side: Side, limit: number, qty: number, owner: number, stp: StpMode, out: FillBuffer): number {
    out.reset();
    let rem = qty;
    const checkSelf = stp !== STP_NONE;
    while (rem > 0) {
      const idx = side === BUY ? this.bestAskIdx : this.bestBidIdx;
      if (idx < 0) break;
      const price = idx + this.base;
      if (side === BUY ? price > limit : price < limit) break;
      let slot = this.head[idx] as number;
      while (slot >= 0 && rem > 0) {
        const next = this.oNext[slot] as number;
        const makerOwner = this.oOwner[slot] as number;
        if (checkSelf && makerOwner === owner) {
          if (stp === STP_CANCEL_TAKER) {
            out.takerCancelled = true;
            return rem;
          }
          out.push(FILL_STP_CANCEL_MAKER, handleOf(this.oGen[slot] as number, slot), makerOwner, this.oTag[slot] as number, price, this.oQty[slot] as number, 0);
          const last = (this.lvCount[idx] as number) === 1;
          this.unlink(slot);
          this.freeSlot(slot);
          if (stp === STP_CANCEL_BOTH) {
            out.takerCancelled = true;
            return rem;
          }
          if (last) break;
          slot = next;
          continue;
        }
        const makerQty = this.oQty[slot] as number;
        const f = makerQty < rem ? makerQty : rem;
        const left = makerQty - f;
        rem -= f;
        out.push(FILL_TRADE, handleOf(this.oGen[slot] as number, slot), makerOwner, this.oTag[slot] as number, price, f, left);
        if (left === 0) {
          const last = (this.lvCount[idx] as number) === 1;
          this.unlink(slot);
          this.freeSlot(slot);
          if (last) break;
        } else {
          this.oQty[slot] = left;
          this.lvQty[idx] = (this.lvQty[idx] as number) - f;
          if (this.trackTouched) this.touch(price, 1 - side);
        }
        slot = next;
      }
    }
    return rem;
  }

  /**
   * How much of `qty` could fill now at `limit` or better, and at what cost (sum of price * lots),
   * honouring self-trade prevention the way `match` would. Reads only; used for FOK and for
   * funding market orders.
   */
  fillable(side: Side, limit: number, qty: number, owner: number, stp: StpMode): { qty: number; cost: number } {
    let rem = qty;
    let cost = 0;
    let idx = side === BUY ? this.bestAskIdx : this.bestBidIdx;
    while (idx >= 0 && rem > 0) {
      const price = idx + this.base;
      if (side === BUY ? price > limit : price < limit) break;
      for (let slot = this.head[idx] as number; slot >= 0 && rem > 0; slot = this.oNext[slot] as number) {
        if (stp !== STP_NONE && this.oOwner[slot] === owner) {
          if (stp === STP_CANCEL_MAKER) continue;
          return { qty: qty - rem, cost };
        }
        const q = this.oQty[slot] as number;
        const f = q < rem ? q : rem;
        rem -= f;
        cost += f * price;
      }
      idx = side === BUY ? this.nextNonEmpty(idx + 1) : this.prevNonEmpty(idx - 1);
    }
    return { qty: qty - rem, cost };
  }

  // ---- internals ----

  private touch(price: number, side: number): void {
    const key = price * 2 + side;
    const n = this.touchedCount;
    if (n > 0 && this.touched[n - 1] === key) return;
    if (n === this.touched.length) this.touched = growF64(this.touched, n * 2);
    this.touched[n] = key;
    this.touchedCount = n + 1;
  }

  private allocSlot(): number {
    if (this.freeCount > 0) return this.freeSlots[--this.freeCount] as number;
    if (this.used === this.capacity) this.growPool();
    return this.used++;
  }

  private freeSlot(slot: number): void {
    this.oLive[slot] = 0;
    this.oGen[slot] = ((this.oGen[slot] as number) + 1) & GEN_MASK || 1;
    this.freeSlots[this.freeCount++] = slot;
    this.liveCount--;
  }

  /** Takes a slot out of its level list and keeps level totals, bitmap and best prices right. */
  private unlink(slot: number): void {
    const idx = (this.oPrice[slot] as number) - this.base;
    const p = this.oPrev[slot] as number;
    const n = this.oNext[slot] as number;
    if (p >= 0) this.oNext[p] = n;
    else this.head[idx] = n;
    if (n >= 0) this.oPrev[n] = p;
    else this.tail[idx] = p;
    this.lvQty[idx] = (this.lvQty[idx] as number) - (this.oQty[slot] as number);
    if (this.trackTouched) this.touch(idx + this.base, this.oSide[slot] as number);
    const left = (this.lvCount[idx] as number) - 1;
    this.lvCount[idx] = left;
    if (left === 0) {
      this.lvQty[idx] = 0;
      this.bitmap[idx >>> 5] = (this.bitmap[idx >>> 5] as number) & ~(1 << (idx & 31));
      if (idx === this.bestBidIdx) this.bestBidIdx = this.prevNonEmpty(idx - 1);
      else if (idx === this.bestAskIdx) this.bestAskIdx = this.nextNonEmpty(idx + 1);
    }
  }

  /** Largest non-empty index <= idx, or -1. */
  private prevNonEmpty(idx: number): number {
    if (idx < 0) return -1;
    let w = idx >>> 5;
    const b = idx & 31;
    let bits = (this.bitmap[w] as number) & (b === 31 ? -1 : (1 << (b + 1)) - 1);
    for (;;) {
      if (bits !== 0) return (w << 5) + 31 - Math.clz32(bits);
      if (--w < 0) return -1;
      bits = this.bitmap[w] as number;
    }
  }

  /** Smallest non-empty index >= idx, or -1. */
  private nextNonEmpty(idx: number): number {
    if (idx >= this.size) return -1;
    let w = idx >>> 5;
    let bits = (this.bitmap[w] as number) & (-1 << (idx & 31));
    const words = this.bitmap.length;
    for (;;) {
      if (bits !== 0) return (w << 5) + 31 - Math.clz32(bits & -bits);
      if (++w >= words) return -1;
      bits = this.bitmap[w] as number;
    }
  }

  private growPool(): void {
    const n = this.capacity * 2;
    if (n > SLOT_SPAN) throw new RangeError(`OrderBook: more than ${SLOT_SPAN} resting orders`);
    this.oPrice = growI32(this.oPrice, n);
    this.oQty = growF64(this.oQty, n);
    this.oOwner = growI32(this.oOwner, n);
    this.oTag = growF64(this.oTag, n);
    this.oNext = growI32(this.oNext, n);
    this.oPrev = growI32(this.oPrev, n);
    this.oSide = growU8(this.oSide, n);
    this.oLive = growU8(this.oLive, n);
    const gen = new Uint32Array(n).fill(1);
    gen.set(this.oGen);
    this.oGen = gen;
    this.freeSlots = growI32(this.freeSlots, n);
    this.capacity = n;
  }

  /** Re-centres and widens the ladder so that `price` fits, keeping every level's contents. */
  private growLadder(price: number): void {
    if (!this.fits(price)) throw new RangeError(`OrderBook: price ${price} is outside the ladder limit`);
    let lo: number;
    let hi: number;
    if (this.size === 0) {
      lo = price;
      hi = price;
    } else {
      lo = Math.min(this.base, price);
      hi = Math.max(this.base + this.size - 1, price);
    }
    const span = hi - lo + 1;
    let newSize = Math.max(MIN_LADDER_LEVELS, this.size * 2);
    while (newSize < span * 2 && newSize < MAX_LADDER_LEVELS) newSize *= 2;
    newSize = Math.min(newSize, MAX_LADDER_LEVELS);
    const newBase = Math.max(1, lo - Math.floor((newSize - span) / 2));
    const shift = this.base - newBase;
    const head = new Int32Array(newSize).fill(-1);
    const tail = new Int32Array(newSize).fill(-1);
    const lvQty = new Float64Array(newSize);
    const lvCount = new Int32Array(newSize);
    const bitmap = new Uint32Array((newSize + 31) >>> 5);
    for (let i = 0; i < this.size; i++) {
      if ((this.lvCount[i] as number) === 0) continue;
      const j = i + shift;
      head[j] = this.head[i] as number;
      tail[j] = this.tail[i] as number;
      lvQty[j] = this.lvQty[i] as number;
      lvCount[j] = this.lvCount[i] as number;
      bitmap[j >>> 5] = (bitmap[j >>> 5] as number) | (1 << (j & 31));
    }
    if (this.bestBidIdx >= 0) this.bestBidIdx += shift;
    if (this.bestAskIdx >= 0) this.bestAskIdx += shift;
    this.head = head;
    this.tail = tail;
    this.lvQty = lvQty;
    this.lvCount = lvCount;
    this.bitmap = bitmap;
    this.base = newBase;
    this.size = newSize;
  }
}

/** The pool slot of a handle: dense and reused, so callers can index side tables by it. */
export function slotOf(handle: number): number {
  return handle & SLOT_MASK;
}

function genOf(handle: number): number {
  return Math.floor(handle / SLOT_SPAN);
}

function handleOf(gen: number, slot: number): number {
  return gen * SLOT_SPAN + slot;
}

function growI32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

function growU8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}
