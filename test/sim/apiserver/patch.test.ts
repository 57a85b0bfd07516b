import { describe, expect, it } from "vitest";
import { applyPatchBody, mergePatch, strategicMerge } from "../../../src/sim/patch.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import { admin, apiError, DEPLOY, deployment, newStore } from "./helpers.ts";

const target = { group: "apps", kind: "Deployment", resource: "deployments", custom: false };

function containers(o: unknown): unknown {
  return ((o as KubeObject)["spec"] as { template: { spec: { containers: unknown } } }).template
    .spec.containers;
}

describe("patches", () => {
  // k8s.io/apimachinery/pkg/util/strategicpatch/patch.go: mergeKey "name" for containers, $setElementOrder
  it("applies kubectl set image's strategic merge patch by container name", () => {
    const base = deployment("web");
    (
      base["spec"] as { template: { spec: { containers: object[] } } }
    ).template.spec.containers.push({ name: "side", image: "busybox" });
    const body = {
      spec: {
        template: {
          spec: {
            "$setElementOrder/containers": [{ name: "app" }, { name: "side" }],
            containers: [{ image: "nginx:2", name: "app" }],
          },
        },
      },
    };
    const out = applyPatchBody("strategic", base, body, target);
    expect(containers(out)).toEqual([
      { name: "app", image: "nginx:2" },
      { name: "side", image: "busybox" },
    ]);
  });

  // strategicpatch: $patch delete on a keyed item, $retainKeys, $deleteFromPrimitiveList, null deletes
  it("honours strategic directives", () => {
    const original = {
      spec: {
        containers: [
          {
            name: "a",
            env: [
              { name: "X", value: "1" },
              { name: "Y", value: "2" },
            ],
          },
          { name: "b" },
        ],
        strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } },
      },
      metadata: { finalizers: ["f1", "f2"] },
    };
    const patch = {
      spec: {
        containers: [
          { name: "a", env: [{ name: "X", $patch: "delete" }] },
          { name: "b", $patch: "delete" },
        ],
        strategy: { $retainKeys: ["type"], type: "Recreate", rollingUpdate: null },
      },
      metadata: { "$deleteFromPrimitiveList/finalizers": ["f1"] },
    };
    expect(strategicMerge(original, patch, [])).toEqual({
      spec: {
        containers: [{ name: "a", env: [{ name: "Y", value: "2" }] }],
        strategy: { type: "Recreate" },
      },
      metadata: { finalizers: ["f2"] },
    });
  });

  // RFC 7386
  it("merge-patches with null deleting and lists replaced", () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: 3 }, l: [1, 2] }, { b: { c: null }, l: [3] })).toEqual({
      a: 1,
      b: { d: 3 },
      l: [3],
    });
  });

  // kubectl rollout undo's JSON patch (k8s.io/kubectl pkg/polymorphichelpers/rollback.go); handlers/patch.go: applyJSPatch -> 422
  it("applies rollout undo's JSON patch and answers a failed test with 422", () => {
    const store = newStore();
    store.create(
      DEPLOY,
      {
        ...deployment("web"),
        metadata: {
          name: "web",
          namespace: "default",
          annotations: { "deployment.kubernetes.io/revision": "2" },
        },
      },
      admin,
    );
    const template = {
      metadata: { creationTimestamp: null, labels: { app: "web" } },
      spec: { containers: [{ name: "app", image: "nginx:0" }] },
    };
    const out = store.patch(
      DEPLOY,
      "default",
      "web",
      "json",
      [
        { op: "replace", path: "/spec/template", value: template },
        {
          op: "replace",
          path: "/metadata/annotations",
          value: { "deployment.kubernetes.io/revision": "2" },
        },
      ],
      admin,
    );
    expect(containers(out)).toEqual([{ name: "app", image: "nginx:0" }]);
    expect(out.metadata.generation).toBe(2);
    const err = apiError(() =>
      store.patch(
        DEPLOY,
        "default",
        "web",
        "json",
        [{ op: "test", path: "/spec/replicas", value: 7 }],
        admin,
      ),
    );
    expect([err.code, err.reason, err.message]).toEqual([
      422,
      "Invalid",
      "the server rejected our request due to an error in our request",
    ]);
  });

  // handlers/patch.go: custom resources accept no strategic merge patch
  it("refuses strategic merge for custom resources with 415", () => {
    const err = apiError(() =>
      applyPatchBody("strategic", deployment("x"), {}, { ...target, custom: true }),
    );
    expect(err.code).toBe(415);
    expect(err.message).toBe(
      "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
    );
  });

  // managedfields/internal/conflict.go: NewConflictError; server-side apply ownership
  it("server-side applies: creates, conflicts with another manager, forces, removes dropped fields", () => {
    const store = newStore();
    const applied = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { a: "1" } },
      spec: { replicas: 2, selector: { matchLabels: { app: "web" } } },
    };
    const created = store.patch(DEPLOY, "default", "web", "apply", JSON.stringify(applied), admin, {
      fieldManager: "ops",
    });
    expect(created.metadata.managedFields?.[0]).toMatchObject({
      manager: "ops",
      operation: "Apply",
    });
    store.patch(DEPLOY, "default", "web", "merge", { spec: { replicas: 5 } }, admin, {
      fieldManager: "kubectl",
    });
    const err = apiError(() =>
      store.patch(DEPLOY, "default", "web", "apply", JSON.stringify(applied), admin, {
        fieldManager: "ops",
      }),
    );
    expect(err.code).toBe(409);
    expect(err.message).toBe(
      'Apply failed with 1 conflict: conflict with "kubectl" using apps/v1: .spec.replicas',
    );
    expect(err.details?.causes?.[0]).toEqual({
      reason: "FieldManagerConflict",
      message: 'conflict with "kubectl" using apps/v1',
      field: ".spec.replicas",
    });
    const forced = store.patch(DEPLOY, "default", "web", "apply", JSON.stringify(applied), admin, {
      fieldManager: "ops",
      force: true,
    });
    expect((forced["spec"] as { replicas: number }).replicas).toBe(2);
    const dropped = { ...applied, metadata: { name: "web" } };
    const after = store.patch(DEPLOY, "default", "web", "apply", JSON.stringify(dropped), admin, {
      fieldManager: "ops",
    });
    expect(after.metadata.labels).toBeUndefined();
  });
});
