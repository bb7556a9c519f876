// Worker-thread entry of SyntheticHistoryStream (synthetic-history-stream.ts): generates the
// history it is given and posts its rows in chunks on the port it is handed, bumping the shared
// counter after each post so a main thread blocked in Atomics.wait wakes. Plain JavaScript that
// registers tsx itself: a worker does not inherit the TypeScript loader of every host.
import { workerData } from "node:worker_threads";
import { register } from "tsx/esm/api";

const { spec, storeL2, everyMs, port, signal } = workerData;
const posted = new Int32Array(signal);
const post = (message, transfer = []) => {
  port.postMessage(message, transfer);
  Atomics.add(posted, 0, 1);
  Atomics.notify(posted, 0);
};
try {
  register();
  const { generateSyntheticHistory } = await import("./synthetic-history.ts");
  generateSyntheticHistory(spec, {
    storeL2,
    chunks: {
      everyMs,
      onChunk: (store, throughMs, last) => {
        const rows = store.takeRows();
        post({ type: "rows", throughMs, last, rows }, rows.flatMap((r) => [r.et.buffer, r.kt.buffer, r.vals.buffer]));
      },
    },
  });
} catch (e) {
  post({ type: "failed", name: e instanceof Error ? e.name : "Error", message: e instanceof Error ? e.message : String(e) });
}
