/**
 * Streaming lists (KEP-3157, what kubectl 1.36's `rollout status` and `wait` ask for):
 * sendInitialEvents=true sends the current state as ADDED events, whatever the resourceVersion,
 * then a bookmark annotated k8s.io/initial-events-end at the current resourceVersion, then live
 * events. Without the bookmark such a client waits forever (found by the fidelity suite).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { KubeObject, WatchEventType } from "../../../src/sim/types.ts";
import { INITIAL_EVENTS_END, WatchHub, type WatchRequest } from "../../../src/sim/watch.ts";
import { admin, CM, configMap, configMapWatch, newStore } from "./helpers.ts";

/** A streaming list of the ConfigMaps in default, with bookmarks. */
function watchList(over: Partial<WatchRequest> = {}): WatchRequest {
  return configMapWatch({ allowBookmarks: true, sendInitialEvents: true, ...over });
}

/** A store holding ConfigMaps a then b, and the resourceVersion it had between them. */
function aThenB(): { store: ReturnType<typeof newStore>; first: string } {
  const store = newStore();
  store.create(CM, configMap("a"), admin);
  const first = String(store.currentResourceVersion());
  store.create(CM, configMap("b"), admin);
  return { store, first };
}

function collect(): { seen: string[]; sink: Parameters<WatchHub["watch"]>[1] } {
  const seen: string[] = [];
  return {
    seen,
    sink: {
      send(type: WatchEventType, o: KubeObject | Record<string, unknown>) {
        const meta = (o as KubeObject).metadata;
        const end = meta.annotations?.[INITIAL_EVENTS_END];
        seen.push(
          type === "BOOKMARK"
            ? `BOOKMARK rv=${meta.resourceVersion ?? ""}${end === undefined ? "" : ` end=${end}`}`
            : `${type}:${meta.name ?? ""}`,
        );
        return true;
      },
      end() {
        seen.push("END");
      },
    },
  };
}

describe("a streaming list (sendInitialEvents=true)", () => {
  const hubs: WatchHub[] = [];
  afterEach(() => {
    for (const h of hubs.splice(0)) h.dispose();
  });
  /** A hub on `store`, disposed after the test. */
  const hubOn = (store: ReturnType<typeof newStore>): WatchHub => {
    const hub = new WatchHub(store);
    hubs.push(hub);
    return hub;
  };

  it("sends the state, the initial-events-end bookmark at the current resourceVersion, then live events", () => {
    const store = newStore();
    store.create(CM, configMap("a"), admin);
    store.create(CM, configMap("b"), admin);
    const hub = hubOn(store);
    const c = collect();
    const rv = String(store.currentResourceVersion());
    hub.watch(watchList(), c.sink);
    store.create(CM, configMap("c"), admin);
    expect(c.seen).toEqual(["ADDED:a", "ADDED:b", `BOOKMARK rv=${rv} end=true`, "ADDED:c"]);
  });

  it("starts from the current state even when given a resourceVersion (NotOlderThan)", () => {
    const { store, first } = aThenB();
    const hub = hubOn(store);
    const c = collect();
    hub.watch(watchList({ resourceVersion: first }), c.sink);
    expect(c.seen.slice(0, 2)).toEqual(["ADDED:a", "ADDED:b"]);
    expect(c.seen[2]).toMatch(/^BOOKMARK rv=\d+ end=true$/);
  });

  it("an ordinary watch from a resourceVersion still replays only what came after it, with no end bookmark", () => {
    const { store, first } = aThenB();
    const hub = hubOn(store);
    const c = collect();
    hub.watch(watchList({ resourceVersion: first, sendInitialEvents: false }), c.sink);
    expect(c.seen).toEqual(["ADDED:b"]);
  });
});
