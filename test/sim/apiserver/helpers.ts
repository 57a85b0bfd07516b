/** Shared fixtures for the API machinery tests: a manual clock and a store with its catalogue. */
import { ApiError } from "../../../src/sim/errors.ts";
import { createCatalogue } from "../../../src/sim/catalogue.ts";
import { createStore } from "../../../src/sim/store.ts";
import type { SimStore, StoreOptions } from "../../../src/sim/store.ts";
import type { Actor, KubeObject, SimClock, TimerHandle } from "../../../src/sim/types.ts";
import { NAMESPACES, deploymentObject, namespaceObject } from "../../kit/index.ts";

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

/** The ApiError `fn` throws (fails the test when it throws nothing, or something else). */
export function apiError(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected an ApiError");
}
