// Flag parsers for the CLI: each names the flag in its error.

import { InvalidArgumentError } from "commander";
import { SEED_MAX } from "../core/rng.js";
import { parseUtcTime, TimestampError } from "../core/timestamp.js";

export function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive whole number, got "${v}"`);
    return n;
  };
}

/** A random seed: a whole number from 0 to SEED_MAX (a larger one would replay a smaller one's stream). */
export function seedArg(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > SEED_MAX) throw new InvalidArgumentError(`${name} must be a whole number from 0 to ${SEED_MAX}, got "${v}"`);
    return n;
  };
}

export function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${v}"`);
    return n;
  };
}

export function nonNegativeNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${name} must be a number >= 0, got "${v}"`);
    return n;
  };
}

/**
 * `--param name=value`, repeatable: collected whole, and refused (naming it) unless it starts
 * with a name and `=`. Without the `=` the split that follows would cut the name short.
 */
export function modelParam(v: string, prev: string[]): string[] {
  if (!/^[A-Za-z_]\w*=/.test(v)) throw new InvalidArgumentError(`--param takes name=value (a model parameter name, "=", then its value), got "${v}"`);
  return [...prev, v];
}

export function utcTime(v: string): number {
  try {
    return parseUtcTime(v);
  } catch (e) {
    if (e instanceof TimestampError) throw new InvalidArgumentError(`expected a UTC date or time such as 2024-01-01 or 2024-01-01T00:00:00Z: ${e.message}`);
    throw e;
  }
}
