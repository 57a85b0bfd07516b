/**
 * The namespace controller (pkg/controller/namespace/deletion/namespaced_resources_deleter.go):
 * for a namespace with a deletionTimestamp, deletes every object of every namespaced resource in
 * it, waits until they are gone (pods leave once their kubelet has stopped them), then removes
 * "kubernetes" from spec.finalizers through the finalize subresource, and the store drops the
 * namespace. On each pass it records the five deletion conditions (content and finalizers remaining).
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

/** What is left in a terminating namespace: objects by `resource.group`, finalizers by name. */
interface Remaining {
  objects: Map<string, number>;
  finalizers: Map<string, number>;
}

const counted = (m: Map<string, number>, what: (key: string, n: number) => string): string =>
  [...m.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, n]) => what(k, n))
    .join(", ");

/**
 * The five conditions the namespace controller writes on every pass over a terminating namespace,
 * in its order, with its reasons and messages (content and finalizers remaining, or not).
 */
function deletionConditions(
  remaining: Remaining,
  nowMs: number,
  prior: Condition[] | undefined,
): Condition[] {
  const objects = remaining.objects.size > 0;
  const finalizers = remaining.finalizers.size > 0;
  const wanted: [type: string, status: Condition["status"], reason: string, message: string][] = [
    [
      "NamespaceDeletionDiscoveryFailure",
      "False",
      "ResourcesDiscovered",
      "All resources successfully discovered",
    ],
    [
      "NamespaceDeletionGroupVersionParsingFailure",
      "False",
      "ParsedGroupVersions",
      "All legacy kube types successfully parsed",
    ],
    [
      "NamespaceDeletionContentFailure",
      "False",
      "ContentDeleted",
      "All content successfully deleted, may be waiting on finalization",
    ],
    objects
      ? [
          "NamespaceContentRemaining",
          "True",
          "SomeResourcesRemain",
          `Some resources are remaining: ${counted(remaining.objects, (r, n) => `${r} has ${String(n)} resource instances`)}`,
        ]
      : [
          "NamespaceContentRemaining",
          "False",
          "ContentRemoved",
          "All content successfully removed",
        ],
    finalizers
      ? [
          "NamespaceFinalizersRemaining",
          "True",
          "SomeFinalizersRemain",
          `Some content in the namespace has finalizers remaining: ${counted(remaining.finalizers, (f, n) => `${f} in ${String(n)} resource instances`)}`,
        ]
      : [
          "NamespaceFinalizersRemaining",
          "False",
          "ContentHasNoFinalizers",
          "All content-preserving finalizers finished",
        ],
  ];
  return wanted.map(([type, status, reason, message]) => {
    const old = prior?.find(c => c.type === type);
    return {
      type,
      status,
      lastTransitionTime:
        old?.status === status && old.lastTransitionTime !== undefined
          ? old.lastTransitionTime
          : formatTimestamp(nowMs),
      reason,
      message,
    };
  });
}

export function startNamespaceController(store: Store, clock: SimClock): SimComponent {
  let queue: WorkQueue | undefined;
  let unsubscribe: (() => void) | undefined;

  const deleteContent = (ns: string): Remaining => {
    for (const gvr of namespacedResources(store)) {
      for (const o of store.list(gvr, { namespace: ns }).items) {
        if (o.metadata.deletionTimestamp !== undefined) continue;
        try {
          store.delete(gvr, ns, o.metadata.name ?? "", ACTOR, { propagationPolicy: "Background" });
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
    // Count what is left: objects without finalizers or grace periods are gone already. The
    // resource is named `resource.group`, the core group's with its trailing dot, as the real one.
    const remaining: Remaining = { objects: new Map(), finalizers: new Map() };
    for (const gvr of namespacedResources(store)) {
      const items = store.list(gvr, { namespace: ns }).items;
      if (items.length === 0) continue;
      remaining.objects.set(`${gvr.resource}.${gvr.group}`, items.length);
      for (const o of items)
        for (const f of o.metadata.finalizers ?? [])
          remaining.finalizers.set(f, (remaining.finalizers.get(f) ?? 0) + 1);
    }
    return remaining;
  };

  const sync = (name: string): SyncResult | undefined => {
    const ns = store.get(NAMESPACES, undefined, name);
    if (ns?.metadata.deletionTimestamp === undefined) return undefined;
    const remaining = deleteContent(name);
    const status = (ns["status"] ?? {}) as { phase?: string; conditions?: Condition[] };
    const conditions = deletionConditions(remaining, clock.nowMs(), status.conditions);
    if (
      JSON.stringify(conditions.map(c => [c.type, c.status, c.message])) !==
      JSON.stringify((status.conditions ?? []).map(c => [c.type, c.status, c.message]))
    ) {
      const next: KubeObject = { ...structuredClone(ns), status: { ...status, conditions } };
      store.update(NAMESPACES, next, ACTOR, { subresource: "status" });
    }
    if (remaining.objects.size > 0) return { requeueAfterMs: RECHECK_MS };
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
