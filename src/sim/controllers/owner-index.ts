/**
 * Keys of one resource's objects by their controller owner's uid, kept up to date from the store's
 * events: a controller reads only the objects it owns instead of listing (and copying) its whole
 * namespace on every sync. Like client-go's indexers on an informer cache, it holds keys only; the
 * objects are read from the store, so they are exactly what a list would have returned.
 */
import type { GVR, KubeObject, Store, StoreEvent } from "../types.ts";
import { controllerOf, keyOf } from "./kube.ts";

export interface OwnerIndex {
  /** Keys ("namespace/name") of the objects controlled by `ownerUid`, sorted as a list sorts them. */
  keys(ownerUid: string): string[];
  /** Stops following the store and forgets everything. */
  stop(): void;
}

/** Starts indexing `gvr` in `store`: subscribes, then seeds from a list of what exists. */
export function createOwnerIndex(store: Store, gvr: GVR): OwnerIndex {
  const byOwner = new Map<string, Set<string>>();
  const ownerOf = new Map<string, string>();

  const forget = (key: string): void => {
    const uid = ownerOf.get(key);
    if (uid === undefined) return;
    ownerOf.delete(key);
    const keys = byOwner.get(uid);
    keys?.delete(key);
    if (keys?.size === 0) byOwner.delete(uid);
  };

  const track = (object: KubeObject): void => {
    const key = keyOf(object);
    const uid = controllerOf(object)?.uid;
    if (ownerOf.get(key) === uid) return;
    forget(key);
    if (uid === undefined) return;
    ownerOf.set(key, uid);
    let keys = byOwner.get(uid);
    if (keys === undefined) {
      keys = new Set();
      byOwner.set(uid, keys);
    }
    keys.add(key);
  };

  const onEvent = (e: StoreEvent): void => {
    if (e.gvr.group !== gvr.group || e.gvr.resource !== gvr.resource) return;
    if (e.type === "DELETED") forget(keyOf(e.object));
    else track(e.object);
  };

  const unsubscribe = store.subscribe(onEvent);
  for (const object of store.list(gvr).items) track(object);

  return {
    keys: uid => [...(byOwner.get(uid) ?? [])].sort(),
    stop() {
      unsubscribe();
      byOwner.clear();
      ownerOf.clear();
    },
  };
}
