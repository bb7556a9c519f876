// The system config: every parameter that controls one run (model and its parameters, universe,
// bar length, run mode, clock, data source, broker and exchange client, order config, limits,
// stage, output root). Validated at the boundary with errors that name the field; saved into the
// log directory both as given and as resolved (defaults filled in).

import { readFileSync } from "node:fs";
import { z } from "zod";
import { JsonSyntaxError, parseJsonText } from "../core/json-text.js";
import { SEED_MAX } from "../core/rng.js";
import { parseTimestamp, toEpochMs } from "../core/timestamp.js";
import { numWaves, waveLengthProblem } from "../oms/waves.js";
import { targetConfigSchema } from "./targets.js";
import { faultSchema } from "../exchanges/embedded-venue-client.js";

/** Seeds are 32-bit (see Rng): a larger one would silently replay a smaller one's market. */
const seedSchema = z.number().int().min(0).max(SEED_MAX, `a seed is a whole number from 0 to ${SEED_MAX}`);

export const RUN_MODES = ["simulation", "paper_trading", "prod"] as const;
export const DAG_RUN_MODES = ["scheduled", "manual", "backfill"] as const;
export const STAGES = ["dev", "preprod", "prod"] as const;

export type RunMode = (typeof RUN_MODES)[number];
export type DagRunMode = (typeof DAG_RUN_MODES)[number];

/** A path segment of the run layout: no separators, no `..`, nothing that escapes the data root. */
export const pathSegment = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9_.-]+$/, "only letters, digits, '_', '-' and '.' are allowed (it names a folder)")
  .refine((s) => s !== "." && s !== "..", "'.' and '..' are not allowed (it names a folder)");

const timestampText = z.string().transform((s, ctx) => {
  try {
    return toEpochMs(parseTimestamp(s));
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});

const universeSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("synthetic"), assets: z.number().int().min(1).max(999).default(10), seed: seedSchema.default(1) }).strict(),
  z.object({ kind: z.literal("symbols"), symbols: z.array(z.string().min(1)).min(1) }).strict(),
]);

const clockSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("simulated") }).strict(),
  z.object({ kind: z.literal("real") }).strict(),
  z.object({ kind: z.literal("scaled"), speed: z.number().positive().max(10_000).default(60) }).strict(),
]);

const dataSchema = z.discriminatedUnion("source", [
  /** The embedded venue's live feed (the venue's synthetic market is the data). */
  z.object({ source: z.literal("venue") }).strict(),
  /** A seeded synthetic history; orders then fill at 100%. */
  z.object({
    source: z.literal("synthetic"),
    seed: seedSchema.default(1),
    /** Bid/ask and L2 snapshot interval: 10 s keeps a day of 100 assets in seconds; 1 s is finer. */
    snapshotSeconds: z.number().int().min(1).max(60).default(10),
  }).strict(),
  /** Recorded files (DOMAIN.md section 15) under `dir`. */
  z.object({ source: z.literal("files"), dir: z.string().min(1) }).strict(),
  /** Live data from the exchange client (prod). */
  z.object({
    source: z.literal("exchange"),
    pollMs: z.number().int().min(200).default(1_000),
    /** A run stops once no symbol has had a successful poll for this long (feed-health.ts says why). */
    maxOutageSeconds: z.number().int().min(10).default(300),
  }).strict(),
]);

const brokerClientSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("embedded"),
    /** Latency of order entry, cancel and acknowledgement on the simulated venue, in ms. */
    latencyMs: z.number().min(0).default(0),
    /**
     * Injected request failures (seeded): lost and timed-out order entries, 503s, lost cancels.
     * For rehearsing how a session rides out a bad exchange day; none by default.
     */
    faults: faultSchema.optional(),
  }).strict(),
  z.object({ kind: z.literal("instant_fill"), feeRate: z.number().min(0).max(0.01).default(0.0005) }).strict(),
  z.object({ kind: z.literal("ccxt"), exchangeId: z.string().min(1).default("binanceusdm"), baseUrl: z.string().url().optional() }).strict(),
]);

const orderSchema = z
  .object({
    /** Default: TWAP over the bar; with the instant-fill broker a parent fills at once, so market. */
    type: z.enum(["price@twap", "market", "limit"]).optional(),
    /** TWAP wave length; default: a fifth of the bar, at most a minute. */
    executionFrequencySeconds: z.number().int().min(1).optional(),
    /** How TWAP children are priced (DOMAIN.md section 2): from the spread (passivity) or from recent volatility. */
    limitPrice: z.enum(["passivity", "volatility"]).default("passivity"),
    passivityFactor: z.number().min(0).max(1).default(0.5),
    /** The volatility computer's multiple: one for every wave, or one per wave. */
    volatilityMultiple: z.union([z.number().nonnegative(), z.array(z.number().nonnegative()).min(1)]).default(0.75),
    childSizing: z.enum(["static", "dynamic"]).default("static"),
    /** Flatten the account (reduce-only) when the run ends. */
    flattenAtEnd: z.boolean().default(false),
  })
  .strict();

export const systemConfigSchema = z
  .object({
    model: z.object({ name: pathSegment, params: z.record(z.string(), z.unknown()).default({}) }).strict(),
    universe: universeSchema.prefault({ kind: "synthetic" }),
    barMinutes: z.number().int().min(1).max(1440).default(5),
    mode: z.enum(RUN_MODES).default("simulation"),
    dagRunMode: z.enum(DAG_RUN_MODES).default("manual"),
    stage: z.enum(STAGES).default("dev"),
    start: timestampText,
    end: timestampText,
    clock: clockSchema.optional(),
    data: dataSchema.optional(),
    broker: brokerClientSchema.optional(),
    order: orderSchema.prefault({}),
    targets: targetConfigSchema.prefault({}),
    /** Minimum trade cost in the quote currency (DOMAIN.md section 4). */
    minCost: z.number().min(0).default(10),
    initialCash: z.string().regex(/^\d+(\.\d+)?$/, "a decimal amount such as \"100000\"").default("100000"),
    seed: seedSchema.default(1),
    outputRoot: z.string().min(1).default("storage"),
    /** Prod only: must be true, a guard against trading real money by accident. */
    confirmProd: z.boolean().default(false),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.end <= c.start) ctx.addIssue({ code: "custom", path: ["end"], message: "end must be after start" });
    const bar = c.barMinutes * 60_000;
    if (c.start % bar !== 0) ctx.addIssue({ code: "custom", path: ["start"], message: `start must be on a ${c.barMinutes}-minute bar boundary` });
    if (c.end % bar !== 0) ctx.addIssue({ code: "custom", path: ["end"], message: `end must be on a ${c.barMinutes}-minute bar boundary` });
  });

export type SystemConfigInput = z.input<typeof systemConfigSchema>;
type ParsedConfig = z.output<typeof systemConfigSchema>;

/** The config with every choice made: what the run actually used. */
export interface SystemConfig extends Omit<ParsedConfig, "clock" | "data" | "broker" | "order"> {
  clock: z.output<typeof clockSchema>;
  data: z.output<typeof dataSchema>;
  broker: z.output<typeof brokerClientSchema>;
  order: Omit<z.output<typeof orderSchema>, "executionFrequencySeconds" | "type"> & { executionFrequencySeconds: number; type: "price@twap" | "market" | "limit" };
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Formats zod issues as `field.path: message` lines, prefixed with where the config came from. */
export function formatIssues(where: string, error: z.ZodError): string {
  return error.issues.map((i) => `${where}: ${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`).join("\n");
}

/** Validates and fills in the choices that depend on the run mode. */
export function resolveConfig(input: unknown, where = "system config"): SystemConfig {
  const r = systemConfigSchema.safeParse(input);
  if (!r.success) throw new ConfigError(formatIssues(where, r.error));
  const c = r.data;
  const clock = c.clock ?? (c.mode === "simulation" ? { kind: "simulated" as const } : { kind: "real" as const });
  const data = c.data ?? (c.mode === "prod" ? { source: "exchange" as const, pollMs: 1_000, maxOutageSeconds: 300 } : { source: "venue" as const });
  const broker = c.broker ?? (c.mode === "prod" ? { kind: "ccxt" as const, exchangeId: "binanceusdm" } : { kind: "embedded" as const, latencyMs: 0 });
  const barS = c.barMinutes * 60;
  const order = {
    ...c.order,
    type: c.order.type ?? (broker.kind === "instant_fill" ? ("market" as const) : ("price@twap" as const)),
    executionFrequencySeconds: c.order.executionFrequencySeconds ?? Math.min(60, Math.max(1, Math.floor(barS / 5))),
  };
  const problems: string[] = [];
  if (c.mode === "simulation" && clock.kind !== "simulated") problems.push("clock: simulation runs on the simulated clock");
  if (c.mode !== "simulation" && clock.kind === "simulated") problems.push(`clock: ${c.mode} runs on a real or scaled clock, not the simulated one`);
  if (c.mode === "prod" && clock.kind !== "real") problems.push("clock: prod runs on the real clock");
  if (c.mode === "prod" && broker.kind !== "ccxt") problems.push("broker.kind: prod trades through ccxt");
  if (c.mode !== "prod" && broker.kind === "ccxt") problems.push(`broker.kind: ccxt places real orders; use mode prod (or the embedded / instant_fill broker for ${c.mode})`);
  if (c.mode === "prod" && data.source !== "exchange") problems.push("data.source: prod reads live data from the exchange");
  if (data.source === "venue" && broker.kind !== "embedded" && broker.kind !== "instant_fill") problems.push("data.source: the venue feed drives the embedded broker or the instant-fill one");
  if ((data.source === "synthetic" || data.source === "files") && broker.kind === "embedded") problems.push(`data.source: ${data.source} data cannot drive the embedded venue's book; use broker.kind instant_fill, or data.source venue`);
  if (data.source === "files" && c.mode !== "simulation") problems.push("data.source: recorded files are replayed in simulation mode only");
  if (c.mode === "prod" && !c.confirmProd) problems.push("confirmProd: prod trades real money; pass --confirm-prod (confirmProd: true) to start it");
  const waveProblem = waveLengthProblem(order.executionFrequencySeconds * 1000, barS * 1000, `${c.barMinutes}-minute bar`);
  if (waveProblem !== undefined) problems.push(`order.executionFrequencySeconds: ${waveProblem}`);
  else if (order.type === "price@twap" && order.limitPrice === "volatility" && Array.isArray(order.volatilityMultiple)) {
    // A bar-long parent sends in all its waves but the last (DOMAIN.md section 3).
    const sending = numWaves(0, barS * 1000, order.executionFrequencySeconds * 1000) - 1;
    if (order.volatilityMultiple.length < sending) problems.push(`order.volatilityMultiple: ${order.volatilityMultiple.length} multiples for ${sending} sending waves a bar (${c.barMinutes}-minute bars, ${order.executionFrequencySeconds} s waves): give one per wave, or a single number`);
  }
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `${where}: ${p}`).join("\n"));
  return { ...c, clock, data, broker, order };
}

/** Reads a JSON config file; errors name the file. */
export function readConfigFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ConfigError(`${path}: cannot read the config file: ${(e as Error).message}`);
  }
  try {
    return parseJsonText(text, path);
  } catch (e) {
    // `<path>:<line>:<column>: not valid JSON: ...`, as a config error.
    if (e instanceof JsonSyntaxError) throw new ConfigError(e.message);
    throw e;
  }
}
