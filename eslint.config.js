// ESLint flat config: type-aware rules, complexity limits as errors, and the import fences that keep
// the architecture's layers (docs/ARCHITECTURE.md): one rule per layer of src/, below.
import { readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

// The layers of src/ and the direction imports may take between them (docs/ARCHITECTURE.md):
//   api        -> (nothing)                     the drill's vocabulary and schema
//   core       -> api                           every decision, pure
//   kube       -> api                           the API client and its watch cache
//   controller -> api, core, kube               the operator's I/O: watch, queue, gather, persist, execute
//   scenarios  -> api, sim's contract           the catalogue of apps the demo and e2e run
//   sim        -> (nothing)                     the Kubernetes simulator stands for the cluster
//   cli        -> every layer                   the commands wire the layers together
// Each file belongs to one layer, and one rule per layer checks both its relative imports (resolved
// against the file, so `../controller/x.ts` from src/core is caught however it is spelled) and the
// packages it may load: src/core and src/api only the pure ones listed, no node: module, no client.
// `files` names single files of another layer a layer may import (the simulator's wire contract).
//
// src/sim is a package of its own (src/sim/package.json): from anywhere outside it (src/, e2e/,
// bench/), an import into src/sim must name a file its "exports" list; its internals stay its own.
const LAYERS = {
  api: { imports: [], packages: ["@sinclair/typebox"] },
  core: { imports: ["api"], packages: ["croner"] },
  kube: { imports: ["api"] },
  controller: { imports: ["api", "core", "kube"] },
  scenarios: { imports: ["api"], files: ["sim/contract.ts"] },
  sim: { imports: [] },
  cli: { imports: ["api", "core", "kube", "controller", "scenarios", "sim"] },
};

const srcDir = path.join(import.meta.dirname, "src");
const simDir = path.join(srcDir, "sim");
const simPackage = JSON.parse(readFileSync(path.join(simDir, "package.json"), "utf8"));
const SIM_ENTRIES = Object.values(simPackage.exports).map(file => path.join(simDir, file));
const simEntryList = SIM_ENTRIES.map(file => path.relative(simDir, file)).join(", ");

/** The layer a path under src/ is in, or undefined for a path outside src/. */
function layerOf(file) {
  const rel = path.relative(srcDir, file);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return undefined;
  return rel.split(path.sep)[0];
}

/** The package a bare specifier names: `@scope/name` or `name`, without a subpath. */
function packageOf(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

const layerRule = {
  meta: {
    type: "problem",
    docs: { description: "Imports follow the direction the layers allow (docs/ARCHITECTURE.md)." },
    schema: [
      {
        type: "object",
        properties: {
          layer: { type: "string" },
          imports: { type: "array", items: { type: "string" } },
          files: { type: "array", items: { type: "string" } },
          packages: { type: "array", items: { type: "string" } },
        },
        required: ["layer"],
        additionalProperties: false,
      },
    ],
    messages: {
      layer:
        "src/{{from}} may import only {{allowed}}: '{{specifier}}' is in src/{{to}} (docs/ARCHITECTURE.md).",
      simPackage:
        "src/sim is a package: from outside it import only what src/sim/package.json exports ({{entries}}), not '{{specifier}}' (docs/ARCHITECTURE.md).",
      pkg: "src/{{from}} is pure and may load only {{allowed}}: '{{specifier}}' is not one (docs/ARCHITECTURE.md).",
    },
  },
  create(context) {
    const { layer, imports = [], files = [], packages } = context.options[0];
    const allowedLayers = new Set([layer, ...imports]);
    const allowedFiles = new Set(files.map(file => path.join(srcDir, file)));
    const check = node => {
      if (node?.type !== "Literal" || typeof node.value !== "string") return;
      const specifier = node.value;
      if (specifier.startsWith(".") || specifier.startsWith("/")) {
        const target = path.resolve(path.dirname(context.filename), specifier);
        const to = layerOf(target);
        if (to === "sim" && layer !== "sim" && !SIM_ENTRIES.includes(target)) {
          context.report({
            node,
            messageId: "simPackage",
            data: { specifier, entries: simEntryList },
          });
          return;
        }
        const anyLayer = allowedLayers.has("*");
        if (to !== undefined && !anyLayer && !allowedLayers.has(to) && !allowedFiles.has(target)) {
          const allowed = imports.length ? imports.map(l => `src/${l}`).join(", ") : "itself";
          context.report({
            node,
            messageId: "layer",
            data: { from: layer, to, specifier, allowed },
          });
        }
        return;
      }
      if (packages === undefined) return;
      const bare = specifier.startsWith("node:") || builtinModules.includes(packageOf(specifier));
      if (bare || !packages.includes(packageOf(specifier))) {
        const allowed = packages.length ? packages.join(", ") : "no package";
        context.report({ node, messageId: "pkg", data: { from: layer, specifier, allowed } });
      }
    };
    return {
      ImportDeclaration: node => check(node.source),
      ExportNamedDeclaration: node => check(node.source),
      ExportAllDeclaration: node => check(node.source),
      ImportExpression: node => check(node.source),
      TSImportType: node => check(node.argument?.literal ?? node.argument),
    };
  },
};

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "coverage/", ".tmp/"] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/switch-exhaustiveness-check": [
        "error",
        { considerDefaultExhaustiveForUnions: true },
      ],
      "@typescript-eslint/restrict-template-expressions": [
        "error",
        { allowNumber: true, allowBoolean: true },
      ],
      "@typescript-eslint/no-unnecessary-condition": [
        "error",
        { allowConstantLoopConditions: true },
      ],
      // client-node's models are classes for plain JSON shapes; its own docs pass object literals.
      "@typescript-eslint/no-unsafe-class-instance-assignment": "off",
      complexity: ["error", 25],
      "max-depth": ["error", 5],
      "max-params": ["error", 5],
      "max-lines": ["error", { max: 800, skipBlankLines: true, skipComments: true }],
      "max-lines-per-function": ["error", { max: 150, skipBlankLines: true, skipComments: true }],
    },
  },
  { plugins: { layers: { rules: { "allowed-imports": layerRule } } } },
  ...Object.entries(LAYERS).map(([layer, allowed]) => ({
    files: [`src/${layer}/**/*.ts`],
    rules: { "layers/allowed-imports": ["error", { layer, ...allowed }] },
  })),
  // Outside src/ (e2e, scripts, bench), no layer applies, only the simulator's package boundary
  // (tests of the simulator itself, under test/sim, read its internals).
  {
    files: ["e2e/**/*.ts", "scripts/**/*.ts", "bench/**/*.ts"],
    rules: { "layers/allowed-imports": ["error", { layer: "outside", imports: ["*"] }] },
  },
  {
    files: ["src/core/**/*.ts", "src/api/**/*.ts"],
    rules: {
      "no-restricted-globals": [
        "error",
        { name: "Date", message: "The core takes `now` as an argument." },
        { name: "process", message: "The core reads no environment." },
        { name: "setTimeout", message: "The core schedules nothing." },
        { name: "fetch", message: "The core makes no calls." },
      ],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "e2e/**/*.ts", "bench/**/*.ts", "scripts/**/*.ts"],
    rules: {
      "max-lines-per-function": "off",
      "max-lines": ["error", { max: 1200, skipBlankLines: true, skipComments: true }],
      "@typescript-eslint/no-non-null-assertion": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
