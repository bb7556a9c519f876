// Runs the real `tradeloop` command in a child process, as bin/tradeloop.mjs starts it (same node
// flags, tsx, src/cli/main.ts) but without the launcher's extra process, so a command that hangs is
// killed for real; returns its exit code and output, for tests of what a command prints and refuses.

import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";

const nodeFlags = JSON.parse(readFileSync("bin/node-flags.json", "utf8")) as string[];

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Wall time of the command, ms. */
  ms: number;
}

export function runCli(args: readonly string[], o: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [...nodeFlags, "--import", "tsx", "src/cli/main.ts", ...args], { env: { ...process.env, ...o.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    // A command that hangs fails its test instead of the whole run waiting for vitest's timeout.
    const timer = setTimeout(() => child.kill("SIGKILL"), o.timeoutMs ?? 50_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}
