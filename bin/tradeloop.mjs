#!/usr/bin/env node
// Runs the TypeScript CLI through tsx, so `npx tradeloop ...` works without a build step.
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const tsx = require.resolve("tsx");
// V8 flags every tradeloop process runs with (node-flags.json; package.json's scripts repeat them).
const nodeFlags = require("./node-flags.json");
const result = spawnSync(process.execPath, [...nodeFlags, "--import", tsx, join(here, "..", "src", "cli", "main.ts"), ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
