// Worker-thread entry of runSimulationInWorker (reconcile-sim.ts): runs the reconciliation's
// simulation and posts back where it wrote, or the error. Plain JavaScript that registers tsx itself:
// a worker does not inherit the TypeScript loader of every host (a test runner's, for one).
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { resolveConfig } = await import("../system/config.ts");
const { runSystem } = await import("../system/run-system.ts");
try {
  const { given, where, runKey } = workerData;
  const r = await runSystem(resolveConfig(given, where), { given, ...(runKey === undefined ? {} : { runKey }) });
  parentPort.postMessage({ ok: true, runDir: r.runDir, systemLogDir: r.systemLogDir });
} catch (e) {
  parentPort.postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
}
