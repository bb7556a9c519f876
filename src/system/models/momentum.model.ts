// Cross-sectional momentum (or, with direction -1, mean reversion) on bar returns. For each asset
// the log return over the last `lookbackBars` bars is divided by the asset's own per-bar return
// volatility over `volatilityBars`, so a calm asset's move counts as much as a wild one's. Scores
// are demeaned across assets and clipped: the prediction says which assets should beat the others
// over the next bar (positive: buy), not where the market goes.

import { z } from "zod";
import { realizedVolatility } from "../known-data.js";
import { defineModel, type ModelContext, type NodeOutput } from "../model-dag.js";

const params = z
  .object({
    lookbackBars: z.number().int().min(1).default(6),
    volatilityBars: z.number().int().min(2).default(24),
    /** +1 momentum, -1 mean reversion. */
    direction: z.union([z.literal(1), z.literal(-1)]).default(1),
    clip: z.number().positive().default(3),
  })
  .strict();

type Params = z.output<typeof params>;

export default defineModel<Params>({
  name: "momentum",
  description: "Cross-sectional momentum on volatility-scaled bar returns (direction -1: mean reversion).",
  params,
  warmupBars: (p) => Math.max(p.lookbackBars, p.volatilityBars) + 1,
  usesL2: false,
  predictionNode: "prediction",
  nodes: (p) => [
    {
      name: "last_return",
      deps: [],
      run: (_in, ctx) => perSymbol(ctx, 2, (c) => Math.log((c[1] as number) / (c[0] as number))),
    },
    {
      name: "momentum",
      deps: [],
      run: (_in, ctx) => perSymbol(ctx, p.lookbackBars + 1, (c) => Math.log((c[c.length - 1] as number) / (c[0] as number))),
    },
    {
      name: "volatility",
      deps: [],
      run: (_in, ctx) => perSymbol(ctx, p.volatilityBars + 1, realizedVolatility),
    },
    {
      name: "prediction",
      deps: ["momentum", "volatility"],
      run: (inp) => {
        const mom = inp.momentum as NodeOutput;
        const vol = inp.volatility as NodeOutput;
        const scores: [string, number][] = [];
        for (const [s, m] of Object.entries(mom)) {
          const v = vol[s];
          if (v !== undefined) scores.push([s, m / v]);
        }
        if (scores.length === 0) return {};
        const mean = scores.reduce((a, [, x]) => a + x, 0) / scores.length;
        const out: NodeOutput = {};
        for (const [s, x] of scores) out[s] = Math.max(-p.clip, Math.min(p.clip, p.direction * (x - mean)));
        return out;
      },
    },
  ],
});

/** Applies `f` to each symbol's last `n` closes; a symbol with any unknown close is left out. */
function perSymbol(ctx: ModelContext, n: number, f: (closes: number[]) => number | undefined): NodeOutput {
  const out: NodeOutput = {};
  for (const s of ctx.symbols) {
    const c = ctx.data.closes(s, ctx.barMs, n);
    if (c.length < n || c.some((x) => !(x > 0))) continue;
    const v = f(c);
    if (v !== undefined && Number.isFinite(v)) out[s] = v;
  }
  return out;
}
