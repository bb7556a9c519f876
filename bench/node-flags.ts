// The V8 flags every tradeloop process runs with (bin/node-flags.json, which the CLI launcher reads):
// benchmark children run with them too, so they measure what a user's run does.
import { readFileSync } from "node:fs";

export const NODE_FLAGS = JSON.parse(readFileSync(new URL("../bin/node-flags.json", import.meta.url), "utf8")) as string[];
