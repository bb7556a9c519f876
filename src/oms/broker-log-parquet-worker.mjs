// Worker-thread entry of writeBrokerLogParquetParallel (broker-log-parquet.ts): converts the streams
// it is given and posts back what it wrote, or the error. Plain JavaScript that registers tsx itself:
// a worker does not inherit the TypeScript loader of every host (a test runner's, for one).
import { parentPort, workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { writeBrokerLogParquet } = await import("./broker-log-parquet.ts");
try {
  parentPort.postMessage({ ok: true, files: writeBrokerLogParquet(workerData.logDir, workerData.opts) });
} catch (e) {
  parentPort.postMessage({ ok: false, name: e instanceof Error ? e.name : "Error", message: e instanceof Error ? e.message : String(e) });
}
