// `broker_experiment`: manual only; the trigger's conf holds the experiment's arguments
// (bars, assets, ordersPerBar, maxNotional, durationMinutes, frequencySeconds, passivityFactor, ...).

import { defineDag, task } from "../src/orchestration/dag.js";
import { brokerExperimentTask } from "../jobs/broker-experiment.js";

export const brokerExperimentDag = defineDag({
  id: "broker_experiment",
  description: "random parent orders executed by the broker against the embedded venue (manual, with conf)",
  schedule: null,
  maxActiveRuns: 4,
  defaultConf: { seed: 1, bars: 6, barMinutes: 5, assets: 5, ordersPerBar: 3, start: "2024-01-02T00:00:00Z" },
  tasks: [task({ id: "broker_experiment", handler: brokerExperimentTask, timeoutMs: 3_600_000 })],
});
