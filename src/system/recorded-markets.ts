// The `markets.json` beside recorded market data (ccxt markets by symbol): a replay takes every
// symbol's precision and limits from it. Read through a schema because it may come from elsewhere
// or be edited by hand: unchecked, a missing field surfaced as a context-free TypeError mid-setup,
// and a minimum cost that is not a number compared false with everything, so it silently let
// trades under the exchange minimum through.

import { existsSync, readFileSync } from "node:fs";
import { JsonSyntaxError, parseJsonText } from "../core/json-text.js";
import { join } from "node:path";
import { z } from "zod";
import type { CcxtMarket } from "../oms/ccxt-types.js";
import { ConfigError } from "./config.js";

export const MARKETS_FILE = "markets.json";

/** A JSON file cannot hold undefined: ccxt's "no limit" is written as an absent key or null. */
const optionalNumber = z.number().finite().nonnegative().nullish().transform((v) => v ?? undefined);
const limitSchema = z.object({ min: optionalNumber, max: optionalNumber }).prefault({});
const step = z.number().finite().positive();

const marketSchema = z
  .object({
    id: z.string().min(1).optional(),
    symbol: z.string().min(1),
    base: z.string().min(1),
    quote: z.string().min(1),
    settle: z.string().nullish().transform((v) => v ?? undefined),
    type: z.enum(["spot", "swap"]).optional(),
    spot: z.boolean(),
    swap: z.boolean(),
    contract: z.boolean().optional(),
    linear: z.boolean().nullish().transform((v) => v ?? undefined),
    active: z.boolean().default(true),
    contractSize: z.number().finite().positive().nullish().transform((v) => v ?? undefined),
    precision: z.object({ amount: step, price: step }),
    limits: z.object({ amount: limitSchema, price: limitSchema, cost: limitSchema, leverage: limitSchema }),
    maker: z.number().finite().default(0),
    taker: z.number().finite().default(0),
    info: z.record(z.string(), z.unknown()).default({}),
  })
  .transform(
    (m): CcxtMarket => ({ ...m, id: m.id ?? m.symbol, type: m.type ?? (m.swap ? "swap" : "spot"), contract: m.contract ?? m.swap }),
  );

const marketsSchema = z.record(z.string(), marketSchema).superRefine((markets, ctx) => {
  for (const [key, m] of Object.entries(markets)) {
    if (m.symbol !== key) ctx.addIssue({ code: "custom", path: [key, "symbol"], message: `"${m.symbol}" is listed under "${key}"` });
  }
});

/** Reads and validates `<dir>/markets.json`; errors name the file, the symbol and the field. */
export function readRecordedMarkets(dir: string): Record<string, CcxtMarket> {
  const file = join(dir, MARKETS_FILE);
  if (!existsSync(file)) throw new ConfigError(`${dir}: no ${MARKETS_FILE} (ccxt markets with precision and limits) beside the recorded data; a run's market_data/ folder has one`);
  let raw: unknown;
  try {
    raw = parseJsonText(readFileSync(file, "utf8"), file);
  } catch (e) {
    // file:line:column: what is wrong.
    if (e instanceof JsonSyntaxError) throw new ConfigError(e.message, { cause: e });
    throw e;
  }
  const r = marketsSchema.safeParse(raw);
  if (!r.success) {
    throw new ConfigError(
      r.error.issues
        .map((i) => {
          const [symbol, ...field] = i.path.map(String);
          return symbol === undefined ? `${file}: ${i.message}` : `${file}: ${symbol}${field.length > 0 ? `: ${field.join(".")}` : ""}: ${i.message}`;
        })
        .join("\n"),
    );
  }
  if (Object.keys(r.data).length === 0) throw new ConfigError(`${file}: lists no market`);
  return r.data;
}
