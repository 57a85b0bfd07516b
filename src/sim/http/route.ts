/**
 * Parsing a resource URL (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go: RequestInfoFactory):
 * /api/v1/... and /apis/<group>/<version>/..., namespaced and cluster-scoped paths, subresources,
 * and the verb a request stands for.
 */
import { ApiError } from "../errors.ts";
import type { GVR, ResourceCatalogue, ResourceInfo } from "../types.ts";

export interface ResourceRoute {
  info: ResourceInfo;
  gvr: GVR;
  /** From the path; undefined for cluster-scoped resources and all-namespace lists. */
  namespace: string | undefined;
  name: string | undefined;
  subresource: string | undefined;
}

export function notFoundPath(): ApiError {
  return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
}

/** The group, version and the remaining segments of a resource path, or undefined. */
export function splitApiPath(
  pathname: string,
): { group: string; version: string; rest: string[] } | undefined {
  const segs = pathname
    .split("/")
    .filter(s => s !== "")
    .map(decodeURIComponent);
  if (segs[0] === "api" && segs.length >= 2)
    return { group: "", version: segs[1] ?? "", rest: segs.slice(2) };
  if (segs[0] === "apis" && segs.length >= 3) {
    return { group: segs[1] ?? "", version: segs[2] ?? "", rest: segs.slice(3) };
  }
  return undefined;
}

/** Resolves a resource route, or throws the apiserver's 404. */
export function resolveRoute(
  catalogue: ResourceCatalogue,
  group: string,
  version: string,
  rest: string[],
): ResourceRoute {
  const lookup = (resource: string | undefined): ResourceInfo | undefined =>
    resource === undefined ? undefined : catalogue.byGVR({ group, version, resource });
  let namespace: string | undefined;
  let parts = rest;
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const candidate = lookup(rest[2]);
    if (candidate?.namespaced) {
      namespace = rest[1];
      parts = rest.slice(2);
    }
  }
  const info = lookup(parts[0]);
  if (!info || parts.length > 3) throw notFoundPath();
  const subresource = parts[2];
  if (subresource !== undefined && !info.subresources.includes(subresource)) throw notFoundPath();
  return {
    info,
    gvr: { group, version, resource: info.resource },
    namespace: info.namespaced ? namespace : undefined,
    name: parts[1],
    subresource,
  };
}

/** The Kubernetes verb of a request (requestinfo.go). */
export function verbOf(method: string, route: ResourceRoute, watch: boolean): string {
  const collection = route.name === undefined;
  switch (method) {
    case "GET":
    case "HEAD":
      if (collection) return watch ? "watch" : "list";
      return "get";
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return collection ? "deletecollection" : "delete";
    default:
      return method.toLowerCase();
  }
}

/** 405 as the apiserver words it (errors.NewMethodNotSupported). */
export function methodNotSupported(route: ResourceRoute, verb: string): ApiError {
  const gr =
    route.info.group === "" ? route.info.resource : `${route.info.resource}.${route.info.group}`;
  return new ApiError(
    405,
    "MethodNotAllowed",
    `${verb} is not supported on resources of kind "${gr}"`,
    {
      group: route.info.group,
      kind: route.info.resource,
    },
  );
}
