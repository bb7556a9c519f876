// Seeded order-flow generator for the benchmarks. The whole op stream is produced up front into
// typed arrays, so nothing random (and no allocation) happens while a benchmark is timed.
//
// The stream: a prefill of passive adds up to the target book size, then the timed mix
//   60% passive limit adds   - uniform side, uniform price over `levelsPerSide` levels on that side of
//                              a fixed mid (bids mid-1 .. mid-levelsPerSide, asks mirrored), qty 1..10;
//                              never crossing, so they always rest
//   30% cancels              - of a uniformly chosen order that is live at that point of the stream
//   10% aggressive limits    - uniform side, limit priced through the opposite side just far enough
//                              to fill the whole size (plus 0..3 ticks of slack), IOC-like: match,
//                              then drop any remainder. Their size follows the book size (about 3
//                              resting orders' worth at the target, more when the book is above it,
//                              less below), which keeps the book near its target size.
// Liveness is decided by replaying the stream on a scratch OrderBook while generating (price-time
// priority fixes which makers an aggressive order consumes), so every cancel in the stream hits a
// live order in any correct price-time book that replays it from the start: the runners count cancels
// that miss as a correctness check (expected 0).
//
// Orders are named by a client reference, as a trading client would keep them: a small integer
// taken from a free list when the order is sent and given back once the order is gone (cancelled,
// filled, or, for an aggressive order, right after it matched). The runners keep handle / id tables
// indexed by it, so those tables stay about as large as the book, not as long as the stream.

import { Rng } from "../src/core/rng.js";
import { BUY, FillBuffer, NO_PRICE, OrderBook, SELL, STP_NONE, type Side } from "../src/exchange/order-book.js";

export const OP_ADD = 0;
export const OP_CANCEL = 1;
export const OP_TAKE = 2;

export interface WorkloadParams {
  name: string;
  seed: number;
  /** Resting orders the book is held near. */
  targetOrders: number;
  /** Width of the price band on each side of the mid, in ticks (levels). */
  levelsPerSide: number;
  /** Timed operations after the prefill. */
  ops: number;
  /** Mid price in ticks. */
  mid: number;
  /** Owners (accounts 1..owners) the orders are spread over. */
  owners: number;
}

export interface WorkloadStats {
  adds: number;
  cancels: number;
  takes: number;
  /** Resting orders: mean over the timed part, min, max and at the end. */
  meanOrders: number;
  minOrders: number;
  maxOrders: number;
  finalOrders: number;
  /** Non-empty price levels at the end. */
  finalLevels: number;
  /** Mean best ask - best bid over the timed part, in ticks. */
  meanSpread: number;
  /** Maker rows (fills) per aggressive op, and the share of aggressive ops that left a remainder. */
  fillsPerTake: number;
  takesWithRemainder: number;
  /** Price span the resting orders can occupy (both sides). */
  bandLevels: number;
}

export interface Workload {
  params: WorkloadParams;
  /** Ops [0, prefill) are the untimed passive adds that build the initial book. */
  prefill: number;
  /** Total ops, prefill included. */
  count: number;
  kind: Uint8Array;
  side: Uint8Array;
  price: Int32Array;
  qty: Int32Array;
  /** Add / take: the order's client reference. Cancel: the client reference of the target order. */
  ref: Int32Array;
  /** Owner (account id, 1-based) of the order; for a cancel, the owner of the target. */
  owner: Int32Array;
  /** Resting orders after each op (to check a replay of any prefix). */
  ordersAfter: Int32Array;
  /** Client references used (at most the live orders plus one): the size of a handle / id table. */
  refCount: number;
  stats: WorkloadStats;
}

const MAX_PASSIVE_QTY = 10;
const MEAN_PASSIVE_QTY = (1 + MAX_PASSIVE_QTY) / 2;

export function generateWorkload(p: WorkloadParams): Workload {
  const rng = new Rng(p.seed);
  const count = p.targetOrders + p.ops;
  const kind = new Uint8Array(count);
  const side = new Uint8Array(count);
  const price = new Int32Array(count);
  const qty = new Int32Array(count);
  const ref = new Int32Array(count);
  const owner = new Int32Array(count);
  const ordersAfter = new Int32Array(count);

  // Scratch replay state: live client references in a dense array with positions for O(1) removal,
  // and the free list of references.
  const book = new OrderBook(p.targetOrders * 2);
  const fills = new FillBuffer();
  const live = new Int32Array(count);
  const pos = new Int32Array(count).fill(-1);
  const handle = new Float64Array(count);
  const ownerOf = new Int32Array(count);
  let liveCount = 0;
  const freeRefs = new Int32Array(count);
  let freeRefCount = 0;
  let refCount = 0;
  const allocRef = (): number => (freeRefCount > 0 ? (freeRefs[--freeRefCount] as number) : refCount++);
  const releaseRef = (r: number): void => {
    freeRefs[freeRefCount++] = r;
  };

  const removeLive = (s: number): void => {
    const i = pos[s] as number;
    const last = live[--liveCount] as number;
    live[i] = last;
    pos[last] = i;
    pos[s] = -1;
    releaseRef(s);
  };

  const add = (i: number): void => {
    const sd: Side = rng.next() < 0.5 ? BUY : SELL;
    const off = 1 + rng.int(p.levelsPerSide);
    const px = sd === BUY ? p.mid - off : p.mid + off;
    const q = 1 + rng.int(MAX_PASSIVE_QTY);
    const who = 1 + rng.int(p.owners);
    const s = allocRef();
    kind[i] = OP_ADD;
    side[i] = sd;
    price[i] = px;
    qty[i] = q;
    ref[i] = s;
    owner[i] = who;
    handle[s] = book.add(sd, px, q, who, s);
    ownerOf[s] = who;
    pos[s] = liveCount;
    live[liveCount++] = s;
  };

  let adds = 0;
  let cancels = 0;
  let takes = 0;
  let fillRows = 0;
  let remainders = 0;
  let sumOrders = 0;
  let minOrders = Number.MAX_SAFE_INTEGER;
  let sumSpread = 0;
  let spreadSamples = 0;
  let maxOrders = 0;

  for (let i = 0; i < p.targetOrders; i++) {
    add(i);
    ordersAfter[i] = book.orderCount;
  }

  for (let i = p.targetOrders; i < count; i++) {
    const r = rng.next();
    let op = r < 0.6 ? OP_ADD : r < 0.9 ? OP_CANCEL : OP_TAKE;
    let takeSide: Side = BUY;
    if (op === OP_TAKE) {
      takeSide = rng.next() < 0.5 ? BUY : SELL;
      if ((takeSide === BUY ? book.bestAsk() : book.bestBid()) === NO_PRICE) op = OP_ADD;
    }
    if (op === OP_CANCEL && liveCount === 0) op = OP_ADD;

    if (op === OP_ADD) {
      add(i);
      adds++;
    } else if (op === OP_CANCEL) {
      const s = live[rng.int(liveCount)] as number;
      kind[i] = OP_CANCEL;
      ref[i] = s;
      owner[i] = ownerOf[s] as number;
      side[i] = book.sideOf(handle[s] as number);
      book.cancel(handle[s] as number);
      removeLive(s);
      cancels++;
    } else {
      // Proportional control on the book size: ~3 orders' worth at the target.
      const n = book.orderCount;
      const k = Math.min(12, Math.max(0.5, 3 + (20 * (n - p.targetOrders)) / p.targetOrders));
      const q = Math.max(1, Math.round(k * MEAN_PASSIVE_QTY * (0.5 + rng.next())));
      const limit = sweepLimit(book, takeSide, q, p) + (takeSide === BUY ? 1 : -1) * rng.int(4);
      const who = 1 + rng.int(p.owners);
      const s = allocRef();
      kind[i] = OP_TAKE;
      side[i] = takeSide;
      price[i] = limit;
      qty[i] = q;
      ref[i] = s;
      owner[i] = who;
      const rem = book.match(takeSide, limit, q, who, STP_NONE, fills);
      for (let j = 0; j < fills.count; j++) {
        if ((fills.makerRemaining[j] as number) === 0) removeLive(fills.makerTag[j] as number);
      }
      releaseRef(s);
      fillRows += fills.count;
      if (rem > 0) remainders++;
      takes++;
    }
    const n = book.orderCount;
    ordersAfter[i] = n;
    sumOrders += n;
    const bid = book.bestBid();
    const ask = book.bestAsk();
    if (bid !== NO_PRICE && ask !== NO_PRICE) {
      sumSpread += ask - bid;
      spreadSamples++;
    }
    if (n < minOrders) minOrders = n;
    if (n > maxOrders) maxOrders = n;
  }

  if (liveCount !== book.orderCount) throw new Error(`workload ${p.name}: live tracking is off (${liveCount} vs ${book.orderCount})`);
  const finalLevels = book.depth(BUY, Number.MAX_SAFE_INTEGER).length + book.depth(SELL, Number.MAX_SAFE_INTEGER).length;
  return {
    params: p,
    prefill: p.targetOrders,
    count,
    kind,
    side,
    price,
    qty,
    ref,
    owner,
    ordersAfter,
    refCount,
    stats: {
      adds,
      cancels,
      takes,
      meanOrders: p.ops > 0 ? sumOrders / p.ops : book.orderCount,
      minOrders: p.ops > 0 ? minOrders : book.orderCount,
      maxOrders: p.ops > 0 ? maxOrders : book.orderCount,
      finalOrders: book.orderCount,
      finalLevels,
      meanSpread: spreadSamples > 0 ? sumSpread / spreadSamples : 0,
      fillsPerTake: takes > 0 ? fillRows / takes : 0,
      takesWithRemainder: takes > 0 ? remainders / takes : 0,
      bandLevels: 2 * p.levelsPerSide,
    },
  };
}

/** The price an aggressive order must reach to fill `q` lots now (the band edge if it cannot). */
function sweepLimit(book: OrderBook, takeSide: Side, q: number, p: WorkloadParams): number {
  const opposite = takeSide === BUY ? SELL : BUY;
  for (let levels = 8; ; levels *= 8) {
    const view = book.depth(opposite, levels);
    let need = q;
    for (const lv of view) {
      need -= lv.qty;
      if (need <= 0) return lv.price;
    }
    if (view.length < levels) return takeSide === BUY ? p.mid + p.levelsPerSide : p.mid - p.levelsPerSide;
  }
}
