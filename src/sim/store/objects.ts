/**
 * Object storage: one bucket of objects per storage key (group/resource), keyed "namespace/name",
 * a per-namespace index of each bucket's keys so a namespaced list reads only its own, and the one
 * global resourceVersion counter every committed write takes its next value from.
 */
import { storageKey } from "../catalogue.ts";
import type { KubeObject, ResourceInfo } from "../types.ts";

export function objectKey(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export class ObjectTable {
  readonly #buckets = new Map<string, Map<string, KubeObject>>();
  /** Per bucket, the keys of each namespace's objects: a namespaced list reads only its own. */
  readonly #byNamespace = new Map<Map<string, KubeObject>, Map<string, Set<string>>>();
  #rv = 0;

  /** The current value of the global resourceVersion counter. */
  resourceVersion(): number {
    return this.#rv;
  }

  /** Advances the counter and returns its new value, as a committed write's resourceVersion. */
  nextResourceVersion(): string {
    return String(++this.#rv);
  }

  /** The resource's bucket, created empty on first use. */
  bucket(info: ResourceInfo): Map<string, KubeObject> {
    const key = storageKey(info);
    let b = this.#buckets.get(key);
    if (!b) {
      b = new Map();
      this.#buckets.set(key, b);
    }
    return b;
  }

  /** The stored namespace of that name, without creating the namespaces bucket. */
  namespace(name: string): KubeObject | undefined {
    return this.#buckets.get("/namespaces")?.get(objectKey(undefined, name));
  }

  /** The keys of a bucket to list: all of them, or one namespace's (unsorted). */
  listKeys(b: Map<string, KubeObject>, ns: string | undefined): string[] {
    return ns === undefined ? [...b.keys()] : [...(this.#byNamespace.get(b)?.get(ns) ?? [])];
  }

  /** Stores a new object under its key and indexes it by namespace. */
  insert(b: Map<string, KubeObject>, key: string, object: KubeObject): void {
    b.set(key, object);
    const ns = object.metadata.namespace;
    if (ns !== undefined) this.#namespaceKeys(b, ns).add(key);
  }

  /** Drops an object's key from its bucket and the namespace index. */
  remove(b: Map<string, KubeObject>, key: string, ns: string | undefined): void {
    b.delete(key);
    if (ns !== undefined) {
      const keys = this.#namespaceKeys(b, ns);
      keys.delete(key);
      if (keys.size === 0) this.#byNamespace.get(b)?.delete(ns);
    }
  }

  #namespaceKeys(b: Map<string, KubeObject>, ns: string): Set<string> {
    let byNs = this.#byNamespace.get(b);
    if (!byNs) {
      byNs = new Map();
      this.#byNamespace.set(b, byNs);
    }
    let keys = byNs.get(ns);
    if (!keys) {
      keys = new Set();
      byNs.set(ns, keys);
    }
    return keys;
  }
}
