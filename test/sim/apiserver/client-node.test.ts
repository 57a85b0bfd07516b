/**
 * @kubernetes/client-node 1.4.0, unchanged, against a started simulator: typed API calls and an
 * informer (src/cache.ts ListWatch over src/watch.ts), as semantics §6.2 describes them.
 */
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";

describe("client-node against the simulator", () => {
  let sim: Sim;
  let kc: KubeConfig;

  beforeEach(async () => {
    sim = await startSim();
    kc = new KubeConfig();
    kc.loadFromString(sim.kubeconfig);
  });
  afterEach(async () => {
    await sim.close();
  });

  it("creates, lists and patches through the typed APIs", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const apps = kc.makeApiClient(AppsV1Api);
    const namespaces = await core.listNamespace();
    expect(namespaces.items.map(n => n.metadata?.name)).toEqual([
      "default",
      "kube-node-lease",
      "kube-public",
      "kube-system",
    ]);
    await core.createNamespacedConfigMap({
      namespace: "default",
      body: { metadata: { name: "cfg" }, data: { a: "1" } },
    });
    const patched = await core.patchNamespacedConfigMap(
      { name: "cfg", namespace: "default", body: { data: { b: "2" } } },
      setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
    );
    expect(patched.data).toEqual({ a: "1", b: "2" });
    const created = await apps.createNamespacedDeployment({
      namespace: "default",
      body: {
        metadata: { name: "web" },
        spec: {
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web" } },
            spec: { containers: [{ name: "app", image: "nginx:1" }] },
          },
        },
      },
    });
    // Defaults come from admission (pkg/apis/apps/v1/defaults.go: SetDefaults_Deployment).
    expect(created.spec?.replicas).toBe(1);
    expect(created.metadata?.generation).toBe(1);
    const list = await apps.listNamespacedDeployment({ namespace: "default" });
    expect(list.kind).toBe("DeploymentList");
    expect(list.items).toHaveLength(1);
    const missing = await core
      .readNamespacedConfigMap({ name: "nope", namespace: "default" })
      .catch((e: unknown) => e);
    expect((missing as { code?: number }).code).toBe(404);
  });

  it("feeds an informer add, update and delete events", async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const informer = makeInformer<V1ConfigMap>(kc, "/api/v1/namespaces/default/configmaps", () =>
      core.listNamespacedConfigMap({ namespace: "default" }),
    );
    const seen: string[] = [];
    informer.on("add", o => {
      seen.push(`add:${o.metadata?.name ?? ""}`);
    });
    informer.on("update", o => {
      seen.push(`update:${o.data?.["k"] ?? ""}`);
    });
    informer.on("delete", o => {
      seen.push(`delete:${o.metadata?.name ?? ""}`);
    });
    await informer.start();
    try {
      await core.createNamespacedConfigMap({
        namespace: "default",
        body: { metadata: { name: "w" }, data: { k: "1" } },
      });
      await vi.waitFor(() => {
        expect(seen).toContain("add:w");
      });
      await core.replaceNamespacedConfigMap({
        name: "w",
        namespace: "default",
        body: { metadata: { name: "w" }, data: { k: "2" } },
      });
      await vi.waitFor(() => {
        expect(seen).toContain("update:2");
      });
      await core.deleteNamespacedConfigMap({ name: "w", namespace: "default" });
      await vi.waitFor(() => {
        expect(seen).toContain("delete:w");
      });
    } finally {
      await informer.stop();
    }
  });
});
