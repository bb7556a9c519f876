// Maps model names to definitions. Every `*.model.ts` file in models/ is a model: adding one is
// adding one file, with a default export made by defineModel().

import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import type { ModelDefinition } from "./model-dag.js";

const MODELS_DIR = join(dirname(fileURLToPath(import.meta.url)), "models");

export class UnknownModelError extends Error {
  override readonly name = "UnknownModelError";
}

let cache: Promise<Map<string, ModelDefinition>> | undefined;

async function load(): Promise<Map<string, ModelDefinition>> {
  const files = readdirSync(MODELS_DIR).filter((f) => /\.model\.(ts|js)$/.test(f)).sort();
  const out = new Map<string, ModelDefinition>();
  for (const f of files) {
    const mod = (await import(pathToFileURL(join(MODELS_DIR, f)).href)) as { default?: ModelDefinition };
    const def = mod.default;
    if (def === undefined || typeof def.name !== "string") throw new UnknownModelError(`${join(MODELS_DIR, f)}: no default export made by defineModel()`);
    if (out.has(def.name)) throw new UnknownModelError(`model name ${def.name} is defined twice (second in ${f})`);
    out.set(def.name, def);
  }
  return out;
}

export async function modelRegistry(): Promise<ReadonlyMap<string, ModelDefinition>> {
  cache ??= load();
  return cache;
}

export async function getModel(name: string): Promise<ModelDefinition> {
  const reg = await modelRegistry();
  const m = reg.get(name);
  if (m === undefined) throw new UnknownModelError(`unknown model "${name}"; registered: ${[...reg.keys()].join(", ")}`);
  return m;
}

export const DEFAULT_MODEL = "momentum";
