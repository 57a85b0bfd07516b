/**
 * The store: objects by group/resource/namespace/name, one global resourceVersion counter, and the
 * apiserver's write semantics (k8s.io/apiserver/pkg/registry/generic/registry/store.go plus each
 * resource's strategy): uid, creationTimestamp, generateName, generation, status subresource
 * isolation, optimistic concurrency, finalizers and deletionTimestamp, namespace lifecycle, and an
 * in-memory event log that watches read from.
 *
 * This module is the store's entry point; MemoryStore delegates to its parts under ./store/:
 * objects.ts (storage and resourceVersions), events.ts (event log and watch fan-out), strategy.ts
 * (each resource's write strategy), writes.ts (create, update, patch, apply), deletion.ts
 * (finalizers, grace periods, namespace termination), core.ts (what those write paths share) and
 * json.ts (copying and comparing JSON values).
 */
import { objectMatcher } from "./selectors.ts";
import { StoreCore } from "./store/core.ts";
import type { StoreOptions } from "./store/core.ts";
import { deleteObject } from "./store/deletion.ts";
import type { DeleteArgs } from "./store/deletion.ts";
import { objectKey } from "./store/objects.ts";
import { createObject, patchObject, updateObject } from "./store/writes.ts";
import type { PatchArgs } from "./store/writes.ts";
import type {
  Actor,
  GVR,
  KubeObject,
  ListOptions,
  ResourceCatalogue,
  ResourceInfo,
  Store,
  StoreEvent,
  WriteOptions,
} from "./types.ts";

export type { AdmitFn, StoreAudit, StoreOptions } from "./store/core.ts";
export { cloneJson, jsonEqual } from "./store/json.ts";
export { managerName } from "./store/writes.ts";

/** The store plus what the HTTP layer and watches need beyond the shared contract. */
export interface SimStore extends Store {
  /** The catalogue entry for a GVR, or 404 the way the apiserver answers an unknown resource. */
  info(gvr: GVR): ResourceInfo;
  /** Events with resourceVersion > rv, in order; undefined when rv is older than the log keeps. */
  eventsSince(rv: number): StoreEvent[] | undefined;
  /** The highest resourceVersion no longer in the event log (0 when nothing was dropped). */
  compactedThrough(): number;
  /** Drops the event log (an etcd compaction): watches resuming from before now get 410. */
  compact(): void;
}

/** The in-memory store; see createStore. */
class MemoryStore implements SimStore {
  readonly resources: ResourceCatalogue;
  readonly #core: StoreCore;

  constructor(options: StoreOptions) {
    this.#core = new StoreCore(options);
    this.resources = options.catalogue;
  }

  currentResourceVersion(): number {
    return this.#core.objects.resourceVersion();
  }

  get(gvr: GVR, namespace: string | undefined, name: string): KubeObject | undefined {
    const i = this.info(gvr);
    const found = this.#core.objects
      .bucket(i)
      .get(objectKey(i.namespaced ? namespace : undefined, name));
    return found ? this.#core.out(i, found) : undefined;
  }

  list(gvr: GVR, listOptions: ListOptions = {}): { items: KubeObject[]; resourceVersion: string } {
    const i = this.info(gvr);
    const matches = objectMatcher(
      i.group,
      i.resource,
      listOptions.labelSelector,
      listOptions.fieldSelector,
    );
    const items: KubeObject[] = [];
    const b = this.#core.objects.bucket(i);
    // Keys are "namespace/name": filter by namespace before sorting, clone only what matches.
    const keys = this.#core.objects.listKeys(b, i.namespaced ? listOptions.namespace : undefined);
    for (const key of keys.sort()) {
      const object = b.get(key);
      if (object && matches(object)) items.push(this.#core.out(i, object));
    }
    return { items, resourceVersion: String(this.currentResourceVersion()) };
  }

  create(gvr: GVR, object: KubeObject, actor: Actor, opts: WriteOptions = {}): KubeObject {
    return createObject(this.#core, this.#core.ctxFor(gvr, actor), object, opts);
  }

  update(gvr: GVR, object: KubeObject, actor: Actor, opts: WriteOptions = {}): KubeObject {
    return updateObject(this.#core, this.#core.ctxFor(gvr, actor), object, opts, {
      verb: "update",
      unconditional: false,
    });
  }

  patch(...args: PatchArgs): KubeObject {
    return patchObject(this.#core, args);
  }

  delete(...args: DeleteArgs): KubeObject {
    return deleteObject(this.#core, args);
  }

  subscribe(listener: (event: StoreEvent) => void): () => void {
    return this.#core.events.subscribe(listener);
  }

  eventsSince(since: number): StoreEvent[] | undefined {
    return this.#core.events.eventsSince(since);
  }

  compactedThrough(): number {
    return this.#core.events.compactedThrough();
  }

  compact(): void {
    this.#core.events.compact(this.currentResourceVersion());
  }

  info(gvr: GVR): ResourceInfo {
    return this.#core.info(gvr);
  }
}

/** Creates the simulator's store. */
export function createStore(options: StoreOptions): SimStore {
  return new MemoryStore(options);
}
