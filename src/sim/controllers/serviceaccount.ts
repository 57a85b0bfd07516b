/**
 * The ServiceAccount controller (pkg/controller/serviceaccount/serviceaccounts_controller.go):
 * every active namespace has a ServiceAccount named "default"; it is created when the namespace
 * is, and again if it is deleted while the namespace lives. The real controller does this
 * asynchronously too, so a namespace's first moments may have none.
 */
import type { SimClock, SimComponent, Store, StoreEvent } from "../types.ts";
import {
  controllerActor,
  isAlreadyExists,
  isApiError,
  isNotFound,
  NAMESPACES,
  SERVICEACCOUNTS,
} from "./kube.ts";
import { createWorkQueue, type WorkQueue } from "./workqueue.ts";

const ACTOR = controllerActor("service-account-controller");
const DEFAULT = "default";

export function startServiceAccountController(store: Store, clock: SimClock): SimComponent {
  let queue: WorkQueue | undefined;
  let unsubscribe: (() => void) | undefined;

  const sync = (namespace: string): undefined => {
    const ns = store.get(NAMESPACES, undefined, namespace);
    if (ns === undefined || ns.metadata.deletionTimestamp !== undefined) return undefined;
    if (store.get(SERVICEACCOUNTS, namespace, DEFAULT) !== undefined) return undefined;
    try {
      store.create(
        SERVICEACCOUNTS,
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: DEFAULT, namespace } },
        ACTOR,
      );
    } catch (err) {
      // Someone else made it, or the namespace began terminating in between: nothing to do.
      if (!isAlreadyExists(err) && !isNotFound(err) && !isApiError(err, 403)) throw err;
    }
    return undefined;
  };

  const onEvent = (e: StoreEvent): void => {
    if (e.gvr.group !== "") return;
    if (e.gvr.resource === "namespaces" && e.type === "ADDED")
      queue?.add(e.object.metadata.name ?? "");
    if (
      e.gvr.resource === "serviceaccounts" &&
      e.type === "DELETED" &&
      e.object.metadata.name === DEFAULT
    )
      queue?.add(e.object.metadata.namespace ?? "");
  };

  return {
    name: "service-account-controller",
    start() {
      queue = createWorkQueue(clock, sync);
      unsubscribe = store.subscribe(onEvent);
      for (const ns of store.list(NAMESPACES).items) queue.add(ns.metadata.name ?? "");
    },
    stop() {
      unsubscribe?.();
      queue?.stop();
    },
  };
}
