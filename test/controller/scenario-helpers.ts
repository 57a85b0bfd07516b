/** A simulator at time scale 1000 with the CRD installed and the operator running in-process. */
import { pino } from "pino";
import { Registry } from "prom-client";
import { vi } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/vocabulary.ts";
import { startOperator, type RunningOperator } from "../../src/cli/operator.ts";
import type { Sim } from "../../src/sim/index.ts";
import type { GVR, KubeObject } from "../../src/sim/types.ts";
import { ADMIN, startSimWithCrd } from "../kube/sim-helpers.ts";

export const NAMESPACES: GVR = { group: "", version: "v1", resource: "namespaces" };
export const DEPLOYMENTS: GVR = { group: "apps", version: "v1", resource: "deployments" };
export const DRILLS: GVR = { group: GROUP, version: VERSION, resource: PLURAL };

export interface Scenario {
  sim: Sim;
  operator: RunningOperator;
  close(): Promise<void>;
}

/** `timeScale` defaults to 1000; a test that measures timeliness may want less. */
export async function startScenario(options: { timeScale?: number } = {}): Promise<Scenario> {
  const sim = await startSimWithCrd({ timeScale: options.timeScale ?? 1000 });
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

export function createNamespace(sim: Sim, name: string): void {
  sim.store.create(NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, ADMIN);
}

export interface TargetOptions {
  replicas?: number;
  revisionHistoryLimit?: number;
  env?: { name: string; value: string }[];
  annotations?: Record<string, string>;
}

export function deploymentObject(
  namespace: string,
  name: string,
  image: string,
  options: TargetOptions = {},
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: options.replicas ?? 1,
      ...(options.revisionHistoryLimit === undefined
        ? {}
        : { revisionHistoryLimit: options.revisionHistoryLimit }),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: {
          labels: { app: name },
          ...(options.annotations === undefined ? {} : { annotations: options.annotations }),
        },
        spec: {
          containers: [
            { name: "app", image, ...(options.env === undefined ? {} : { env: options.env }) },
          ],
        },
      },
    },
  };
}

/** Creates or updates the target and waits until that revision has rolled out. */
export async function deploy(
  sim: Sim,
  namespace: string,
  name: string,
  image: string,
  options: TargetOptions = {},
): Promise<void> {
  const existing = sim.store.get(DEPLOYMENTS, namespace, name);
  const desired = deploymentObject(namespace, name, image, options);
  const written =
    existing === undefined
      ? sim.store.create(DEPLOYMENTS, desired, ADMIN)
      : sim.store.update(DEPLOYMENTS, { ...existing, spec: desired["spec"] }, ADMIN);
  const generation = written.metadata.generation ?? 0;
  await vi.waitFor(
    () => {
      const d = sim.store.get(DEPLOYMENTS, namespace, name);
      const status = (d?.["status"] ?? {}) as Record<string, number | undefined>;
      const replicas = options.replicas ?? 1;
      if (
        (status["observedGeneration"] ?? 0) < generation ||
        (status["updatedReplicas"] ?? 0) !== replicas ||
        (status["availableReplicas"] ?? 0) !== replicas ||
        (status["replicas"] ?? 0) !== replicas
      )
        throw new Error(
          `deployment ${namespace}/${name} not rolled out: ${JSON.stringify(status)}`,
        );
    },
    { timeout: 10_000, interval: 5 },
  );
}

/**
 * Creates a drill. Unless the test sets it, checks.timeoutSeconds is the schema's maximum: at time
 * scale 1000 the default 600 s is 0.6 s of real time, which a loaded host can spend in one stall,
 * and no test here is about the run's time limit.
 */
export function createDrill(
  sim: Sim,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): RollbackDrill {
  const checks = {
    timeoutSeconds: 86_400,
    ...(spec["checks"] as Record<string, unknown> | undefined),
  };
  const created = sim.store.create(
    DRILLS,
    {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name, namespace },
      spec: { ...spec, checks },
    },
    ADMIN,
  );
  return created as unknown as RollbackDrill;
}

export function getDrill(sim: Sim, namespace: string, name: string): RollbackDrill | undefined {
  return sim.store.get(DRILLS, namespace, name) as unknown as RollbackDrill | undefined;
}

/** Waits for the drill's first finished run and returns the drill. */
export async function waitForVerdict(
  sim: Sim,
  namespace: string,
  name: string,
  timeout = 20_000,
): Promise<RollbackDrill> {
  return vi.waitFor(
    () => {
      const drill = getDrill(sim, namespace, name);
      if (drill?.status?.lastRun?.verdict === undefined)
        throw new Error(
          `no verdict yet: ${JSON.stringify(drill?.status?.currentRun ?? drill?.status ?? null)}`,
        );
      return drill;
    },
    { timeout, interval: 10 },
  );
}
