// `tradeloop venue demo`: a synthetic market runs for some simulated minutes while a scripted user
// trades against it (a passive bid that waits in the queue, an amend, an IOC, a rejected post-only,
// an unfillable FOK, a leveraged perpetual round trip); then the book, trades and balances print.

import { SimulatedClock } from "../core/clock.js";
import { fromSteps } from "../core/units.js";
import { ExchangeEngine, FEE_ACCOUNT, type PlaceOrderRequest } from "../exchange/engine.js";
import type { ExchangeEvent } from "../exchange/events.js";
import { DEFAULT_INSTRUMENTS, DEFAULT_SYNTHETIC_SYMBOLS } from "../exchange/market/default-instruments.js";
import { SyntheticMarket } from "../exchange/market/synthetic-market.js";
import { formatTable } from "./table.js";

export interface VenueDemoOptions {
  minutes: number;
  seed: number;
  start: number;
}

export interface VenueDemoResult {
  text: string;
  trades: number;
  events: number;
  userEvents: ExchangeEvent[];
}

const SPOT = "BTC/USDT";
const PERP = "ETH/USDT:USDT";

export function runVenueDemo(opts: VenueDemoOptions): VenueDemoResult {
  const clock = new SimulatedClock(opts.start);
  const engine = new ExchangeEngine({ clock, instruments: DEFAULT_INSTRUMENTS });
  const market = new SyntheticMarket(engine, { seed: opts.seed, symbols: DEFAULT_SYNTHETIC_SYMBOLS });
  const user = engine.createAccount("alice");
  engine.deposit(user, "USDT", "100000");
  engine.deposit(user, "BTC", "1");

  let events = 0;
  let trades = 0;
  const userEvents: ExchangeEvent[] = [];
  const recentTrades: { ts: number; symbol: string; price: number; qty: number; side: string }[] = [];
  engine.subscribe((e) => {
    events++;
    if (e.type === "trade") {
      trades++;
      recentTrades.push({ ts: e.ts, symbol: e.symbol, price: e.price, qty: e.qty, side: e.takerSide });
      if (recentTrades.length > 10) recentTrades.shift();
    }
    if ("account" in e && e.account === user) userEvents.push(e);
  });
  market.start();

  const spot = engine.instrument(SPOT);
  const perp = engine.instrument(PERP);
  if (spot === undefined || perp === undefined) throw new Error("demo instruments missing");
  const minute = 60_000;
  const place = (req: Omit<PlaceOrderRequest, "account">): void => {
    engine.placeOrder({ account: user, ...req });
  };
  let passiveId: number | undefined;
  const script: [number, () => void][] = [
    [1, () => {
      const bid = engine.bestBidAsk(SPOT).bid;
      if (bid === undefined) return;
      const r = engine.placeOrder({ account: user, symbol: SPOT, side: "buy", type: "limit", price: bid, quantity: "0.05", clientOrderId: "demo-passive-bid" });
      if (r.ok) passiveId = r.orderId;
    }],
    [2, () => {
      const ask = engine.bestBidAsk(SPOT).ask;
      if (ask !== undefined) place({ symbol: SPOT, side: "buy", type: "limit", price: ask, quantity: "0.02", timeInForce: "IOC", clientOrderId: "demo-ioc-buy" });
    }],
    [3, () => {
      const bid = engine.bestBidAsk(SPOT).bid;
      if (bid !== undefined) place({ symbol: SPOT, side: "sell", type: "limit", price: bid, quantity: "0.01", postOnly: true, clientOrderId: "demo-postonly" });
    }],
    [4, () => {
      engine.setLeverage(user, PERP, 5);
      place({ symbol: PERP, side: "buy", type: "market", quantity: "2", clientOrderId: "demo-perp-open" });
    }],
    [5, () => {
      const ask = engine.bestBidAsk(SPOT).ask;
      if (ask !== undefined) place({ symbol: SPOT, side: "buy", type: "limit", price: ask, quantity: "1.5", timeInForce: "FOK", clientOrderId: "demo-fok" });
    }],
    [6, () => {
      const bid = engine.bestBidAsk(SPOT).bid;
      if (passiveId !== undefined && bid !== undefined && engine.getOrder(passiveId)?.status !== "filled") {
        engine.amendOrder(user, passiveId, { price: bid });
      }
    }],
    [8, () => place({ symbol: PERP, side: "sell", type: "market", quantity: "2", reduceOnly: true, clientOrderId: "demo-perp-close" })],
  ];
  for (const [at, fn] of script) if (at < opts.minutes) clock.setTimer(opts.start + at * minute, fn);
  clock.runUntil(opts.start + opts.minutes * minute);
  market.stop();

  const iso = (ts: number): string => new Date(ts).toISOString().slice(11, 19);
  const out: string[] = [];
  out.push(`Synthetic market: ${opts.minutes} simulated minutes from ${new Date(opts.start).toISOString()}, seed ${opts.seed}`);
  out.push(`${trades} trades, ${events} events; maker quotes placed ${market.stats.quotesPlaced}, taker orders ${market.stats.takerOrders}`);
  out.push("");
  out.push(`What alice did (${userEvents.length} events):`);
  out.push(formatTable(["time", "event", "symbol", "order", "detail"], userEvents.filter((e) => e.type !== "book").map((e) => [iso(e.ts), e.type, e.symbol, "orderId" in e && e.orderId !== undefined ? String(e.orderId) : "-", describe(e, engine)])));
  for (const sym of [SPOT, PERP]) {
    const d = engine.depth(sym, 5);
    out.push("");
    out.push(`${sym} book (fair price ${market.fairPrice(sym)?.toFixed(2)}):`);
    const rows: string[][] = [];
    for (let i = 0; i < 5; i++) rows.push([d.bids[i]?.[1] ?? "", d.bids[i]?.[0] ?? "", d.asks[i]?.[0] ?? "", d.asks[i]?.[1] ?? ""]);
    out.push(formatTable(["bid qty", "bid", "ask", "ask qty"], rows));
  }
  out.push("");
  out.push("Last trades:");
  out.push(formatTable(["time", "symbol", "taker", "price", "qty"], recentTrades.map((t) => {
    const inst = t.symbol === SPOT ? spot : perp;
    return [iso(t.ts), t.symbol, t.side, inst.formatPrice(t.price), inst.formatQty(t.qty)];
  })));
  for (const [name, acc] of [["alice", user], ["fee account", FEE_ACCOUNT]] as const) {
    out.push("");
    out.push(`Balances of ${name}:`);
    out.push(formatTable(["asset", "free", "locked", "total"], engine.balances(acc).map((b) => [b.asset, b.free, b.locked, b.total])));
  }
  const positions = engine.positions(user);
  if (positions.length > 0) {
    out.push("");
    out.push("Positions of alice:");
    out.push(formatTable(["symbol", "size", "entry", "realized", "unrealized", "leverage"], positions.map((p) => [p.symbol, p.size, p.entryPrice ?? "-", p.realizedPnl, p.unrealizedPnl ?? "-", String(p.leverage)])));
  }
  return { text: out.join("\n"), trades, events, userEvents };
}

function describe(e: ExchangeEvent, engine: ExchangeEngine): string {
  const inst = engine.instrument(e.symbol);
  const px = (t: number): string => inst?.formatPrice(t) ?? String(t);
  const qty = (l: number): string => inst?.formatQty(l) ?? String(l);
  switch (e.type) {
    case "accepted":
      return `${e.clientOrderId ?? ""} ${e.side} ${qty(e.qty)} ${e.orderType === "market" ? "market" : "@ " + px(e.price)} ${e.tif}${e.postOnly ? " post-only" : ""}${e.reduceOnly ? " reduce-only" : ""}`.trim();
    case "rejected":
      return `${e.clientOrderId ?? ""} ${e.reason}: ${e.message}`.trim();
    case "filled":
    case "partially_filled":
      return `${e.liquidity} ${qty(e.qty)} @ ${px(e.price)}, left ${qty(e.remaining)}, fee ${e.fee === 0 ? "0" : feeText(e.fee, e.feeAsset, engine)}`;
    case "canceled":
    case "expired":
      return `${e.reason}, ${qty(e.remaining)} unfilled`;
    case "amended":
      return `to ${qty(e.qty)} @ ${px(e.price)}, ${e.keptPriority ? "kept" : "lost"} priority`;
    default:
      return "";
  }
}

function feeText(units: number, asset: string, engine: ExchangeEngine): string {
  const a = engine.assetList().find((x) => x.name === asset);
  if (a === undefined) return `${units} units ${asset}`;
  return `${fromSteps(units, a.unit)} ${asset}`;
}
