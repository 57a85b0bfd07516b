/**
 * Shared fixtures for the admission tests: ResourceInfos of built-ins, a call wrapper, the 422 a
 * rejected call throws and its messages; the CRD builder is the API machinery's, re-exported.
 */
import type { ApiError } from "../../../src/sim/errors.ts";
import { admit } from "../../../src/sim/admission/index.ts";
import type { KubeObject, ResourceInfo } from "../../../src/sim/types.ts";
import { apiError } from "../apiserver/helpers.ts";

export { crdObject } from "../apiserver/helpers.ts";

export function builtin(
  group: string,
  resource: string,
  kind: string,
  namespaced = true,
): ResourceInfo {
  return {
    group,
    version: "v1",
    resource,
    singular: kind.toLowerCase(),
    kind,
    listKind: `${kind}List`,
    namespaced,
    verbs: ["create", "get", "list", "update", "patch", "delete", "watch"],
    subresources: ["status"],
  };
}

export function admitAs(
  info: ResourceInfo,
  object: KubeObject,
  operation: "CREATE" | "UPDATE" = "CREATE",
  oldObject?: KubeObject,
  subresource?: string,
): KubeObject {
  const gvr = { group: info.group, version: info.version, resource: info.resource };
  return admit({
    gvr,
    info,
    operation,
    object,
    ...(oldObject === undefined ? {} : { oldObject }),
    ...(subresource === undefined ? {} : { subresource }),
  });
}

/** The 422 an admission call throws (fails the test when it does not throw). */
export function rejection(call: () => unknown): ApiError {
  return apiError(call, "admission accepted the object");
}

export function messages(error: ApiError): string[] {
  return (error.details?.causes ?? []).map(c => `${c.field ?? ""}: ${c.message}`);
}
