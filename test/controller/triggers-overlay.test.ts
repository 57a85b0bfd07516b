/**
 * The drill the controller decides on: the informer's copy, or its own newer write while the watch
 * has not delivered it. A trigger someone writes right after the controller's write (a run-now
 * annotation, suspend) must never be hidden behind the controller's older copy.
 */
import { describe, expect, it } from "vitest";
import { drillSourceOf } from "../../src/controller/manager.ts";
import type { WatchedTypes } from "../../src/kube/client.ts";
import type { Informer, InformerEvent } from "../../src/kube/informer.ts";

type Drill = WatchedTypes["rollbackdrills"];
const KEY = { namespace: "shop", name: "web" };

function drillAt(rv: string, annotations: Record<string, string> = {}): Drill {
  return {
    apiVersion: "rollbackdrill.io/v1alpha1",
    kind: "RollbackDrill",
    metadata: { ...KEY, uid: "u", generation: 1, resourceVersion: rv, annotations },
    spec: {},
  } as Drill;
}

/** An informer whose watch events the test delivers by hand. */
function fakeInformer(): Informer<Drill> & { deliver(d: Drill): void } {
  let current: Drill | undefined;
  const handlers: Record<InformerEvent, ((d: Drill) => void)[]> = {
    add: [],
    update: [],
    delete: [],
  };
  return {
    start: () => Promise.resolve(),
    stop: () => undefined,
    list: () => (current === undefined ? [] : [current]),
    get: () => current,
    on(event, handler) {
      handlers[event].push(handler);
    },
    hasSynced: () => true,
    deliver(d) {
      const event = current === undefined ? "add" : "update";
      current = d;
      for (const h of handlers[event]) h(d);
    },
  };
}

describe("the controller's view of a drill", () => {
  it("prefers its own write until the watch delivers it", () => {
    const informer = fakeInformer();
    const source = drillSourceOf([informer]);
    informer.deliver(drillAt("1"));
    source.remember(drillAt("2"));
    expect(source.get(KEY)?.metadata.resourceVersion).toBe("2");
    informer.deliver(drillAt("2"));
    informer.deliver(drillAt("3", { "rollbackdrill.io/run-now": "a" }));
    expect(source.get(KEY)?.metadata.resourceVersion).toBe("3");
  });

  it("does not hide a newer write the watch delivered before the controller remembered its own", () => {
    const informer = fakeInformer();
    const source = drillSourceOf([informer]);
    informer.deliver(drillAt("1"));
    // The status write returned rv 2, but before remember() ran the watch brought rv 2 and a
    // user's annotation (rv 3).
    informer.deliver(drillAt("2"));
    informer.deliver(drillAt("3", { "rollbackdrill.io/run-now": "a" }));
    source.remember(drillAt("2"));
    expect(source.get(KEY)?.metadata.annotations).toEqual({ "rollbackdrill.io/run-now": "a" });
  });
});
