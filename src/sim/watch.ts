/**
 * Watches over the store's event log, as the apiserver's watch cache serves them
 * (k8s.io/apiserver/pkg/storage/cacher): resume from a resourceVersion or start with synthetic
 * ADDED events, 410 Expired as an ERROR event for a compacted resourceVersion, selector
 * transitions (an object that stops matching is sent as DELETED, one that starts as ADDED),
 * bookmarks, timeouts, and one store subscription fanned out by resource.
 */
import { storageKey } from "./catalogue.ts";
import { expired } from "./errors.ts";
import type { ObjectMatcher } from "./selectors.ts";
import type { SimStore } from "./store.ts";
import type { KubeObject, ResourceInfo, StoreEvent, WatchEventType } from "./types.ts";

/** Where a watch's events go (the HTTP layer writes them as JSON lines). */
export interface WatchSink {
  /** Sends one event; returns false when the watch must stop (closed socket, back-pressure). */
  send(type: WatchEventType, object: KubeObject | Record<string, unknown>): boolean;
  /** Ends the stream. */
  end(): void;
}

export interface WatchRequest {
  info: ResourceInfo;
  /** Undefined: all namespaces. */
  namespace: string | undefined;
  matches: ObjectMatcher;
  /** The resourceVersion parameter; "" or "0" start with the current state. */
  resourceVersion: string;
  allowBookmarks: boolean;
  /**
   * sendInitialEvents=true (a streaming list, KEP-3157, as kubectl 1.36's watches ask): the
   * current state as ADDED events whatever the resourceVersion, then a BOOKMARK annotated
   * `k8s.io/initial-events-end: "true"` at the current resourceVersion.
   */
  sendInitialEvents?: boolean;
  /** Real milliseconds until the server ends the watch; undefined = never. */
  timeoutMs?: number;
  /** End the watch after this many events (a fault). */
  dropAfterEvents?: number;
}

export interface WatchHubOptions {
  /** Real milliseconds between bookmarks; default 60,000 (the watch cache's bookmark frequency). */
  bookmarkIntervalMs?: number;
}

interface Watcher {
  request: WatchRequest;
  sink: WatchSink;
  sent: number;
  timers: NodeJS.Timeout[];
  closed: boolean;
}

/** The event a watcher sees for a store event: selector transitions as the watch cache computes them. */
export function filterEvent(
  event: StoreEvent,
  namespace: string | undefined,
  matches: ObjectMatcher,
): { type: "ADDED" | "MODIFIED" | "DELETED"; object: KubeObject } | undefined {
  const inScope = (o: KubeObject | undefined): boolean =>
    o !== undefined &&
    (namespace === undefined || o.metadata.namespace === namespace) &&
    matches(o);
  const now = inScope(event.object);
  const before = event.type !== "ADDED" && inScope(event.oldObject);
  if (event.type === "DELETED")
    return now || before ? { type: "DELETED", object: event.object } : undefined;
  if (event.type === "ADDED") return now ? { type: "ADDED", object: event.object } : undefined;
  if (now && before) return { type: "MODIFIED", object: event.object };
  if (now) return { type: "ADDED", object: event.object };
  if (before) return { type: "DELETED", object: event.object };
  return undefined;
}

/** The annotation on the bookmark that ends a streaming list's initial events. */
export const INITIAL_EVENTS_END = "k8s.io/initial-events-end";

interface Bookmark {
  kind: string;
  apiVersion: string;
  metadata: { resourceVersion: string; annotations?: Record<string, string> };
  [field: string]: unknown;
}

function bookmark(info: ResourceInfo, resourceVersion: string): Bookmark {
  return {
    kind: info.kind,
    apiVersion: info.group === "" ? info.version : `${info.group}/${info.version}`,
    metadata: { resourceVersion },
  };
}

function servedAs(info: ResourceInfo, object: KubeObject): KubeObject {
  return {
    ...object,
    apiVersion: info.group === "" ? info.version : `${info.group}/${info.version}`,
    kind: info.kind,
  };
}

/** Every open watch of one store, fed by a single subscription. */
export class WatchHub {
  readonly #store: SimStore;
  readonly #byResource = new Map<string, Set<Watcher>>();
  readonly #bookmarkMs: number;
  readonly #unsubscribe: () => void;

  constructor(store: SimStore, options: WatchHubOptions = {}) {
    this.#store = store;
    this.#bookmarkMs = options.bookmarkIntervalMs ?? 60_000;
    this.#unsubscribe = store.subscribe(event => {
      this.#fanOut(event);
    });
  }

  /** How many watches are open. */
  get size(): number {
    let n = 0;
    for (const set of this.#byResource.values()) n += set.size;
    return n;
  }

  /** Starts a watch; returns a function that stops it. */
  watch(request: WatchRequest, sink: WatchSink): () => void {
    const watcher: Watcher = { request, sink, sent: 0, timers: [], closed: false };
    const stop = (): void => {
      this.#close(watcher);
    };
    const rv = request.resourceVersion;
    if (rv === "" || rv === "0" || request.sendInitialEvents === true) {
      const { items } = this.#store.list(
        request.info,
        request.namespace === undefined ? {} : { namespace: request.namespace },
      );
      for (const item of items) {
        if (request.matches(item) && !this.#send(watcher, "ADDED", item)) return stop;
      }
      if (request.sendInitialEvents === true && request.allowBookmarks) {
        const end = bookmark(request.info, String(this.#store.currentResourceVersion()));
        end.metadata.annotations = { [INITIAL_EVENTS_END]: "true" };
        if (!watcher.sink.send("BOOKMARK", end)) return stop;
      }
    } else {
      const since = Number(rv);
      const events = Number.isFinite(since) ? this.#store.eventsSince(since) : undefined;
      if (events === undefined) {
        const err = expired(rv, this.#store.compactedThrough());
        sink.send("ERROR", err.toStatus());
        sink.end();
        return () => undefined;
      }
      const key = storageKey(request.info);
      for (const e of events) {
        if (storageKey(e.gvr) !== key) continue;
        const out = filterEvent(e, request.namespace, request.matches);
        if (out && !this.#send(watcher, out.type, servedAs(request.info, out.object))) return stop;
      }
    }
    this.#register(watcher);
    return stop;
  }

  /** Closes every open watch (an apiserver restart). */
  closeAll(): void {
    for (const set of [...this.#byResource.values()]) for (const w of [...set]) this.#close(w);
  }

  /** Stops fanning out and closes every watch. */
  dispose(): void {
    this.closeAll();
    this.#unsubscribe();
  }

  #register(watcher: Watcher): void {
    const key = storageKey(watcher.request.info);
    let set = this.#byResource.get(key);
    if (!set) {
      set = new Set();
      this.#byResource.set(key, set);
    }
    set.add(watcher);
    const { timeoutMs, allowBookmarks, info } = watcher.request;
    if (timeoutMs !== undefined) {
      watcher.timers.push(
        setTimeout(() => {
          this.#close(watcher);
        }, timeoutMs),
      );
    }
    if (allowBookmarks) {
      const timer = setInterval(() => {
        watcher.sink.send("BOOKMARK", bookmark(info, String(this.#store.currentResourceVersion())));
      }, this.#bookmarkMs);
      watcher.timers.push(timer);
    }
  }

  #send(watcher: Watcher, type: WatchEventType, object: KubeObject): boolean {
    if (watcher.closed) return false;
    if (!watcher.sink.send(type, object)) {
      this.#close(watcher);
      return false;
    }
    watcher.sent++;
    const limit = watcher.request.dropAfterEvents;
    if (limit !== undefined && watcher.sent >= limit) {
      this.#close(watcher);
      return false;
    }
    return true;
  }

  #fanOut(event: StoreEvent): void {
    const set = this.#byResource.get(storageKey(event.gvr));
    if (!set) return;
    for (const watcher of [...set]) {
      const out = filterEvent(event, watcher.request.namespace, watcher.request.matches);
      if (out) this.#send(watcher, out.type, servedAs(watcher.request.info, out.object));
    }
  }

  #close(watcher: Watcher): void {
    if (watcher.closed) return;
    watcher.closed = true;
    for (const t of watcher.timers) clearTimeout(t);
    this.#byResource.get(storageKey(watcher.request.info))?.delete(watcher);
    watcher.sink.end();
  }
}
