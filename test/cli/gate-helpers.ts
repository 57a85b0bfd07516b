/**
 * What the CD gate's tests share: the gate's options for a kubeconfig, the target with two pinned
 * revisions, and the gate's drill made beforehand.
 */
import type { RunOptions } from "../../src/cli/run.ts";
import type { Sim } from "../../src/sim/index.ts";
import { createDrill, deploy } from "../controller/scenario-helpers.ts";

export const REPO = "registry.example.com/shop/web";
export const NS = "shop";

/** `rollback-drill run --namespace shop --target web --wait -o json` against this kubeconfig. */
export function gateOptions(kubeconfig: string, extra: Partial<RunOptions> = {}): RunOptions {
  return {
    namespace: NS,
    target: "web",
    targetKind: "Deployment",
    name: "gate-web",
    toRevision: 0,
    wait: true,
    timeoutMs: 3_600_000,
    output: "json",
    kubeconfig,
    standalone: false,
    ...extra,
  };
}

/** The gate's drill made beforehand with generous timeouts (a loaded host stalls the scaled clock). */
export function gateDrill(sim: Sim): void {
  createDrill(sim, NS, "gate-web", {
    targetRef: { kind: "Deployment", name: "web" },
    checks: { stableSeconds: 5, timeoutSeconds: 3600 },
    sandbox: { keepOnFailure: false },
  });
}

/** Deployment `name` in shop rolled out twice, each revision pinned to its digest (tags <name>-1.0, -2.0). */
export async function pinnedTwoRevisions(
  sim: Sim,
  name = "web",
): Promise<{ v1: string; v2: string }> {
  const v1 = sim.world.images.push(REPO, `${name}-1.0`);
  const v2 = sim.world.images.push(REPO, `${name}-2.0`);
  await deploy(sim, NS, name, `${REPO}@${v1}`);
  await deploy(sim, NS, name, `${REPO}@${v2}`);
  return { v1, v2 };
}
