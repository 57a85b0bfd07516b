/**
 * kubernetes-fluent-client 3.10.11, unchanged, against the simulator: Apply, Get, Watch and
 * PatchStatus on our CRD kind (rollbackdrills). The library finds the cluster through
 * @kubernetes/client-node's KubeConfig.loadFromDefault(), i.e. the KUBECONFIG variable
 * (dist/fluent/utils.js k8sCfg), so this file points KUBECONFIG at the sim's kubeconfig before it
 * imports the package. The tests below assert what the library sends and reads back.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";
import { CRDS, waitForPass } from "../../kit/index.ts";
import { WAIT } from "../kubectl/harness.ts";

type Fluent = typeof import("kubernetes-fluent-client");

const CRD_FILE = join(import.meta.dirname, "../../../crds/rollbackdrills.rollbackdrill.io.yaml");

interface DrillStatus {
  phase?: string;
  verdict?: string;
  reason?: string;
}

describe("kubernetes-fluent-client against the simulator", () => {
  let sim: Sim;
  let dir: string;
  let kfc: Fluent;
  let previousKubeconfig: string | undefined;
  // The model the fluent API builds URLs and GVKs from (kinds.ts RegisterKind).
  class RollbackDrill {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string; generation?: number; [k: string]: unknown };
    spec?: Record<string, unknown>;
    status?: DrillStatus;
  }

  beforeAll(async () => {
    sim = await startSim({ timeScale: 1000 });
    dir = await mkdtemp(join(tmpdir(), "sim-kfc-"));
    await sim.writeKubeconfig(join(dir, "config"));
    previousKubeconfig = process.env.KUBECONFIG;
    process.env.KUBECONFIG = join(dir, "config");
    kfc = await import("kubernetes-fluent-client");
    kfc.RegisterKind(RollbackDrill, {
      group: "rollbackdrill.io",
      version: "v1alpha1",
      kind: "RollbackDrill",
      plural: "rollbackdrills",
    });
  });
  afterAll(async () => {
    if (previousKubeconfig === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = previousKubeconfig;
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("applies the CRD and a namespace (built-in kinds) with server-side apply", async () => {
    const crd = parse(await readFile(CRD_FILE, "utf8")) as { metadata: { name: string } };
    const applied = await kfc.K8s(kfc.kind.CustomResourceDefinition).Apply(crd, { force: true });
    expect(applied.metadata?.name).toBe("rollbackdrills.rollbackdrill.io");
    // KFC sends PATCH application/apply-patch+yaml with fieldManager=pepr (§6.1): managedFields
    // record that manager as an Apply (apiserver fieldmanager).
    expect(applied.metadata?.managedFields?.map(m => [m.manager, m.operation])).toContainEqual([
      "pepr",
      "Apply",
    ]);
    await waitForPass(sim, "the CRD Established", () => {
      const got = sim.store.get(CRDS, undefined, "rollbackdrills.rollbackdrill.io");
      const conditions = (got?.status as { conditions?: { type: string; status: string }[] })
        .conditions;
      expect(conditions).toContainEqual(
        expect.objectContaining({ type: "Established", status: "True" }),
      );
    });
    const ns = await kfc.K8s(kfc.kind.Namespace).Apply({ metadata: { name: "shop" } });
    expect(ns.status?.phase).toBe("Active");
    expect(
      sim.audit
        .entries({ resource: "namespaces", source: "request" })
        .filter(e => e.userAgent === "kubernetes-fluent-client")
        .map(e => [e.verb, e.code]),
    ).toEqual([["patch", 201]]);
  });

  it("Apply, Get, Watch and PatchStatus on a RollbackDrill", async () => {
    const seen: [string, string | undefined, number | undefined, string | undefined][] = [];
    const watcher = kfc
      .K8s(RollbackDrill)
      .InNamespace("shop")
      .Watch((drill, phase) => {
        seen.push([phase, drill.metadata?.name, drill.metadata?.generation, drill.status?.verdict]);
      });
    const listed = new Promise<void>(resolve => {
      watcher.events.once(kfc.WatchEvent.CONNECT, () => {
        resolve();
      });
    });
    await watcher.start();
    try {
      await listed;
      // Apply creates (201) and returns the stored object with the schema's defaults.
      const created = await kfc.K8s(RollbackDrill).Apply(
        {
          apiVersion: "rollbackdrill.io/v1alpha1",
          kind: "RollbackDrill",
          metadata: { name: "web", namespace: "shop" },
          spec: { targetRef: { kind: "Deployment", name: "web" } },
        },
        { force: true },
      );
      expect(created.metadata?.generation).toBe(1);
      expect(created.spec).toMatchObject({
        targetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        checks: { stableSeconds: 30, timeoutSeconds: 600 },
      });

      // Get by name and as a list.
      const got = await kfc.K8s(RollbackDrill).InNamespace("shop").Get("web");
      expect(got.metadata?.name).toBe("web");
      const list = await kfc.K8s(RollbackDrill).InNamespace("shop").Get();
      expect(list.items.map(d => d.metadata?.name)).toEqual(["web"]);

      // PatchStatus: a merge patch of {status} on /status. The status subresource leaves the
      // generation alone (apiextensions-apiserver customresource strategy PrepareForUpdate).
      const patched = await kfc.K8s(RollbackDrill).PatchStatus({
        metadata: { name: "web", namespace: "shop" },
        status: { phase: "Idle", verdict: "Passed", reason: "Passed" },
      });
      expect(patched.status).toMatchObject({ verdict: "Passed" });
      expect(patched.metadata?.generation).toBe(1);

      // A spec change through Apply bumps the generation and keeps the status.
      const changed = await kfc.K8s(RollbackDrill).Apply(
        {
          apiVersion: "rollbackdrill.io/v1alpha1",
          kind: "RollbackDrill",
          metadata: { name: "web", namespace: "shop" },
          spec: { targetRef: { kind: "Deployment", name: "web" }, suspend: true },
        },
        { force: true },
      );
      expect(changed.metadata?.generation).toBe(2);
      expect(changed.status?.verdict).toBe("Passed");

      await vi.waitFor(() => {
        expect(seen).toEqual([
          ["ADDED", "web", 1, undefined],
          ["MODIFIED", "web", 1, "Passed"],
          ["MODIFIED", "web", 2, "Passed"],
        ]);
      }, WAIT);
    } finally {
      watcher.close();
    }
  });

  it("surfaces a 422 for a drill the schema rejects", async () => {
    const error = await kfc
      .K8s(RollbackDrill)
      .Apply({
        apiVersion: "rollbackdrill.io/v1alpha1",
        kind: "RollbackDrill",
        metadata: { name: "bad", namespace: "shop" },
        spec: { targetRef: { kind: "Deployment", name: "web" }, timeZone: "Europe/Paris" },
      })
      .then(
        () => undefined,
        (e: unknown) => e as { status: number; data: { reason: string; message: string } },
      );
    // KFC throws {status, data: Status}; the Status is the apiserver's Invalid with the CEL
    // rule's message at its fieldPath (strategy.go Validate).
    expect(error?.status).toBe(422);
    expect(error?.data.reason).toBe("Invalid");
    expect(error?.data.message).toBe(
      'RollbackDrill.rollbackdrill.io "bad" is invalid: spec.timeZone: Invalid value: "object": timeZone requires schedule',
    );
  });
});
