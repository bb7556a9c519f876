// The system config most system tests start from: two hours of 5-minute bars, four synthetic
// assets, the momentum model with short windows, on the embedded venue. Small enough for a test,
// long enough for the model to trade every bar.
import type { SystemConfigInput } from "../../src/system/config.js";

export const SMALL_RUN: SystemConfigInput = {
  model: { name: "momentum", params: { lookbackBars: 2, volatilityBars: 4 } },
  mode: "simulation",
  start: "2024-01-02T00:00:00Z",
  end: "2024-01-02T02:00:00Z",
  barMinutes: 5,
  universe: { kind: "synthetic", assets: 4, seed: 3 },
  seed: 3,
  targets: { grossExposure: 20_000 },
};
