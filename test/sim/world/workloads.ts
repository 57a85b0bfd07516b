/**
 * What the StatefulSet and DaemonSet tests share: an apps/v1 workload of the kind, its status,
 * the pods it owns, its ControllerRevisions, `kubectl set image`, a wait on the simulated clock
 * and a recorder of pod creations and deletions.
 */
import type { GVR, KubeObject, Store } from "../../../src/sim/types.ts";
import { ADMIN, PODS, type Sim } from "./harness.ts";

export const REVISIONS = { group: "apps", version: "v1", resource: "controllerrevisions" };

/** One apps/v1 workload kind, its objects in namespace default named `defaultName` unless told. */
export interface WorkloadKit {
  /** The workload `name` with one container app running `image`, `spec` over the kind's fields. */
  build: (
    name: string,
    image: string,
    spec?: Record<string, unknown>,
    container?: Record<string, unknown>,
  ) => KubeObject;
  get: (store: Store, name?: string) => KubeObject | undefined;
  /** Its status, as the controller writes it (empty when it has none). */
  status: (store: Store, name?: string) => unknown;
  /** The pods it owns, terminating ones included. */
  pods: (store: Store, name?: string) => KubeObject[];
  /** Sets container app's image the way `kubectl set image` does (a strategic patch). */
  setImage: (store: Store, image: string, name?: string) => void;
}

/**
 * The kit for `kind` served as `gvr`; `base` gives the fields the kind's spec starts with (before
 * the selector and template) for a workload of that name.
 */
export function workloadKit(
  gvr: GVR,
  kind: string,
  defaultName: string,
  base: (name: string) => Record<string, unknown> = () => ({}),
): WorkloadKit {
  const get = (store: Store, name = defaultName): KubeObject | undefined =>
    store.get(gvr, "default", name);
  return {
    build: (name, image, spec = {}, container = {}) => ({
      apiVersion: "apps/v1",
      kind,
      metadata: { name, namespace: "default" },
      spec: {
        ...base(name),
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { containers: [{ name: "app", image, ...container }] },
        },
        ...spec,
      },
    }),
    get,
    pods: (store, name = defaultName) => podsOwnedBy(store, name),
    status: (store, name) => get(store, name)?.["status"] ?? {},
    setImage: (store, image, name = defaultName) => {
      store.patch(
        gvr,
        "default",
        name,
        "strategic",
        { spec: { template: { spec: { containers: [{ name: "app", image }] } } } },
        ADMIN,
      );
    },
  };
}

export const isReady = (pod: KubeObject): boolean =>
  (
    (pod["status"] as { conditions?: { type: string; status: string }[] } | undefined)
      ?.conditions ?? []
  ).some(c => c.type === "Ready" && c.status === "True");

/** The pods in namespace default that an owner named `name` owns, terminating ones included. */
export function podsOwnedBy(store: Store, name: string): KubeObject[] {
  return store
    .list(PODS, { namespace: "default" })
    .items.filter(p => p.metadata.ownerReferences?.some(r => r.name === name));
}

/** Revision name -> revision number. */
export function revisions(store: Store): Map<string, number> {
  return new Map(
    store
      .list(REVISIONS, { namespace: "default" })
      .items.map(r => [r.metadata.name ?? "", r["revision"] as number]),
  );
}

/** Resolves after `ms` of simulated time: for what must not happen, which no event announces. */
export function simulatedWait(sim: Sim, ms: number): Promise<void> {
  return new Promise(resolve => {
    sim.clock.setTimeout(resolve, ms);
  });
}

/** Records the order in which pods are created and deleted (names), from the store's events. */
export function recordPods(store: Store): {
  created: string[];
  deleted: string[];
  stop: () => void;
} {
  const created: string[] = [];
  const deleted: string[] = [];
  const stop = store.subscribe(e => {
    if (e.gvr.resource !== "pods") return;
    if (e.type === "ADDED") created.push(e.object.metadata.name ?? "");
    if (
      e.type === "MODIFIED" &&
      e.object.metadata.deletionTimestamp !== undefined &&
      e.oldObject?.metadata.deletionTimestamp === undefined
    )
      deleted.push(e.object.metadata.name ?? "");
  });
  return { created, deleted, stop };
}
