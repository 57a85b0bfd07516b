/**
 * config/rbac/gate_role.yaml is enough, and needed, for a CD pipeline's identity to run the gate:
 * a ServiceAccount bound to rollback-drill-gate in the target's namespace gets its verdict; one
 * without the binding gets exit 2 with the Forbidden error, and nothing is written.
 */
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { runGate } from "../../src/cli/run.ts";
import type { GVR, KubeObject } from "../../src/sim/types.ts";
import { ADMIN, SERVICEACCOUNTS } from "../kit/index.ts";
import { createNamespace, startScenario, type Scenario } from "../controller/scenario-helpers.ts";
import { NS, gateDrill, gateOptions, pinnedTwoRevisions } from "./gate-helpers.ts";

const CLUSTERROLES: GVR = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource: "clusterroles",
};
const ROLEBINDINGS: GVR = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource: "rolebindings",
};

async function pipelineIdentity(s: Scenario, bound: boolean): Promise<string> {
  createNamespace(s.sim, "ci");
  s.sim.store.create(
    SERVICEACCOUNTS,
    { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "deployer", namespace: "ci" } },
    ADMIN,
  );
  s.sim.store.create(
    CLUSTERROLES,
    parse(readFileSync("config/rbac/gate_role.yaml", "utf8")) as KubeObject,
    ADMIN,
  );
  if (bound)
    s.sim.store.create(
      ROLEBINDINGS,
      {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "ci-rollback-gate", namespace: NS },
        roleRef: {
          apiGroup: "rbac.authorization.k8s.io",
          kind: "ClusterRole",
          name: "rollback-drill-gate",
        },
        subjects: [{ kind: "ServiceAccount", name: "deployer", namespace: "ci" }],
      },
      ADMIN,
    );
  return s.sim.kubeconfigFor("ci", "deployer");
}

async function target(s: Scenario): Promise<void> {
  createNamespace(s.sim, NS);
  await pinnedTwoRevisions(s.sim);
  gateDrill(s.sim);
}

describe("the gate as a pipeline's ServiceAccount", () => {
  let s: Scenario;
  afterEach(async () => {
    await s.close();
  });

  it("gets its verdict with rollback-drill-gate bound in the target's namespace", async () => {
    s = await startScenario();
    await target(s);
    const kubeconfig = await pipelineIdentity(s, true);
    const out: string[] = [];
    const err: string[] = [];
    const code = await runGate(
      gateOptions(kubeconfig),
      { out: l => out.push(l), err: l => err.push(l) },
      { clock: s.sim.clock, token: "ci-1" },
    );
    expect(code, err.join("\n")).toBe(0);
    expect(JSON.parse(out.join("\n"))).toMatchObject({
      run: { verdict: "Passed", runNowToken: "ci-1" },
    });
  });

  it("is refused without the binding, exits 2 and writes nothing", async () => {
    s = await startScenario();
    await target(s);
    const kubeconfig = await pipelineIdentity(s, false);
    const err: string[] = [];
    const code = await runGate(
      gateOptions(kubeconfig),
      { out: () => undefined, err: l => err.push(l) },
      { clock: s.sim.clock, token: "ci-2" },
    );
    expect(code).toBe(2);
    expect(err.join("\n")).toMatch(/forbidden/i);
    const writes = s.sim.audit
      .entries()
      .filter(
        e =>
          e.user === "system:serviceaccount:ci:deployer" &&
          !["get", "list", "watch"].includes(e.verb) &&
          e.code < 300,
      );
    expect(writes).toEqual([]);
  });
});
