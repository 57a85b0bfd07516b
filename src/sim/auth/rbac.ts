/**
 * The RBAC authorizer, pure over the store's Roles, ClusterRoles, RoleBindings and
 * ClusterRoleBindings (kubernetes/kubernetes plugin/pkg/auth/authorizer/rbac/rbac.go: Authorize,
 * RulesFor; pkg/registry/rbac/validation/rule.go: DefaultRuleResolver.VisitRulesFor,
 * appliesToUser, describeSubject). In front of it, as in kube-apiserver's authorizer union, the
 * privileged-group authorizer allows everything to members of system:masters.
 */
import { notFound } from "../errors.ts";
import type { KubeObject, Store } from "../types.ts";
import {
  clusterRole,
  clusterRoleBindings,
  RBAC_GROUP,
  ROLE_BINDINGS,
  ROLES,
  SYSTEM_MASTERS,
} from "./policy.ts";
import { ruleAllows, rulesOf } from "./rules.ts";
import type { Attributes, PolicyRule, UserInfo } from "./rules.ts";

export { RBAC_GROUP, SYSTEM_MASTERS } from "./policy.ts";

export interface Subject {
  kind: string;
  name: string;
  namespace?: string;
  apiGroup?: string;
}

export interface RoleRef {
  apiGroup: string;
  kind: string;
  name: string;
}

/** A rule together with the binding that grants it, for the "allowed by" reason. */
export interface SourcedRule {
  rule: PolicyRule;
  source: string;
}

export interface Decision {
  allowed: boolean;
  /** "RBAC: allowed by ..." when allowed; "RBAC: <errors>" when denied with resolution errors. */
  reason: string;
}

const SA_PREFIX = "system:serviceaccount:";

export function serviceAccountUsername(namespace: string, name: string): string {
  return `${SA_PREFIX}${namespace}:${name}`;
}

/** rule.go appliesToUser; a ServiceAccount subject without namespace takes the binding's. */
export function appliesTo(user: UserInfo, subject: Subject, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case "User":
      return user.name === subject.name;
    case "Group":
      return user.groups.includes(subject.name);
    case "ServiceAccount": {
      const ns =
        subject.namespace !== undefined && subject.namespace !== ""
          ? subject.namespace
          : bindingNamespace;
      if (ns === "") return false;
      return user.name === serviceAccountUsername(ns, subject.name);
    }
    default:
      return false;
  }
}

/** rule.go describeSubject. */
function describeSubject(subject: Subject, bindingNamespace: string): string {
  if (subject.kind === "ServiceAccount") {
    const ns =
      subject.namespace !== undefined && subject.namespace !== ""
        ? subject.namespace
        : bindingNamespace;
    return `${subject.kind} ${JSON.stringify(`${subject.name}/${ns}`)}`;
  }
  return `${subject.kind} ${JSON.stringify(subject.name)}`;
}

function subjectsOf(binding: KubeObject): Subject[] {
  const s = binding["subjects"];
  return Array.isArray(s) ? (s as Subject[]) : [];
}

export function roleRefOf(binding: KubeObject): RoleRef {
  const ref = (binding["roleRef"] ?? {}) as Partial<RoleRef>;
  return { apiGroup: ref.apiGroup ?? "", kind: ref.kind ?? "", name: ref.name ?? "" };
}

/**
 * The rules a roleRef points at. Missing roles are the authorizer's lister errors
 * ("clusterrole.rbac.authorization.k8s.io "x" not found"), which the deny reason reports.
 */
function referencedRules(
  store: Store,
  ref: RoleRef,
  namespace: string,
): { rules: PolicyRule[]; error?: string } {
  if (ref.kind === "ClusterRole") {
    const role = clusterRole(store, ref.name);
    if (!role) return { rules: [], error: `clusterrole.${RBAC_GROUP} "${ref.name}" not found` };
    return { rules: rulesOf(role) };
  }
  if (ref.kind === "Role") {
    const role = store.get(ROLES, namespace, ref.name);
    if (!role) return { rules: [], error: `role.${RBAC_GROUP} "${ref.name}" not found` };
    return { rules: rulesOf(role) };
  }
  return { rules: [], error: `unsupported role reference kind: "${ref.kind}"` };
}

/**
 * The role a binding would reference, as the registry reads it for escalation checks
 * (rule.go GetRoleReferenceRules): a missing role is a 404 of the registry.
 */
export function roleReferenceRules(store: Store, ref: RoleRef, namespace: string): PolicyRule[] {
  if (ref.kind === "ClusterRole") {
    const role = clusterRole(store, ref.name);
    if (!role) throw notFound(RBAC_GROUP, "clusterroles", ref.name);
    return rulesOf(role);
  }
  const role = store.get(ROLES, namespace, ref.name);
  if (!role) throw notFound(RBAC_GROUP, "roles", ref.name);
  return rulesOf(role);
}

/**
 * VisitRulesFor: every rule granted to the user by ClusterRoleBindings, and, when a namespace is
 * given, by RoleBindings in it; plus the errors met on the way.
 */
export function rulesFor(
  store: Store,
  user: UserInfo,
  namespace: string,
): { rules: SourcedRule[]; errors: string[] } {
  const rules: SourcedRule[] = [];
  const errors: string[] = [];
  for (const binding of clusterRoleBindings(store)) {
    const subject = subjectsOf(binding).find(s => appliesTo(user, s, ""));
    if (!subject) continue;
    const ref = roleRefOf(binding);
    const found = referencedRules(store, ref, "");
    if (found.error !== undefined) errors.push(found.error);
    const source = `ClusterRoleBinding ${JSON.stringify(binding.metadata.name ?? "")} of ${ref.kind} ${JSON.stringify(ref.name)} to ${describeSubject(subject, "")}`;
    for (const rule of found.rules) rules.push({ rule, source });
  }
  if (namespace === "") return { rules, errors };
  for (const binding of store.list(ROLE_BINDINGS, { namespace }).items) {
    const subject = subjectsOf(binding).find(s => appliesTo(user, s, namespace));
    if (!subject) continue;
    const ref = roleRefOf(binding);
    const found = referencedRules(store, ref, namespace);
    if (found.error !== undefined) errors.push(found.error);
    const id = `${binding.metadata.name ?? ""}/${namespace}`;
    const source = `RoleBinding ${JSON.stringify(id)} of ${ref.kind} ${JSON.stringify(ref.name)} to ${describeSubject(subject, namespace)}`;
    for (const rule of found.rules) rules.push({ rule, source });
  }
  return { rules, errors };
}

/** utilerrors.NewAggregate(...).Error(): one error alone, several as "[a, b]". */
function aggregate(errors: readonly string[]): string {
  return errors.length === 1 ? (errors[0] ?? "") : `[${errors.join(", ")}]`;
}

/** The authorizer union: system:masters first, then RBAC (rbac.go Authorize). */
export function authorize(store: Store, attrs: Attributes): Decision {
  if (attrs.user.groups.includes(SYSTEM_MASTERS)) return { allowed: true, reason: "" };
  const { rules, errors } = rulesFor(store, attrs.user, attrs.namespace);
  const hit = rules.find(r => ruleAllows(attrs, r.rule));
  if (hit) return { allowed: true, reason: `RBAC: allowed by ${hit.source}` };
  return { allowed: false, reason: errors.length > 0 ? `RBAC: ${aggregate(errors)}` : "" };
}
