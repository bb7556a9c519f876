// Lint rules: typescript-eslint's recommended type-aware set, with `any` banned outright.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/", "storage/", "coverage/", "**/*.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["bin/**/*.mjs"],
    languageOptions: { globals: { process: "readonly" } },
  },
  {
    // Worker-thread entries (plain JavaScript that registers tsx).
    files: ["src/**/*.mjs"],
    languageOptions: { globals: { AbortController: "readonly" } },
  },
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-empty": ["error", { allowEmptyCatch: false }],
      eqeqeq: ["error", "always"],
    },
  },
);
