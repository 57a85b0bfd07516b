import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";
import { crdObject } from "./helpers.ts";

const AGGREGATED =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json";

describe("HTTP API", () => {
  let sim: Sim;
  beforeEach(async () => {
    sim = await startSim();
  });
  afterEach(async () => {
    await sim.close();
  });

  const call = async (
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: Record<string, unknown>; type: string }> => {
    const res = await fetch(`${sim.url}${path}`, init);
    const text = await res.text();
    return {
      status: res.status,
      body: (text ? JSON.parse(text) : {}) as Record<string, unknown>,
      type: res.headers.get("content-type") ?? "",
    };
  };

  // client-go discovery/aggregated_discovery.go: the Content-Type decides the format
  it("serves aggregated discovery with deployments/scale as autoscaling/v1 Scale", async () => {
    const apis = await call("/apis", { headers: { Accept: AGGREGATED } });
    expect(apis.type).toBe("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList");
    const apps = (
      apis.body["items"] as {
        metadata: { name: string };
        versions: {
          resources: {
            resource: string;
            subresources?: { subresource: string; responseKind: object }[];
          }[];
        }[];
      }[]
    ).find(i => i.metadata.name === "apps");
    const deploy = apps?.versions[0]?.resources.find(r => r.resource === "deployments");
    expect(deploy?.subresources?.find(s => s.subresource === "scale")?.responseKind).toEqual({
      group: "autoscaling",
      version: "v1",
      kind: "Scale",
    });
    const legacy = await call("/apis/apps/v1");
    expect(legacy.body["kind"]).toBe("APIResourceList");
    expect((await call("/version")).body["gitVersion"]).toBe("v1.32.4");
  });

  // errors.go: NewNotFound; Status with the HTTP code
  it("answers errors as Status objects", async () => {
    const missing = await call("/apis/apps/v1/namespaces/default/deployments/nope");
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'deployments.apps "nope" not found',
      reason: "NotFound",
      details: { name: "nope", group: "apps", kind: "deployments" },
      code: 404,
    });
    expect((await call("/apis/nothing/v1/things")).status).toBe(404);
  });

  // handlers/get.go ListResource: limit/continue; list kind and resourceVersion
  it("pages lists with limit and continue", async () => {
    for (const n of ["a", "b", "c"]) {
      await call("/api/v1/namespaces/default/configmaps", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ metadata: { name: n } }),
      });
    }
    const first = await call("/api/v1/namespaces/default/configmaps?limit=2");
    expect(first.body["kind"]).toBe("ConfigMapList");
    const meta = first.body["metadata"] as {
      continue: string;
      remainingItemCount: number;
      resourceVersion: string;
    };
    expect(meta.remainingItemCount).toBe(1);
    const second = await call(
      `/api/v1/namespaces/default/configmaps?limit=2&continue=${meta.continue}`,
    );
    expect(
      (second.body["items"] as { metadata: { name: string } }[]).map(i => i.metadata.name),
    ).toEqual(["c"]);
  });

  // apiextensions-apiserver: a CRD becomes Established and its resources are served
  it("serves a CRD's resources once it is established", async () => {
    const crd = crdObject({
      group: "example.com",
      names: { plural: "widgets", singular: "widget", kind: "Widget", listKind: "WidgetList" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                spec: { type: "object", properties: { size: { type: "integer" } } },
                status: {
                  type: "object",

                  properties: { ok: { type: "boolean" } },
                },
              },
            },
          },
        },
      ],
    });
    const created = await call("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(crd),
    });
    expect(created.status).toBe(201);
    const got = await call(
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com",
    );
    expect(
      (got.body["status"] as { conditions: { type: string; status: string }[] }).conditions.map(
        c => `${c.type}=${c.status}`,
      ),
    ).toEqual(["NamesAccepted=True", "Established=True"]);
    const w = await call("/apis/example.com/v1/namespaces/default/widgets", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        apiVersion: "example.com/v1",
        kind: "Widget",
        metadata: { name: "w1" },
        spec: { size: 3 },
        status: { ok: true },
      }),
    });
    expect(w.status).toBe(201);
    expect(w.body["status"]).toBeUndefined();
    const smp = await call("/apis/example.com/v1/namespaces/default/widgets/w1", {
      method: "PATCH",
      headers: { "Content-Type": "application/strategic-merge-patch+json" },
      body: "{}",
    });
    expect(smp.status).toBe(415);
    const status = await call("/apis/example.com/v1/namespaces/default/widgets/w1/status", {
      method: "PATCH",
      headers: { "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { size: 9 }, status: { ok: true } }),
    });
    expect(status.body["status"]).toEqual({ ok: true });
    expect(status.body["spec"]).toEqual({ size: 3 });
  });
});
