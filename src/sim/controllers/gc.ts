/**
 * The garbage collector (pkg/controller/garbagecollector/garbagecollector.go): keeps a graph of
 * ownerReferences over every resource and
 * - deletes a dependent once none of its owners exists any more (Background propagation, and an
 *   object created with an owner that is already gone);
 * - for an owner deleted with Foreground propagation (finalizer "foregroundDeletion"), deletes its
 *   dependents (foreground again when they have dependents themselves) and removes the finalizer
 *   once no dependent with blockOwnerDeletion is left;
 * - for an owner deleted with Orphan propagation (finalizer "orphan"), removes the owner's
 *   reference from every dependent, then the finalizer.
 */
import type {
  Actor,
  GVR,
  KubeObject,
  OwnerReference,
  SimClock,
  SimComponent,
  Store,
  StoreEvent,
} from "../types.ts";
import { controllerActor, isConflict, isNotFound } from "./kube.ts";
import { createWorkQueue, type SyncResult, type WorkQueue } from "./workqueue.ts";

const ACTOR: Actor = controllerActor("generic-garbage-collector");
const FOREGROUND = "foregroundDeletion";
const ORPHAN = "orphan";

interface Node {
  gvr: GVR;
  namespace: string | undefined;
  name: string;
  uid: string;
  owners: OwnerReference[];
}

/** The ownerReference graph: every object by uid, and every owner uid's dependents. */
class Graph {
  readonly nodes = new Map<string, Node>();
  readonly dependents = new Map<string, Set<string>>();
  readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  index(gvr: GVR, o: KubeObject): void {
    const uid = o.metadata.uid;
    if (uid === undefined) return;
    this.unlink(uid);
    const owners = o.metadata.ownerReferences ?? [];
    this.nodes.set(uid, {
      gvr,
      namespace: o.metadata.namespace,
      name: o.metadata.name ?? "",
      uid,
      owners,
    });
    for (const r of owners) {
      let set = this.dependents.get(r.uid);
      if (!set) this.dependents.set(r.uid, (set = new Set()));
      set.add(uid);
    }
  }

  unlink(uid: string): void {
    for (const r of this.nodes.get(uid)?.owners ?? []) this.dependents.get(r.uid)?.delete(uid);
  }

  unindex(uid: string): void {
    this.unlink(uid);
    this.nodes.delete(uid);
  }

  fetch(n: Node): KubeObject | undefined {
    const o = this.store.get(n.gvr, n.namespace, n.name);
    return o?.metadata.uid === n.uid ? o : undefined;
  }

  ownerState(ref: OwnerReference): "absent" | "waiting" | "solid" {
    const n = this.nodes.get(ref.uid);
    const o = n === undefined ? undefined : this.fetch(n);
    if (o === undefined) return "absent";
    if (
      o.metadata.deletionTimestamp !== undefined &&
      (o.metadata.finalizers ?? []).includes(FOREGROUND)
    )
      return "waiting";
    return "solid";
  }

  dependentsOf(uid: string): Node[] {
    return [...(this.dependents.get(uid) ?? [])]
      .map(d => this.nodes.get(d))
      .filter((x): x is Node => x !== undefined);
  }
}

export function startGarbageCollector(store: Store, clock: SimClock): SimComponent {
  const graph = new Graph(store);
  const { nodes, dependents } = graph;
  let queue: WorkQueue | undefined;
  let unsubscribe: (() => void) | undefined;

  const deleteObject = (
    n: Node,
    policy: "Background" | "Foreground" | "Orphan",
    o: KubeObject,
  ): void => {
    try {
      const opts = { propagationPolicy: policy, preconditions: { uid: n.uid } };
      if (o.metadata.deletionTimestamp !== undefined && policy === "Background") return;
      store.delete(n.gvr, n.namespace, n.name, ACTOR, opts);
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  };

  /** attemptToDeleteItem */
  const attemptToDelete = (n: Node, o: KubeObject): void => {
    const refs = o.metadata.ownerReferences ?? [];
    if (refs.length === 0) return;
    const states = refs.map(r => ({ r, s: graph.ownerState(r) }));
    const solid = states.filter(x => x.s === "solid");
    const gone = states.filter(x => x.s !== "solid");
    if (solid.length > 0) {
      if (gone.some(x => x.s === "absent")) {
        // Remove references to owners that no longer exist.
        const keep = refs.filter(r => graph.ownerState(r) !== "absent");
        store.patch(
          n.gvr,
          n.namespace,
          n.name,
          "merge",
          { metadata: { ownerReferences: keep, resourceVersion: o.metadata.resourceVersion } },
          ACTOR,
        );
      }
      return;
    }
    const hasDependents = (dependents.get(n.uid)?.size ?? 0) > 0;
    if (states.some(x => x.s === "waiting") && hasDependents) {
      deleteObject(n, "Foreground", o);
      return;
    }
    const finalizers = o.metadata.finalizers ?? [];
    const policy = finalizers.includes(ORPHAN)
      ? "Orphan"
      : finalizers.includes(FOREGROUND)
        ? "Foreground"
        : "Background";
    deleteObject(n, policy, o);
  };

  const removeFinalizer = (n: Node, o: KubeObject, finalizer: string): void => {
    const finalizers = (o.metadata.finalizers ?? []).filter(f => f !== finalizer);
    store.patch(
      n.gvr,
      n.namespace,
      n.name,
      "merge",
      { metadata: { finalizers, resourceVersion: o.metadata.resourceVersion } },
      ACTOR,
    );
  };

  /** processDeletingDependentsItem: foreground deletion of an owner. */
  const foreground = (n: Node, o: KubeObject): SyncResult | undefined => {
    const deps = [...(dependents.get(n.uid) ?? [])]
      .map(uid => nodes.get(uid))
      .filter((x): x is Node => x !== undefined);
    const blocking = deps.filter(
      d =>
        d.owners.some(r => r.uid === n.uid && r.blockOwnerDeletion === true) &&
        graph.fetch(d) !== undefined,
    );
    for (const d of deps) queue?.add(d.uid);
    if (blocking.length === 0) removeFinalizer(n, o, FOREGROUND);
    return undefined;
  };

  /** orphanDependents + removeFinalizer(orphan) */
  const orphan = (n: Node, o: KubeObject): void => {
    for (const d of graph.dependentsOf(n.uid)) {
      const dep = graph.fetch(d);
      if (dep === undefined) continue;
      const keep = (dep.metadata.ownerReferences ?? []).filter(r => r.uid !== n.uid);
      store.patch(
        d.gvr,
        d.namespace,
        d.name,
        "merge",
        { metadata: { ownerReferences: keep.length > 0 ? keep : null } },
        ACTOR,
      );
    }
    removeFinalizer(n, o, ORPHAN);
  };

  const sync = (uid: string): SyncResult | undefined => {
    const n = nodes.get(uid);
    if (n === undefined) return undefined;
    const o = graph.fetch(n);
    if (o === undefined) return undefined;
    const finalizers = o.metadata.finalizers ?? [];
    if (o.metadata.deletionTimestamp !== undefined && finalizers.includes(ORPHAN)) {
      orphan(n, o);
      return undefined;
    }
    if (o.metadata.deletionTimestamp !== undefined && finalizers.includes(FOREGROUND))
      return foreground(n, o);
    attemptToDelete(n, o);
    return undefined;
  };

  const onEvent = (e: StoreEvent): void => {
    const uid = e.object.metadata.uid;
    if (uid === undefined) return;
    if (e.type === "DELETED") {
      const owners = nodes.get(uid)?.owners ?? [];
      const deps = [...(dependents.get(uid) ?? [])];
      graph.unindex(uid);
      for (const d of deps) queue?.add(d);
      // An owner in foreground deletion waits for this dependent.
      for (const r of owners) if (nodes.has(r.uid)) queue?.add(r.uid);
      return;
    }
    graph.index(e.gvr, e.object);
    const refsChanged =
      JSON.stringify(e.oldObject?.metadata.ownerReferences ?? []) !==
      JSON.stringify(e.object.metadata.ownerReferences ?? []);
    const deleting = e.object.metadata.deletionTimestamp !== undefined;
    if (e.type === "ADDED" || refsChanged || deleting) queue?.add(uid);
  };

  return {
    name: "garbage-collector",
    start() {
      queue = createWorkQueue(clock, sync);
      unsubscribe = store.subscribe(onEvent);
      for (const info of store.resources.all()) {
        if (!info.verbs.includes("list")) continue;
        const gvr = { group: info.group, version: info.version, resource: info.resource };
        for (const o of store.list(gvr).items) graph.index(gvr, o);
      }
      for (const n of nodes.values()) if (n.owners.length > 0) queue.add(n.uid);
    },
    stop() {
      unsubscribe?.();
      queue?.stop();
    },
  };
}
