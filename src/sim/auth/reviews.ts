/**
 * The authorization reviews answered from the real authorizer (kubernetes/kubernetes
 * pkg/registry/authorization: selfsubjectaccessreview/rest.go, subjectaccessreview/rest.go,
 * selfsubjectrulesreview/rest.go; util/helpers.go ResourceAttributesFrom; validation in
 * pkg/apis/authorization/validation) and the ServiceAccount TokenRequest subresource
 * (pkg/registry/core/serviceaccount/storage/token.go).
 */
import { badRequest, invalid, notFound } from "../errors.ts";
import type { KubeObject, SimClock, Store } from "../types.ts";
import { formatTimestamp } from "../types.ts";
import { authorize, rulesFor } from "./rbac.ts";
import { nonResourceAttributes, resourceAttributes } from "./rules.ts";
import type { Attributes, UserInfo } from "./rules.ts";
import { SERVICE_ACCOUNTS } from "./tokens.ts";
import type { TokenAuthenticator } from "./tokens.ts";

type Spec = Record<string, unknown>;

function specOf(body: KubeObject): Spec {
  const spec = body["spec"];
  return spec !== null && typeof spec === "object" ? (spec as Spec) : {};
}

function field(obj: unknown, key: string): string {
  if (obj === null || typeof obj !== "object") return "";
  const v = (obj as Record<string, unknown>)[key];
  return typeof v === "string" ? v : "";
}

/** ResourceAttributesFrom / NonResourceAttributesFrom for a review's spec. */
function reviewAttributes(kind: string, user: UserInfo, spec: Spec): Attributes {
  const ra = spec["resourceAttributes"];
  const nra = spec["nonResourceAttributes"];
  if ((ra === undefined) === (nra === undefined)) {
    throw invalid("authorization.k8s.io", kind, "", [
      {
        reason: "FieldValueInvalid",
        field: "spec.resourceAttributes",
        message:
          "Invalid value: exactly one of nonResourceAttributes or resourceAttributes must be specified",
      },
    ]);
  }
  if (nra !== undefined) return nonResourceAttributes(user, field(nra, "verb"), field(nra, "path"));
  return resourceAttributes(user, {
    verb: field(ra, "verb"),
    namespace: field(ra, "namespace"),
    apiGroup: field(ra, "group"),
    apiVersion: field(ra, "version") || "*",
    resource: field(ra, "resource"),
    subresource: field(ra, "subresource"),
    name: field(ra, "name"),
  });
}

function accessStatus(store: Store, attrs: Attributes): Record<string, unknown> {
  const decision = authorize(store, attrs);
  const status: Record<string, unknown> = { allowed: decision.allowed };
  if (decision.reason !== "") status["reason"] = decision.reason;
  return status;
}

function answer(body: KubeObject, kind: string, spec: unknown, status: unknown): KubeObject {
  return {
    kind,
    apiVersion: "authorization.k8s.io/v1",
    metadata: { ...body.metadata, creationTimestamp: null } as unknown as KubeObject["metadata"],
    spec,
    status,
  };
}

export function selfSubjectAccessReview(
  store: Store,
  user: UserInfo,
  body: KubeObject,
): KubeObject {
  const spec = specOf(body);
  const attrs = reviewAttributes("SelfSubjectAccessReview", user, spec);
  return answer(body, "SelfSubjectAccessReview", spec, accessStatus(store, attrs));
}

export function subjectAccessReview(store: Store, body: KubeObject): KubeObject {
  const spec = specOf(body);
  const name = field(spec, "user");
  const groups = Array.isArray(spec["groups"])
    ? (spec["groups"] as unknown[]).filter((g): g is string => typeof g === "string")
    : [];
  if (name === "" && groups.length === 0) {
    throw invalid("authorization.k8s.io", "SubjectAccessReview", "", [
      {
        reason: "FieldValueInvalid",
        field: "spec.user",
        message: 'Invalid value: "": at least one of user or group must be specified',
      },
    ]);
  }
  const attrs = reviewAttributes("SubjectAccessReview", user(name, groups), spec);
  return answer(body, "SubjectAccessReview", spec, accessStatus(store, attrs));
}

function user(name: string, groups: string[]): UserInfo {
  return { name, groups };
}

/** SelfSubjectRulesReview: the RBAC rules of the user in spec.namespace (rbac.go RulesFor). */
export function selfSubjectRulesReview(store: Store, who: UserInfo, body: KubeObject): KubeObject {
  const spec = specOf(body);
  const namespace = field(spec, "namespace");
  if (namespace === "") throw badRequest("no namespace on request");
  const { rules, errors } = rulesFor(store, who, namespace);
  const resourceRules: Record<string, string[]>[] = [];
  const nonResourceRules: Record<string, string[]>[] = [];
  for (const { rule } of rules) {
    if ((rule.resources ?? []).length > 0) {
      const r: Record<string, string[]> = { verbs: rule.verbs };
      if (rule.apiGroups?.length) r["apiGroups"] = rule.apiGroups;
      r["resources"] = rule.resources ?? [];
      if (rule.resourceNames?.length) r["resourceNames"] = rule.resourceNames;
      resourceRules.push(r);
    }
    if ((rule.nonResourceURLs ?? []).length > 0) {
      nonResourceRules.push({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs ?? [] });
    }
  }
  const status: Record<string, unknown> = { resourceRules, nonResourceRules, incomplete: false };
  if (errors.length > 0) status["evaluationError"] = errors.join(", ");
  return {
    kind: "SelfSubjectRulesReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null } as unknown as KubeObject["metadata"],
    spec,
    status,
  };
}

/** The audience the apiserver's tokens carry when none is asked for (--api-audiences). */
export const DEFAULT_AUDIENCE = "https://kubernetes.default.svc.cluster.local";
/** TokenRequestSpec's default expirationSeconds. */
export const DEFAULT_TOKEN_SECONDS = 3600;

/** POST .../serviceaccounts/NAME/token: a token for an existing ServiceAccount. */
export function tokenRequest(
  deps: { store: Store; clock: SimClock; tokens: TokenAuthenticator },
  namespace: string,
  name: string,
  body: KubeObject,
): KubeObject {
  const sa = deps.store.get(SERVICE_ACCOUNTS, namespace, name);
  if (!sa) throw notFound("", "serviceaccounts", name);
  const spec = specOf(body);
  const asked = spec["expirationSeconds"];
  const seconds = typeof asked === "number" ? asked : DEFAULT_TOKEN_SECONDS;
  // pkg/apis/authentication/validation: ValidateTokenRequest.
  if (seconds < 600 || seconds > 2 ** 32) {
    const message =
      seconds < 600
        ? "may not specify a duration less than 10 minutes"
        : "may not specify a duration larger than 2^32 seconds";
    throw invalid("authentication.k8s.io", "TokenRequest", name, [
      {
        reason: "FieldValueInvalid",
        field: "spec.expirationSeconds",
        message: `Invalid value: ${String(seconds)}: ${message}`,
      },
    ]);
  }
  const audiences =
    Array.isArray(spec["audiences"]) && spec["audiences"].length > 0
      ? spec["audiences"]
      : [DEFAULT_AUDIENCE];
  const issued = deps.tokens.issue(namespace, name, sa.metadata.uid ?? "", seconds);
  return {
    kind: "TokenRequest",
    apiVersion: "authentication.k8s.io/v1",
    metadata: { name, namespace, creationTimestamp: formatTimestamp(deps.clock.nowMs()) },
    spec: { audiences, expirationSeconds: seconds, boundObjectRef: spec["boundObjectRef"] ?? null },
    status: { token: issued.token, expirationTimestamp: formatTimestamp(issued.expiresMs) },
  };
}
