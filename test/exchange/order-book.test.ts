import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  BUY,
  FILL_STP_CANCEL_MAKER,
  FILL_TRADE,
  FillBuffer,
  MAX_LADDER_LEVELS,
  NO_PRICE,
  OrderBook,
  SELL,
  STP_CANCEL_BOTH,
  STP_CANCEL_MAKER,
  STP_CANCEL_TAKER,
  STP_NONE,
  type Side,
  type StpMode,
} from "../../src/exchange/order-book.js";

interface Row {
  kind: number;
  handle: number;
  owner: number;
  tag: number;
  price: number;
  qty: number;
  left: number;
}

function rows(out: FillBuffer): Row[] {
  const r: Row[] = [];
  for (let i = 0; i < out.count; i++) {
    r.push({
      kind: out.kind[i] as number,
      handle: out.makerHandle[i] as number,
      owner: out.makerOwner[i] as number,
      tag: out.makerTag[i] as number,
      price: out.price[i] as number,
      qty: out.qty[i] as number,
      left: out.makerRemaining[i] as number,
    });
  }
  return r;
}

describe("OrderBook: add and queries", () => {
  it("starts empty", () => {
    const b = new OrderBook();
    expect(b.bestBid()).toBe(NO_PRICE);
    expect(b.bestAsk()).toBe(NO_PRICE);
    expect(b.orderCount).toBe(0);
    expect(b.depth(BUY, 5)).toEqual([]);
    expect(b.levelHandles(100)).toEqual([]);
    expect(b.levelQty(100)).toBe(0);
    expect(b.levelCount(100)).toBe(0);
  });

  it("adds orders at the tail of their level and keeps best prices, totals and counts", () => {
    const b = new OrderBook();
    const h1 = b.add(BUY, 100, 5, 1, 11);
    const h2 = b.add(BUY, 100, 3, 2, 12);
    const h3 = b.add(BUY, 98, 7, 1, 13);
    const h4 = b.add(SELL, 103, 4, 3, 14);
    const h5 = b.add(SELL, 101, 2, 3, 15);
    expect(b.bestBid()).toBe(100);
    expect(b.bestAsk()).toBe(101);
    expect(b.orderCount).toBe(5);
    expect(b.levelQty(100)).toBe(8);
    expect(b.levelCount(100)).toBe(2);
    expect(b.levelHandles(100)).toEqual([h1, h2]);
    expect(b.depth(BUY, 5)).toEqual([
      { price: 100, qty: 8, count: 2 },
      { price: 98, qty: 7, count: 1 },
    ]);
    expect(b.depth(SELL, 1)).toEqual([{ price: 101, qty: 2, count: 1 }]);
    expect(b.allHandles()).toEqual([h1, h2, h3, h5, h4]);
    expect([b.priceOf(h3), b.sideOf(h3), b.ownerOf(h3), b.tagOf(h3), b.qtyOf(h3)]).toEqual([98, BUY, 1, 13, 7]);
    expect(b.sideOf(h4)).toBe(SELL);
  });

  it("refuses to rest an order that would cross the other side", () => {
    const b = new OrderBook();
    b.add(BUY, 100, 1, 1, 1);
    b.add(SELL, 105, 1, 1, 2);
    expect(() => b.add(SELL, 100, 1, 2, 3)).toThrow(RangeError);
    expect(() => b.add(SELL, 99, 1, 2, 3)).toThrow(RangeError);
    expect(() => b.add(BUY, 105, 1, 2, 3)).toThrow(RangeError);
    expect(() => b.add(BUY, 106, 1, 2, 3)).toThrow(RangeError);
    expect(b.orderCount).toBe(2);
    b.add(SELL, 101, 1, 2, 4);
    b.add(BUY, 100, 1, 2, 5);
    expect([b.bestBid(), b.bestAsk()]).toEqual([100, 101]);
  });

  it("grows its order pool past the initial capacity", () => {
    const b = new OrderBook(16);
    const hs: number[] = [];
    for (let i = 0; i < 100; i++) hs.push(b.add(BUY, 50 + (i % 10), i + 1, i, i));
    expect(b.orderCount).toBe(100);
    for (let i = 0; i < 100; i++) expect(b.qtyOf(hs[i] as number)).toBe(i + 1);
    expect(b.levelCount(59)).toBe(10);
  });

  it("fits only positive int32 prices within the ladder limit", () => {
    const b = new OrderBook();
    expect(b.fits(0)).toBe(false);
    expect(b.fits(-5)).toBe(false);
    expect(b.fits(1.5)).toBe(false);
    expect(b.fits(0x7fffffff + 1)).toBe(false);
    expect(b.fits(0x7fffffff)).toBe(true);
    b.add(BUY, 1000, 1, 1, 1);
    expect(b.fits(1000 + MAX_LADDER_LEVELS * 2)).toBe(false);
    expect(() => b.add(SELL, 1000 + MAX_LADDER_LEVELS * 2, 1, 1, 2)).toThrow(RangeError);
    expect(b.orderCount).toBe(1);
  });
});

describe("OrderBook: cancel and reduce", () => {
  it("cancel returns the remaining quantity once, then 0 (idempotent)", () => {
    const b = new OrderBook();
    const h1 = b.add(SELL, 110, 5, 1, 1);
    const h2 = b.add(SELL, 110, 4, 2, 2);
    const h3 = b.add(SELL, 112, 3, 2, 3);
    expect(b.cancel(h1)).toBe(5);
    expect(b.cancel(h1)).toBe(0);
    expect(b.isLive(h1)).toBe(false);
    expect(b.qtyOf(h1)).toBe(0);
    expect(b.levelHandles(110)).toEqual([h2]);
    expect(b.levelQty(110)).toBe(4);
    expect(b.cancel(h2)).toBe(4);
    expect(b.bestAsk()).toBe(112);
    expect(b.levelQty(110)).toBe(0);
    expect(b.cancel(h3)).toBe(3);
    expect(b.bestAsk()).toBe(NO_PRICE);
    expect(b.orderCount).toBe(0);
  });

  it("cancel of the middle order keeps the level's FIFO links right", () => {
    const b = new OrderBook();
    const hs = [1, 2, 3, 4].map((i) => b.add(BUY, 90, i, i, i));
    b.cancel(hs[1] as number);
    expect(b.levelHandles(90)).toEqual([hs[0], hs[2], hs[3]]);
    b.cancel(hs[3] as number);
    expect(b.levelHandles(90)).toEqual([hs[0], hs[2]]);
    const h5 = b.add(BUY, 90, 5, 5, 5);
    expect(b.levelHandles(90)).toEqual([hs[0], hs[2], h5]);
    b.cancel(hs[0] as number);
    expect(b.levelHandles(90)).toEqual([hs[2], h5]);
    expect(b.levelQty(90)).toBe(3 + 5);
  });

  it("ignores a stale handle after its slot is reused", () => {
    const b = new OrderBook();
    const old = b.add(BUY, 100, 5, 1, 1);
    expect(b.cancel(old)).toBe(5);
    const fresh = b.add(BUY, 101, 7, 2, 2); // takes the freed slot with a new generation
    expect(fresh).not.toBe(old);
    expect(b.isLive(old)).toBe(false);
    expect(b.cancel(old)).toBe(0);
    expect(b.reduce(old, 1)).toBe(false);
    expect(b.qtyOf(old)).toBe(0);
    expect(b.isLive(fresh)).toBe(true);
    expect(b.qtyOf(fresh)).toBe(7);
    expect(b.isLive(-1)).toBe(false);
    expect(b.isLive(Number.NaN)).toBe(false);
  });

  it("reduce lowers quantity in place (priority kept) and refuses anything else", () => {
    const b = new OrderBook();
    const h1 = b.add(SELL, 120, 10, 1, 1);
    const h2 = b.add(SELL, 120, 10, 2, 2);
    expect(b.reduce(h1, 4)).toBe(true);
    expect(b.qtyOf(h1)).toBe(4);
    expect(b.levelQty(120)).toBe(14);
    expect(b.levelHandles(120)).toEqual([h1, h2]);
    expect(b.reduce(h1, 4)).toBe(false); // same
    expect(b.reduce(h1, 5)).toBe(false); // increase
    expect(b.reduce(h1, 0)).toBe(false); // that is a cancel
    expect(b.levelQty(120)).toBe(14);
    const out = new FillBuffer();
    expect(b.match(BUY, 120, 5, 9, STP_NONE, out)).toBe(0);
    expect(rows(out).map((r) => [r.owner, r.qty, r.left])).toEqual([
      [1, 4, 0],
      [2, 1, 9],
    ]);
  });
});

describe("OrderBook: match", () => {
  it("fills best price first, FIFO within a level, at the maker's price, no worse than the limit", () => {
    const b = new OrderBook();
    const a1 = b.add(SELL, 101, 2, 1, 1);
    const a2 = b.add(SELL, 101, 3, 2, 2);
    const a3 = b.add(SELL, 102, 4, 3, 3);
    b.add(SELL, 104, 9, 4, 4);
    const out = new FillBuffer();
    const left = b.match(BUY, 103, 8, 9, STP_CANCEL_TAKER, out);
    expect(left).toBe(0);
    expect(rows(out)).toEqual([
      { kind: FILL_TRADE, handle: a1, owner: 1, tag: 1, price: 101, qty: 2, left: 0 },
      { kind: FILL_TRADE, handle: a2, owner: 2, tag: 2, price: 101, qty: 3, left: 0 },
      { kind: FILL_TRADE, handle: a3, owner: 3, tag: 3, price: 102, qty: 3, left: 1 },
    ]);
    expect(b.bestAsk()).toBe(102);
    expect(b.levelQty(102)).toBe(1);
    expect(b.qtyOf(a3)).toBe(1);
    expect(b.isLive(a1)).toBe(false);
    expect(b.orderCount).toBe(2);
  });

  it("stops at the limit and returns the rest", () => {
    const b = new OrderBook();
    b.add(BUY, 99, 2, 1, 1);
    b.add(BUY, 97, 5, 2, 2);
    const out = new FillBuffer();
    expect(b.match(SELL, 98, 10, 9, STP_NONE, out)).toBe(8);
    expect(rows(out).map((r) => [r.price, r.qty])).toEqual([[99, 2]]);
    expect(b.bestBid()).toBe(97);
    // A market sell (limit 0) walks every level.
    expect(b.match(SELL, 0, 10, 9, STP_NONE, out)).toBe(5);
    expect(rows(out).map((r) => [r.price, r.qty])).toEqual([[97, 5]]);
    expect(b.bestBid()).toBe(NO_PRICE);
    // Nothing to match: nothing happens.
    expect(b.match(SELL, 0, 3, 9, STP_NONE, out)).toBe(3);
    expect(out.count).toBe(0);
  });

  it("grows its fill buffer past 64 rows", () => {
    const b = new OrderBook();
    for (let i = 0; i < 200; i++) b.add(SELL, 500 + (i % 7), 1, i + 10, i);
    const out = new FillBuffer();
    expect(b.match(BUY, 506, 150, 1, STP_NONE, out)).toBe(0);
    expect(out.count).toBe(150);
    const r = rows(out);
    for (let i = 1; i < r.length; i++) expect((r[i] as Row).price).toBeGreaterThanOrEqual((r[i - 1] as Row).price);
    expect(b.orderCount).toBe(50);
  });

  describe("self-trade prevention", () => {
    // Book: asks 101 [other 2, self 3, other 4], 102 [other 5].
    const setup = (): { b: OrderBook; h: number[] } => {
      const b = new OrderBook();
      const h = [b.add(SELL, 101, 2, 1, 1), b.add(SELL, 101, 3, 7, 2), b.add(SELL, 101, 4, 3, 3), b.add(SELL, 102, 5, 4, 4)];
      return { b, h };
    };

    it("cancel_taker: fills up to the own order, then stops with the taker cancelled", () => {
      const { b, h } = setup();
      const out = new FillBuffer();
      expect(b.match(BUY, 102, 10, 7, STP_CANCEL_TAKER, out)).toBe(8);
      expect(out.takerCancelled).toBe(true);
      expect(rows(out).map((r) => [r.kind, r.tag, r.qty])).toEqual([[FILL_TRADE, 1, 2]]);
      expect(b.isLive(h[1] as number)).toBe(true);
      expect(b.levelQty(101)).toBe(7);
      // The own order now heads the level: nothing more can fill for this owner.
      expect(b.fillable(BUY, 102, 10, 7, STP_CANCEL_TAKER)).toEqual({ qty: 0, cost: 0 });
    });

    it("cancel_maker: cancels the own order and keeps matching", () => {
      const { b, h } = setup();
      expect(b.fillable(BUY, 102, 10, 7, STP_CANCEL_MAKER)).toEqual({ qty: 10, cost: 2 * 101 + 4 * 101 + 4 * 102 });
      const out = new FillBuffer();
      expect(b.match(BUY, 102, 10, 7, STP_CANCEL_MAKER, out)).toBe(0);
      expect(out.takerCancelled).toBe(false);
      expect(rows(out).map((r) => [r.kind, r.tag, r.qty, r.left])).toEqual([
        [FILL_TRADE, 1, 2, 0],
        [FILL_STP_CANCEL_MAKER, 2, 3, 0],
        [FILL_TRADE, 3, 4, 0],
        [FILL_TRADE, 4, 4, 1],
      ]);
      expect(b.isLive(h[1] as number)).toBe(false);
      expect(b.orderCount).toBe(1);
    });

    it("cancel_maker on a level holding only the own order moves on to the next level", () => {
      const b = new OrderBook();
      b.add(SELL, 101, 3, 7, 1);
      b.add(SELL, 102, 5, 4, 2);
      const out = new FillBuffer();
      expect(b.match(BUY, 102, 2, 7, STP_CANCEL_MAKER, out)).toBe(0);
      expect(rows(out).map((r) => [r.kind, r.price, r.qty])).toEqual([
        [FILL_STP_CANCEL_MAKER, 101, 3],
        [FILL_TRADE, 102, 2],
      ]);
      expect(b.bestAsk()).toBe(102);
    });

    it("cancel_both: cancels the own maker and the taker", () => {
      const { b, h } = setup();
      expect(b.fillable(BUY, 102, 10, 7, STP_CANCEL_BOTH)).toEqual({ qty: 2, cost: 202 });
      const out = new FillBuffer();
      expect(b.match(BUY, 102, 10, 7, STP_CANCEL_BOTH, out)).toBe(8);
      expect(out.takerCancelled).toBe(true);
      expect(rows(out).map((r) => [r.kind, r.tag, r.qty])).toEqual([
        [FILL_TRADE, 1, 2],
        [FILL_STP_CANCEL_MAKER, 2, 3],
      ]);
      expect(b.isLive(h[1] as number)).toBe(false);
      expect(b.levelHandles(101)).toEqual([h[2]]);
    });

    it("none: trades with the own order", () => {
      const { b } = setup();
      const out = new FillBuffer();
      expect(b.match(BUY, 101, 9, 7, STP_NONE, out)).toBe(0);
      expect(rows(out).map((r) => [r.owner, r.qty])).toEqual([
        [1, 2],
        [7, 3],
        [3, 4],
      ]);
    });
  });

  it("fillable reads without changing the book", () => {
    const b = new OrderBook();
    b.add(BUY, 50, 3, 1, 1);
    b.add(BUY, 49, 4, 2, 2);
    expect(b.fillable(SELL, 49, 5, 9, STP_NONE)).toEqual({ qty: 5, cost: 3 * 50 + 2 * 49 });
    expect(b.fillable(SELL, 50, 5, 9, STP_NONE)).toEqual({ qty: 3, cost: 150 });
    expect(b.fillable(SELL, 0, 100, 9, STP_NONE)).toEqual({ qty: 7, cost: 150 + 196 });
    expect(b.fillable(SELL, 51, 5, 9, STP_NONE)).toEqual({ qty: 0, cost: 0 });
    expect(b.depth(BUY, 5)).toEqual([
      { price: 50, qty: 3, count: 1 },
      { price: 49, qty: 4, count: 1 },
    ]);
  });

  it("records touched levels as price * 2 + side when tracking", () => {
    const b = new OrderBook();
    b.trackTouched = true;
    b.add(SELL, 101, 2, 1, 1);
    b.add(SELL, 102, 2, 1, 2);
    b.add(BUY, 99, 2, 1, 3);
    const out = new FillBuffer();
    b.match(BUY, 102, 3, 2, STP_NONE, out);
    expect(Array.from(b.touched.subarray(0, b.touchedCount))).toEqual([101 * 2 + SELL, 102 * 2 + SELL, 99 * 2 + BUY, 101 * 2 + SELL, 102 * 2 + SELL]);
  });
});

describe("OrderBook: ladder growth", () => {
  it("re-centres and widens for far prices, keeping every level's contents and order", () => {
    const b = new OrderBook();
    const mid = [b.add(BUY, 100_000, 1, 1, 1), b.add(BUY, 100_000, 2, 2, 2), b.add(SELL, 100_001, 3, 3, 3)];
    const nearAsk = b.add(SELL, 101_500, 4, 4, 4); // just past the first ladder: re-centred, contents shift
    const farBid = b.add(BUY, 3, 5, 5, 5); // far below, near the floor of 1
    const farAsk = b.add(SELL, 400_000, 6, 6, 6); // far above
    expect(b.bestBid()).toBe(100_000);
    expect(b.bestAsk()).toBe(100_001);
    expect(b.levelHandles(100_000)).toEqual([mid[0], mid[1]]);
    expect(b.levelQty(100_000)).toBe(3);
    expect(b.depth(SELL, 10)).toEqual([
      { price: 100_001, qty: 3, count: 1 },
      { price: 101_500, qty: 4, count: 1 },
      { price: 400_000, qty: 6, count: 1 },
    ]);
    expect(b.depth(BUY, 10).map((l) => l.price)).toEqual([100_000, 3]);
    for (const h of [...mid, nearAsk, farBid, farAsk]) expect(b.isLive(h)).toBe(true);
    // Matching still walks the grown ladder correctly.
    const out = new FillBuffer();
    expect(b.match(BUY, 400_000, 10, 9, STP_NONE, out)).toBe(0);
    expect(rows(out).map((r) => [r.price, r.qty])).toEqual([
      [100_001, 3],
      [101_500, 4],
      [400_000, 3],
    ]);
    expect(b.match(SELL, 0, 8, 9, STP_NONE, out)).toBe(0);
    expect(rows(out).map((r) => [r.price, r.qty])).toEqual([
      [100_000, 1],
      [100_000, 2],
      [3, 5],
    ]);
    expect(b.bestBid()).toBe(NO_PRICE);
    expect(b.bestAsk()).toBe(400_000);
    expect(b.levelQty(400_000)).toBe(3);
    expect(b.reservedBytes).toBeGreaterThan(0);
  });

  it("keeps contents when growing repeatedly in both directions", () => {
    const b = new OrderBook();
    const placed: [number, number][] = [];
    let lo = 1_000_000;
    let hi = 1_000_001;
    for (let i = 0; i < 12; i++) {
      lo = lo - 3000 * (i + 1);
      hi = hi + 3000 * (i + 1);
      placed.push([b.add(BUY, lo, i + 1, i, i), lo], [b.add(SELL, hi, i + 1, i, i), hi]);
    }
    for (const [h, p] of placed) {
      expect(b.isLive(h)).toBe(true);
      expect(b.priceOf(h)).toBe(p);
      expect(b.levelHandles(p)).toEqual([h]);
    }
    expect(b.bestBid()).toBe(placed[0]?.[1]);
    expect(b.bestAsk()).toBe(placed[1]?.[1]);
    expect(b.depth(BUY, 100).length).toBe(12);
    expect(b.depth(SELL, 100).length).toBe(12);
  });
});

// ---- model-based property: the book against a naive list of orders ----

interface ModelOrder {
  handle: number;
  side: Side;
  price: number;
  qty: number;
  owner: number;
  seq: number;
}

type BookOp =
  | { k: "add"; side: Side; price: number; qty: number; owner: number }
  | { k: "match"; side: Side; limit: number; qty: number; owner: number; stp: StpMode }
  | { k: "cancel"; pick: number }
  | { k: "reduce"; pick: number; by: number };

const bookOp: fc.Arbitrary<BookOp> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ k: fc.constant("add" as const), side: fc.constantFrom<Side>(BUY, SELL), price: fc.integer({ min: 1, max: 60 }), qty: fc.integer({ min: 1, max: 9 }), owner: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("match" as const), side: fc.constantFrom<Side>(BUY, SELL), limit: fc.integer({ min: 0, max: 61 }), qty: fc.integer({ min: 1, max: 25 }), owner: fc.integer({ min: 1, max: 3 }), stp: fc.constantFrom<StpMode>(STP_NONE, STP_CANCEL_TAKER, STP_CANCEL_MAKER, STP_CANCEL_BOTH) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant("cancel" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("reduce" as const), pick: fc.nat(), by: fc.integer({ min: 1, max: 5 }) }) },
);

/** What `match` should do, computed the slow obvious way. */
function modelMatch(orders: ModelOrder[], op: Extract<BookOp, { k: "match" }>): { rows: [number, number, number, number][]; left: number; takerCancelled: boolean } {
  const out: [number, number, number, number][] = []; // kind, handle, price, qty
  let rem = op.qty;
  const makers = orders
    .filter((o) => o.side !== op.side && (op.side === BUY ? o.price <= op.limit : o.price >= op.limit))
    .sort((a, b) => (op.side === BUY ? a.price - b.price : b.price - a.price) || a.seq - b.seq);
  for (const m of makers) {
    if (rem === 0) break;
    if (op.stp !== STP_NONE && m.owner === op.owner) {
      if (op.stp === STP_CANCEL_TAKER) return { rows: out, left: rem, takerCancelled: true };
      out.push([FILL_STP_CANCEL_MAKER, m.handle, m.price, m.qty]);
      orders.splice(orders.indexOf(m), 1);
      if (op.stp === STP_CANCEL_BOTH) return { rows: out, left: rem, takerCancelled: true };
      continue;
    }
    const f = Math.min(m.qty, rem);
    rem -= f;
    m.qty -= f;
    out.push([FILL_TRADE, m.handle, m.price, f]);
    if (m.qty === 0) orders.splice(orders.indexOf(m), 1);
  }
  return { rows: out, left: rem, takerCancelled: false };
}

describe("OrderBook: model-based property", () => {
  it("agrees with a naive order list on every add, cancel, reduce, match and fillable", () => {
    fc.assert(
      fc.property(fc.array(bookOp, { minLength: 1, maxLength: 120 }), (ops) => {
        const b = new OrderBook(16);
        const out = new FillBuffer();
        const model: ModelOrder[] = [];
        const dead: number[] = [];
        let seq = 0;
        for (const op of ops) {
          if (op.k === "add") {
            const opp = model.filter((o) => o.side !== op.side).map((o) => o.price);
            const crosses = op.side === BUY ? opp.some((p) => p <= op.price) : opp.some((p) => p >= op.price);
            if (crosses) {
              expect(() => b.add(op.side, op.price, op.qty, op.owner, seq)).toThrow(RangeError);
              continue;
            }
            const handle = b.add(op.side, op.price, op.qty, op.owner, seq);
            model.push({ handle, side: op.side, price: op.price, qty: op.qty, owner: op.owner, seq: seq++ });
          } else if (op.k === "cancel") {
            if (model.length > 0 && op.pick % 3 !== 0) {
              const o = model[op.pick % model.length] as ModelOrder;
              expect(b.cancel(o.handle)).toBe(o.qty);
              model.splice(model.indexOf(o), 1);
              dead.push(o.handle);
            } else if (dead.length > 0) {
              expect(b.cancel(dead[op.pick % dead.length] as number)).toBe(0);
            }
          } else if (op.k === "reduce") {
            if (model.length === 0) continue;
            const o = model[op.pick % model.length] as ModelOrder;
            const ok = b.reduce(o.handle, o.qty - op.by);
            expect(ok).toBe(o.qty - op.by > 0);
            if (ok) o.qty -= op.by;
          } else {
            const can = b.fillable(op.side, op.limit, op.qty, op.owner, op.stp);
            const want = modelMatch(model, op);
            const left = b.match(op.side, op.limit, op.qty, op.owner, op.stp, out);
            expect(left).toBe(want.left);
            expect(out.takerCancelled).toBe(want.takerCancelled);
            expect(rows(out).map((r) => [r.kind, r.handle, r.price, r.qty])).toEqual(want.rows);
            const traded = want.rows.filter((r) => r[0] === FILL_TRADE);
            expect(can).toEqual({ qty: traded.reduce((s, r) => s + r[3], 0), cost: traded.reduce((s, r) => s + r[2] * r[3], 0) });
            for (const r of want.rows) if (!model.some((o) => o.handle === r[1])) dead.push(r[1]);
          }
          // Whole-book comparison after every step.
          expect(b.orderCount).toBe(model.length);
          for (const side of [BUY, SELL] as const) {
            const mine = model.filter((o) => o.side === side);
            const prices = [...new Set(mine.map((o) => o.price))].sort((x, y) => (side === BUY ? y - x : x - y));
            expect(b.depth(side, 1000)).toEqual(prices.map((p) => ({ price: p, qty: mine.filter((o) => o.price === p).reduce((s, o) => s + o.qty, 0), count: mine.filter((o) => o.price === p).length })));
            for (const p of prices) expect(b.levelHandles(p)).toEqual(mine.filter((o) => o.price === p).sort((x, y) => x.seq - y.seq).map((o) => o.handle));
          }
          const bid = b.bestBid();
          const ask = b.bestAsk();
          if (bid !== NO_PRICE && ask !== NO_PRICE) expect(bid).toBeLessThan(ask);
        }
      }),
      { numRuns: 150 },
    );
  });
});
