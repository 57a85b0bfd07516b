/**
 * OpenAPI documents: the /openapi/v3 index shape of kube-openapi pkg/handler3 (paths ->
 * serverRelativeURL with hash), and GV documents whose PATCH operations carry
 * x-kubernetes-group-version-kind and a fieldValidation parameter, which is what
 * cli-runtime/pkg/resource/query_param_verifier_v3.go (supportsQueryParamV3) looks for.
 */
import { describe, expect, it } from "vitest";
import { crdResourceInfos } from "../../../src/sim/admission/index.ts";
import { openapiV2, openapiV3Doc, openapiV3Root } from "../../../src/sim/openapi.ts";
import type { GVR, ResourceCatalogue, ResourceInfo } from "../../../src/sim/types.ts";
import { builtin, crdObject } from "./helpers.ts";

function catalogue(infos: ResourceInfo[]): ResourceCatalogue {
  const key = (g: GVR) => `${g.group}/${g.version}/${g.resource}`;
  return {
    all: () => infos,
    byGVR: gvr => infos.find(i => key(i) === key(gvr)),
    byKind: (group, version, kind) =>
      infos.find(i => i.group === group && i.version === version && i.kind === kind),
    register: () => undefined,
    unregister: () => undefined,
  };
}

const crd = crdObject({
  group: "example.com",
  names: { plural: "widgets", kind: "Widget" },
  versions: [
    {
      name: "v1",
      served: true,
      storage: true,
      schema: {
        openAPIV3Schema: {
          type: "object",
          properties: { spec: { type: "object", description: "The widget." } },
        },
      },
    },
  ],
});

const cat = catalogue([
  builtin("", "namespaces", "Namespace", false),
  builtin("apps", "deployments", "Deployment"),
  ...crdResourceInfos(crd),
]);

describe("openapi", () => {
  it("indexes every served group-version with a hashed serverRelativeURL", () => {
    const root = openapiV3Root(cat) as { paths: Record<string, { serverRelativeURL: string }> };
    expect(Object.keys(root.paths)).toEqual(["api/v1", "apis/apps/v1", "apis/example.com/v1"]);
    expect(root.paths["apis/apps/v1"]?.serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{128}$/,
    );
  });

  it("documents built-ins with their GVK and a PATCH that accepts fieldValidation", () => {
    const doc = openapiV3Doc(cat, "apis/apps/v1") as {
      paths: Record<
        string,
        {
          patch: {
            parameters: { name: string }[];
            "x-kubernetes-group-version-kind": unknown;
            requestBody: { content: Record<string, unknown> };
          };
        }
      >;
      components: { schemas: Record<string, Record<string, unknown>> };
    };
    const patch = doc.paths["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]?.patch;
    expect(patch?.["x-kubernetes-group-version-kind"]).toEqual({
      group: "apps",
      kind: "Deployment",
      version: "v1",
    });
    expect(patch?.parameters.map(p => p.name)).toContain("fieldValidation");
    expect(Object.keys(patch?.requestBody.content ?? {})).not.toContain(
      "application/strategic-merge-patch+json",
    );
    expect(
      doc.components.schemas["io.k8s.api.apps.v1.Deployment"]?.["x-kubernetes-group-version-kind"],
    ).toEqual([{ group: "apps", kind: "Deployment", version: "v1" }]);
    const core = openapiV3Doc(cat, "api/v1") as { paths: Record<string, unknown> };
    expect(Object.keys(core.paths)).toEqual(["/api/v1/namespaces/{name}"]);
  });

  it("wraps a CRD's openAPIV3Schema with its GVK", () => {
    const doc = openapiV3Doc(cat, "apis/example.com/v1") as {
      components: { schemas: Record<string, Record<string, unknown>> };
    };
    const widget = doc.components.schemas["com.example.v1.Widget"];
    expect(widget?.["x-kubernetes-group-version-kind"]).toEqual([
      { group: "example.com", kind: "Widget", version: "v1" },
    ]);
    expect(widget?.["properties"]).toMatchObject({
      spec: { type: "object", description: "The widget." },
      kind: { type: "string" },
    });
  });

  it("has no document for an unserved group-version, and serves an empty v2", () => {
    expect(openapiV3Doc(cat, "apis/batch/v1")).toBeUndefined();
    expect(openapiV2()).toHaveLength(0);
  });
});
