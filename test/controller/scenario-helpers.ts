/**
 * A simulator at time scale 1000 with the CRD installed and the operator running in-process. The
 * drill helpers themselves are the kit's (test/kit), re-exported here for the controller tests.
 */
import { pino } from "pino";
import { Registry } from "prom-client";
import type { RollbackDrill } from "../../src/api/types.ts";
import { startOperator, type RunningOperator } from "../../src/cli/operator.ts";
import type { Sim } from "../../src/sim/index.ts";
import { createDrill as create, drillObject, startSimWithDrills } from "../kit/index.ts";

export {
  DEPLOYMENTS,
  DRILLS,
  NAMESPACES,
  createNamespace,
  deploy,
  deploymentObject,
  getDrill,
  waitForVerdict,
  type DeploymentOptions as TargetOptions,
} from "../kit/index.ts";

export interface Scenario {
  sim: Sim;
  operator: RunningOperator;
  close(): Promise<void>;
}

/** `timeScale` defaults to 1000; a test that measures timeliness may want less. */
export async function startScenario(options: { timeScale?: number } = {}): Promise<Scenario> {
  const sim = await startSimWithDrills({ timeScale: options.timeScale ?? 1000 });
  const operator = await startOperator({
    kubeconfig: sim.kubeconfig,
    clock: sim.clock,
    logger: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    registry: new Registry(),
    maxConcurrentDrills: 4,
    instance: "operator-test",
  });
  return {
    sim,
    operator,
    async close() {
      await operator.stop();
      await sim.close();
    },
  };
}

/** Creates the drill of `spec` (checks.timeoutSeconds the schema's maximum unless set). */
export function createDrill(
  sim: Sim,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): RollbackDrill {
  return create(sim, drillObject(namespace, name, spec));
}
