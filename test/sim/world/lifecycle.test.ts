import { afterEach, describe, expect, it } from "vitest";
import { waitForPass } from "../../kit/index.ts";
import type { GVR } from "../../../src/sim/types.ts";
import {
  ADMIN,
  CONFIGMAPS,
  DEPLOYMENTS,
  deployment,
  eventsFor,
  listOwned,
  NAMESPACES,
  PODS,
  REPLICASETS,
  startTestWorld,
  type Sim,
} from "./harness.ts";

const REPO = "registry.example.com/shop/web";
const CONTAINER_IMAGES: GVR = {
  group: "sim.rollbackdrill.io",
  version: "v1",
  resource: "containerimages",
};
const SIM_DATABASES: GVR = {
  group: "sim.rollbackdrill.io",
  version: "v1",
  resource: "simdatabases",
};

async function running(sim: Sim, replicas: number): Promise<string | undefined> {
  let uid: string | undefined;
  await waitForPass(sim, "deployment web available", () => {
    const d = sim.store.get(DEPLOYMENTS, "default", "web");
    expect((d?.["status"] as { availableReplicas?: number } | undefined)?.availableReplicas).toBe(
      replicas,
    );
    uid = d?.metadata.uid;
  });
  return uid;
}

describe("garbage collection and deletion", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // pkg/controller/garbagecollector/garbagecollector.go attemptToDeleteItem: dependents whose
  // owners are all gone are deleted; pods go through graceful deletion on their kubelet.
  it("Background: the Deployment goes at once, then its ReplicaSets and pods", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(DEPLOYMENTS, deployment("web", `${REPO}:v1`, { replicas: 2 }), ADMIN);
    await running(sim, 2);
    sim.store.delete(DEPLOYMENTS, "default", "web", ADMIN, { propagationPolicy: "Background" });
    expect(sim.store.get(DEPLOYMENTS, "default", "web")).toBeUndefined();
    await waitForPass(sim, "the ReplicaSets and pods garbage-collected", () => {
      expect(sim.store.list(REPLICASETS, { namespace: "default" }).items).toHaveLength(0);
      expect(sim.store.list(PODS, { namespace: "default" }).items).toHaveLength(0);
    });
  });

  // processDeletingDependentsItem: with Foreground the owner keeps foregroundDeletion until its
  // blocking dependents are gone, then disappears.
  it("Foreground: the Deployment waits for its ReplicaSets to go", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(DEPLOYMENTS, deployment("web", `${REPO}:v1`, { replicas: 2 }), ADMIN);
    await running(sim, 2);
    let rsCountAtOwnerDeletion = -1;
    const off = sim.store.subscribe(e => {
      if (e.type === "DELETED" && e.gvr.resource === "deployments")
        rsCountAtOwnerDeletion = sim.store.list(REPLICASETS, { namespace: "default" }).items.length;
    });
    const pending = sim.store.delete(DEPLOYMENTS, "default", "web", ADMIN, {
      propagationPolicy: "Foreground",
    });
    expect(pending.metadata.finalizers).toContain("foregroundDeletion");
    await waitForPass(sim, "deployment web gone", () => {
      expect(sim.store.get(DEPLOYMENTS, "default", "web")).toBeUndefined();
    });
    off();
    expect(rsCountAtOwnerDeletion).toBe(0);
  });

  // orphanDependents: Orphan removes the owner's references and keeps the dependents.
  it("Orphan: the ReplicaSet stays, without its ownerReference", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const uid = sim.store.create(
      DEPLOYMENTS,
      deployment("web", `${REPO}:v1`, { replicas: 1 }),
      ADMIN,
    ).metadata.uid;
    await running(sim, 1);
    const rsName = listOwned(sim.store, REPLICASETS, uid)[0]?.metadata.name ?? "";
    sim.store.delete(DEPLOYMENTS, "default", "web", ADMIN, { propagationPolicy: "Orphan" });
    await waitForPass(sim, "deployment web gone", () => {
      expect(sim.store.get(DEPLOYMENTS, "default", "web")).toBeUndefined();
    });
    const rs = sim.store.get(REPLICASETS, "default", rsName);
    expect(rs).toBeDefined();
    expect(rs?.metadata.ownerReferences ?? []).toEqual([]);
    expect(listOwned(sim.store, PODS, rs?.metadata.uid)).toHaveLength(1);
  });

  // Graceful pod deletion: the kubelet stops the containers ("Killing") and removes the pod with
  // grace period 0; the ReplicaSet controller replaces it.
  it("a deleted pod is stopped by its kubelet and replaced", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(DEPLOYMENTS, deployment("web", `${REPO}:v1`, { replicas: 1 }), ADMIN);
    await running(sim, 1);
    const victim = sim.store.list(PODS, { namespace: "default" }).items[0];
    const name = victim?.metadata.name ?? "";
    const terminating = sim.store.delete(PODS, "default", name, ADMIN);
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    await waitForPass(sim, "the pod replaced", () => {
      expect(sim.store.get(PODS, "default", name)).toBeUndefined();
      expect(sim.store.list(PODS, { namespace: "default" }).items).toHaveLength(1);
    });
    expect(eventsFor(sim.store, name)).toContainEqual({
      reason: "Killing",
      message: "Stopping container app",
    });
  });

  // pkg/controller/namespace/deletion/namespaced_resources_deleter.go: content deleted, then the
  // "kubernetes" finalizer removed through /finalize, and the namespace is gone.
  it("a terminating namespace is emptied and finalized", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(
      NAMESPACES,
      { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
      ADMIN,
    );
    const dep = deployment("web", `${REPO}:v1`, { replicas: 2 });
    dep.metadata.namespace = "shop";
    sim.store.create(DEPLOYMENTS, dep, ADMIN);
    sim.store.create(
      CONFIGMAPS,
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "cfg", namespace: "shop" },
        data: {},
      },
      ADMIN,
    );
    await waitForPass(sim, "the pods in shop terminating", () => {
      expect(
        sim.store
          .list(PODS, { namespace: "shop" })
          .items.filter(p => (p["status"] as { phase?: string } | undefined)?.phase === "Running"),
      ).toHaveLength(2);
    });
    const ns = sim.store.delete(NAMESPACES, undefined, "shop", ADMIN);
    expect((ns["status"] as { phase?: string }).phase).toBe("Terminating");
    await waitForPass(sim, "namespace shop gone", () => {
      expect(sim.store.get(NAMESPACES, undefined, "shop")).toBeUndefined();
    });
    expect(sim.store.list(PODS, { namespace: "shop" }).items).toHaveLength(0);
    expect(sim.store.list(CONFIGMAPS, { namespace: "shop" }).items).toHaveLength(0);
  });
});

describe("registry API objects", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // docs/KUBE-SIM.md "The simulated world": the registry is driven through sim.rollbackdrill.io kinds.
  it("mirrors pushes and database migrations as ContainerImage and SimDatabase objects", async () => {
    sim = startTestWorld();
    const digest = sim.world.images.push(REPO, "v1", { readyAfterMs: 5 });
    sim.world.images.createDatabase("shop", 2);
    await waitForPass(sim, "the ContainerImage of the pushed image", () => {
      const o = sim.store.get(CONTAINER_IMAGES, undefined, "registry.example.com.shop.web");
      expect(o?.["spec"]).toEqual({
        repository: REPO,
        private: false,
        tags: { v1: digest },
        images: [{ digest, readyAfterMs: 5 }],
        deletedDigests: [],
      });
      expect(sim.store.get(SIM_DATABASES, undefined, "shop")?.["spec"]).toEqual({
        schemaVersion: 2,
      });
    });
  });

  it("applies ContainerImage and SimDatabase objects written through the API", async () => {
    sim = startTestWorld();
    sim.store.create(
      CONTAINER_IMAGES,
      {
        apiVersion: "sim.rollbackdrill.io/v1",
        kind: "ContainerImage",
        metadata: { name: "api" },
        spec: {
          repository: "registry.example.com/shop/api",
          private: true,
          images: [{ tag: "v7", logLines: ["hi"] }],
        },
      },
      ADMIN,
    );
    sim.store.create(
      SIM_DATABASES,
      {
        apiVersion: "sim.rollbackdrill.io/v1",
        kind: "SimDatabase",
        metadata: { name: "orders" },
        spec: { schemaVersion: 9 },
      },
      ADMIN,
    );
    const digest = sim.world.images.repository("registry.example.com/shop/api")?.tags["v7"];
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(sim.world.images.resolve("registry.example.com/shop/api:v7")).toMatchObject({
      ok: false,
      reason: "Unauthorized",
    });
    expect(sim.world.images.databaseVersion("orders")).toBe(9);
    // The computed digest is written back to the object.
    await waitForPass(sim, "the ContainerImage api updated", () => {
      expect(
        (
          sim.store.get(CONTAINER_IMAGES, undefined, "api")?.["spec"] as {
            tags?: Record<string, string>;
          }
        ).tags,
      ).toEqual({ v7: digest });
    });
    sim.store.delete(SIM_DATABASES, undefined, "orders", ADMIN);
    expect(sim.world.images.databaseVersion("orders")).toBeUndefined();
  });
});
