/**
 * The loop every workload controller that owns pods shares (the ReplicaSet, StatefulSet and
 * DaemonSet controllers): a work queue of its objects' keys, fed by their own events and by the
 * events of the pods they control (the controller ownerReference names the object to queue), owner
 * indexes of what it controls, and a sync of one object at a time.
 */
import type { GVR, KubeObject, SimClock, SimComponent, Store, StoreEvent } from "../types.ts";
import { controllerOf, keyOf, splitKey } from "./kube.ts";
import { createOwnerIndex, type OwnerIndex } from "./owner-index.ts";
import { createWorkQueue, type SyncResult, type WorkQueue } from "./workqueue.ts";

export interface OwnerControllerSpec<K extends string> {
  /** The component's name, e.g. "statefulset-controller". */
  name: string;
  /** The resource it controls, and that resource's kind as owner references name it. */
  gvr: GVR;
  kind: string;
  /** The resources it indexes by owner, by the name sync() reads them under. */
  owns: Readonly<Record<K, GVR>>;
  sync(object: KubeObject, indexes: Readonly<Record<K, OwnerIndex>>): SyncResult | undefined;
  /** Any other event that queues objects (a DaemonSet's nodes); pods and its own are handled. */
  onOtherEvent?(event: StoreEvent, enqueue: (object: KubeObject) => void): void;
}

const POD_RESOURCE = "pods";

export function startOwnerController<K extends string>(
  store: Store,
  clock: SimClock,
  spec: OwnerControllerSpec<K>,
): SimComponent {
  let queue: WorkQueue | undefined;
  let unsubscribe: (() => void) | undefined;
  let indexes: Record<K, OwnerIndex> | undefined;
  const enqueue = (object: KubeObject): void => queue?.add(keyOf(object));

  const sync = (key: string): SyncResult | undefined => {
    const { namespace, name } = splitKey(key);
    const object = store.get(spec.gvr, namespace, name);
    if (object === undefined || indexes === undefined) return undefined;
    return spec.sync(object, indexes);
  };

  const onEvent = (e: StoreEvent): void => {
    if (e.gvr.group === spec.gvr.group && e.gvr.resource === spec.gvr.resource) {
      enqueue(e.object);
      return;
    }
    if (e.gvr.group !== "" || e.gvr.resource !== POD_RESOURCE) {
      spec.onOtherEvent?.(e, enqueue);
      return;
    }
    for (const o of [e.object, e.oldObject]) {
      const ref = o === undefined ? undefined : controllerOf(o);
      if (o !== undefined && ref?.kind === spec.kind)
        queue?.add(`${o.metadata.namespace ?? ""}/${ref.name}`);
    }
  };

  return {
    name: spec.name,
    start() {
      queue = createWorkQueue(clock, sync);
      const made: Partial<Record<K, OwnerIndex>> = {};
      for (const key of Object.keys(spec.owns) as K[])
        made[key] = createOwnerIndex(store, spec.owns[key]);
      indexes = made as Record<K, OwnerIndex>;
      unsubscribe = store.subscribe(onEvent);
      for (const object of store.list(spec.gvr).items) queue.add(keyOf(object));
    },
    stop() {
      unsubscribe?.();
      queue?.stop();
      for (const index of Object.values<OwnerIndex>(indexes ?? {})) index.stop();
      indexes = undefined;
    },
  };
}
