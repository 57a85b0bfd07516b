/**
 * Shared fixtures for the API machinery tests: a manual clock, a store with its catalogue, the
 * objects they store (ConfigMap, Deployment, CustomResourceDefinition), a watch request for
 * ConfigMaps and the ApiError a call throws. The admission tests take the last two from here.
 */
import { ApiError } from "../../../src/sim/errors.ts";
import { createCatalogue } from "../../../src/sim/catalogue.ts";
import { createStore } from "../../../src/sim/store.ts";
import type { SimStore, StoreOptions } from "../../../src/sim/store.ts";
import type { Actor, KubeObject, SimClock, TimerHandle } from "../../../src/sim/types.ts";
import type { WatchRequest } from "../../../src/sim/watch.ts";
import { CONFIGMAPS, NAMESPACES, deploymentObject, namespaceObject } from "../../kit/index.ts";

/** A clock that moves only when told to. */
export function manualClock(
  startMs = Date.UTC(2026, 0, 2, 3, 4, 5),
): SimClock & { advance(ms: number): void } {
  let now = startMs;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    scale: 1,
    nowMs: () => now,
    now: () => new Date(now),
    setTimeout(fn, simMs): TimerHandle {
      const id = nextId++;
      timers.set(id, { at: now + simMs, fn });
      return { id };
    },
    clearTimeout(handle) {
      timers.delete(handle.id);
    },
    dispose() {
      timers.clear();
    },
    advance(ms) {
      now += ms;
      for (const [id, t] of [...timers]) {
        if (t.at <= now) {
          timers.delete(id);
          t.fn();
        }
      }
    },
  };
}

export const admin: Actor = {
  user: "kubernetes-admin",
  userAgent: "kubectl/v1.32.4 (linux/amd64) kubernetes/abc",
};

export {
  CONFIGMAPS as CM,
  DEPLOYMENTS as DEPLOY,
  NAMESPACES as NS,
  PODS,
  REPLICASETS as RS,
} from "../../kit/index.ts";

export function newStore(
  options: Partial<StoreOptions> = {},
): SimStore & { clock: ReturnType<typeof manualClock> } {
  const clock = manualClock();
  const store = createStore({ clock, catalogue: createCatalogue(), ...options });
  store.create(NAMESPACES, namespaceObject("default"), admin);
  return Object.assign(store, { clock });
}

/** The kit's Deployment in namespace default, labelled app=<name>. */
export function deployment(name: string, replicas = 1, image = "nginx:1"): KubeObject {
  return deploymentObject("default", name, image, { replicas, labels: { app: name } });
}

export function configMap(
  name: string,
  data: Record<string, string> = {},
  namespace = "default",
): KubeObject {
  return { apiVersion: "v1", kind: "ConfigMap", metadata: { name, namespace }, data };
}

/**
 * A CustomResourceDefinition named <plural>.<group> (namespaced unless `scope` says otherwise),
 * as apiextensions.k8s.io/v1 spells it.
 */
export function crdObject(crd: {
  group: string;
  names: { plural: string; kind: string } & Record<string, unknown>;
  versions: Record<string, unknown>[];
  scope?: "Namespaced" | "Cluster";
}): KubeObject {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${crd.names.plural}.${crd.group}` },
    spec: {
      group: crd.group,
      scope: crd.scope ?? "Namespaced",
      names: crd.names,
      versions: crd.versions,
    },
  };
}

const configMapInfo = createCatalogue().byGVR(CONFIGMAPS);

/** A watch of every ConfigMap in namespace default from the current state, no bookmarks; `over` changes any of it. */
export function configMapWatch(over: Partial<WatchRequest> = {}): WatchRequest {
  if (configMapInfo === undefined) throw new Error("configmaps not in the catalogue");
  return {
    info: configMapInfo,
    namespace: "default",
    matches: () => true,
    resourceVersion: "",
    allowBookmarks: false,
    ...over,
  };
}

/**
 * The ApiError `fn` throws (fails the test when it throws something else, and with `unthrown`
 * when it throws nothing).
 */
export function apiError(fn: () => unknown, unthrown = "expected an ApiError"): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error(unthrown);
}
