// The broker: turns parent orders into child orders on an exchange (through the ExchangeClient
// seam), folds what happened back into parent fills, and logs every step (DOMAIN.md sections 2-5,
// 11). TWAP follows the wave rules exactly; market and limit parents are one child each.
//
// Identity and recovery: every child has a client order id derived from (run, bar, parent, wave,
// attempt), written to the broker log before the request is sent. After an unknown outcome (a
// timeout) the broker asks the exchange by that id before sending again, so no order is doubled.

import { Decimal } from "decimal.js";
import { z } from "zod";
import type { Clock } from "../core/clock.js";
import { toEpochMs } from "../core/timestamp.js";
import { classifyExchangeError, errorMessage, isExchangeError } from "../exchanges/errors.js";
import type { ExchangeClient } from "../exchanges/exchange-client.js";
import { readBidAskWindow, type BidAskFeed } from "../marketdata/bid-ask-feed.js";
import { jsonMember, jsonObject, stringifyRecord } from "../storage/jsonl.js";
import type { BrokerLogWriter } from "./broker-log.js";
import { dec, type CcxtMarket, type CcxtOrder, type CcxtTrade } from "./ccxt-types.js";
import { addQuoteFee, crossCheckChildFills, dedupeTrades, foldLateFill, foldParentFill, tradeKey, type ParentFill } from "./fills.js";
import { ScaledTotal } from "../core/scaled-number.js";
import { BidAskBuffer, type BidAskSeries } from "../marketdata/bid-ask-series.js";
import { passivityLimitPrice, volatilityLimitPrice, type LimitPriceInputs } from "./limit-price.js";
import { formatOrder, type ParentOrder } from "./parent-order.js";
import { CANCEL_BEFORE_WAVE_END_MS, dynamicChildSize, floorTo, isSubmissionOver, numWaves, shouldSkipWave, staticChildSize, waveId } from "./waves.js";

export const brokerConfigSchema = z
  .object({
    /** The run this broker trades for; client order ids derive from it. */
    runKey: z.string().min(1),
    limitPrice: z
      .discriminatedUnion("computer", [
        z.object({ computer: z.literal("passivity"), passivityFactor: z.number().min(0).max(1).default(0.5), maxDeviation: z.number().positive().default(0.01) }).strict(),
        z.object({ computer: z.literal("volatility"), volatilityMultiple: z.union([z.number(), z.array(z.number()).min(1)]).default(0.75) }).strict(),
      ])
      .prefault({ computer: "passivity" }),
    childSizing: z.enum(["static", "dynamic"]).default("static"),
    executionFrequencyMs: z.number().int().min(1_000).default(60_000),
    bidAskLookbackMs: z.number().int().min(1).default(60_000),
    submitRetries: z.number().int().min(0).max(10).default(1),
    retryDelayMs: z.number().int().min(0).default(500),
    cancelRetries: z.number().int().min(0).max(10).default(3),
    stage: z.string().default("dev"),
  })
  .strict();

export type BrokerConfigInput = z.input<typeof brokerConfigSchema>;
export type BrokerConfig = z.output<typeof brokerConfigSchema>;

export type ChildStatus = "submitted" | "rejected" | "unknown" | "skipped";

export interface ChildOrder {
  clientOrderId: string;
  parentOrderId: number;
  assetId: number;
  symbol: string;
  bar: number;
  wave: number;
  attempt: number;
  side: "buy" | "sell";
  amount: string;
  limitPrice: string;
  limitInputs: LimitPriceInputs | undefined;
  status: ChildStatus;
  exchangeOrderId: string | undefined;
  error: string | undefined;
  waveStart: number;
  submittedAt: number;
  ackAt: number | undefined;
}

export interface BrokerDeps {
  client: ExchangeClient;
  clock: Clock;
  bidAsk: BidAskFeed;
  log: BrokerLogWriter;
  /** Asset id of a parent order -> exchange symbol. */
  universe: ReadonlyMap<number, string>;
  /** Once aborted, no further order is sent: the wave in progress throws the abort reason. */
  signal?: AbortSignal;
  /**
   * Receives each wave's fill figures, for execution-quality reports. A callback rather than a
   * list on the broker: a day-long system run has ~100k waves and no use for them.
   */
  onWaveReport?: (report: WaveReport) => void;
}

interface ParentState {
  parent: ParentOrder;
  symbol: string;
  market: CcxtMarket;
  children: ChildOrder[];
  finalStates: Map<string, CcxtOrder>;
  /**
   * Children whose last collected state was not final (their cancel gave up, or the exchange still
   * reported them open): they may go on filling, so they are cancelled and collected again at every
   * later wave end and at the parent's end, until final. Their latest state is in finalStates.
   */
  open: Set<ChildOrder>;
  /** The exchange's answer to each child's creation, by client order id. */
  acks: Map<string, CcxtOrder>;
  /**
   * The JSON of each ack as logged (without its trades), by client order id: an order final at
   * creation is logged again as the child's final state, and serializing it once serves both.
   */
  ackJson: Map<string, string>;
  trades: CcxtTrade[];
  /** Shares of the children prepared so far (static sizing caps a child raised to the exchange minimum by what is left). */
  sent: Decimal;
  target: Decimal | undefined;
  /**
   * A static slice, diff / waves on the amount step, and |diff| on the step: the same every wave,
   * so worked out once (decimal.js divisions were a few percent of a TWAP day).
   */
  staticSlice: { waves: number; size: Decimal; whole: Decimal } | undefined;
}

/**
 * A child still open at the exchange when its parent finished, and what of it is booked: its
 * state and trades as last collected. What it fills later is booked as a late fill of its parent.
 */
interface LeftOpenChild {
  child: LeftOpenChildOrder;
  market: CcxtMarket;
  booked: { filled: number; cost: number };
  /** Its trades whose fees a fill carries. */
  trades: CcxtTrade[];
  /** Its status as last logged in ccxt_fills. */
  status: string;
}

/** What of a child left open by its parent the broker needs to collect it later. */
export type LeftOpenChildOrder = Pick<ChildOrder, "clientOrderId" | "parentOrderId" | "assetId" | "symbol" | "bar" | "wave" | "waveStart"> & { exchangeOrderId: string };

/**
 * A child left open as a broker log holds it (left-open-log.ts): what a resumed process needs to
 * go on collecting it. Its trades are those the log holds for it.
 */
export interface LoggedLeftOpen {
  child: LeftOpenChildOrder;
  booked: { filled: number; cost: number };
  trades: CcxtTrade[];
}

/** A fill of a parent booked after the parent finished (see Broker.collectLateFills). */
export interface LateFill {
  assetId: number;
  fill: ParentFill;
  clientOrderId: string;
}

interface ChildSpec {
  bar: number;
  wave: number;
  side: "buy" | "sell";
  amount: Decimal;
  limitPrice: string;
  limitInputs: LimitPriceInputs | undefined;
  waveStart: number;
}

interface PreparedChild {
  st: ParentState;
  spec: ChildSpec;
  child: ChildOrder;
  market: boolean;
}

/** A market's precision as decimals, worked out once instead of for every child. */
interface MarketSteps {
  amountStep: Decimal;
  tick: Decimal;
  priceDecimals: number;
  /**
   * The tick is 10^-priceDecimals: a price already rounded to priceDecimals places is on the tick
   * grid, and the second rounding (for ticks like 0.5) would give back the same text.
   */
  tickIsPowerOfTen: boolean;
}

export interface FlattenResult {
  closed: CcxtOrder[];
  failed: { symbol: string; error: string }[];
  /**
   * With FlattenAccounting: each closing order folded as a parent fill (DOMAIN.md section 5), for
   * the portfolio to apply like any other; empty otherwise.
   */
  fills: { symbol: string; assetId: number; fill: ParentFill }[];
  /** With FlattenAccounting: how many parent ids from its first one the closing orders took. */
  parentOrderIds: number;
}

/**
 * How the closing orders of a flattening enter the run's accounting: the bar their fills are logged
 * under and the parent order id of the first (the next ones count up). Each closing order stands
 * for a parent of its own, since no parent of the run asked for it.
 */
export interface FlattenAccounting {
  bar: number;
  firstParentOrderId: number;
}

export class BrokerError extends Error {
  override readonly name = "BrokerError";
}

/** A parent's children in one wave, for statistics: each figure is an exact sum, reported as the nearest double. */
export interface WaveReport {
  bar: number;
  wave: number;
  parentOrderId: number;
  childAmount: number;
  filled: number;
  takerAmount: number;
  makerAmount: number;
  /** The wave's children: sum of their filled cost (quote currency) and of their trades' fees in the quote currency. */
  filledCost: number;
  fees: number;
}

export class Broker {
  readonly config: BrokerConfig;
  private markets: Record<string, CcxtMarket> | undefined;
  private readonly runTag: string;
  /** Exchange trades collected for children so far. */
  tradesCollected = 0;
  /** Child order requests sent (retries included). */
  childOrdersSent = 0;
  /** Children still open at the exchange when their parent finished (their cancels failed). */
  private leftOpen: LeftOpenChild[] = [];
  /** Records written to fill_check_issues, and the first one's message (for the run's warnings). */
  fillIssues = 0;
  firstFillIssue: string | undefined;
  /** Client order ids an earlier process may have sent: looked up before they are sent. */
  private readonly askFirst = new Map<string, string>();
  private readonly steps = new WeakMap<CcxtMarket, MarketSteps>();
  /** Each symbol's bid/ask window, refilled every wave (see loadBidAsk). */
  private readonly bidAskBuffers = new Map<string, BidAskBuffer>();

  constructor(
    private readonly deps: BrokerDeps,
    config: BrokerConfigInput,
  ) {
    this.config = brokerConfigSchema.parse(config);
    this.runTag = "tl" + fnv1a32(this.config.runKey).toString(16).padStart(8, "0");
  }

  /** Loads markets and logs the exchange state at start (markets, leverage, positions, balances). */
  async init(): Promise<void> {
    const { client, log } = this.deps;
    this.markets = await client.loadMarkets();
    log.writeJson("broker_config.json", this.config);
    for (const [assetId, symbol] of this.deps.universe) {
      const m = this.markets[symbol];
      if (m === undefined) throw new BrokerError(`asset ${assetId}: symbol ${symbol} is not listed by exchange ${client.id}`);
      log.append("exchange_markets", { assetId, symbol, market: m });
    }
    const symbols = [...this.deps.universe.values()];
    const swaps = symbols.filter((s) => this.markets?.[s]?.swap === true);
    if (swaps.length > 0) {
      log.append("leverage_info", { timestamp: this.deps.clock.now(), tiers: await client.fetchLeverageTiers(swaps) });
      log.append("positions", { timestamp: this.deps.clock.now(), positions: await client.fetchPositions(swaps) });
    }
    log.append("balances", { timestamp: this.deps.clock.now(), balances: await client.fetchBalance() });
  }

  market(symbol: string): CcxtMarket {
    const m = this.markets?.[symbol];
    if (m === undefined) throw new BrokerError(this.markets === undefined ? "broker.init() was not called" : `unknown symbol ${symbol}`);
    return m;
  }

  /** After a resume: these client order ids may already be at the exchange; ask before sending them. */
  askBeforeSending(sent: Iterable<{ clientOrderId: string; symbol: string }>): void {
    for (const c of sent) this.askFirst.set(c.clientOrderId, c.symbol);
  }

  clientOrderId(bar: number, parentOrderId: number, wave: number, attempt: number): string {
    return `${this.runTag}-${bar}-${parentOrderId}-${wave}-${attempt}`;
  }

  /**
   * Executes one submission of parent orders (all with the same start and end, distinct assets,
   * non-zero size) and returns their parent fills once the last wave is collected.
   */
  async submitOrders(parents: readonly ParentOrder[], bar: number): Promise<ParentFill[]> {
    if (parents.length === 0) return [];
    const first = parents[0] as ParentOrder;
    const start = toEpochMs(first.startTimestamp);
    const end = toEpochMs(first.endTimestamp);
    const seen = new Set<number>();
    for (const p of parents) {
      if (toEpochMs(p.startTimestamp) !== start || toEpochMs(p.endTimestamp) !== end) throw new BrokerError(`parent ${p.orderId}: all parents of a submission must share start and end`);
      if (seen.has(p.assetId)) throw new BrokerError(`parent ${p.orderId}: asset ${p.assetId} appears twice in one submission`);
      if (p.diffNumShares.isZero()) throw new BrokerError(`parent ${p.orderId}: diff_num_shares is zero`);
      if (p.type !== first.type) throw new BrokerError(`parent ${p.orderId}: mixed order types in one submission (${p.type} and ${first.type})`);
      seen.add(p.assetId);
    }
    const states = parents.map((p) => this.stateFor(p));
    for (const st of states) {
      this.deps.log.appendLine("oms_parent_orders", jsonObject(jsonMember(',"bar":', bar) + jsonMember(',"text":', formatOrder(st.parent)) + jsonMember(',"symbol":', st.symbol)));
    }
    if (first.type === "price@twap") await this.runTwap(states, bar, start, end);
    else await this.runSingleWave(states, bar, start, end, first.type === "market");
    return this.finish(states, bar);
  }

  private stateFor(p: ParentOrder): ParentState {
    const symbol = this.deps.universe.get(p.assetId);
    if (symbol === undefined) throw new BrokerError(`parent ${p.orderId}: asset ${p.assetId} is not in the universe`);
    return { parent: p, symbol, market: this.market(symbol), children: [], finalStates: new Map(), open: new Set(), acks: new Map(), ackJson: new Map(), trades: [], sent: new Decimal(0), target: undefined, staticSlice: undefined };
  }

  private async runTwap(states: ParentState[], bar: number, start: number, end: number): Promise<void> {
    const { clock } = this.deps;
    const freq = this.config.executionFrequencyMs;
    const waves = numWaves(start, end, freq);
    if (clock.now() < start) await clock.sleepUntil(start);
    for (;;) {
      const now = clock.now();
      if (isSubmissionOver(now, end, freq)) break;
      const waveEnd = floorTo(now, freq) + freq;
      if (shouldSkipWave(now, freq)) {
        await clock.sleepUntil(waveEnd);
        continue;
      }
      const wave = waveId(now, start, end, freq);
      const quotes = this.loadBidAsk(states, bar, wave);
      await this.sendWave(states, bar, wave, waves, now, quotes, false);
      await clock.sleepUntil(waveEnd - CANCEL_BEFORE_WAVE_END_MS);
      await this.closeWave(states, bar, wave, now);
      if (clock.now() < waveEnd) await clock.sleepUntil(waveEnd);
    }
    // The last slot is kept for collecting fills: nothing is submitted in it.
    if (clock.now() < end) await clock.sleepUntil(end);
    await this.sweepOpen(states, bar);
  }

  /**
   * At the parent's end: a child still open (its cancels gave up) is cancelled and collected once
   * more, so fills it made since its last collection reach the parent fill. Nothing happens when
   * every child is final, which is every run without faults.
   */
  private async sweepOpen(states: ParentState[], bar: number): Promise<void> {
    if (!states.some((st) => st.open.size > 0)) return;
    await this.closeWave(states, bar, -1, this.deps.clock.now());
  }

  /** Market and limit parents: one child at start, cancelled before end if it still rests. */
  private async runSingleWave(states: ParentState[], bar: number, start: number, end: number, market: boolean): Promise<void> {
    const { clock } = this.deps;
    if (clock.now() < start) await clock.sleepUntil(start);
    const now = clock.now();
    const quotes = this.loadBidAsk(states, bar, 0);
    await this.sendWave(states, bar, 0, 1, now, quotes, market);
    if (!market) await clock.sleepUntil(Math.max(now, end - CANCEL_BEFORE_WAVE_END_MS));
    await this.closeWave(states, bar, 0, now);
    if (clock.now() < end) await clock.sleepUntil(end);
    await this.sweepOpen(states, bar);
  }

  /**
   * The bid/ask window of each symbol of a wave, in buffers kept per symbol and refilled wave after
   * wave: a window is read only while its wave's children are prepared.
   */
  private loadBidAsk(states: ParentState[], bar: number, wave: number): Map<string, BidAskSeries> {
    const now = this.deps.clock.now();
    const out = new Map<string, BidAskSeries>();
    for (const st of states) {
      if (out.has(st.symbol)) continue;
      let buf = this.bidAskBuffers.get(st.symbol);
      if (buf === undefined) {
        buf = new BidAskBuffer();
        this.bidAskBuffers.set(st.symbol, buf);
      }
      const rows = readBidAskWindow(this.deps.bidAsk, st.symbol, now - this.config.bidAskLookbackMs, now, buf);
      out.set(st.symbol, rows);
      const n = rows.length;
      this.deps.log.appendLine(
        "bid_ask",
        jsonObject(
          jsonMember(',"bar":', bar) + jsonMember(',"wave":', wave) + jsonMember(',"timestamp":', now) + jsonMember(',"symbol":', st.symbol) + jsonMember(',"rows":', n) +
            jsonMember(',"bid":', n === 0 ? undefined : rows.bids[n - 1]) + jsonMember(',"ask":', n === 0 ? undefined : rows.asks[n - 1]) + jsonMember(',"knowledgeTime":', n === 0 ? undefined : rows.timestamps[n - 1]),
        ),
      );
    }
    return out;
  }

  /**
   * Decides one child of a wave (size, side, limit price) and records it; the request is sent by
   * sendChild once every child of the wave is recorded and the log flushed, so each client order id
   * is on disk before its order leaves.
   */
  private prepareChild(st: ParentState, bar: number, wave: number, waves: number, waveStart: number, rows: BidAskSeries, market: boolean): PreparedChild | undefined {
    const p = st.parent;
    const steps = this.stepsOf(st.market);
    const amountStep = steps.amountStep;
    let size: Decimal;
    if (market || p.type === "limit") {
      size = roundToStep(p.diffNumShares, amountStep);
    } else if (this.config.childSizing === "static") {
      let slice = st.staticSlice;
      if (slice?.waves !== waves) {
        slice = { waves, size: roundToStep(staticChildSize(p.diffNumShares, waves, 18), amountStep), whole: roundToStep(p.diffNumShares.abs(), amountStep) };
        st.staticSlice = slice;
      }
      size = slice.size;
    } else {
      const position = p.currNumShares.add(signedFilled(st));
      const d = dynamicChildSize(st.target === undefined ? 0 : wave, p.diffNumShares, position, st.target, 18);
      st.target = d.target;
      size = roundToStep(d.size, amountStep);
    }
    if (size.isZero()) return undefined;
    const side = size.isPositive() ? "buy" : "sell";
    let amount = size.abs();
    let limitInputs: LimitPriceInputs | undefined;
    let limitPrice = "0";
    if (!market) {
      if (rows.length === 0) {
        this.recordChild(st, { bar, wave, side, amount, limitPrice: "0", limitInputs: undefined, waveStart }, 0, "rejected", "no bid/ask data in the lookback window");
        return undefined;
      }
      limitInputs = this.computeLimit(rows, side, wave, steps);
      limitPrice = limitInputs.limitPrice;
    }
    // The exchange refuses a child under its minimum amount or cost. A static slice that small is
    // raised to the minimum while the parent has that much left to send (its last slices then have
    // less, or nothing); a child that already is all that is left (market, limit, dynamic) is not
    // sent: the exchange would only reject it.
    // What a static parent has not sent yet: once earlier slices were raised, the last ones shrink.
    // Every amount sent is on the step (a slice, a remainder, or a minimum rounded up to it), so
    // |diff| on the step less what was sent is what is left on the step.
    const left = st.staticSlice !== undefined ? st.staticSlice.whole.sub(st.sent) : amount;
    if (!left.isPositive()) return undefined;
    if (amount.gt(left)) amount = left;
    const referencePx = market ? lastQuote(rows, side) : Number(limitPrice);
    // The exact minimum (decimal.js) only when doubles cannot tell that the amount is above it.
    const close = referencePx !== undefined && mayBeUnderMinimum(st.market, amount.toNumber(), referencePx);
    const reference = close ? (market ? dec(referencePx) : dec(limitPrice)) : undefined;
    const minimum = reference === undefined ? undefined : minimumAmount(st.market, amountStep, reference);
    if (minimum !== undefined && amount.lt(minimum)) {
      if (left.lt(minimum)) {
        const why = `below the exchange minimum: ${amount.toFixed()} at ${reference?.toFixed()} is under ${minimum.toFixed()} (min amount ${st.market.limits.amount.min ?? "none"}, min cost ${st.market.limits.cost.min ?? "none"}), and the parent has ${left.toFixed()} left to send`;
        this.recordChild(st, { bar, wave, side, amount, limitPrice, limitInputs, waveStart }, 0, "skipped", why);
        return undefined;
      }
      amount = minimum;
    }
    st.sent = st.sent.add(amount);
    const spec: ChildSpec = { bar, wave, side, amount, limitPrice, limitInputs, waveStart };
    const child = this.recordChild(st, spec, 0, "submitted", undefined);
    return { st, spec, child, market };
  }

  private async sendChild(prepared: PreparedChild): Promise<void> {
    const { clock, log } = this.deps;
    const { st, spec, market } = prepared;
    let child = prepared.child;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0) {
        child = this.recordChild(st, spec, attempt, "submitted", undefined);
        log.flush();
      }
      this.deps.signal?.throwIfAborted();
      if (this.askFirst.delete(child.clientOrderId)) {
        // A process before us may have sent this very order before it died: adopt it if it exists.
        if (await this.settleByLookup(st, child, true)) return;
      }
      try {
        const order = await this.deps.client.createOrder(st.symbol, market ? "market" : "limit", spec.side, spec.amount.toNumber(), market ? undefined : Number(spec.limitPrice), { clientOrderId: child.clientOrderId });
        this.acknowledge(st, child, order);
        return;
      } catch (e) {
        const cls = classifyExchangeError(e);
        child.error = errorMessage(e);
        if (cls === "unknown_outcome" && (await this.settleByLookup(st, child, false))) return;
        if ((cls === "retryable" || cls === "unknown_outcome") && attempt < this.config.submitRetries) {
          log.append("ccxt_child_order_responses", { clientOrderId: child.clientOrderId, symbol: st.symbol, empty: true, id: -1, error: child.error, retry: true });
          await clock.sleepUntil(clock.now() + this.config.retryDelayMs);
          continue;
        }
        child.status = "rejected";
        log.append("ccxt_child_order_responses", { clientOrderId: child.clientOrderId, symbol: st.symbol, empty: true, id: -1, error: child.error });
        log.appendLine("oms_child_orders", childOrderLine(child, "rejected"));
        return;
      }
    }
  }

  /**
   * Asks the exchange for a child by its client id. Settled (true) when the exchange has it (it is
   * acknowledged, and logged as adopted when `adopted`) or cannot tell: sending again could double
   * the order, so it is left unknown for the wave-end sweep. False when the exchange has no such order.
   */
  private async settleByLookup(st: ParentState, child: ChildOrder, adopted: boolean): Promise<boolean> {
    const found = await this.findByClientId(child.clientOrderId, st.symbol);
    if (found === undefined) return false;
    if (found === "unknown") {
      child.status = "unknown";
      this.deps.log.appendLine("oms_child_orders", childOrderLine(child, "unknown_outcome"));
      return true;
    }
    if (adopted) this.deps.log.append("oms_child_orders", { event: "adopted", clientOrderId: child.clientOrderId });
    this.acknowledge(st, child, found);
    return true;
  }

  /** Prepares every parent's child of a wave, makes the log durable, then sends them concurrently. */
  private async sendWave(states: ParentState[], bar: number, wave: number, waves: number, waveStart: number, quotes: Map<string, BidAskSeries>, market: boolean): Promise<void> {
    const prepared: PreparedChild[] = [];
    for (const st of states) {
      const p = this.prepareChild(st, bar, wave, waves, waveStart, quotes.get(st.symbol) ?? NO_QUOTES, market);
      if (p !== undefined) prepared.push(p);
    }
    this.deps.log.flush();
    await Promise.all(prepared.map((p) => this.sendChild(p)));
  }

  private computeLimit(rows: BidAskSeries, side: "buy" | "sell", wave: number, steps: MarketSteps): LimitPriceInputs {
    const { tick, priceDecimals: decimals } = steps;
    const lp = this.config.limitPrice;
    const inputs =
      lp.computer === "passivity"
        ? passivityLimitPrice(rows, side, { passivityFactor: lp.passivityFactor, maxDeviation: lp.maxDeviation, priceDecimals: decimals, waveId: wave })
        : volatilityLimitPrice(rows, side, { volatilityMultiple: lp.volatilityMultiple, frequencySeconds: this.config.executionFrequencyMs / 1000, priceDecimals: decimals, waveId: wave });
    // Ticks that are not a power of ten (0.5, 0.25) need a second rounding onto the tick grid.
    if (!steps.tickIsPowerOfTen) inputs.limitPrice = dec(inputs.limitPrice).div(tick).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).mul(tick).toFixed();
    return inputs;
  }

  private stepsOf(market: CcxtMarket): MarketSteps {
    let s = this.steps.get(market);
    if (s === undefined) {
      const tick = dec(market.precision.price);
      const priceDecimals = Math.max(0, tick.decimalPlaces());
      // A price rounded to priceDecimals places has at most `precision` significant digits (it
      // comes out of decimal.js arithmetic), so dividing by 10^-k, rounding and multiplying back is
      // exact: the same value, the same text.
      s = { amountStep: dec(market.precision.amount), tick, priceDecimals, tickIsPowerOfTen: tick.equals(new Decimal(10).pow(-priceDecimals)) };
      this.steps.set(market, s);
    }
    return s;
  }

  private recordChild(st: ParentState, c: ChildSpec, attempt: number, status: ChildStatus, error: string | undefined): ChildOrder {
    const child: ChildOrder = {
      clientOrderId: this.clientOrderId(c.bar, st.parent.orderId, c.wave, attempt),
      parentOrderId: st.parent.orderId,
      assetId: st.parent.assetId,
      symbol: st.symbol,
      bar: c.bar,
      wave: c.wave,
      attempt,
      side: c.side,
      amount: c.amount.toFixed(),
      limitPrice: c.limitPrice,
      limitInputs: c.limitInputs,
      status,
      exchangeOrderId: undefined,
      error,
      waveStart: c.waveStart,
      submittedAt: this.deps.clock.now(),
      ackAt: undefined,
    };
    st.children.push(child);
    if (status === "submitted") this.childOrdersSent++;
    // Persisted before the request goes out: after a crash the id is known and can be asked for.
    this.deps.log.appendLine("oms_child_orders", childOrderLine(child, status === "submitted" ? "sending" : status));
    return child;
  }

  private acknowledge(st: ParentState, child: ChildOrder, order: CcxtOrder): void {
    child.exchangeOrderId = order.id;
    child.ackAt = this.deps.clock.now();
    child.status = "submitted";
    st.acks.set(child.clientOrderId, order);
    const json = orderJson(order);
    st.ackJson.set(child.clientOrderId, json);
    const log = this.deps.log;
    const id = jsonMember(',"clientOrderId":', child.clientOrderId);
    log.appendLine("ccxt_child_order_responses", jsonObject(id + ',"response":' + json));
    // The full child was logged when it was sent; these events carry only what changed.
    log.appendLine("oms_child_orders", jsonObject(',"event":"acknowledged"' + id + jsonMember(',"exchangeOrderId":', order.id) + jsonMember(',"ackAt":', child.ackAt) + jsonMember(',"status":', order.status)));
    log.appendLine("oms_parent_orders", jsonObject(',"event":"child_added"' + jsonMember(',"bar":', child.bar) + jsonMember(',"parentOrderId":', st.parent.orderId) + id));
  }

  /** Asks for an order by client id: the order, undefined when the exchange has none, "unknown" if it cannot tell. */
  private async findByClientId(clientOrderId: string, symbol: string, attempts = this.config.cancelRetries + 1): Promise<CcxtOrder | undefined | "unknown"> {
    for (let i = 0; i < attempts; i++) {
      try {
        return await this.deps.client.fetchOrderByClientId(clientOrderId, symbol);
      } catch (e) {
        const cls = classifyExchangeError(e);
        if (cls === "not_found") return undefined;
        if (cls === "definitive") return "unknown";
        if (i + 1 < attempts) await this.deps.clock.sleepUntil(this.deps.clock.now() + this.config.retryDelayMs);
      }
    }
    return "unknown";
  }

  /**
   * Cancels every child of the wave still open, then collects their final states and trades. A
   * child of this wave or an earlier one whose submission outcome is still unknown is looked up
   * again: once the exchange names it, it is cancelled and collected with this wave (logged under
   * its own wave), so an order that did reach the exchange never rests there unseen. A child still
   * open after its own wave end (see ParentState.open) is cancelled and collected again. Wave -1 is
   * the sweep at the parent's end: only the open children, and no wave report.
   */
  private async closeWave(states: ParentState[], bar: number, wave: number, waveStart: number): Promise<void> {
    const { client, log } = this.deps;
    const collect = new Map<ParentState, ChildOrder[]>();
    await Promise.all(states.map(async (st) => {
      // The wave's children the exchange took are cancelled first, at the time DOMAIN.md section 3
      // sets; looking up unknown ones can take seconds of retries.
      const cancelled = new Set<ChildOrder>();
      for (const c of st.children) {
        if (c.bar !== bar || c.wave !== wave || c.exchangeOrderId === undefined) continue;
        cancelled.add(c);
        if (!isFinal(st.acks.get(c.clientOrderId))) await this.cancelWithRetry(c.exchangeOrderId, st.symbol);
      }
      for (const c of st.children) {
        if (c.status !== "unknown" || c.exchangeOrderId !== undefined || c.bar !== bar || c.wave > wave) continue;
        // An earlier wave's child had its retries at its own wave end: one try now, and again at the
        // next wave end, so the unknowns do not delay every later wave by seconds.
        const found = await this.findByClientId(c.clientOrderId, st.symbol, c.wave === wave ? undefined : 1);
        if (found !== undefined && found !== "unknown") this.acknowledge(st, c, found);
      }
      // This wave's children with an exchange order, earlier ones named only now (not collected yet),
      // and earlier ones still open at their last collection.
      const kids = st.children.filter((c) => c.bar === bar && c.exchangeOrderId !== undefined && (c.wave === wave || (c.wave < wave && !st.finalStates.has(c.exchangeOrderId)) || st.open.has(c)));
      collect.set(st, kids);
      for (const c of kids) {
        if (cancelled.has(c) || isFinal(st.acks.get(c.clientOrderId))) continue;
        await this.cancelWithRetry(c.exchangeOrderId as string, st.symbol);
      }
    }));
    // Trades since the earliest wave start of what is collected (an earlier wave's late child traded then).
    const since = new Map<string, number>();
    for (const st of states) {
      for (const c of collect.get(st) ?? []) since.set(st.symbol, Math.min(since.get(st.symbol) ?? waveStart, c.waveStart));
    }
    const tradesBySymbol = new Map<string, CcxtTrade[]>();
    for (const [symbol, from] of since) tradesBySymbol.set(symbol, await this.withRetry(() => client.fetchMyTrades(symbol, from)));
    for (const st of states) {
      const kids = collect.get(st) ?? [];
      if (kids.length === 0) continue;
      const waveOf = new Map(kids.map((c) => [c.exchangeOrderId as string, c.wave]));
      // Trades already collected for the children collected again: the fetch since their wave start
      // brings them back, and only the new ones are logged and folded.
      const known = collectedTradeKeys(st, kids);
      // The wave's figures are only for a listener (broker experiments); a system run has none.
      const report = wave < 0 ? undefined : this.deps.onWaveReport;
      let childAmount = new Decimal(0);
      const waveFilled = new ScaledTotal();
      const taker = new ScaledTotal();
      const maker = new ScaledTotal();
      const filledCost = new ScaledTotal();
      const fees = new ScaledTotal();
      for (const c of kids) {
        // An order the exchange reported finished when it was created (filled at once) cannot change.
        const ack = st.acks.get(c.clientOrderId);
        const state = ack !== undefined && isFinal(ack) ? ack : await this.withRetry(() => client.fetchOrder(c.exchangeOrderId as string, st.symbol));
        st.finalStates.set(state.id, state);
        if (isFinal(state)) st.open.delete(c);
        else st.open.add(c);
        // An order final at creation is the ack itself (the broker never changes an exchange answer).
        const json = (state === ack ? st.ackJson.get(c.clientOrderId) : undefined) ?? orderJson(state);
        log.appendLine("ccxt_fills", orderStateLine(bar, c.wave, c.clientOrderId, json));
        if (c.wave !== wave || report === undefined) continue;
        childAmount = childAmount.add(c.amount);
        waveFilled.addNumber(state.filled);
        filledCost.addNumber(state.cost);
      }
      const trades = dedupeTrades((tradesBySymbol.get(st.symbol) ?? []).filter((t) => t.order !== undefined && waveOf.has(t.order) && (known === undefined || !known.has(tradeKey(t)))));
      this.tradesCollected += trades.length;
      for (const t of trades) {
        const tradeWave = waveOf.get(t.order as string) as number;
        log.appendLine("ccxt_trades", tradeLine(bar, tradeWave, t));
        st.trades.push(t);
        if (tradeWave !== wave || report === undefined) continue;
        (t.takerOrMaker === "maker" ? maker : taker).addNumber(t.amount);
        addQuoteFee(fees, t, st.market);
      }
      report?.({
        bar, wave, parentOrderId: st.parent.orderId, childAmount: childAmount.toNumber(), filled: waveFilled.toNumber(), takerAmount: taker.toNumber(), makerAmount: maker.toNumber(),
        filledCost: filledCost.toNumber(), fees: fees.toNumber(),
      });
    }
  }

  private async cancelWithRetry(orderId: string, symbol: string): Promise<void> {
    for (let i = 0; i <= this.config.cancelRetries; i++) {
      try {
        await this.deps.client.cancelOrder(orderId, symbol);
        return;
      } catch (e) {
        const cls = classifyExchangeError(e);
        // "Order not found" means it already filled or was cancelled: done.
        if (cls === "not_found") return;
        if (cls === "definitive") {
          this.deps.log.append("oms_child_orders", { exchangeOrderId: orderId, symbol, event: "cancel_failed", error: errorMessage(e) });
          return;
        }
        await this.deps.clock.sleepUntil(this.deps.clock.now() + this.config.retryDelayMs);
      }
    }
    this.deps.log.append("oms_child_orders", { exchangeOrderId: orderId, symbol, event: "cancel_gave_up" });
  }

  private async withRetry<T>(fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        const cls = classifyExchangeError(e);
        if (cls !== "retryable" && cls !== "unknown_outcome") throw e;
        if (i >= this.config.cancelRetries) throw e;
        await this.deps.clock.sleepUntil(this.deps.clock.now() + this.config.retryDelayMs);
      }
    }
  }

  /**
   * Flattens the account: every open order of the universe is cancelled, then each non-zero
   * perpetual position is closed with a reduce-only market order (logged in the reduce_only
   * streams). Used at the end of a session and before a run starts from a clean book. Returns the
   * closing orders as the exchange reported them; a position that cannot be closed is logged and
   * reported, never ignored.
   */
  async flattenAccount(tag: string, accounting?: FlattenAccounting): Promise<FlattenResult> {
    const { client, clock, log } = this.deps;
    const symbols = [...new Set(this.deps.universe.values())];
    for (const s of symbols) await this.withRetry(() => client.cancelAllOrders(s));
    const swaps = symbols.filter((s) => this.market(s).swap);
    const result: FlattenResult = { closed: [], failed: [], fills: [], parentOrderIds: 0 };
    if (swaps.length === 0) return result;
    const positions = await this.withRetry(() => client.fetchPositions(swaps));
    let i = 0;
    for (const pos of positions) {
      if (pos.contracts === 0 || pos.side === undefined) continue;
      const side = pos.side === "long" ? "sell" : "buy";
      // With accounting each closing order sent takes a parent id of its own, filled or not (a
      // resumed process groups what it recovers by parent id), and is named after it: a resumed
      // process numbers its parents past every one the log or the exchange knows, so its closing
      // orders never take the name of one its predecessor sent.
      const next = (): { id: string; parentOrderId: number | undefined } => {
        if (accounting === undefined) return { id: `${this.runTag}-flat-${tag}-${i++}`, parentOrderId: undefined };
        const parentOrderId = accounting.firstParentOrderId + result.parentOrderIds++;
        return { id: `${this.runTag}-flat-${tag}-${parentOrderId}`, parentOrderId };
      };
      let { id: clientOrderId, parentOrderId } = next();
      // A dead process's flattening may have sent this id (a simulated run replayed after a crash
      // sends the same ones): one the exchange has, or cannot say, is never sent again. It is asked
      // for under the symbol it was sent for, as an exchange looks orders up per symbol.
      for (let sentFor = this.askFirst.get(clientOrderId); sentFor !== undefined; sentFor = this.askFirst.get(clientOrderId)) {
        this.askFirst.delete(clientOrderId);
        if ((await this.findByClientId(clientOrderId, sentFor)) === undefined) break;
        ({ id: clientOrderId, parentOrderId } = next());
      }
      // With accounting, what a resumed process needs to book this order if this one dies with it
      // in flight (recover-sent.ts): the bar and parent id its fill will have, and the asset.
      const books = accounting === undefined ? {} : { bar: accounting.bar, parentOrderId, assetId: this.assetIdOf(pos.symbol) };
      const record = { clientOrderId, symbol: pos.symbol, side, amount: String(pos.contracts), type: "market", reduceOnly: true, timestamp: clock.now(), ...books };
      log.append("reduce_only_oms_child_orders", { ...record, event: "sending" });
      // On disk before the request leaves, as every child's: a crash then still names the order.
      log.flush();
      const sentAt = clock.now();
      let order: CcxtOrder;
      try {
        order = await client.createOrder(pos.symbol, "market", side, pos.contracts, undefined, { clientOrderId, reduceOnly: true });
        log.append("reduce_only_ccxt_child_order_responses", { clientOrderId, response: order });
        result.closed.push(order);
      } catch (e) {
        const error = errorMessage(e);
        log.append("reduce_only_ccxt_child_order_responses", { clientOrderId, symbol: pos.symbol, empty: true, id: -1, error });
        log.append("reduce_only_oms_child_orders", { ...record, event: "rejected", error });
        result.failed.push({ symbol: pos.symbol, error });
        continue;
      }
      if (accounting !== undefined) {
        const folded = await this.foldClosingOrder(order, sentAt, accounting.bar, parentOrderId as number);
        if (folded !== undefined) result.fills.push({ symbol: pos.symbol, ...folded });
      }
    }
    return result;
  }

  /**
   * A closing order as a parent fill: its state once final and its trades (for the fees), logged in
   * reduce_only_ccxt_child_order_responses and, as every fill the portfolio applies, in oms_fills. A closing order
   * that is not final after the lookups is folded as it stands and named in fill_check_issues.
   */
  private async foldClosingOrder(order: CcxtOrder, sentAt: number, bar: number, parentOrderId: number): Promise<{ assetId: number; fill: ParentFill } | undefined> {
    const { client, log } = this.deps;
    const symbol = order.symbol;
    const state = isFinal(order) ? order : await this.withRetry(() => client.fetchOrder(order.id, symbol));
    const trades = dedupeTrades((await this.withRetry(() => client.fetchMyTrades(symbol, sentAt))).filter((t) => t.order === order.id));
    // The flattening streams of DOMAIN.md section 11 are the child orders and the responses: the
    // collected state and its trades go in the second, marked as such.
    log.append("reduce_only_ccxt_child_order_responses", { clientOrderId: order.clientOrderId, event: "collected", bar, parentOrderId, response: { ...state, trades: undefined }, trades });
    if (!isFinal(state)) {
      this.fillIssue({ bar, parentOrderId, childOrderId: order.clientOrderId, message: `closing order ${order.id} of ${symbol} is still ${state.status} at the exchange: its fill so far (${state.filled}) is applied, any later fill is in no parent fill` });
    }
    for (const issue of crossCheckChildFills([state], trades)) this.fillIssue({ bar, parentOrderId, ...issue });
    const market = this.market(symbol);
    const fill = foldParentFill(parentOrderId, [state], trades, market);
    if (fill === undefined) return undefined;
    const assetId = this.assetIdOf(symbol);
    log.appendLine("oms_fills", fillLine(bar, assetId, symbol, fill));
    return { assetId, fill };
  }

  private assetIdOf(symbol: string): number {
    const assetId = [...this.deps.universe].find(([, s]) => s === symbol)?.[0];
    if (assetId === undefined) throw new BrokerError(`symbol ${symbol} is not in the universe`);
    return assetId;
  }

  /**
   * At a bar boundary: cancels again each child left open when its parent finished (its cancels
   * failed), collects its state and trades, and books what it filled since it was last booked as
   * a late fill of its parent: logged in the ccxt_fills and ccxt_trades streams under the child's
   * bar and wave, in oms_fills under `bookBar`, and named in fill_check_issues. A child the exchange
   * reports final is done; one it cannot be asked about now (network trouble, a refusal) is tried
   * again at the next bar; one it no longer knows (no such order) is named and given up. The
   * children are asked about at once, so stuck ones cost a bar one round of retries, not one each.
   * Nothing happens in a run without faults (no child is left open).
   */
  async collectLateFills(bookBar: number): Promise<LateFill[]> {
    if (this.leftOpen.length === 0) return [];
    const { client, log } = this.deps;
    const asked = await Promise.all(
      this.leftOpen.map(async (entry): Promise<{ state: CcxtOrder; fetched: CcxtTrade[] } | { error: unknown }> => {
        const { child: c } = entry;
        const id = c.exchangeOrderId;
        try {
          await this.cancelWithRetry(id, c.symbol);
          const state = await this.withRetry(() => client.fetchOrder(id, c.symbol));
          // From its last booked trade on (an exchange pages trades from `since`), not from its wave.
          const since = entry.trades.reduce((t, x) => Math.max(t, x.timestamp), c.waveStart);
          const fetched = (await this.withRetry(() => client.fetchMyTrades(c.symbol, since))).filter((t) => t.order === id);
          return { state, fetched };
        } catch (e) {
          if (!isExchangeError(e)) throw e;
          return { error: e };
        }
      }),
    );
    const out: LateFill[] = [];
    const still: LeftOpenChild[] = [];
    this.leftOpen.forEach((entry, k) => {
      const { child: c, market } = entry;
      const id = c.exchangeOrderId;
      const answer = asked[k] as { state: CcxtOrder; fetched: CcxtTrade[] } | { error: unknown };
      if ("error" in answer) {
        const cls = classifyExchangeError(answer.error);
        log.append("oms_child_orders", { clientOrderId: c.clientOrderId, exchangeOrderId: id, symbol: c.symbol, event: "late_collect_failed", error: errorMessage(answer.error) });
        if (cls !== "not_found") {
          // The next bar asks again (a refusal may pass too); the session's end names it if it never can.
          still.push(entry);
          return;
        }
        this.fillIssue({
          bar: c.bar, parentOrderId: c.parentOrderId, childOrderId: c.clientOrderId,
          message: `child ${c.clientOrderId} (exchange order ${id}), left open by its parent, is unknown to the exchange now (${errorMessage(answer.error)}): given up; what it filled after ${entry.booked.filled} is in no fill: check the exchange by this order id`,
        });
        this.logLeftOpen(entry, "left_open_done");
        return;
      }
      const { state, fetched } = answer;
      const booked = new Set(entry.trades.map(tradeKey));
      const fresh = dedupeTrades(fetched.filter((t) => !booked.has(tradeKey(t))));
      // Trades are logged when they are booked: what ccxt_trades holds of a left-open child is then
      // what its fills carry, and a resumed process reads it back as such (left-open-log.ts).
      const logTrades = (): void => {
        for (const t of fresh) log.appendLine("ccxt_trades", tradeLine(c.bar, c.wave, t));
        this.tradesCollected += fresh.length;
      };
      const final = isFinal(state);
      const fill = foldLateFill(c.parentOrderId, entry.booked, state, fresh, market);
      const changed = fill !== undefined || state.status !== entry.status;
      if (changed) log.appendLine("ccxt_fills", orderStateLine(c.bar, c.wave, c.clientOrderId, orderJson(state)));
      entry.status = state.status;
      for (const issue of crossCheckChildFills([state], [...entry.trades, ...fresh])) this.fillIssue({ bar: c.bar, parentOrderId: c.parentOrderId, ...issue });
      if (fill !== undefined) {
        // Trades count as booked once a fill carries their fees; until then (an exchange that shows
        // a trade before the order's filled amount) they are fresh again at the next collection.
        logTrades();
        entry.trades.push(...fresh);
        entry.booked = { filled: state.filled ?? 0, cost: state.cost ?? 0 };
        log.appendLine("oms_fills", fillLine(bookBar, c.assetId, c.symbol, fill));
        if (!final) this.logLeftOpen(entry, "late_booked");
        this.fillIssue({
          bar: c.bar, parentOrderId: c.parentOrderId, childOrderId: c.clientOrderId,
          message: `child ${c.clientOrderId} (exchange order ${id}), left open by its parent, filled ${fill.numShares.abs().toString()} more at ${fill.price.toString()} after its parent finished (now ${state.status}): booked as a late fill of parent ${c.parentOrderId} under bar ${bookBar}`,
        });
        out.push({ assetId: c.assetId, fill, clientOrderId: c.clientOrderId });
      } else if (final && fresh.length > 0) {
        logTrades();
        this.fillIssue({ bar: c.bar, parentOrderId: c.parentOrderId, childOrderId: c.clientOrderId, message: `child ${c.clientOrderId} (exchange order ${id}) is ${state.status} with ${fresh.length} trade(s) no fill carries (its filled amount never grew past ${entry.booked.filled}): their fees are in no fill` });
      }
      if (!final) still.push(entry);
      else this.logLeftOpen(entry, "left_open_done");
    });
    this.leftOpen = still;
    return out;
  }

  /**
   * The children an earlier process of this run left open, as its broker log holds them (a live run
   * resumed from its checkpoint): collected from the next bar on as if this process had left them.
   */
  restoreLeftOpen(logged: readonly LoggedLeftOpen[]): void {
    for (const l of logged) this.pushLeftOpen(l);
  }

  /**
   * Children a dead process sent that a resumed one found still open at the exchange after
   * cancelling them (recover-sent.ts), their fill so far booked: collected from the next bar on as
   * left open. Their trades go to ccxt_trades (they are booked), and where they stand to
   * oms_child_orders, as for a child this process left open.
   */
  adoptLeftOpen(children: readonly LoggedLeftOpen[]): void {
    for (const l of children) {
      for (const t of l.trades) this.deps.log.appendLine("ccxt_trades", tradeLine(l.child.bar, l.child.wave, t));
      this.logLeftOpen(this.pushLeftOpen(l), "left_open");
    }
  }

  private pushLeftOpen(l: LoggedLeftOpen): LeftOpenChild {
    const entry: LeftOpenChild = { child: l.child, market: this.market(l.child.symbol), booked: l.booked, trades: [...l.trades], status: "open" };
    this.leftOpen.push(entry);
    return entry;
  }

  /**
   * Records in oms_child_orders where a left-open child stands (left open, a late fill booked, done
   * with), so a resumed process can take the list over (left-open-log.ts).
   */
  private logLeftOpen(entry: LeftOpenChild, event: "left_open" | "late_booked" | "left_open_done"): void {
    const c = entry.child;
    this.deps.log.append("oms_child_orders", { clientOrderId: c.clientOrderId, exchangeOrderId: c.exchangeOrderId, symbol: c.symbol, event, filled: entry.booked.filled, cost: entry.booked.cost });
  }

  /**
   * At the session's end, after the last late fills were booked: cancels once more every child still
   * left open, so no order of the run rests on the exchange after it, and names in
   * fill_check_issues what each filled since it was last booked (in no fill: the books miss it), or
   * why the exchange could not say. Returns how many were still open.
   */
  async cancelLeftOpen(): Promise<number> {
    const left = this.leftOpen;
    this.leftOpen = [];
    for (const { child: c, booked } of left) {
      const id = c.exchangeOrderId;
      let message: string;
      try {
        await this.cancelWithRetry(id, c.symbol);
        const state = await this.withRetry(() => this.deps.client.fetchOrder(id, c.symbol));
        const late = new Decimal(state.filled ?? 0).sub(booked.filled).toFixed();
        message = `at the session's end, child ${c.clientOrderId} (exchange order ${id}) left open by its parent is ${state.status === "open" ? "still open (its cancel failed again)" : state.status}; it filled ${late} since it was last booked, which no fill and so not the portfolio holds`;
      } catch (e) {
        if (!isExchangeError(e)) throw e;
        message = `at the session's end, child ${c.clientOrderId} (exchange order ${id}) left open by its parent could not be cancelled or asked about (${errorMessage(e)}): what it filled after ${booked.filled} is in no fill; check the exchange by this order id`;
      }
      this.fillIssue({ bar: c.bar, parentOrderId: c.parentOrderId, childOrderId: c.clientOrderId, message });
    }
    for (const entry of left) this.logLeftOpen(entry, "left_open_done");
    return left.length;
  }

  /** Logs a fill check issue: a fill that does not add up, or an order left where it should not be. */
  private fillIssue(record: { bar: number; parentOrderId: number; message: string; childOrderId?: string }): void {
    this.fillIssues++;
    this.firstFillIssue ??= `bar ${record.bar} parent ${record.parentOrderId}: ${record.message}`;
    this.deps.log.append("fill_check_issues", record);
  }

  private finish(states: ParentState[], bar: number): ParentFill[] {
    const fills: ParentFill[] = [];
    for (const st of states) {
      for (const c of st.open) {
        const state = st.finalStates.get(c.exchangeOrderId as string);
        if (c.exchangeOrderId !== undefined) {
          const trades = st.trades.filter((t) => t.order === c.exchangeOrderId);
          const entry: LeftOpenChild = { child: { ...c, exchangeOrderId: c.exchangeOrderId }, market: st.market, booked: { filled: state?.filled ?? 0, cost: state?.cost ?? 0 }, trades, status: state?.status ?? "open" };
          this.leftOpen.push(entry);
          this.logLeftOpen(entry, "left_open");
        }
        // Never silently dropped: what it fills from now on is booked at the next bars as a late fill.
        this.fillIssue({
          bar, parentOrderId: st.parent.orderId, childOrderId: c.clientOrderId,
          message: `child ${c.clientOrderId} (exchange order ${c.exchangeOrderId ?? "?"}): still ${state?.status ?? "open"} at the exchange when its parent finished (its cancels failed); this fill has its ${state?.filled ?? 0} filled so far, and what it fills later is booked as a late fill of this parent at the next bar boundary`,
        });
      }
      for (const c of st.children) {
        if (c.status !== "unknown" || c.exchangeOrderId !== undefined) continue;
        // Never silently dropped: the order may rest on the exchange, and its fills are not in this fill.
        this.fillIssue({ bar, parentOrderId: st.parent.orderId, childOrderId: c.clientOrderId, message: `child ${c.clientOrderId}: whether the exchange took it is still unknown (it could not be asked); it may rest there, and any fill of it is not in this parent's fill: check the exchange by this client order id` });
      }
      const children = [...st.finalStates.values()];
      for (const issue of crossCheckChildFills(children, st.trades)) this.fillIssue({ bar, parentOrderId: st.parent.orderId, ...issue });
      const { market } = st;
      const fill = foldParentFill(st.parent.orderId, children, st.trades, market);
      if (fill === undefined) continue;
      for (const u of fill.unvaluedFees ?? []) {
        this.fillIssue({ bar, parentOrderId: st.parent.orderId, message: `fees of ${u.cost.toFixed()} ${u.currency} are in neither ${market.base} nor ${market.quote}: left out of the fill's fees (no price to value them)` });
      }
      fills.push(fill);
      this.deps.log.appendLine("oms_fills", fillLine(bar, st.parent.assetId, st.symbol, fill));
    }
    return fills;
  }
}

const FINAL_STATUSES = new Set(["closed", "canceled", "expired", "rejected"]);

/**
 * Keys of the trades already collected for those of `kids` collected before (still open then);
 * undefined when there are none, which is every wave of a run without faults.
 */
function collectedTradeKeys(st: ParentState, kids: readonly ChildOrder[]): Set<string> | undefined {
  const again = kids.filter((c) => st.open.has(c));
  if (again.length === 0) return undefined;
  const ids = new Set(again.map((c) => c.exchangeOrderId as string));
  return new Set(st.trades.filter((t) => t.order !== undefined && ids.has(t.order)).map(tradeKey));
}

function isFinal(order: CcxtOrder | undefined): boolean {
  return order !== undefined && FINAL_STATUSES.has(order.status);
}

// Log lines of the hot records, built member by member: the same text as JSON.stringify of the
// object literal in each comment (test/oms/broker-log-lines.test.ts pins that), without making the
// object, a spread copy of the child, or serializing an order twice.

/**
 * JSON of the order without its embedded trades (those are logged once, in the ccxt_trades stream).
 * A copy with `trades: undefined` prints the same text as one without the member (JSON.stringify
 * leaves undefined members out) and was a fifth cheaper than a rest-spread copy.
 */
function orderJson(order: CcxtOrder): string {
  return stringifyRecord({ ...order, trades: undefined });
}

/** `{ bar, wave, clientOrderId, order }`, the order already serialized (orderJson). */
function orderStateLine(bar: number, wave: number, clientOrderId: string, orderJsonText: string): string {
  return jsonObject(jsonMember(',"bar":', bar) + jsonMember(',"wave":', wave) + jsonMember(',"clientOrderId":', clientOrderId) + ',"order":' + orderJsonText);
}

/** `{ bar, wave, trade }` */
function tradeLine(bar: number, wave: number, t: CcxtTrade): string {
  return jsonObject(jsonMember(',"bar":', bar) + jsonMember(',"wave":', wave) + jsonMember(',"trade":', t));
}

/** `{ ...child, event }` */
export function childOrderLine(c: ChildOrder, event: string): string {
  return jsonObject(
    jsonMember(',"clientOrderId":', c.clientOrderId) +
      jsonMember(',"parentOrderId":', c.parentOrderId) +
      jsonMember(',"assetId":', c.assetId) +
      jsonMember(',"symbol":', c.symbol) +
      jsonMember(',"bar":', c.bar) +
      jsonMember(',"wave":', c.wave) +
      jsonMember(',"attempt":', c.attempt) +
      jsonMember(',"side":', c.side) +
      jsonMember(',"amount":', c.amount) +
      jsonMember(',"limitPrice":', c.limitPrice) +
      jsonMember(',"limitInputs":', c.limitInputs) +
      jsonMember(',"status":', c.status) +
      jsonMember(',"exchangeOrderId":', c.exchangeOrderId) +
      jsonMember(',"error":', c.error) +
      jsonMember(',"waveStart":', c.waveStart) +
      jsonMember(',"submittedAt":', c.submittedAt) +
      jsonMember(',"ackAt":', c.ackAt) +
      jsonMember(',"event":', event),
  );
}

/** `{ bar, assetId, symbol, ...fill }` */
export function fillLine(bar: number, assetId: number, symbol: string, f: ParentFill): string {
  return jsonObject(
    jsonMember(',"bar":', bar) +
      jsonMember(',"assetId":', assetId) +
      jsonMember(',"symbol":', symbol) +
      jsonMember(',"parentOrderId":', f.parentOrderId) +
      jsonMember(',"numShares":', f.numShares) +
      jsonMember(',"price":', f.price) +
      jsonMember(',"timestamp":', f.timestamp) +
      jsonMember(',"fees":', f.fees) +
      jsonMember(',"feeCurrencies":', f.feeCurrencies) +
      jsonMember(',"unvaluedFees":', f.unvaluedFees),
  );
}

/** Signed shares filled so far by the parent's children (their states at their waves' ends). */
function signedFilled(st: ParentState): Decimal {
  const s = new ScaledTotal();
  for (const o of st.finalStates.values()) s.addNumber(o.filled, o.side === "buy" ? 1 : -1);
  return s.value().toDecimal();
}

/** The price a market child would trade at first: the latest ask for a buy, bid for a sell. */
function lastQuote(rows: BidAskSeries, side: "buy" | "sell"): number | undefined {
  const n = rows.length;
  if (n === 0) return undefined;
  const px = (side === "buy" ? rows.asks[n - 1] : rows.bids[n - 1]) as number;
  return Number.isFinite(px) && px > 0 ? px : undefined;
}

const NO_QUOTES: BidAskSeries = new BidAskBuffer();

/** Relative margin that covers the rounding of amount and price to doubles (~1e-16 each) many times over. */
const MINIMUM_MARGIN = 1e-9;

/**
 * False when `amount` (a multiple of the amount step) is surely at or above minimumAmount at `price`:
 * the exact minimum (decimal.js, several divisions) is then not needed, which is nearly always.
 * An amount at or above the minimum amount and cost is at or above their ceilings on the step
 * grid, because it is on that grid itself; the margin keeps doubles from deciding a close call.
 */
export function mayBeUnderMinimum(market: CcxtMarket, amount: number, price: number): boolean {
  const minAmount = market.limits.amount.min;
  const minCost = market.limits.cost.min;
  if (minAmount !== undefined && minAmount > 0 && !(amount >= minAmount * (1 + MINIMUM_MARGIN))) return true;
  if (minCost !== undefined && minCost > 0 && !(price > 0 && amount * price >= minCost * (1 + MINIMUM_MARGIN))) return true;
  return false;
}

/**
 * The smallest amount, on the amount step, that the market's minimum amount and minimum cost (at
 * `price`) both allow; undefined when the market sets neither.
 */
export function minimumAmount(market: CcxtMarket, step: Decimal, price: Decimal): Decimal | undefined {
  const minAmount = market.limits.amount.min;
  const minCost = market.limits.cost.min;
  if ((minAmount === undefined || minAmount <= 0) && (minCost === undefined || minCost <= 0)) return undefined;
  let min = new Decimal(0);
  if (minAmount !== undefined && minAmount > 0) min = Decimal.max(min, ceilToStep(dec(minAmount), step));
  if (minCost !== undefined && minCost > 0 && price.isPositive()) min = Decimal.max(min, ceilToStep(dec(minCost).div(price), step));
  return min;
}

function ceilToStep(value: Decimal, step: Decimal): Decimal {
  return value.div(step).toDecimalPlaces(0, Decimal.ROUND_UP).mul(step);
}

/** Rounds toward zero onto a step grid (0.001, 0.5, 1). */
export function roundToStep(value: Decimal.Value, step: Decimal.Value): Decimal {
  const s = new Decimal(step);
  return new Decimal(value).div(s).toDecimalPlaces(0, Decimal.ROUND_DOWN).mul(s);
}

/** FNV-1a 32-bit hash, for short stable tags and asset ids. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
