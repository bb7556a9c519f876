// L2 order-book imbalance (seed 004). Per asset, imbalance = sum of bid quantities / sum of ask
// quantities over the top levels of the newest snapshot known at the bar. Heavy bids (above
// `buyAbove`, 3.0 by default) predict a rise, heavy asks (below `sellBelow`, 0.33) a fall; in
// between the model has no view. The strength grows with log imbalance past the threshold, capped,
// so a 10:1 book counts more than a 3.1:1 one.

import { z } from "zod";
import { defineModel, type NodeOutput } from "../model-dag.js";

const params = z
  .object({
    levels: z.number().int().min(1).max(5).default(5),
    buyAbove: z.number().positive().default(3.0),
    sellBelow: z.number().positive().default(0.33),
    maxStrength: z.number().positive().default(2),
    /** A snapshot older than this at the bar is stale and ignored. */
    maxAgeMs: z.number().int().positive().default(10_000),
  })
  .strict()
  .refine((p) => p.sellBelow < p.buyAbove, { message: "sellBelow must be below buyAbove", path: ["sellBelow"] });

type Params = z.output<typeof params>;

export default defineModel<Params>({
  name: "l2_imbalance",
  description: "Order-book imbalance of the top L2 levels: buy above 3.0, sell below 0.33 (seed 004).",
  params,
  warmupBars: () => 0,
  usesL2: true,
  predictionNode: "prediction",
  nodes: (p) => [
    {
      name: "imbalance",
      deps: [],
      run: (_in, ctx) => {
        const out: NodeOutput = {};
        for (const s of ctx.symbols) {
          const snap = ctx.data.latestL2(s);
          if (snap === undefined || ctx.now - snap.exchangeTime > p.maxAgeMs) continue;
          const bid = snap.bids.slice(0, p.levels).reduce((a, [, q]) => a + q, 0);
          const ask = snap.asks.slice(0, p.levels).reduce((a, [, q]) => a + q, 0);
          if (bid > 0 && ask > 0) out[s] = bid / ask;
        }
        return out;
      },
    },
    {
      name: "signal",
      deps: ["imbalance"],
      run: (inp) => {
        const out: NodeOutput = {};
        for (const [s, x] of Object.entries(inp.imbalance as NodeOutput)) out[s] = x > p.buyAbove ? 1 : x < p.sellBelow ? -1 : 0;
        return out;
      },
    },
    {
      name: "prediction",
      deps: ["imbalance", "signal"],
      run: (inp) => {
        const imb = inp.imbalance as NodeOutput;
        const out: NodeOutput = {};
        for (const [s, sig] of Object.entries(inp.signal as NodeOutput)) {
          const x = imb[s] as number;
          const threshold = sig > 0 ? p.buyAbove : p.sellBelow;
          out[s] = sig === 0 ? 0 : sig * Math.min(p.maxStrength, 1 + Math.abs(Math.log(x / threshold)));
        }
        return out;
      },
    },
  ],
});
