// The progress bar of long runs: bars done / total, simulated time, rate. On stderr, so stdout
// stays the result.

import { SingleBar } from "cli-progress";

export interface BarProgress {
  update(done: number, simTime: number): void;
  stop(): void;
}

export function barProgress(label: string, total: number, startMs: number): BarProgress {
  const bar = new SingleBar({ format: `${label} {bar} {value}/{total} bars | sim {sim} | {rate} bars/s`, hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000, stream: process.stderr });
  const t0 = performance.now();
  const sim = (t: number): string => new Date(t).toISOString().slice(0, 16).replace("T", " ");
  bar.start(total, 0, { sim: sim(startMs), rate: "0" });
  return {
    update(done, simTime) {
      bar.update(done, { sim: sim(simTime), rate: (done / Math.max(1e-3, (performance.now() - t0) / 1000)).toFixed(1) });
    },
    stop() {
      bar.stop();
    },
  };
}
