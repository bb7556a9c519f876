// Instrument definitions: the trading rules of one symbol (tick, lot, minimums, fees, kind), and
// their compiled integer form used by the engine. Every amount that reaches the book is rounded and
// checked here, in one place.

import { z } from "zod";
import { Decimal } from "decimal.js";
import { fromSteps, parseStep, stepRatio, toSteps, type Step, UnitsError } from "../core/units.js";

export type InstrumentKind = "spot" | "perpetual";

const decimalString = z
  .union([z.string(), z.number()])
  .transform((v) => String(v).trim())
  .refine((v) => /^\d+(\.\d+)?$/.test(v), { message: "must be a non-negative decimal such as \"0.01\"" });

export const instrumentSpecSchema = z
  .object({
    symbol: z.string().regex(/^[A-Z0-9]+\/[A-Z0-9]+(:[A-Z0-9]+)?$/, "must look like BASE/QUOTE or BASE/QUOTE:SETTLE"),
    kind: z.enum(["spot", "perpetual"]),
    base: z.string().min(1),
    quote: z.string().min(1),
    tickSize: decimalString,
    lotSize: decimalString,
    minQty: decimalString.default("0"),
    minNotional: decimalString.default("0"),
    makerFee: decimalString.default("0.0002"),
    takerFee: decimalString.default("0.0004"),
    maxLeverage: z.number().int().min(1).max(125).default(20),
    defaultLeverage: z.number().int().min(1).max(125).default(10),
    /** Reference price for the percent-price band before the first trade. */
    referencePrice: decimalString.optional(),
    /** Limit prices must lie within [ref * bandDown, ref * bandUp] (Binance PERCENT_PRICE). */
    bandUp: z.number().gt(1).default(5),
    bandDown: z.number().gt(0).lt(1).default(0.2),
  })
  .strict();

export type InstrumentSpec = z.input<typeof instrumentSpecSchema>;

export const assetSpecSchema = z.object({ name: z.string().min(1), decimals: z.number().int().min(0).max(18) }).strict();
export type AssetSpec = z.input<typeof assetSpecSchema>;

/** Fee rates are held as integers per 1e8 of the amount (0.0002 -> 20000). */
export const FEE_SCALE = 1e8;
const MAX_FEE_RATE = 1e6; // 1%

export class InstrumentError extends Error {
  override readonly name = "InstrumentError";
}

export interface Asset {
  readonly index: number;
  readonly name: string;
  readonly unit: Step;
}

/** An instrument compiled to integers. Read-only once created. */
export class Instrument {
  readonly index: number;
  readonly symbol: string;
  readonly kind: InstrumentKind;
  readonly base: Asset;
  readonly quote: Asset;
  readonly tick: Step;
  readonly lot: Step;
  readonly minQtyLots: number;
  /** Minimum notional in quote units. */
  readonly minNotionalUnits: number;
  readonly makerFeeRate: number;
  readonly takerFeeRate: number;
  readonly maxLeverage: number;
  readonly defaultLeverage: number;
  /** Quote units in one (tick x lot): notional units = ticks * lots * notionalFactor. */
  readonly notionalFactor: number;
  /** Base units in one lot. */
  readonly lotFactor: number;
  readonly referenceTicks: number | undefined;
  readonly bandUp: number;
  readonly bandDown: number;
  readonly spec: Readonly<z.output<typeof instrumentSpecSchema>>;

  constructor(index: number, spec: z.output<typeof instrumentSpecSchema>, base: Asset, quote: Asset) {
    const where = `instrument ${spec.symbol}`;
    this.index = index;
    this.symbol = spec.symbol;
    this.kind = spec.kind;
    this.base = base;
    this.quote = quote;
    this.spec = spec;
    try {
      this.tick = parseStep(spec.tickSize);
      this.lot = parseStep(spec.lotSize);
    } catch (e) {
      throw new InstrumentError(`${where}: ${(e as UnitsError).message}`);
    }
    const minQty = toSteps(spec.minQty, this.lot);
    if (minQty === undefined) throw new InstrumentError(`${where}: minQty ${spec.minQty} is not a multiple of lotSize ${spec.lotSize}`);
    this.minQtyLots = Math.max(1, minQty);
    const notionalStep = parseStep(new Decimal(this.tick.text).mul(this.lot.text));
    const nf = stepRatio(notionalStep, quote.unit);
    if (nf === undefined) {
      throw new InstrumentError(`${where}: tickSize x lotSize (${notionalStep.text}) is finer than ${quote.name}'s unit ${quote.unit.text}; give ${quote.name} more decimals`);
    }
    this.notionalFactor = nf;
    const lf = stepRatio(this.lot, base.unit);
    if (lf === undefined) throw new InstrumentError(`${where}: lotSize ${this.lot.text} is finer than ${base.name}'s unit ${base.unit.text}; give ${base.name} more decimals`);
    this.lotFactor = lf;
    const minNotional = toSteps(spec.minNotional, quote.unit);
    if (minNotional === undefined) throw new InstrumentError(`${where}: minNotional ${spec.minNotional} has more decimals than ${quote.name} (${quote.unit.scale})`);
    this.minNotionalUnits = minNotional;
    this.makerFeeRate = feeRate(spec.makerFee, `${where}: makerFee`);
    this.takerFeeRate = feeRate(spec.takerFee, `${where}: takerFee`);
    if (spec.defaultLeverage > spec.maxLeverage) throw new InstrumentError(`${where}: defaultLeverage ${spec.defaultLeverage} exceeds maxLeverage ${spec.maxLeverage}`);
    this.maxLeverage = spec.maxLeverage;
    this.defaultLeverage = spec.defaultLeverage;
    if (spec.referencePrice !== undefined) {
      const r = this.roundPrice(spec.referencePrice);
      if (r <= 0) throw new InstrumentError(`${where}: referencePrice must be positive`);
      this.referenceTicks = r;
    } else {
      this.referenceTicks = undefined;
    }
    this.bandUp = spec.bandUp;
    this.bandDown = spec.bandDown;
  }

  /** Exact ticks for a price, or undefined when it is off tick. */
  priceToTicks(price: string | Decimal | number): number | undefined {
    return toSteps(price, this.tick);
  }

  /** Exact lots for a quantity, or undefined when it is off lot. */
  qtyToLots(qty: string | Decimal | number): number | undefined {
    return toSteps(qty, this.lot);
  }

  /** Nearest tick, half to even (the rule for limit prices, DOMAIN section 2). */
  roundPrice(price: string | Decimal | number): number {
    return new Decimal(price).div(this.tick.text).toDecimalPlaces(0, Decimal.ROUND_HALF_EVEN).toNumber();
  }

  /** Whole lots toward zero (the rule for order sizes). */
  floorQty(qty: string | Decimal | number): number {
    return new Decimal(qty).div(this.lot.text).toDecimalPlaces(0, Decimal.ROUND_DOWN).toNumber();
  }

  /** A price's text; a mid between two ticks (a half tick count, as a band's reference) too. */
  formatPrice(ticks: number): string {
    return Number.isInteger(ticks) ? fromSteps(ticks, this.tick) : new Decimal(ticks).mul(this.tick.text).toFixed();
  }

  formatQty(lots: number): string {
    return fromSteps(lots, this.lot);
  }

  formatQuote(units: number): string {
    return fromSteps(units, this.quote.unit);
  }

  formatBase(units: number): string {
    return fromSteps(units, this.base.unit);
  }
}

function feeRate(value: string, where: string): number {
  const units = toSteps(value, parseStep("0.00000001"));
  if (units === undefined) throw new InstrumentError(`${where} ${value} has more than 8 decimals`);
  if (units > MAX_FEE_RATE) throw new InstrumentError(`${where} ${value} is above 1%`);
  return units;
}

/** Fee in units for an amount in units at a rate per 1e8, rounded half up; exact for safe integers. */
export function feeOf(amount: number, rate: number): number {
  if (rate === 0 || amount === 0) return 0;
  let q = Math.floor(amount / FEE_SCALE);
  let r = amount - q * FEE_SCALE;
  if (r < 0) {
    q -= 1;
    r += FEE_SCALE;
  } else if (r >= FEE_SCALE) {
    q += 1;
    r -= FEE_SCALE;
  }
  return q * rate + Math.floor((r * rate + FEE_SCALE / 2) / FEE_SCALE);
}
