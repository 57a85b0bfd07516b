/** Starting the simulator with the RollbackDrill CRD installed, for the adapter and controller tests. */
import { readFile } from "node:fs/promises";
import { vi } from "vitest";
import { parse } from "yaml";
import { CRD_NAME, GROUP, PLURAL, VERSION } from "../../src/api/vocabulary.ts";
import { startSim, type Sim, type StartSimOptions } from "../../src/sim/index.ts";
import type { KubeObject } from "../../src/sim/types.ts";

export const CRD_FILE = new URL(`../../crds/${CRD_NAME}.yaml`, import.meta.url);

export const ADMIN = {
  user: "kubernetes-admin",
  userAgent: "kubectl/v1.32.4 (linux/amd64) kubernetes/test",
};

/**
 * Installs the CRD in-process: client-node's CRD model would drop the schema's `default` keys
 * (its JSONSchemaProps calls the field `_default`), and the defaults are part of the contract.
 */
export async function startSimWithCrd(options: StartSimOptions = {}): Promise<Sim> {
  const sim = await startSim(options);
  const crd = parse(await readFile(CRD_FILE, "utf8")) as KubeObject;
  sim.store.create(
    { group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions" },
    crd,
    ADMIN,
  );
  await vi.waitFor(() => {
    if (sim.catalogue.byGVR({ group: GROUP, version: VERSION, resource: PLURAL }) === undefined)
      throw new Error("CRD not served yet");
  });
  return sim;
}
