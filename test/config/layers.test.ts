/**
 * The architecture's layers as the lint enforces them (eslint.config.js, docs/ARCHITECTURE.md): a
 * source placed in a layer that imports across the allowed direction is rejected by the real
 * configuration, and the same layer's legitimate imports pass. Type-aware rules are switched off
 * here (the layer rule needs no types), so the probes need not exist on disk.
 */
import { ESLint } from "eslint";
import tseslint from "typescript-eslint";
import { describe, expect, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const eslint = new ESLint({
  cwd: root,
  overrideConfig: [tseslint.configs.disableTypeChecked],
});

async function layerErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${root}${file}` });
  return (result?.messages ?? [])
    .filter(m => m.ruleId === "layers/allowed-imports" || m.ruleId === null)
    .map(m => m.message);
}

const rejected: [layer: string, file: string, code: string][] = [
  ["core", "src/core/probe.ts", 'import { readFileSync } from "node:fs";'],
  ["core", "src/core/probe.ts", 'import { readFileSync } from "fs";'],
  ["core", "src/core/probe.ts", 'import type { KubeClient } from "../kube/client.ts";'],
  ["core", "src/core/probe.ts", 'import { reconcile } from "../controller/reconcile.ts";'],
  ["core", "src/core/deep/probe.ts", 'import { x } from "../../controller/reconcile.ts";'],
  ["core", "src/core/probe.ts", 'import { x } from "../cli/main.ts";'],
  ["core", "src/core/probe.ts", 'import { x } from "../sim/store.ts";'],
  ["core", "src/core/probe.ts", 'import { x } from "../scenarios/catalog.ts";'],
  ["core", "src/core/probe.ts", 'import type { V1Pod } from "@kubernetes/client-node";'],
  ["core", "src/core/probe.ts", 'import pino from "pino";'],
  ["core", "src/core/probe.ts", 'export { x } from "../controller/gather.ts";'],
  ["core", "src/core/probe.ts", 'export const load = () => import("node:http");'],
  ["api", "src/api/probe.ts", 'import { Registry } from "prom-client";'],
  ["api", "src/api/probe.ts", 'import { decide } from "../core/decide.ts";'],
  ["sim", "src/sim/probe.ts", 'import type { RollbackDrill } from "../api/types.ts";'],
  ["sim", "src/sim/http/probe.ts", 'import { decide } from "../../core/decide.ts";'],
  ["sim", "src/sim/probe.ts", 'import { x } from "../controller/reconcile.ts";'],
  ["sim", "src/sim/probe.ts", 'import { x } from "../kube/client.ts";'],
  ["sim", "src/sim/probe.ts", 'import { x } from "../cli/main.ts";'],
  ["controller", "src/controller/probe.ts", 'import { x } from "../cli/run.ts";'],
  ["controller", "src/controller/probe.ts", 'import { x } from "../sim/index.ts";'],
  ["controller", "src/controller/probe.ts", 'import { x } from "../scenarios/catalog.ts";'],
  ["kube", "src/kube/probe.ts", 'import { x } from "../controller/manager.ts";'],
  ["scenarios", "src/scenarios/probe.ts", 'import { startSimulator } from "../sim/index.ts";'],
  ["scenarios", "src/scenarios/probe.ts", 'import { x } from "../controller/manager.ts";'],
  [
    "scenarios",
    "src/scenarios/probe.ts",
    'import type { ImageBehaviour } from "../sim/images.ts";',
  ],
  ["cli", "src/cli/probe.ts", 'import { createStore } from "../sim/store.ts";'],
  ["cli", "src/cli/probe.ts", 'import { x } from "../sim/admission/cel.ts";'],
  ["e2e", "e2e/backends/probe.ts", 'import { createStore } from "../../src/sim/store.ts";'],
  ["scripts", "scripts/probe.ts", 'import { SIM_GROUP } from "../src/sim/catalogue.ts";'],
  ["bench", "bench/probe.ts", 'import type { ImageBehaviour } from "../src/sim/images.ts";'],
];

const accepted: [layer: string, file: string, code: string][] = [
  [
    "core",
    "src/core/probe.ts",
    'import type { DrillSpec } from "../api/types.ts";\nimport { Cron } from "croner";\nimport { x } from "./refs.ts";',
  ],
  [
    "api",
    "src/api/probe.ts",
    'import { Type } from "@sinclair/typebox";\nimport { GROUP } from "./vocabulary.ts";',
  ],
  [
    "sim",
    "src/sim/http/probe.ts",
    'import { createServer } from "node:http";\nimport { x } from "../store.ts";\nimport { parse } from "yaml";',
  ],
  [
    "controller",
    "src/controller/probe.ts",
    'import { readFileSync } from "node:fs";\nimport { x } from "../core/decide.ts";\nimport { y } from "../kube/client.ts";\nimport pino from "pino";',
  ],
  [
    "kube",
    "src/kube/probe.ts",
    'import { KubeConfig } from "@kubernetes/client-node";\nimport { GROUP } from "../api/vocabulary.ts";',
  ],
  ["scenarios", "src/scenarios/probe.ts", 'import { GROUP } from "../api/vocabulary.ts";'],
  [
    "scenarios",
    "src/scenarios/probe.ts",
    'import { SIM_GROUP, type ImageBehaviour } from "../sim/contract.ts";',
  ],
  [
    "e2e",
    "e2e/backends/probe.ts",
    'import { startSim } from "../../src/sim/index.ts";\nimport { SIM_GROUP } from "../../src/sim/contract.ts";\nimport { ADMIN_TOKEN } from "../../src/sim/kubeconfig.ts";\nimport { x } from "../../src/controller/manager.ts";',
  ],
  [
    "cli",
    "src/cli/probe.ts",
    'import { x } from "../controller/manager.ts";\nimport { y } from "../sim/index.ts";\nimport { z } from "../scenarios/catalog.ts";',
  ],
];

describe("the layers' import rule", () => {
  it.each(rejected)("rejects, in %s, %s: %s", async (_layer, file, code) => {
    const errors = await layerErrors(file, code);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("docs/ARCHITECTURE.md");
  });

  it.each(accepted)("accepts, in %s, %s", async (_layer, file, code) => {
    expect(await layerErrors(file, code)).toEqual([]);
  });

  it("names the simulator's package exports when an import reaches past them", async () => {
    const errors = await layerErrors("src/cli/probe.ts", 'import { x } from "../sim/store.ts";');
    expect(errors).toEqual([
      expect.stringContaining("src/sim/package.json exports (index.ts, contract.ts"),
    ]);
  });

  it("applies to tests outside src/ no layer rule (the simulator's own tests read its internals)", async () => {
    expect(
      await layerErrors("test/core/probe.ts", 'import { x } from "../../src/sim/index.ts";'),
    ).toEqual([]);
  });
});
