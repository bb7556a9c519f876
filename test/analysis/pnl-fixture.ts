// Test fixture for the PnL chart suites: three small real runs of one model under a temporary data
// root (3 synthetic assets, 5-minute bars, instant fills), laid out to exercise the stitching rules:
//
//   A  simulation/manual     2024-01-02 00:00-03:00   finished (summary, no _SUCCESS)
//   B  simulation/backfill   2024-01-02 03:00-06:00   _SUCCESS
//   C  simulation/scheduled  2024-01-02 05:00-08:00   finished; overlaps B for 05:00-06:00, where
//                                                     B (with _SUCCESS) keeps its bars
//
// and, for each portfolio.jsonl, an independent reading (plain JSON.parse, no loader).

import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Decimal } from "decimal.js";
import { SUCCESS_MARKER } from "../../src/storage/run-layout.js";
import { resolveConfig, type SystemConfigInput } from "../../src/system/config.js";
import { runSystem } from "../../src/system/run-system.js";

export const MODEL = "momentum";

export const RUN_BASE: SystemConfigInput = {
  model: { name: MODEL, params: { lookbackBars: 2, volatilityBars: 4 } },
  mode: "simulation",
  start: "2024-01-02T00:00:00Z",
  end: "2024-01-02T03:00:00Z",
  barMinutes: 5,
  universe: { kind: "synthetic", assets: 3, seed: 3 },
  data: { source: "synthetic", seed: 3 },
  broker: { kind: "instant_fill" },
  seed: 3,
  targets: { grossExposure: 20_000 },
};

export interface FixtureRun {
  name: "A" | "B" | "C";
  runDir: string;
}

export interface PnlFixture {
  root: string;
  runs: FixtureRun[];
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export async function buildPnlFixture(): Promise<PnlFixture> {
  const root = tmp("tl-pnl-");
  const specs = [
    { name: "A", dagRunMode: "manual", start: "2024-01-02T00:00:00Z", end: "2024-01-02T03:00:00Z", success: false, seed: 3 },
    { name: "B", dagRunMode: "backfill", start: "2024-01-02T03:00:00Z", end: "2024-01-02T06:00:00Z", success: true, seed: 4 },
    { name: "C", dagRunMode: "scheduled", start: "2024-01-02T05:00:00Z", end: "2024-01-02T08:00:00Z", success: false, seed: 5 },
  ] as const;
  const runs: FixtureRun[] = [];
  for (const s of specs) {
    const given = { ...RUN_BASE, dagRunMode: s.dagRunMode, start: s.start, end: s.end, data: { source: "synthetic", seed: s.seed }, seed: s.seed } as const;
    const r = await runSystem(resolveConfig({ ...given, outputRoot: root }), { given });
    if (s.success) writeFileSync(join(r.runDir, SUCCESS_MARKER), "");
    runs.push({ name: s.name, runDir: r.runDir });
  }
  return { root, runs };
}

/** A bar of portfolio.jsonl read with JSON.parse alone. */
export interface RawBar {
  timestamp: number;
  pnl: Decimal | undefined;
  fees: Decimal;
}

export function rawBars(runDir: string): RawBar[] {
  const text = readFileSync(join(runDir, "system_log_dir", "portfolio.jsonl"), "utf8");
  return text
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const r = JSON.parse(l) as { timestamp: number; pnl?: string | null; fees: string };
      return { timestamp: r.timestamp, pnl: r.pnl === null || r.pnl === undefined ? undefined : new Decimal(r.pnl), fees: new Decimal(r.fees) };
    });
}

export const T = (hhmm: string): number => Date.parse(`2024-01-02T${hhmm}:00Z`);
