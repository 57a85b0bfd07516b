/**
 * The kubeconfig backend end to end, as a user would run it: `rollback-drill sim` in one process
 * writes a kubeconfig, `rollback-drill operator` in another drills against it, and the e2e
 * scenarios run here through that kubeconfig alone (E2E_OPERATOR=deployed: the operator is not
 * ours to start).
 *
 * The simulator runs at time scale 1, the operator on the real clock: the honest pairing, since a
 * separately started operator has no way to share a scaled clock. Drills use stableSeconds 3 so
 * the suite stays fast in real time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { buildCrd } from "../src/api/crd.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import { kubeconfigBackend } from "./backends/kubeconfig.ts";
import { operatorArgs, startCli, type Cli } from "./cli-process.ts";
import { scenarioSuite } from "./suite.ts";

describe("kubeconfig backend against `rollback-drill sim` and `rollback-drill operator` processes", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollback-drill-e2e-"));
  const kubeconfig = join(dir, "kubeconfig");
  const processes: Cli[] = [];

  beforeAll(async () => {
    const sim = startCli(["sim", "--port", "0", "--kubeconfig", kubeconfig, "--time-scale", "1"]);
    processes.push(sim);
    await sim.line(/^Simulator ready at http/);
    // What `kubectl apply -f crds/` does before an operator is deployed.
    await new Cluster({ kubeconfig }).applyCrd(buildCrd());
    processes.push(startCli(operatorArgs(kubeconfig)));
  }, 30_000);

  afterAll(async () => {
    // The operator first (the suite has deleted its drills by now), then the simulator.
    const codes: (number | null)[] = [];
    for (const p of processes.reverse()) codes.push(await p.stop());
    rmSync(dir, { recursive: true, force: true });
    // Both shut down cleanly on SIGTERM.
    expect(codes, processes.map(p => p.output()).join("\n")).toEqual([0, 0]);
  }, 30_000);

  scenarioSuite(
    kubeconfigBackend({ kubeconfig, operator: "deployed", stableSeconds: 3 }),
    { ok: true },
    60_000,
  );
});
