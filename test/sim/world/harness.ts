/**
 * A store on a fast clock with the whole simulated world attached, for the world's tests, and
 * what those tests share on it: the kit's Deployment, what a Deployment owns, its status and
 * events, a rolled-out wait, `kubectl set image`, a pull secret and a pod's waiting states.
 */
import { expect } from "vitest";
import { applyBuiltinDefaults } from "../../../src/sim/admission/defaults.ts";
import { createCatalogue } from "../../../src/sim/catalogue.ts";
import { createClock } from "../../../src/sim/clock.ts";
import { createStore } from "../../../src/sim/store.ts";
import type { Actor, GVR, KubeObject, SimClock, Store } from "../../../src/sim/types.ts";
import { startWorld, type World } from "../../../src/sim/world.ts";
import { DEPLOYMENTS, EVENTS, NAMESPACES, deploymentObject, waitForPass } from "../../kit/index.ts";

export const ADMIN: Actor = {
  user: "kubernetes-admin",
  manager: "kubectl",
  userAgent: "kubectl/v1.32.4",
};
export {
  CONFIGMAPS,
  DEPLOYMENTS,
  EVENTS,
  NAMESPACES,
  PODS,
  REPLICASETS,
  SECRETS,
} from "../../kit/index.ts";

export interface Sim {
  store: Store;
  clock: SimClock;
  world: World;
  close(): void;
}

export function startTestWorld(scale = 1000): Sim {
  const clock = createClock(scale, Date.UTC(2026, 0, 1));
  const store = createStore({
    clock,
    catalogue: createCatalogue(),
    admit: ({ gvr, object, operation, oldObject }) => {
      applyBuiltinDefaults(gvr.group, object, operation, oldObject);
      return object;
    },
  });
  store.create(
    NAMESPACES,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "default" } },
    ADMIN,
  );
  const world = startWorld(store, clock, {});
  return {
    store,
    clock,
    world,
    close() {
      world.stop();
      clock.dispose();
    },
  };
}

export interface ContainerOptions {
  env?: { name: string; value?: string; valueFrom?: unknown }[];
  readinessProbe?: { initialDelaySeconds?: number; periodSeconds?: number };
  imagePullPolicy?: string;
}

/** The kit's Deployment in namespace default, three replicas unless `spec` says otherwise. */
export function deployment(
  name: string,
  image: string,
  spec: Record<string, unknown> = {},
  container: ContainerOptions = {},
): KubeObject {
  return deploymentObject("default", name, image, {
    replicas: 3,
    spec,
    container: { ...container },
  });
}

export function listOwned(store: Store, gvr: GVR, ownerUid: string | undefined): KubeObject[] {
  return store
    .list(gvr, { namespace: "default" })
    .items.filter(o => o.metadata.ownerReferences?.some(r => r.uid === ownerUid));
}

/** A Deployment's status, as the deployment controller writes it. */
export interface DStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

export function statusOf(o: KubeObject | undefined): unknown {
  return o?.["status"] ?? {};
}

/** The status of Deployment `name` (default web) in namespace default. */
export function dstatus(sim: Sim, name = "web"): DStatus {
  return statusOf(sim.store.get(DEPLOYMENTS, "default", name)) as DStatus;
}

/** Waits until Deployment web has observed `generation` and runs `replicas` updated, available pods. */
export async function rolledOut(sim: Sim, generation: number, replicas: number): Promise<void> {
  await waitForPass(sim, `deployment web rolled out at generation ${String(generation)}`, () => {
    const s = dstatus(sim);
    expect(s.observedGeneration).toBe(generation);
    expect(s.updatedReplicas).toBe(replicas);
    expect(s.replicas).toBe(replicas);
    expect(s.availableReplicas).toBe(replicas);
  });
}

export function eventsFor(store: Store, name: string): { reason: string; message: string }[] {
  return store
    .list(EVENTS, { namespace: "default" })
    .items.filter(e => (e["involvedObject"] as { name?: string }).name === name)
    .map(e => ({ reason: e["reason"] as string, message: e["message"] as string }));
}

/** Sets a Deployment's container image the way `kubectl set image` does (a patch of the template). */
export function setImage(store: Store, name: string, image: string): void {
  const d = store.get(DEPLOYMENTS, "default", name);
  if (!d) throw new Error(`no deployment ${name}`);
  const spec = structuredClone(d["spec"]) as {
    template: { spec: { containers: { image: string }[] } };
  };
  const c = spec.template.spec.containers[0];
  if (c) c.image = image;
  store.patch(DEPLOYMENTS, "default", name, "merge", { spec: { template: spec.template } }, ADMIN);
}

/** A kubernetes.io/dockerconfigjson Secret with credentials (u:p) for registry.example.com. */
export function pullSecretObject(name: string, namespace: string): KubeObject {
  const auths = {
    auths: { "registry.example.com": { auth: Buffer.from("u:p").toString("base64") } },
  };
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, namespace },
    type: "kubernetes.io/dockerconfigjson",
    data: { ".dockerconfigjson": Buffer.from(JSON.stringify(auths)).toString("base64") },
  };
}

/** Records every waiting state a pod's first container passes through (states can be brief at scale 1000). */
export function recordWaiting(
  store: Store,
  pod: string,
): { seen: { reason: string; message?: string }[]; stop: () => void } {
  const seen: { reason: string; message?: string }[] = [];
  const stop = store.subscribe(e => {
    if (e.gvr.resource !== "pods" || e.object.metadata.name !== pod) return;
    const status = e.object["status"] as
      | { containerStatuses?: { state?: { waiting?: { reason: string; message?: string } } }[] }
      | undefined;
    const w = status?.containerStatuses?.[0]?.state?.waiting;
    const last = seen[seen.length - 1];
    if (w !== undefined && (last?.reason !== w.reason || last.message !== w.message)) seen.push(w);
  });
  return { seen, stop };
}
