/**
 * RBAC policy rules: what a request is (its authorization attributes) and whether one rule allows
 * it, as kubernetes/kubernetes pkg/apis/rbac/v1/evaluation_helpers.go decides (VerbMatches,
 * APIGroupMatches, ResourceMatches, ResourceNameMatches, NonResourceURLMatches, RuleAllows in
 * plugin/pkg/auth/authorizer/rbac/rbac.go).
 */

/** An rbac.authorization.k8s.io/v1 PolicyRule. */
export interface PolicyRule {
  verbs: string[];
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  nonResourceURLs?: string[];
}

/** The authenticated user (k8s.io/apiserver/pkg/authentication/user.Info). */
export interface UserInfo {
  name: string;
  groups: string[];
  uid?: string;
}

/**
 * The authorizer's view of a request (k8s.io/apiserver/pkg/authorization/authorizer.AttributesRecord):
 * for resource requests the verb, group, resource, subresource, namespace and name; for the
 * others the path and the lower-cased HTTP method as the verb.
 */
export interface Attributes {
  user: UserInfo;
  verb: string;
  resourceRequest: boolean;
  /** Non-resource requests: the URL path. */
  path: string;
  apiGroup: string;
  apiVersion: string;
  resource: string;
  subresource: string;
  namespace: string;
  name: string;
}

/** The resource fields of a request, all unset (empty, as in AttributesRecord). */
const NO_RESOURCE = {
  apiGroup: "",
  apiVersion: "",
  resource: "",
  subresource: "",
  namespace: "",
  name: "",
} as const;

/** Attributes of a resource request; unset fields are empty as in AttributesRecord. */
export function resourceAttributes(
  user: UserInfo,
  fields: Partial<Omit<Attributes, "user" | "resourceRequest" | "path">> & { verb: string },
): Attributes {
  return { user, resourceRequest: true, path: "", ...NO_RESOURCE, ...fields };
}

export function nonResourceAttributes(user: UserInfo, verb: string, path: string): Attributes {
  return { user, verb, resourceRequest: false, path, ...NO_RESOURCE };
}

const ALL = "*";

export function verbMatches(rule: PolicyRule, verb: string): boolean {
  return rule.verbs.some(v => v === ALL || v === verb);
}

export function apiGroupMatches(rule: PolicyRule, group: string): boolean {
  return (rule.apiGroups ?? []).some(g => g === ALL || g === group);
}

/**
 * "*" matches every resource and subresource; "pods/log" matches exactly; "* /log" (written "*\/log")
 * matches that subresource of every resource.
 */
export function resourceMatches(rule: PolicyRule, combined: string, subresource: string): boolean {
  return (rule.resources ?? []).some(r => {
    if (r === ALL || r === combined) return true;
    if (subresource === "") return false;
    return r === `*/${subresource}`;
  });
}

/** An empty resourceNames list allows every name; otherwise the name must be listed ("" never is). */
export function resourceNameMatches(rule: PolicyRule, name: string): boolean {
  const names = rule.resourceNames ?? [];
  return names.length === 0 || names.includes(name);
}

/** "*" matches every path; "/apis/*" matches by prefix; anything else exactly. */
export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  return (rule.nonResourceURLs ?? []).some(u => {
    if (u === ALL || u === path) return true;
    return u.endsWith("*") && path.startsWith(u.replace(/\*+$/, ""));
  });
}

/** rbac.go RuleAllows. */
export function ruleAllows(attrs: Attributes, rule: PolicyRule): boolean {
  if (attrs.resourceRequest) {
    const combined =
      attrs.subresource === "" ? attrs.resource : `${attrs.resource}/${attrs.subresource}`;
    return (
      verbMatches(rule, attrs.verb) &&
      apiGroupMatches(rule, attrs.apiGroup) &&
      resourceMatches(rule, combined, attrs.subresource) &&
      resourceNameMatches(rule, attrs.name)
    );
  }
  return verbMatches(rule, attrs.verb) && nonResourceURLMatches(rule, attrs.path);
}

/** Reads the rules of a Role or ClusterRole object, tolerating missing lists. */
export function rulesOf(role: { [field: string]: unknown }): PolicyRule[] {
  const rules = role["rules"];
  if (!Array.isArray(rules)) return [];
  return rules.map((r: unknown) => {
    const raw = (r ?? {}) as Record<string, unknown>;
    const list = (key: string): string[] | undefined => {
      const v = raw[key];
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : undefined;
    };
    const rule: PolicyRule = { verbs: list("verbs") ?? [] };
    const apiGroups = list("apiGroups");
    const resources = list("resources");
    const resourceNames = list("resourceNames");
    const nonResourceURLs = list("nonResourceURLs");
    if (apiGroups) rule.apiGroups = apiGroups;
    if (resources) rule.resources = resources;
    if (resourceNames) rule.resourceNames = resourceNames;
    if (nonResourceURLs) rule.nonResourceURLs = nonResourceURLs;
    return rule;
  });
}
