/**
 * The drill helpers over an in-process simulator: start it with the RollbackDrill CRD served,
 * create namespaces, targets and drills, and wait (on the store's events) for a rollout, a
 * verdict, a run at rest, a phase. No vitest API, so the soak and the benchmarks use it too.
 */
import { readFile } from "node:fs/promises";
import { parse } from "yaml";
import type { RollbackDrill } from "../../src/api/types.ts";
import {
  API_VERSION,
  CRD_NAME,
  KIND,
  LABEL_MANAGED_BY,
  MANAGED_BY,
  RUN_PHASES,
  type RunPhase,
} from "../../src/api/vocabulary.ts";
import { startSim, type Sim, type StartSimOptions } from "../../src/sim/index.ts";
import type { KubeObject } from "../../src/sim/types.ts";
import {
  ADMIN,
  CRDS,
  DEPLOYMENTS,
  DRILLS,
  NAMESPACES,
  deploymentObject,
  namespaceObject,
  type DeploymentOptions,
  type DrillObject,
} from "./builders.ts";
import { waitFor } from "./wait.ts";

export const CRD_FILE = new URL(`../../crds/${CRD_NAME}.yaml`, import.meta.url);

/**
 * The simulator with the RollbackDrill CRD installed in-process and served: client-node's CRD
 * model would drop the schema's `default` keys (its JSONSchemaProps calls the field `_default`),
 * and the defaults are part of the contract.
 */
export async function startSimWithDrills(options: StartSimOptions = {}): Promise<Sim> {
  const sim = await startSim(options);
  const crd = parse(await readFile(CRD_FILE, "utf8")) as KubeObject;
  sim.store.create(CRDS, crd, ADMIN);
  await waitFor(sim, "the CRD served", () =>
    sim.catalogue.byGVR(DRILLS) === undefined ? undefined : true,
  );
  return sim;
}

export function createNamespace(sim: Sim, name: string, labels?: Record<string, string>): void {
  sim.store.create(NAMESPACES, namespaceObject(name, labels), ADMIN);
}

/**
 * Waits until the Deployment's `generation` is observed and its `replicas` are all updated and
 * available, with no old ones left.
 */
export async function waitRolledOut(
  sim: Sim,
  namespace: string,
  name: string,
  generation: number,
  options: { replicas?: number; timeoutMs?: number } = {},
): Promise<void> {
  const { replicas = 1, timeoutMs = 30_000 } = options;
  const status = (): Record<string, number | undefined> =>
    (sim.store.get(DEPLOYMENTS, namespace, name)?.["status"] ?? {}) as Record<
      string,
      number | undefined
    >;
  await waitFor(
    sim,
    `deployment ${namespace}/${name} generation ${String(generation)} rolled out`,
    () => {
      const st = status();
      return (st["observedGeneration"] ?? 0) >= generation &&
        (st["updatedReplicas"] ?? 0) === replicas &&
        (st["availableReplicas"] ?? 0) === replicas &&
        (st["replicas"] ?? 0) === replicas
        ? true
        : undefined;
    },
    { timeoutMs, lastSeen: status },
  );
}

/** Creates or updates the target and waits until that revision has rolled out. */
export async function deploy(
  sim: Sim,
  namespace: string,
  name: string,
  image: string,
  options: DeploymentOptions = {},
): Promise<void> {
  const existing = sim.store.get(DEPLOYMENTS, namespace, name);
  const desired = deploymentObject(namespace, name, image, options);
  const written =
    existing === undefined
      ? sim.store.create(DEPLOYMENTS, desired, ADMIN)
      : sim.store.update(DEPLOYMENTS, { ...existing, spec: desired["spec"] }, ADMIN);
  await waitRolledOut(sim, namespace, name, written.metadata.generation ?? 0, {
    replicas: options.replicas ?? 1,
  });
}

export function createDrill(sim: Sim, drill: DrillObject): RollbackDrill {
  return sim.store.create(
    DRILLS,
    { ...drill, apiVersion: API_VERSION, kind: KIND },
    ADMIN,
  ) as unknown as RollbackDrill;
}

export function getDrill(sim: Sim, namespace: string, name: string): RollbackDrill | undefined {
  return sim.store.get(DRILLS, namespace, name) as unknown as RollbackDrill | undefined;
}

/** A drill's namespace and name. */
export interface DrillRef {
  readonly namespace: string;
  readonly name: string;
}

/** Waits until `probe` holds for the drill, naming its status on a timeout. */
export function waitForDrill<T>(
  sim: Sim,
  { namespace, name }: DrillRef,
  what: string,
  probe: (drill: RollbackDrill | undefined) => T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  return waitFor(
    sim,
    `drill ${namespace}/${name} ${what}`,
    () => probe(getDrill(sim, namespace, name)),
    { timeoutMs, lastSeen: () => getDrill(sim, namespace, name)?.status ?? "no drill" },
  );
}

/** A wait for a drill once `holds` is true of it, `defaultTimeoutMs` unless the caller says. */
function drillWhen(
  what: string,
  holds: (drill: RollbackDrill) => boolean,
  defaultTimeoutMs: number,
): (sim: Sim, namespace: string, name: string, timeoutMs?: number) => Promise<RollbackDrill> {
  return (sim, namespace, name, timeoutMs = defaultTimeoutMs) =>
    waitForDrill(
      sim,
      { namespace, name },
      what,
      d => (d !== undefined && holds(d) ? d : undefined),
      timeoutMs,
    );
}

/** The drill once its first run has a verdict. */
export const waitForVerdict = drillWhen(
  "to have a verdict",
  d => d.status?.lastRun?.verdict !== undefined,
  20_000,
);

/** The drill once its first run has a verdict and it is at rest again (sandbox handled). */
export const waitSettled = drillWhen(
  "to finish its run",
  d => d.status?.lastRun?.verdict !== undefined && d.status.currentRun === undefined,
  30_000,
);

/** The index of a phase in RUN_PHASES; a finished run counts as past every run phase. */
export function phaseIndex(drill: RollbackDrill | undefined): number {
  const status = drill?.status;
  if (status?.currentRun === undefined)
    return status?.lastRun === undefined ? -1 : RUN_PHASES.indexOf("CleaningUp") + 1;
  return RUN_PHASES.indexOf(status.currentRun.phase);
}

/** The run phases in order, without the resting ones. */
export const RUN_STEPS: readonly RunPhase[] = RUN_PHASES.filter(
  p => p !== "Idle" && p !== "Suspended",
);

/** Sandbox namespaces that exist now (terminating ones included). */
export function sandboxNamespaces(sim: Sim): string[] {
  return sim.store
    .list(NAMESPACES, { labelSelector: `${LABEL_MANAGED_BY}=${MANAGED_BY}` })
    .items.map(n => n.metadata.name ?? "");
}
