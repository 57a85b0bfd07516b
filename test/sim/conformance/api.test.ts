/**
 * API machinery conformance over HTTP, against a whole started simulator (store, server, world):
 * 409 on a stale resourceVersion, 410 on an expired watch, status subresource isolation,
 * generation rules and garbage collection by ownerReference. The store-level tests live in
 * test/sim/apiserver; these check that the same facts hold on the wire, with the controllers
 * running, as a client sees them.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";
import { WAIT } from "../kubectl/harness.ts";
import type { KubeObject } from "../../../src/sim/types.ts";

const REPO = "registry.example.com/shop/api";

interface Status {
  kind: string;
  apiVersion: string;
  status: string;
  reason: string;
  code: number;
  message: string;
  details?: { name?: string; kind?: string; group?: string };
}

describe("API conformance over HTTP", () => {
  let sim: Sim;
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    contentType = "application/json",
  ): Promise<{ code: number; body: KubeObject }> => {
    const res = await fetch(`${sim.url}${path}`, {
      method,
      headers: { "content-type": contentType, accept: "application/json" },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { code: res.status, body: (await res.json()) as KubeObject };
  };
  const deploymentPath = "/apis/apps/v1/namespaces/conf/deployments";
  const deployment = (name: string, replicas = 1): KubeObject => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, labels: { app: name } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: `${REPO}:v1` }] },
      },
    },
  });

  beforeAll(async () => {
    // A short event log, so an old watch expires quickly.
    sim = await startSim({ timeScale: 1000, retainEvents: 200 });
    sim.world.images.push(REPO, "v1", {});
    expect((await call("POST", "/api/v1/namespaces", { metadata: { name: "conf" } })).code).toBe(
      201,
    );
  });
  afterAll(async () => {
    await sim.close();
  });

  it("answers a write with a stale resourceVersion with 409 Conflict", async () => {
    const path = "/api/v1/namespaces/conf/configmaps";
    const created = await call("POST", path, { metadata: { name: "c" }, data: { a: "1" } });
    expect(created.code).toBe(201);
    const first = created.body;
    expect((await call("PUT", `${path}/c`, { ...first, data: { a: "2" } })).code).toBe(200);
    // registry/generic/registry/store.go Update -> storage.NewResourceVersionConflictsError ->
    // apimachinery/pkg/api/errors NewConflict with OptimisticLockErrorMsg.
    const stale = await call("PUT", `${path}/c`, { ...first, data: { a: "3" } });
    expect(stale.code).toBe(409);
    expect(stale.body as unknown as Status).toMatchObject({
      kind: "Status",
      apiVersion: "v1",
      status: "Failure",
      reason: "Conflict",
      code: 409,
      details: { name: "c", kind: "configmaps" },
      message:
        'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it("ends a watch from an expired resourceVersion with a 410 Expired ERROR event", async () => {
    const path = "/api/v1/namespaces/conf/configmaps";
    const start = await call("POST", path, { metadata: { name: "old" } });
    const rv = start.body.metadata.resourceVersion ?? "";
    // Push the event log past its window.
    for (let i = 0; i < 250; i++) {
      await call("PUT", `${path}/old`, { metadata: { name: "old" }, data: { i: String(i) } });
    }
    // apiserver/pkg/storage/cacher (watch_cache.go) and etcd3 watcher: a watch request is
    // answered 200, then an ERROR event carrying Status 410 Expired "too old resource version".
    const res = await fetch(`${sim.url}${path}?watch=true&resourceVersion=${rv}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    const event = JSON.parse(text.split("\n")[0] ?? "") as { type: string; object: Status };
    expect(event.type).toBe("ERROR");
    expect(event.object).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "Expired",
      code: 410,
    });
    expect(event.object.message).toMatch(
      new RegExp(`^too old resource version: ${rv} \\(\\d+\\)$`),
    );
  });

  it("keeps status and spec apart: the main resource ignores status, /status ignores spec", async () => {
    expect((await call("POST", deploymentPath, deployment("iso"))).code).toBe(201);
    await vi.waitFor(async () => {
      const got = await call("GET", `${deploymentPath}/iso`);
      expect((got.body.status as { availableReplicas?: number }).availableReplicas).toBe(1);
    }, WAIT);
    // pkg/registry/apps/deployment/strategy.go deploymentStrategy.PrepareForUpdate: the new
    // object's status is replaced by the old one. A PUT without resourceVersion is unconditional
    // for Deployments (AllowUnconditionalUpdate).
    const current = (await call("GET", `${deploymentPath}/iso`)).body;
    const meta = { ...current.metadata };
    delete meta.resourceVersion;
    const withStatus = await call("PUT", `${deploymentPath}/iso`, {
      ...current,
      metadata: meta,
      status: { ...(current.status as object), replicas: 99 },
    });
    expect(withStatus.code).toBe(200);
    expect((withStatus.body.status as { replicas: number }).replicas).not.toBe(99);
    // deploymentStatusStrategy.PrepareForUpdate: the new object's spec is replaced by the old one.
    const latest = (await call("GET", `${deploymentPath}/iso`)).body;
    const viaStatus = await call("PUT", `${deploymentPath}/iso/status`, {
      ...latest,
      spec: { ...(latest.spec as object), replicas: 42 },
    });
    expect(viaStatus.code).toBe(200);
    expect((viaStatus.body.spec as { replicas: number }).replicas).toBe(1);
    expect(viaStatus.body.metadata.generation).toBe(latest.metadata.generation);
  });

  it("bumps a Deployment's generation on spec and annotation changes only", async () => {
    expect((await call("POST", deploymentPath, deployment("gen"))).code).toBe(201);
    const merge = (body: unknown, sub = ""): ReturnType<typeof call> =>
      call("PATCH", `${deploymentPath}/gen${sub}`, body, "application/merge-patch+json");
    const gen = async (): Promise<number | undefined> =>
      (await call("GET", `${deploymentPath}/gen`)).body.metadata.generation;
    expect(await gen()).toBe(1);
    // strategy.go PrepareForUpdate: spec or annotations changed -> generation + 1; labels and
    // status do not count (annotations are copied to ReplicaSets, so they count).
    await merge({ metadata: { labels: { team: "a" } } });
    expect(await gen()).toBe(1);
    await merge({ metadata: { annotations: { note: "x" } } });
    expect(await gen()).toBe(2);
    await merge({ spec: { replicas: 2 } });
    expect(await gen()).toBe(3);
    await merge({ status: { collisionCount: 0 } }, "/status");
    expect(await gen()).toBe(3);
    // The controller reports what it saw (deployment_controller.go syncDeploymentStatus).
    await vi.waitFor(async () => {
      const got = (await call("GET", `${deploymentPath}/gen`)).body;
      expect((got.status as { observedGeneration?: number }).observedGeneration).toBe(3);
    }, WAIT);
  });

  it("omits zero status counts as the typed apps/v1 encoding does", async () => {
    expect((await call("POST", deploymentPath, deployment("zero", 2))).code).toBe(201);
    await vi.waitFor(async () => {
      const got = (await call("GET", `${deploymentPath}/zero`)).body;
      expect((got.status as { availableReplicas?: number }).availableReplicas).toBe(2);
    }, WAIT);
    const patch = {
      spec: {
        template: {
          spec: {
            containers: [{ name: "app", image: `${REPO}:v1`, env: [{ name: "A", value: "1" }] }],
          },
        },
      },
    };
    await call("PATCH", `${deploymentPath}/zero`, patch, "application/strategic-merge-patch+json");
    // k8s.io/api apps/v1 types.go: DeploymentStatus counts are all omitempty; in
    // ReplicaSetStatus only replicas is not, so a scaled-down ReplicaSet keeps replicas: 0.
    await vi.waitFor(async () => {
      const d = (await call("GET", `${deploymentPath}/zero`)).body;
      expect(d.status).toMatchObject({ replicas: 2, updatedReplicas: 2, availableReplicas: 2 });
      expect(Object.keys(d.status as object)).not.toContain("unavailableReplicas");
      const list = (
        await call("GET", "/apis/apps/v1/namespaces/conf/replicasets?labelSelector=app%3Dzero")
      ).body as unknown as { items: KubeObject[] };
      const old = list.items.find(rs => (rs.spec as { replicas: number }).replicas === 0);
      expect(old?.status).toEqual({
        replicas: 0,
        observedGeneration: old?.metadata.generation,
      });
    }, WAIT);
  });

  it("garbage-collects by ownerReference per propagationPolicy", async () => {
    const rsPath = "/apis/apps/v1/namespaces/conf/replicasets";
    const podsPath = "/api/v1/namespaces/conf/pods";
    const owned = async (app: string): Promise<{ rs: KubeObject[]; pods: KubeObject[] }> => ({
      rs: (
        (await call("GET", `${rsPath}?labelSelector=app%3D${app}`)).body as unknown as {
          items: KubeObject[];
        }
      ).items,
      pods: (
        (await call("GET", `${podsPath}?labelSelector=app%3D${app}`)).body as unknown as {
          items: KubeObject[];
        }
      ).items,
    });
    for (const app of ["bg", "fg", "orphan"]) {
      expect((await call("POST", deploymentPath, deployment(app, 2))).code).toBe(201);
    }
    await vi.waitFor(async () => {
      for (const app of ["bg", "fg", "orphan"]) {
        expect(
          (await owned(app)).pods.filter(p => (p.status as { phase?: string }).phase === "Running"),
        ).toHaveLength(2);
      }
    }, WAIT);
    const del = (name: string, policy: string): ReturnType<typeof call> =>
      call("DELETE", `${deploymentPath}/${name}`, { propagationPolicy: policy });

    // Background (registry/generic/registry/store.go Delete; garbagecollector.go attemptToDelete):
    // the owner goes at once, its dependants after.
    expect((await del("bg", "Background")).code).toBe(200);
    expect((await call("GET", `${deploymentPath}/bg`)).code).toBe(404);
    await vi.waitFor(async () => {
      const left = await owned("bg");
      expect(left.rs).toEqual([]);
      expect(left.pods.filter(p => p.metadata.deletionTimestamp === undefined)).toEqual([]);
    }, WAIT);

    // Foreground: the owner stays, with deletionTimestamp and the foregroundDeletion finalizer,
    // until the dependants that block it are gone (garbagecollector.go processDeletingDependentsItem).
    const fg = await del("fg", "Foreground");
    expect(fg.code).toBe(200);
    expect(fg.body.metadata.finalizers).toContain("foregroundDeletion");
    expect(fg.body.metadata.deletionTimestamp).toBeDefined();
    await vi.waitFor(async () => {
      expect((await call("GET", `${deploymentPath}/fg`)).code).toBe(404);
    }, WAIT);
    expect((await owned("fg")).rs).toEqual([]);

    // Orphan: the dependants stay, without the ownerReference (garbagecollector.go orphanDependents).
    expect((await del("orphan", "Orphan")).code).toBe(200);
    await vi.waitFor(async () => {
      expect((await call("GET", `${deploymentPath}/orphan`)).code).toBe(404);
      const left = await owned("orphan");
      expect(left.rs).toHaveLength(1);
      expect(left.rs[0]?.metadata.ownerReferences ?? []).toEqual([]);
    }, WAIT);
    expect((await owned("orphan")).pods).toHaveLength(2);
  });
});
