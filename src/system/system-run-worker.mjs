// Worker-thread entry of SystemRunWorker (system-run-worker.ts): runs one system run at a time, as
// the main thread asks ({type: "run"}), posting its bars and its outcome; {type: "abort"} stops the
// current run. Plain JavaScript that registers tsx itself: a worker does not inherit the TypeScript
// loader of every host (a test runner's, for one).
import { parentPort } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { resolveConfig } = await import("./config.ts");
const { runSystem } = await import("./run-system.ts");
let controller;
parentPort.on("message", async (m) => {
  if (m.type === "abort") {
    controller?.abort();
    return;
  }
  controller = new AbortController();
  try {
    const onBar = m.progress ? (done, total, t) => parentPort.postMessage({ type: "bar", done, total, t }) : undefined;
    const r = await runSystem(resolveConfig(m.given, m.where), { ...m.options, given: m.given, signal: controller.signal, onBar });
    parentPort.postMessage({ type: "done", runDir: r.runDir, systemLogDir: r.systemLogDir, totalPnl: r.summary.totalPnl });
  } catch (e) {
    parentPort.postMessage({ type: "failed", name: e instanceof Error ? e.name : "Error", message: e instanceof Error ? e.message : String(e) });
  } finally {
    controller = undefined;
  }
});
