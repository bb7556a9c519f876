// Every DAG tradeloop knows: per registered model a paper-trading, a simulation, a live PnL
// observer and a historical PnL DAG; the broker experiment; and the demo. Executors, schedulers and the CLI all load them from here.

import type { DagDefinition } from "../src/orchestration/dag.js";
import { modelRegistry } from "../src/system/model-registry.js";
import { brokerExperimentDag } from "./broker-experiment.js";
import { demoDag } from "./demo.js";
import { historicalPnlDag } from "./historical-pnl.js";
import { pnlObserverDag } from "./pnl-observer.js";
import { paperTradingDag } from "./paper-trading.js";
import { simulationDag } from "./simulation.js";

export async function loadDags(): Promise<DagDefinition[]> {
  const models = [...(await modelRegistry()).keys()].sort();
  return [...models.flatMap((m) => [paperTradingDag(m), simulationDag(m), pnlObserverDag(m), historicalPnlDag(m)]), brokerExperimentDag, demoDag];
}
