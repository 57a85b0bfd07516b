import { describe, expect, it } from "vitest";
import type { KubeObject, StoreEvent } from "../../../src/sim/types.ts";
import {
  admin,
  apiError,
  CM,
  configMap,
  DEPLOY,
  deployment,
  newStore,
  NS,
  PODS,
} from "./helpers.ts";

describe("store write semantics", () => {
  // staging/src/k8s.io/apiserver/pkg/registry/generic/registry/store.go: Create (BeforeCreate fills uid,
  // creationTimestamp; the storage assigns resourceVersion from one counter)
  it("fills uid, creationTimestamp at second precision and a global numeric resourceVersion", () => {
    const store = newStore();
    const a = store.create(CM, configMap("a"), admin);
    const b = store.create(CM, configMap("b"), admin);
    expect(a.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.metadata.creationTimestamp).toBe("2026-01-02T03:04:05Z");
    expect(Number(b.metadata.resourceVersion)).toBe(Number(a.metadata.resourceVersion) + 1);
    expect(store.list(CM).resourceVersion).toBe(b.metadata.resourceVersion);
  });

  // staging/src/k8s.io/apiserver/pkg/storage/names/generate.go: SimpleNameGenerator (5 chars, util/rand alphabet)
  it("generates names from generateName with the real alphabet", () => {
    const store = newStore();
    const obj = configMap("");
    obj.metadata = { generateName: "web-", namespace: "default" };
    const created = store.create(CM, obj, admin);
    expect(created.metadata.name).toMatch(/^web-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  // registry/generic/registry/store.go: Update -> OptimisticLockErrorMsg
  it("answers 409 Conflict with the real message on a stale resourceVersion", () => {
    const store = newStore();
    const created = store.create(DEPLOY, deployment("web"), admin);
    store.update(
      DEPLOY,
      { ...created, spec: { ...(created["spec"] as object), replicas: 2 } },
      admin,
    );
    const err = apiError(() => store.update(DEPLOY, created, admin));
    expect(err.code).toBe(409);
    expect(err.message).toBe(
      'Operation cannot be fulfilled on deployments.apps "web": the object has been modified; please apply your changes to the latest version and try again',
    );
  });

  // pkg/registry/apps/deployment/strategy.go: AllowUnconditionalUpdate true
  it("treats a PUT without resourceVersion as unconditional for built-ins", () => {
    const store = newStore();
    const created = store.create(DEPLOY, deployment("web"), admin);
    const next = structuredClone(created);
    delete next.metadata.resourceVersion;
    (next["spec"] as { replicas: number }).replicas = 5;
    const updated = store.update(DEPLOY, next, admin);
    expect((updated["spec"] as { replicas: number }).replicas).toBe(5);
  });

  // pkg/registry/apps/deployment/strategy.go: PrepareForCreate (generation 1), PrepareForUpdate
  // (spec or annotations bump generation), deploymentStatusStrategy.PrepareForUpdate (spec/labels reset)
  it("bumps generation on spec and annotation changes only, and isolates status", () => {
    const store = newStore();
    const created = store.create(DEPLOY, { ...deployment("web"), status: { replicas: 9 } }, admin);
    expect(created.metadata.generation).toBe(1);
    expect(created["status"]).toBeUndefined();
    const labelled = store.patch(
      DEPLOY,
      "default",
      "web",
      "merge",
      { metadata: { labels: { x: "y" } } },
      admin,
    );
    expect(labelled.metadata.generation).toBe(1);
    const annotated = store.patch(
      DEPLOY,
      "default",
      "web",
      "merge",
      { metadata: { annotations: { a: "b" } } },
      admin,
    );
    expect(annotated.metadata.generation).toBe(2);
    const scaled = store.patch(
      DEPLOY,
      "default",
      "web",
      "merge",
      { spec: { replicas: 3 }, status: { replicas: 7 } },
      admin,
    );
    expect(scaled.metadata.generation).toBe(3);
    expect(scaled["status"]).toBeUndefined();
    const status = store.patch(
      DEPLOY,
      "default",
      "web",
      "merge",
      { spec: { replicas: 10 }, metadata: { labels: { z: "1" } }, status: { replicas: 3 } },
      admin,
      { subresource: "status" },
    );
    expect(status["status"]).toEqual({ replicas: 3 });
    expect((status["spec"] as { replicas: number }).replicas).toBe(3);
    expect(status.metadata.labels).toEqual({ app: "web", x: "y" });
    expect(status.metadata.generation).toBe(3);
  });

  // registry/generic/registry/store.go: GuaranteedUpdate skips the write when nothing changed
  it("does not bump resourceVersion or emit an event for a no-op update", () => {
    const store = newStore();
    const created = store.create(CM, configMap("a", { k: "v" }), admin);
    const events: StoreEvent[] = [];
    store.subscribe(e => events.push(e));
    const same = store.update(CM, created, admin);
    expect(same.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    expect(events).toHaveLength(0);
  });

  // plugin/pkg/admission/namespace/lifecycle/admission.go: Admit
  it("refuses creates in missing and terminating namespaces", () => {
    const store = newStore();
    const missing = apiError(() => store.create(CM, configMap("a", {}, "nope"), admin));
    expect([missing.code, missing.message]).toEqual([404, 'namespaces "nope" not found']);
    store.create(NS, { apiVersion: "v1", kind: "Namespace", metadata: { name: "doomed" } }, admin);
    const deleted = store.delete(NS, undefined, "doomed", admin);
    expect(deleted["status"]).toEqual({ phase: "Terminating" });
    expect(deleted.metadata.deletionTimestamp).toBeDefined();
    const err = apiError(() => store.create(CM, configMap("a", {}, "doomed"), admin));
    expect(err.code).toBe(403);
    expect(err.reason).toBe("Forbidden");
    expect(err.message).toBe(
      'configmaps "a" is forbidden: unable to create new content in namespace doomed because it is being terminated',
    );
    expect(err.details?.causes?.[0]?.reason).toBe("NamespaceTerminating");
  });

  // pkg/registry/core/namespace/strategy.go: PrepareForCreate; storage.go: ShouldDeleteNamespaceDuringUpdate
  it("gives namespaces the kubernetes finalizer and removes them once finalized", () => {
    const store = newStore();
    const ns = store.create(
      NS,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } },
      admin,
    );
    expect(ns["spec"]).toEqual({ finalizers: ["kubernetes"] });
    expect(ns["status"]).toEqual({ phase: "Active" });
    expect(ns.metadata.labels).toEqual({ "kubernetes.io/metadata.name": "x" });
    const deleting = store.delete(NS, undefined, "x", admin);
    expect(store.get(NS, undefined, "x")).toBeDefined();
    store.update(NS, { ...deleting, spec: { finalizers: [] } }, admin, { subresource: "finalize" });
    expect(store.get(NS, undefined, "x")).toBeUndefined();
  });

  // registry/generic/registry/store.go: Delete/markAsDeleting, deleteForEmptyFinalizers;
  // apimachinery/pkg/api/validation/objectmeta.go: ValidateObjectMetaUpdate (no new finalizers)
  it("keeps an object with finalizers until the last one is removed", () => {
    const store = newStore();
    const obj = configMap("held");
    obj.metadata.finalizers = ["example.com/hold"];
    store.create(CM, obj, admin);
    const events: StoreEvent[] = [];
    store.subscribe(e => events.push(e));
    const deleting = store.delete(CM, "default", "held", admin);
    expect(deleting.metadata.deletionTimestamp).toBe("2026-01-02T03:04:05Z");
    expect(deleting.metadata.deletionGracePeriodSeconds).toBe(0);
    const again = store.delete(CM, "default", "held", admin);
    expect(again.metadata.resourceVersion).toBe(deleting.metadata.resourceVersion);
    const added = apiError(() =>
      store.update(
        CM,
        {
          ...deleting,
          metadata: { ...deleting.metadata, finalizers: ["example.com/hold", "new"] },
        },
        admin,
      ),
    );
    expect(added.code).toBe(422);
    expect(added.message).toContain(
      'no new finalizers can be added if the object is being deleted, found new finalizers []string{"new"}',
    );
    store.patch(CM, "default", "held", "merge", { metadata: { finalizers: null } }, admin);
    expect(store.get(CM, "default", "held")).toBeUndefined();
    expect(events.map(e => e.type)).toEqual(["MODIFIED", "DELETED"]);
  });

  // registry/generic/registry/store.go: deletionFinalizersForGarbageCollection
  it("adds foregroundDeletion / orphan finalizers by propagation policy", () => {
    const store = newStore();
    store.create(DEPLOY, deployment("fg"), admin);
    store.create(DEPLOY, deployment("or"), admin);
    const fg = store.delete(DEPLOY, "default", "fg", admin, { propagationPolicy: "Foreground" });
    expect(fg.metadata.finalizers).toEqual(["foregroundDeletion"]);
    expect(fg.metadata.generation).toBe(2);
    const or = store.delete(DEPLOY, "default", "or", admin, { propagationPolicy: "Orphan" });
    expect(or.metadata.finalizers).toEqual(["orphan"]);
    store.create(DEPLOY, deployment("bg"), admin);
    store.delete(DEPLOY, "default", "bg", admin, { propagationPolicy: "Background" });
    expect(store.get(DEPLOY, "default", "bg")).toBeUndefined();
  });

  // pkg/registry/core/pod/strategy.go: CheckGracefulDelete
  it("deletes scheduled pods gracefully and unscheduled ones at once", () => {
    const store = newStore();
    const pod = (name: string, nodeName?: string): KubeObject => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, namespace: "default" },
      spec: { containers: [{ name: "c", image: "x" }], ...(nodeName ? { nodeName } : {}) },
    });
    const created = store.create(PODS, pod("p1", "node-1"), admin);
    expect(created["status"]).toEqual({ phase: "Pending", qosClass: "BestEffort" });
    store.create(PODS, pod("p2"), admin);
    const graceful = store.delete(PODS, "default", "p1", admin);
    expect(graceful.metadata.deletionGracePeriodSeconds).toBe(30);
    expect(graceful.metadata.deletionTimestamp).toBe("2026-01-02T03:04:35Z");
    store.delete(PODS, "default", "p1", admin, { gracePeriodSeconds: 0 });
    expect(store.get(PODS, "default", "p1")).toBeUndefined();
    store.delete(PODS, "default", "p2", admin);
    expect(store.get(PODS, "default", "p2")).toBeUndefined();
  });

  it("records managedFields per manager and honours dryRun", () => {
    const store = newStore();
    const created = store.create(CM, configMap("a", { k: "v" }), admin);
    expect(created.metadata.managedFields).toEqual([
      {
        manager: "kubectl",
        operation: "Update",
        apiVersion: "v1",
        time: "2026-01-02T03:04:05Z",
        fieldsType: "FieldsV1",
        fieldsV1: { "f:data": { "f:k": {} } },
      },
    ]);
    const rv = store.currentResourceVersion();
    store.create(CM, configMap("dry"), admin, { dryRun: true });
    expect(store.currentResourceVersion()).toBe(rv);
    expect(store.get(CM, "default", "dry")).toBeUndefined();
  });

  it("delivers events in resourceVersion order even when a listener writes", () => {
    const store = newStore();
    const seen: number[] = [];
    store.subscribe(e => {
      if (e.object.metadata.name === "a") store.create(CM, configMap("b"), admin);
    });
    store.subscribe(e => seen.push(e.resourceVersion));
    store.create(CM, configMap("a"), admin);
    expect(seen).toEqual([...seen].sort((x, y) => x - y));
    expect(seen).toHaveLength(2);
  });

  it("reports events since a resourceVersion and expires compacted ones", () => {
    const store = newStore({ retainEvents: 3 });
    for (const n of ["a", "b", "c", "d", "e"]) store.create(CM, configMap(n), admin);
    const rv = store.currentResourceVersion();
    expect(store.eventsSince(rv - 2)?.map(e => e.object.metadata.name)).toEqual(["d", "e"]);
    expect(store.eventsSince(1)).toBeUndefined();
    expect(store.compactedThrough()).toBe(rv - 3);
  });
});
