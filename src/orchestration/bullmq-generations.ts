// Generations of a run's jobs: every start of a run (its first, and each restart after a clear)
// gets the next number, kept in Redis by the start's time. Everyone who asks about the same start
// gets the same number, so two dispatchers build the same job ids and BullMQ keeps one job each.

import type { Redis } from "ioredis";
import { checkId } from "./dag.js";

const GET_OR_ASSIGN = `
local g = redis.call("HGET", KEYS[1], ARGV[1])
if not g then
  g = redis.call("HINCRBY", KEYS[1], "next", 1) - 1
  redis.call("HSET", KEYS[1], ARGV[1], g)
end
redis.call("PEXPIRE", KEYS[1], ARGV[2])
return tonumber(g)
`;

/** Longer than any run lives in the queue (completed jobs are kept 7 days, failed ones 30). */
const KEEP_MS = 40 * 86_400_000;

export class RunGenerations {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** The generation of the run's start at `startedAt` (0 for the first start ever asked about). */
  async of(runKey: string, startedAt: number): Promise<number> {
    const key = `${this.prefix}:orch:generation:${checkId("run key", runKey)}`;
    const g = await this.redis.eval(GET_OR_ASSIGN, 1, key, String(startedAt), String(KEEP_MS));
    if (typeof g !== "number") throw new Error(`redis key ${key}: generation of start ${startedAt} is ${JSON.stringify(g)}, not a number`);
    return g;
  }
}
