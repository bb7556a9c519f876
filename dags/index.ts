// Every DAG tradeloop knows: one paper-trading and one simulation DAG per registered model, the
// broker experiment, and the demo. Executors, schedulers and the CLI all load them from here.

import type { DagDefinition } from "../src/orchestration/dag.js";
import { modelRegistry } from "../src/system/model-registry.js";
import { brokerExperimentDag } from "./broker-experiment.js";
import { demoDag } from "./demo.js";
import { paperTradingDag } from "./paper-trading.js";
import { simulationDag } from "./simulation.js";

export async function loadDags(): Promise<DagDefinition[]> {
  const models = [...(await modelRegistry()).keys()].sort();
  return [...models.flatMap((m) => [paperTradingDag(m), simulationDag(m)]), brokerExperimentDag, demoDag];
}
