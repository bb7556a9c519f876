// Server-side chart drawing shared by the analysis reports: a vega-lite spec is compiled to Vega and
// drawn to an SVG string by a headless View (renderer "none": no DOM, no canvas, no network), so a
// report can inline its charts and open anywhere. Same spec in, byte-identical SVG out.

import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export type { TopLevelSpec };

export class ChartError extends Error {
  override readonly name: string = "ChartError";
}

/** Fonts a reader's machine is likely to have; the SVG names them, nothing is embedded. */
export const CHART_FONT = "DejaVu Sans, Verdana, Arial, sans-serif";

/** Time axes are labelled in UTC whatever the machine's zone: storage and reports are UTC. */
export const UTC_TIME_LABELS = {
  year: "%Y",
  quarter: "%b %Y",
  month: "%b %Y",
  week: "%b %d",
  date: "%b %d",
  hours: "%H:%M",
  minutes: "%H:%M",
  seconds: "%H:%M:%S",
  milliseconds: "%H:%M:%S.%L",
} as const;

type CompileLogger = NonNullable<NonNullable<Parameters<typeof compile>[1]>["logger"]>;

/**
 * Our specs are generated, so a vega-lite warning (a dropped encoding, an ignored property) is a
 * defect in the generator: it fails the render rather than drawing something else quietly.
 */
function strictLogger(): CompileLogger {
  const logger: CompileLogger = {
    level: () => logger,
    error: (...args: unknown[]) => {
      throw new ChartError(`vega-lite: ${args.map(String).join(" ")}`);
    },
    warn: (...args: unknown[]) => {
      throw new ChartError(`vega-lite warned about the chart spec: ${args.map(String).join(" ")}`);
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger;
}

/**
 * Renumbers the ids an SVG defines (Vega numbers clip paths from a process-wide counter) as
 * `<prefix>-<n>`: stable from run to run, and unique when several charts share one HTML page,
 * where a repeated id would make one chart clip against another's rectangle.
 */
export function namespaceSvgIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  const rename = (id: string): string => {
    let out = ids.get(id);
    if (out === undefined) {
      out = `${prefix}-${ids.size + 1}`;
      ids.set(id, out);
    }
    return out;
  };
  for (const m of svg.matchAll(/\bid="([^"]+)"/g)) rename(m[1] as string);
  if (ids.size === 0) return svg;
  return svg
    .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${ids.get(id) ?? id}"`)
    .replace(/url\(#([^)]+)\)/g, (_, id: string) => `url(#${ids.get(id) ?? id})`)
    .replace(/href="#([^"]+)"/g, (_, id: string) => `href="#${ids.get(id) ?? id}"`);
}

/** Draws a vega-lite spec to SVG; `idPrefix` names the chart's ids (see namespaceSvgIds). */
export async function renderVegaLiteSvg(spec: TopLevelSpec, idPrefix: string): Promise<string> {
  let compiled;
  try {
    // A copy: Vega tags inline data objects in place, and the caller's spec should stay as it was.
    compiled = compile(structuredClone(spec), { logger: strictLogger() }).spec;
  } catch (e) {
    if (e instanceof ChartError) throw e;
    throw new ChartError(`vega-lite could not compile the chart spec: ${(e as Error).message}`, { cause: e });
  }
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return namespaceSvgIds(await view.toSVG(), idPrefix);
  } finally {
    view.finalize();
  }
}

/**
 * At most `max` points of an evenly spaced series, first and last kept: a chart of a day of
 * 1-minute bars does not need 1,440 vertices per line to show its shape, and the page stays small.
 * Deterministic (a stride, not a sample).
 */
export function thinSeries<T>(points: readonly T[], max: number): T[] {
  if (points.length <= max || max < 2) return [...points];
  const stride = (points.length - 1) / (max - 1);
  const out: T[] = [];
  for (let k = 0; k < max; k++) out.push(points[Math.round(k * stride)] as T);
  return out;
}
