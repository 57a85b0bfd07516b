import { afterEach, describe, expect, it, vi } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";
import { parseLabelSelector } from "../../../src/sim/selectors.ts";
import type { WatchEventType } from "../../../src/sim/types.ts";
import { WatchHub } from "../../../src/sim/watch.ts";
import { admin, CM, configMap, configMapWatch, newStore } from "./helpers.ts";

interface Seen {
  type: WatchEventType;
  name: string;
  rv: string;
  object: Record<string, unknown>;
}

function collector(): {
  events: Seen[];
  ended: () => boolean;
  sink: { send: (t: WatchEventType, o: unknown) => boolean; end: () => void };
} {
  const events: Seen[] = [];
  let done = false;
  return {
    events,
    ended: () => done,
    sink: {
      send(type, o) {
        const obj = o as { metadata?: { name?: string; resourceVersion?: string } };
        events.push({
          type,
          name: obj.metadata?.name ?? "",
          rv: obj.metadata?.resourceVersion ?? "",
          object: o as Record<string, unknown>,
        });
        return true;
      },
      end() {
        done = true;
      },
    },
  };
}

describe("watch", () => {
  const hubs: WatchHub[] = [];
  afterEach(() => {
    for (const h of hubs.splice(0)) h.dispose();
    vi.useRealTimers();
  });

  // storage/cacher/watch_cache.go: resourceVersion "0"/unset starts with synthetic ADDED events
  it("starts with ADDED for current state, then live events", () => {
    const store = newStore();
    store.create(CM, configMap("a"), admin);
    const hub = new WatchHub(store);
    hubs.push(hub);
    const c = collector();
    hub.watch(configMapWatch({ resourceVersion: "0" }), c.sink);
    store.create(CM, configMap("b"), admin);
    store.delete(CM, "default", "a", admin);
    expect(c.events.map(e => `${e.type}:${e.name}`)).toEqual(["ADDED:a", "ADDED:b", "DELETED:a"]);
  });

  // watch_cache.go: getAllEventsSinceLocked replays events after the resourceVersion (exclusive)
  it("resumes after a resourceVersion and answers a compacted one with an Expired ERROR", () => {
    const store = newStore({ retainEvents: 2 });
    store.create(CM, configMap("a"), admin);
    const rv = store.currentResourceVersion();
    store.create(CM, configMap("b"), admin);
    const hub = new WatchHub(store);
    hubs.push(hub);
    const c = collector();
    hub.watch(configMapWatch({ resourceVersion: String(rv) }), c.sink);
    expect(c.events.map(e => `${e.type}:${e.name}`)).toEqual(["ADDED:b"]);
    store.create(CM, configMap("c"), admin);
    store.create(CM, configMap("d"), admin);
    const old = collector();
    hub.watch(configMapWatch({ resourceVersion: "1" }), old.sink);
    expect(old.events[0]?.type).toBe("ERROR");
    expect(old.events[0]?.object).toMatchObject({
      kind: "Status",
      code: 410,
      reason: "Expired",
      status: "Failure",
    });
    expect(String(old.events[0]?.object["message"])).toMatch(
      /^too old resource version: 1 \(\d+\)$/,
    );
    expect(old.ended()).toBe(true);
  });

  // The watch cache's filtering: leaving the selector is DELETED, entering it is ADDED
  it("turns selector transitions into ADDED and DELETED", () => {
    const store = newStore();
    const hub = new WatchHub(store);
    hubs.push(hub);
    const c = collector();
    hub.watch(configMapWatch({ matches: parseLabelSelector("team=a") }), c.sink);
    store.create(CM, configMap("x"), admin);
    store.patch(CM, "default", "x", "merge", { metadata: { labels: { team: "a" } } }, admin);
    store.patch(CM, "default", "x", "merge", { data: { k: "v" } }, admin);
    store.patch(CM, "default", "x", "merge", { metadata: { labels: { team: "b" } } }, admin);
    expect(c.events.map(e => e.type)).toEqual(["ADDED", "MODIFIED", "DELETED"]);
  });

  // cacher.go: bookmarks carry only kind, apiVersion and metadata.resourceVersion
  it("sends bookmarks when allowed and ends at the timeout", async () => {
    const store = newStore();
    const hub = new WatchHub(store, { bookmarkIntervalMs: 10 });
    hubs.push(hub);
    const c = collector();
    hub.watch(configMapWatch({ allowBookmarks: true, timeoutMs: 200 }), c.sink);
    await vi.waitFor(() => {
      expect(c.events.some(e => e.type === "BOOKMARK")).toBe(true);
    });
    const bookmark = c.events.find(e => e.type === "BOOKMARK")!;
    expect(bookmark.object).toEqual({
      kind: "ConfigMap",
      apiVersion: "v1",
      metadata: { resourceVersion: String(store.currentResourceVersion()) },
    });
    await vi.waitFor(() => {
      expect(c.ended()).toBe(true);
    });
    expect(hub.size).toBe(0);
  });

  it("fans out to many watchers and drops one that cannot take more", () => {
    const store = newStore();
    const hub = new WatchHub(store);
    hubs.push(hub);
    const many = Array.from({ length: 50 }, () => collector());
    for (const c of many) hub.watch(configMapWatch(), c.sink);
    let ended = false;
    hub.watch(configMapWatch(), {
      send: () => false,
      end: () => {
        ended = true;
      },
    });
    store.create(CM, configMap("a"), admin);
    expect(many.every(c => c.events.length === 1)).toBe(true);
    expect(ended).toBe(true);
    expect(hub.size).toBe(50);
  });
});

describe("watch over HTTP", () => {
  let sim: Sim | undefined;
  afterEach(async () => {
    await sim?.close();
  });

  // apiserver/pkg/endpoints/handlers/watch.go: 200, JSON lines, headers flushed before any event
  it("streams newline-terminated JSON events with headers sent at once", async () => {
    sim = await startSim();
    const controller = new AbortController();
    const res = await fetch(
      `${sim.url}/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${sim.store.currentResourceVersion()}`,
      { signal: controller.signal },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    sim.store.create(CM, configMap("streamed"), admin);
    const reader = res.body!.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const chunk = (await reader.read()) as { value?: Uint8Array };
      text += new TextDecoder().decode(chunk.value);
    }
    const event = JSON.parse(text.split("\n")[0]!) as {
      type: string;
      object: { metadata: { name: string } };
    };
    expect(event.type).toBe("ADDED");
    expect(event.object.metadata.name).toBe("streamed");
    controller.abort();
  });
});
