import { AppsV1Api, CustomObjectsApi } from "@kubernetes/client-node";
import type { V1Deployment } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import { GROUP, PLURAL, VERSION } from "../../src/api/vocabulary.ts";
import { createKubeClient, loadKubeConfig, type KubeClient } from "../../src/kube/client.ts";
import {
  AlreadyExistsError,
  ConflictError,
  NotFoundError,
  type KubeError,
} from "../../src/kube/errors.ts";
import type { Informer } from "../../src/kube/informer.ts";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";

function deployment(name: string): V1Deployment {
  return {
    metadata: { name, labels: { suite: "adapter" } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image: "registry.example.com/app:1" }] },
      },
    },
  };
}

describe("KubeClient on client-node against the simulator", () => {
  let sim: Sim;
  let kube: KubeClient;
  const informers: Informer<never>[] = [];
  const transient: string[] = [];

  beforeEach(async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    kube = createKubeClient({
      kubeConfig: loadKubeConfig(sim.kubeconfig),
      sleep: () => Promise.resolve(),
      schedule: (fn, ms) => {
        const t = setTimeout(fn, Math.min(ms, 20));
        return () => {
          clearTimeout(t);
        };
      },
      onTransientError: (what, error: KubeError) => transient.push(`${what}: ${error.kind}`),
    });
  });
  afterEach(async () => {
    for (const informer of informers.splice(0)) informer.stop();
    transient.length = 0;
    await sim.close();
  });

  async function createDrill(name: string): Promise<RollbackDrill> {
    const kc = loadKubeConfig(sim.kubeconfig);
    const created: unknown = await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: "default",
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "RollbackDrill",
        metadata: { name },
        spec: { targetRef: { kind: "Deployment", name: "web" } },
      },
    });
    return created as RollbackDrill;
  }

  it("writes drill status through the subresource, and a stale resourceVersion is a ConflictError", async () => {
    const created = await createDrill("d1");
    const read = await kube.getDrill({ namespace: "default", name: "d1" });
    expect(read.spec.sandbox.replicas).toBe(1);
    const updated = await kube.replaceDrillStatus({
      ...read,
      status: { phase: "Pending", runCount: 1 },
    });
    expect(updated.status?.runCount).toBe(1);
    expect(updated.metadata.generation).toBe(created.metadata.generation);
    expect(updated.metadata.resourceVersion).not.toBe(read.metadata.resourceVersion);
    // Writing from the old copy must not overwrite what the first write stored.
    await expect(
      kube.replaceDrillStatus({ ...read, status: { phase: "Idle" } }),
    ).rejects.toBeInstanceOf(ConflictError);
    await expect(
      kube.setDrillFinalizers(read, ["rollbackdrill.io/sandbox-cleanup"]),
    ).rejects.toBeInstanceOf(ConflictError);
    const withFinalizer = await kube.setDrillFinalizers(updated, [
      "rollbackdrill.io/sandbox-cleanup",
    ]);
    expect(withFinalizer.metadata.finalizers).toEqual(["rollbackdrill.io/sandbox-cleanup"]);
    expect(withFinalizer.status?.runCount).toBe(1);
    await expect(kube.getDrill({ namespace: "default", name: "nope" })).rejects.toBeInstanceOf(
      NotFoundError,
    );
  });

  it("types AlreadyExists and retries injected 503s and 429s", async () => {
    await kube.createNamespace("sbx", { a: "b" });
    await expect(kube.createNamespace("sbx", {})).rejects.toBeInstanceOf(AlreadyExistsError);
    sim.faults.add({ verb: "get", resource: "namespaces", code: 503, count: 2 });
    sim.faults.add({ verb: "get", resource: "configmaps", code: 429, count: 1 });
    expect((await kube.getNamespace("sbx")).metadata?.labels).toMatchObject({ a: "b" });
    await expect(kube.getConfigMap({ namespace: "sbx", name: "x" })).rejects.toBeInstanceOf(
      NotFoundError,
    );
    expect(transient).toEqual([
      "get namespace: Unavailable",
      "get namespace: Unavailable",
      "get configmap: TooManyRequests",
    ]);
  });

  it("keeps an informer's cache current across a dropped watch and a 410 relist", async () => {
    const apps = loadKubeConfig(sim.kubeconfig).makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("one") });
    const informer = kube.informer("deployments", { labelSelector: "suite=adapter" });
    informers.push(informer as Informer<never>);
    const seen: string[] = [];
    informer.on("add", d => seen.push(`add ${d.metadata?.name ?? ""}`));
    informer.on("delete", d => seen.push(`delete ${d.metadata?.name ?? ""}`));
    await informer.start();
    expect(informer.hasSynced()).toBe(true);
    expect(informer.list("default").map(d => d.metadata?.name)).toEqual(["one"]);

    // The apiserver restarts and compacts: the resumed watch is answered 410 and must relist.
    sim.faults.add({ verb: "watch", resource: "deployments", expireNextWatch: true });
    const listsBefore = sim.audit.entries({ verb: "list", resource: "deployments" }).length;
    sim.faults.restart({ compact: true });
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("two") });
    await apps.deleteNamespacedDeployment({ namespace: "default", name: "one" });
    await vi.waitFor(() => {
      expect(informer.list().map(d => d.metadata?.name)).toEqual(["two"]);
    });
    expect(sim.audit.entries({ verb: "list", resource: "deployments" }).length).toBeGreaterThan(
      listsBefore,
    );
    expect(seen).toContain("add two");
    expect(seen).toContain("delete one");
  });

  it("caches listed and watched objects alike: plain JSON, without managedFields, frozen all the way down", async () => {
    const apps = loadKubeConfig(sim.kubeconfig).makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("listed") });
    const informer = kube.informer("deployments", { labelSelector: "suite=adapter" });
    informers.push(informer as Informer<never>);
    await informer.start();
    await apps.createNamespacedDeployment({ namespace: "default", body: deployment("watched") });
    await vi.waitFor(() => {
      expect(informer.get("watched", "default")).toBeDefined();
    });
    for (const name of ["listed", "watched"]) {
      const cached = informer.get(name, "default");
      expect(typeof cached?.metadata?.creationTimestamp, name).toBe("string");
      expect(cached?.metadata?.managedFields, name).toBeUndefined();
      expect(Object.isFrozen(cached), name).toBe(true);
      expect(Object.isFrozen(cached?.spec?.template.spec?.containers[0]), name).toBe(true);
      expect(() => {
        (cached?.metadata?.labels as Record<string, string>)["x"] = "y";
      }, name).toThrow(TypeError);
    }
  });

  it("restarts an informer whose list failed, and start() waits for that list", async () => {
    sim.faults.add({ verb: "list", resource: "namespaces", code: 500, count: 1 });
    const informer = kube.informer("namespaces", {});
    informers.push(informer as Informer<never>);
    await informer.start();
    // No waiting here: an empty cache after a failed list must never pass for "nothing exists"
    // (a drill would read its target as deleted).
    expect(informer.hasSynced()).toBe(true);
    expect(informer.get("default")?.metadata?.name).toBe("default");
    expect(transient).toEqual(["watch namespaces: Unavailable"]);
  });
});
