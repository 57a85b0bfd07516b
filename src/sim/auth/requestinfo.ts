/**
 * The authorization attributes of an HTTP request, read from the URL alone as the apiserver does
 * before any routing (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go NewRequestInfo), and
 * the 401/403 answers (k8s.io/apiserver/pkg/endpoints/handlers/responsewriters/errors.go:
 * Forbidden, forbiddenMessage; k8s.io/apimachinery/pkg/api/errors: NewForbidden, NewUnauthorized).
 */
import { ApiError, qualifiedResource } from "../errors.ts";
import type { StatusDetails } from "../errors.ts";
import { nonResourceAttributes, resourceAttributes } from "./rules.ts";
import type { Attributes, UserInfo } from "./rules.ts";

const API_PREFIXES = new Set(["api", "apis"]);
const SPECIAL_VERBS = new Set(["proxy", "watch"]);
const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

const METHOD_VERBS: Record<string, string> = {
  POST: "create",
  GET: "get",
  HEAD: "get",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/** `watch` as ListOptions decodes it: any value but "0" or "false" is true. */
function isWatch(url: URL): boolean | undefined {
  const values = url.searchParams.getAll("watch");
  if (values.length === 0) return undefined;
  const first = (values[0] ?? "").toLowerCase();
  return first !== "0" && first !== "false";
}

/** fields.Selector.RequiresExactMatch("metadata.name"), for list/watch of one named object. */
function selectedName(url: URL): string {
  const selector = url.searchParams.get("fieldSelector") ?? "";
  for (const term of selector.split(",")) {
    const match = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    const name = match?.[1];
    // path.IsValidPathSegmentName: not "." or "..", no "/" or "%".
    if (name !== undefined && name !== "" && name !== "." && name !== ".." && !/[/%]/.test(name)) {
      return name;
    }
  }
  return "";
}

/** The resource path after /api or /apis: group, version and the rest, or undefined. */
function splitResourcePath(
  parts: string[],
): { apiGroup: string; apiVersion: string; rest: string[] } | undefined {
  if (parts.length < 3 || !API_PREFIXES.has(parts[0] ?? "")) return undefined;
  const rest = parts.slice(1).map(p => decodeURIComponent(p));
  if (parts[0] === "api") return { apiGroup: "", apiVersion: rest[0] ?? "", rest: rest.slice(1) };
  if (rest.length < 3) return undefined;
  return { apiGroup: rest[0] ?? "", apiVersion: rest[1] ?? "", rest: rest.slice(2) };
}

/** NewRequestInfo, as authorization attributes for `user`. */
export function requestAttributes(user: UserInfo, method: string, url: URL): Attributes {
  const parts = url.pathname.split("/").filter(p => p !== "");
  const split = splitResourcePath(parts);
  if (!split) return nonResourceAttributes(user, method.toLowerCase(), url.pathname);
  let rest = split.rest;
  let verb = METHOD_VERBS[method] ?? "";
  if (SPECIAL_VERBS.has(rest[0] ?? "") && rest.length >= 2) {
    verb = rest[0] ?? "";
    rest = rest.slice(1);
  }
  let namespace = "";
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1] ?? "";
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2] ?? "")) rest = rest.slice(2);
  }
  const resource = rest[0] ?? "";
  let name = rest[1] ?? "";
  const subresource = rest.length >= 3 && verb !== "proxy" ? (rest[2] ?? "") : "";
  if (name === "" && verb === "get") {
    verb = isWatch(url) === true ? "watch" : "list";
    name = selectedName(url);
  }
  if (name === "" && verb === "delete") verb = "deletecollection";
  return resourceAttributes(user, {
    verb,
    apiGroup: split.apiGroup,
    apiVersion: split.apiVersion,
    resource,
    subresource,
    namespace,
    name,
  });
}

/** forbiddenMessage. */
export function forbiddenMessage(attrs: Attributes): string {
  const user = JSON.stringify(attrs.user.name);
  if (!attrs.resourceRequest) {
    return `User ${user} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  }
  const resource =
    attrs.subresource === "" ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
  const what = `User ${user} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)}`;
  if (attrs.namespace !== "") return `${what} in the namespace ${JSON.stringify(attrs.namespace)}`;
  return `${what} at the cluster scope`;
}

/** errors.NewForbidden(groupResource, name, err) as responsewriters.Forbidden sends it. */
export function forbidden(
  group: string,
  resource: string,
  name: string,
  message: string,
): ApiError {
  let text: string;
  if (group === "" && resource === "") text = `forbidden: ${message}`;
  else if (name === "") text = `${qualifiedResource(group, resource)} is forbidden: ${message}`;
  else
    text = `${qualifiedResource(group, resource)} ${JSON.stringify(name)} is forbidden: ${message}`;
  // StatusDetails' fields are omitempty: only the non-empty ones are sent.
  const details: StatusDetails = {};
  if (name !== "") details.name = name;
  if (group !== "") details.group = group;
  if (resource !== "") details.kind = resource;
  return new ApiError(403, "Forbidden", text, details);
}

/** The 403 for a request the authorizer did not allow; a reason is appended after ": ". */
export function forbiddenRequest(attrs: Attributes, reason: string): ApiError {
  const message = reason === "" ? forbiddenMessage(attrs) : `${forbiddenMessage(attrs)}: ${reason}`;
  return forbidden(attrs.apiGroup, attrs.resource, attrs.name, message);
}

/** errors.NewUnauthorized("Unauthorized"): no details. */
export function unauthorized(): ApiError {
  return new ApiError(401, "Unauthorized", "Unauthorized");
}
