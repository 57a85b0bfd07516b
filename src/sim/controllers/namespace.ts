/**
 * The namespace controller (pkg/controller/namespace/deletion/namespaced_resources_deleter.go):
 * for a namespace with a deletionTimestamp, deletes every object of every namespaced resource in
 * it, waits until they are gone (pods leave once their kubelet has stopped them), then removes
 * "kubernetes" from spec.finalizers through the finalize subresource, and the store drops the
 * namespace. While content remains it records the NamespaceContentRemaining condition.
 */
import {
  formatTimestamp,
  type GVR,
  type KubeObject,
  type SimClock,
  type SimComponent,
  type Store,
  type StoreEvent,
} from "../types.ts";
import { controllerActor, isNotFound, NAMESPACES, type Condition } from "./kube.ts";
import { createWorkQueue, type SyncResult, type WorkQueue } from "./workqueue.ts";

const ACTOR = controllerActor("namespace-controller");
/** How often to look again while content is still terminating (the controller's estimate). */
const RECHECK_MS = 1_000;

function namespacedResources(store: Store): GVR[] {
  return store.resources
    .all()
    .filter(i => i.namespaced && i.verbs.includes("list") && i.verbs.includes("delete"))
    .map(i => ({ group: i.group, version: i.version, resource: i.resource }));
}

function contentCondition(
  remaining: Map<string, number>,
  nowMs: number,
  prior: Condition[] | undefined,
): Condition[] {
  const others = (prior ?? []).filter(c => c.type !== "NamespaceContentRemaining");
  const old = prior?.find(c => c.type === "NamespaceContentRemaining");
  const status = remaining.size > 0 ? "True" : "False";
  const c: Condition = {
    type: "NamespaceContentRemaining",
    status,
    lastTransitionTime:
      old?.status === status && old.lastTransitionTime !== undefined
        ? old.lastTransitionTime
        : formatTimestamp(nowMs),
    reason: remaining.size > 0 ? "SomeResourcesRemain" : "ContentDeleted",
    message:
      remaining.size > 0
        ? `Some resources are remaining: ${[...remaining.entries()].map(([r, n]) => `${r} has ${n} resource instances`).join(", ")}`
        : "All content successfully deleted, may be waiting on finalization",
  };
  return [...others, c];
}

export function startNamespaceController(store: Store, clock: SimClock): SimComponent {
  let queue: WorkQueue | undefined;
  let unsubscribe: (() => void) | undefined;

  const deleteContent = (ns: string): Map<string, number> => {
    const remaining = new Map<string, number>();
    for (const gvr of namespacedResources(store)) {
      const items = store.list(gvr, { namespace: ns }).items;
      if (items.length === 0) continue;
      remaining.set(gvr.group === "" ? gvr.resource : `${gvr.resource}.${gvr.group}`, items.length);
      for (const o of items) {
        if (o.metadata.deletionTimestamp !== undefined) continue;
        try {
          store.delete(gvr, ns, o.metadata.name ?? "", ACTOR, { propagationPolicy: "Background" });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
    // Count again: objects without finalizers or grace periods are gone already.
    for (const gvr of namespacedResources(store)) {
      const key = gvr.group === "" ? gvr.resource : `${gvr.resource}.${gvr.group}`;
      const n = store.list(gvr, { namespace: ns }).items.length;
      if (n > 0) remaining.set(key, n);
      else remaining.delete(key);
    }
    return remaining;
  };

  const sync = (name: string): SyncResult | undefined => {
    const ns = store.get(NAMESPACES, undefined, name);
    if (ns?.metadata.deletionTimestamp === undefined) return undefined;
    const remaining = deleteContent(name);
    const status = (ns["status"] ?? {}) as { phase?: string; conditions?: Condition[] };
    const conditions = contentCondition(remaining, clock.nowMs(), status.conditions);
    if (
      JSON.stringify(conditions.map(c => [c.type, c.status, c.message])) !==
      JSON.stringify((status.conditions ?? []).map(c => [c.type, c.status, c.message]))
    ) {
      const next: KubeObject = { ...structuredClone(ns), status: { ...status, conditions } };
      store.update(NAMESPACES, next, ACTOR, { subresource: "status" });
    }
    if (remaining.size > 0) return { requeueAfterMs: RECHECK_MS };
    const fresh = store.get(NAMESPACES, undefined, name);
    if (fresh === undefined) return undefined;
    const spec = (fresh["spec"] ?? {}) as { finalizers?: string[] };
    if (!(spec.finalizers ?? []).includes("kubernetes")) return undefined;
    const finalized: KubeObject = {
      ...structuredClone(fresh),
      spec: { ...spec, finalizers: (spec.finalizers ?? []).filter(f => f !== "kubernetes") },
    };
    store.update(NAMESPACES, finalized, ACTOR, { subresource: "finalize" });
    return undefined;
  };

  const onEvent = (e: StoreEvent): void => {
    if (e.gvr.group === "" && e.gvr.resource === "namespaces") {
      if (e.type !== "DELETED" && e.object.metadata.deletionTimestamp !== undefined)
        queue?.add(e.object.metadata.name ?? "");
      return;
    }
    // Content leaving a terminating namespace lets it finish sooner.
    if (e.type === "DELETED" && e.object.metadata.namespace !== undefined) {
      const ns = store.get(NAMESPACES, undefined, e.object.metadata.namespace);
      if (ns?.metadata.deletionTimestamp !== undefined) queue?.add(e.object.metadata.namespace);
    }
  };

  return {
    name: "namespace-controller",
    start() {
      queue = createWorkQueue(clock, sync);
      unsubscribe = store.subscribe(onEvent);
      for (const ns of store.list(NAMESPACES).items)
        if (ns.metadata.deletionTimestamp !== undefined) queue.add(ns.metadata.name ?? "");
    },
    stop() {
      unsubscribe?.();
      queue?.stop();
    },
  };
}
