/**
 * The OpenAPI documents kubectl 1.32 fetches before `apply -f`/`create -f` with validation on:
 * - GET /openapi/v3: the index of group-versions (kube-openapi pkg/handler3: {"paths": {"apis/apps/v1":
 *   {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=..."}}});
 * - GET /openapi/v3/<gv>: a document whose PATCH operations carry x-kubernetes-group-version-kind
 *   and a `fieldValidation` parameter, which makes kubectl leave validation to the server
 *   (cli-runtime/pkg/resource/query_param_verifier_v3.go), and components.schemas per kind for
 *   `kubectl explain` (CRDs: the CRD's openAPIV3Schema). The PATCH request bodies do not list
 *   strategic-merge-patch, so client-side apply keeps using kubectl's built-in type information
 *   (kubectl/pkg/cmd/apply/patcher.go) rather than these partial schemas;
 * - GET /openapi/v2 (protobuf): an empty body decodes to an empty gnostic Document.
 */
import { createHash } from "node:crypto";
import { versionSchema } from "./admission/crd.ts";
import type { ResourceCatalogue, ResourceInfo } from "./types.ts";

function groupVersionPath(info: { group: string; version: string }): string {
  return info.group === "" ? `api/${info.version}` : `apis/${info.group}/${info.version}`;
}

/** Definition names as the apiserver spells them: io.k8s.api.apps.v1.Deployment, com.example.v1.Widget. */
function schemaName(info: ResourceInfo): string {
  if (info.crd !== undefined) {
    return [...info.group.split(".").reverse(), info.version, info.kind].join(".");
  }
  const group =
    info.group === "" ? "core" : info.group.replace(/\.k8s\.io$/, "").replace(/\./g, "");
  return `io.k8s.api.${group}.${info.version}.${info.kind}`;
}

function gvk(info: ResourceInfo) {
  return [{ group: info.group, kind: info.kind, version: info.version }];
}

function kindSchema(info: ResourceInfo): Record<string, unknown> {
  const crdSchema = info.crd === undefined ? undefined : versionSchema(info.crd, info.version);
  const base: Record<string, unknown> =
    crdSchema === undefined
      ? {
          description: `${info.kind} (${groupVersionPath(info)}), served by the simulator.`,
          type: "object",
          "x-kubernetes-preserve-unknown-fields": true,
          properties: { spec: { type: "object" }, status: { type: "object" } },
        }
      : (structuredClone(crdSchema) as Record<string, unknown>);
  const properties = { ...(base["properties"] as Record<string, unknown> | undefined) };
  properties["apiVersion"] = {
    description: "APIVersion defines the versioned schema of this representation of an object.",
    type: "string",
  };
  properties["kind"] = {
    description: "Kind is a string value representing the REST resource this object represents.",
    type: "string",
  };
  properties["metadata"] = { description: "Standard object's metadata.", type: "object" };
  return { ...base, properties, "x-kubernetes-group-version-kind": gvk(info) };
}

const patchContentTypes = [
  "application/json-patch+json",
  "application/merge-patch+json",
  "application/apply-patch+yaml",
];

function patchOperation(info: ResourceInfo, ref: string) {
  return {
    description: `partially update the specified ${info.kind}`,
    operationId: `patch${info.kind}`,
    "x-kubernetes-action": "patch",
    "x-kubernetes-group-version-kind": gvk(info)[0],
    parameters: [
      { name: "dryRun", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "fieldManager", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "fieldValidation", in: "query", schema: { type: "string", uniqueItems: true } },
      { name: "force", in: "query", schema: { type: "boolean", uniqueItems: true } },
    ],
    requestBody: {
      content: Object.fromEntries(
        patchContentTypes.map(type => [type, { schema: { type: "object" } }]),
      ),
      required: true,
    },
    responses: {
      "200": { description: "OK", content: { "application/json": { schema: { $ref: ref } } } },
    },
  };
}

function resourcesOf(catalogue: ResourceCatalogue, path: string): ResourceInfo[] {
  return catalogue.all().filter(info => groupVersionPath(info) === path);
}

/** The /openapi/v3/<path> document, or undefined when no resource is served there. */
export function openapiV3Doc(catalogue: ResourceCatalogue, path: string): object | undefined {
  const resources = resourcesOf(catalogue, path.replace(/^\/+/, ""));
  if (resources.length === 0) return undefined;
  const schemas: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  for (const info of resources) {
    const name = schemaName(info);
    schemas[name] = kindSchema(info);
    const prefix = `/${groupVersionPath(info)}${info.namespaced ? "/namespaces/{namespace}" : ""}/${info.resource}/{name}`;
    paths[prefix] = { patch: patchOperation(info, `#/components/schemas/${name}`) };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.32.4" },
    paths,
    components: { schemas },
  };
}

/** The /openapi/v3 index: one entry per served group-version, with a content hash. */
export function openapiV3Root(catalogue: ResourceCatalogue): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  const keys = [...new Set(catalogue.all().map(groupVersionPath))].sort();
  for (const key of keys) {
    const hash = createHash("sha512")
      .update(JSON.stringify(openapiV3Doc(catalogue, key)))
      .digest("hex")
      .toUpperCase();
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${hash}` };
  }
  return { paths };
}

/**
 * The /openapi/v2 answer for `Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`:
 * an empty body, which decodes to an empty Document (docs/KUBE-SIM.md, "kubectl on the wire").
 */
export function openapiV2(): Uint8Array {
  return new Uint8Array();
}
