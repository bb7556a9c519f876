// Seeded price processes that drive a synthetic market. Each model is a pure state machine over an
// Rng: `step(dtMs)` advances the "fair" price the liquidity provider quotes around.

import { z } from "zod";
import type { Rng } from "../../core/rng.js";

const YEAR_MS = 365 * 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;

export const priceModelSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("random_walk"),
    /** Annualized volatility relative to the initial price; steps are additive in price. */
    volatility: z.number().nonnegative().default(0.6),
  }).strict(),
  z.object({
    kind: z.literal("gbm"),
    volatility: z.number().nonnegative().default(0.6),
    /** Annualized drift of the log price. */
    drift: z.number().default(0),
  }).strict(),
  z.object({
    kind: z.literal("trend_following"),
    volatility: z.number().nonnegative().default(0.6),
    /** Autocorrelation of successive returns, in [0, 1): higher means longer trends. */
    persistence: z.number().min(0).lt(1).default(0.9),
  }).strict(),
  z.object({
    kind: z.literal("mean_reverting"),
    volatility: z.number().nonnegative().default(0.6),
    /** Pull toward the mean per day (Ornstein-Uhlenbeck theta on the log price). */
    reversionPerDay: z.number().nonnegative().default(24),
    /** The level it reverts to; the initial price when absent. */
    mean: z.number().positive().optional(),
  }).strict(),
]);

export type PriceModelSpec = z.input<typeof priceModelSchema>;

export interface PriceModel {
  readonly price: number;
  step(dtMs: number): number;
}

export function createPriceModel(spec: PriceModelSpec, initialPrice: number, rng: Rng): PriceModel {
  const s = priceModelSchema.parse(spec);
  switch (s.kind) {
    case "random_walk":
      return new RandomWalk(initialPrice, s.volatility, rng);
    case "gbm":
      return new GeometricBrownianMotion(initialPrice, s.volatility, s.drift, rng);
    case "trend_following":
      return new TrendFollowing(initialPrice, s.volatility, s.persistence, rng);
    case "mean_reverting":
      return new MeanReverting(initialPrice, s.volatility, s.reversionPerDay, s.mean ?? initialPrice, rng);
  }
}

/** Additive Gaussian steps scaled to the initial price; reflected to stay above 1% of it. */
export class RandomWalk implements PriceModel {
  price: number;
  private readonly scale: number;
  private readonly floor: number;
  constructor(initial: number, volatility: number, private readonly rng: Rng) {
    this.price = initial;
    this.scale = initial * volatility;
    this.floor = initial * 0.01;
  }
  step(dtMs: number): number {
    this.price += this.scale * Math.sqrt(dtMs / YEAR_MS) * this.rng.normal();
    if (this.price < this.floor) this.price = 2 * this.floor - this.price;
    return this.price;
  }
}

export class GeometricBrownianMotion implements PriceModel {
  price: number;
  /**
   * The step's drift and scale for the last dtMs: a market steps every symbol every second with the
   * same dt, so they are computed once (the same operations on the same values: the same doubles).
   */
  private dtMs = Number.NaN;
  private driftTerm = 0;
  private scale = 0;
  constructor(initial: number, private readonly volatility: number, private readonly drift: number, private readonly rng: Rng) {
    this.price = initial;
  }
  step(dtMs: number): number {
    if (dtMs !== this.dtMs) {
      const dt = dtMs / YEAR_MS;
      this.dtMs = dtMs;
      this.driftTerm = (this.drift - 0.5 * this.volatility ** 2) * dt;
      this.scale = this.volatility * Math.sqrt(dt);
    }
    this.price *= Math.exp(this.driftTerm + this.scale * this.rng.normal());
    return this.price;
  }
}

/** Log returns follow an AR(1): each return carries a share of the previous one, so moves trend. */
export class TrendFollowing implements PriceModel {
  price: number;
  private lastReturn = 0;
  constructor(initial: number, private readonly volatility: number, private readonly persistence: number, private readonly rng: Rng) {
    this.price = initial;
  }
  step(dtMs: number): number {
    // Innovation variance scaled so the stationary return variance matches the volatility.
    const sd = this.volatility * Math.sqrt(dtMs / YEAR_MS) * Math.sqrt(1 - this.persistence ** 2);
    const r = this.persistence * this.lastReturn + sd * this.rng.normal();
    this.lastReturn = r;
    this.price *= Math.exp(r);
    return this.price;
  }
}

/** Ornstein-Uhlenbeck on the log price. */
export class MeanReverting implements PriceModel {
  price: number;
  private x: number;
  private readonly mu: number;
  constructor(initial: number, private readonly volatility: number, private readonly theta: number, mean: number, private readonly rng: Rng) {
    this.price = initial;
    this.x = Math.log(initial);
    this.mu = Math.log(mean);
  }
  step(dtMs: number): number {
    const dtDays = dtMs / DAY_MS;
    const dtYears = dtMs / YEAR_MS;
    this.x += this.theta * (this.mu - this.x) * dtDays + this.volatility * Math.sqrt(dtYears) * this.rng.normal();
    this.price = Math.exp(this.x);
    return this.price;
  }
}
