// Summarises a V8 .cpuprofile (from `node --cpu-prof`): top functions by self time and by total
// (inclusive) time, self time by source module for an esbuild bundle (from the `// src/...` markers
// it writes before each module), then the hottest source lines (from V8's per-line ticks; the lines
// are those of the code V8 ran, so profile a plain-JS build, e.g. an esbuild bundle, to read them).
// Usage: tsx bench/profile-top.ts FILE.cpuprofile [N]

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
  hitCount?: number;
  positionTicks?: { line: number; ticks: number }[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

function keyOf(f: CallFrame): string {
  const file = f.url === "" ? "" : path.basename(f.url.replace(/^file:\/\//, ""));
  return `${f.functionName === "" ? "(anonymous)" : f.functionName} ${file}${file === "" ? "" : ":" + String(f.lineNumber + 1)}`;
}

function main(): void {
  const file = process.argv[2];
  if (file === undefined) throw new Error("usage: tsx bench/profile-top.ts FILE.cpuprofile [N]");
  const top = Number(process.argv[3] ?? "25");
  // A profiled script's source, when it is still on disk (a bundle deleted since shows no lines).
  const sources = new Map<string, string[]>();
  const sourceLines = (url: string): string[] => {
    let lines = sources.get(url);
    if (lines === undefined) {
      const file = url.startsWith("file://") ? new URL(url) : undefined;
      lines = file !== undefined && existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
      sources.set(url, lines);
    }
    return lines;
  };
  const prof = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;

  // Self time per node from the sample stream.
  const selfUs = new Map<number, number>();
  for (let i = 0; i < prof.samples.length; i++) {
    const id = prof.samples[i] as number;
    const dt = prof.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const byId = new Map<number, ProfileNode>();
  for (const n of prof.nodes) byId.set(n.id, n);
  const parent = new Map<number, number>();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let all = 0;
  for (const [id, us] of selfUs) {
    all += us;
    const node = byId.get(id) as ProfileNode;
    const k = keyOf(node.callFrame);
    self.set(k, (self.get(k) ?? 0) + us);
    // Inclusive: charge every distinct function on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const kk = keyOf((byId.get(cur) as ProfileNode).callFrame);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + us);
    }
  }

  const print = (title: string, m: Map<string, number>): void => {
    console.log(`${title} (of ${(all / 1000).toFixed(0)} ms sampled)`);
    const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
    for (const [k, us] of rows) console.log(`  ${((100 * us) / all).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  };
  print("self time", self);
  print("total time", total);

  // Per module of a bundle: the last `// src/...` (or node_modules) marker at or above a function's line.
  const markers = new Map<string, { line: number; module: string }[]>();
  const moduleOf = (f: CallFrame): string => {
    if (!f.url.startsWith("file://")) return f.functionName.startsWith("(") ? f.functionName : "(native)";
    let m = markers.get(f.url);
    if (m === undefined) {
      m = [];
      sourceLines(f.url).forEach((l, i) => {
        const hit = /^\/\/ ((?:src|node_modules)\/\S+)$/.exec(l);
        if (hit !== null) m?.push({ line: i + 1, module: hit[1] as string });
      });
      markers.set(f.url, m);
    }
    let found = path.basename(f.url);
    for (const mk of m) {
      if (mk.line > f.lineNumber + 1) break;
      found = mk.module;
    }
    return found;
  };
  const byModule = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const k = moduleOf((byId.get(id) as ProfileNode).callFrame);
    byModule.set(k, (byModule.get(k) ?? 0) + us);
  }
  print("self time by module", byModule);

  const lineTicks = new Map<string, number>();
  let ticks = 0;
  for (const n of prof.nodes) {
    for (const pt of n.positionTicks ?? []) {
      const k = `${n.callFrame.url}\u0000${pt.line}\u0000${n.callFrame.functionName}`;
      lineTicks.set(k, (lineTicks.get(k) ?? 0) + pt.ticks);
      ticks += pt.ticks;
    }
  }
  const sourceLine = (url: string, line: number): string => (sourceLines(url)[line - 1] ?? "").trim().slice(0, 110);
  console.log(`hot lines (of ${ticks} ticks)`);
  for (const [k, t] of [...lineTicks].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    const [url, line, fn] = k.split("\u0000") as [string, string, string];
    console.log(`  ${((100 * t) / ticks).toFixed(1).padStart(5)}%  ${path.basename(url)}:${line} ${fn}  | ${sourceLine(url, Number(line))}`);
  }
}

main();
