/**
 * Whether one set of rules covers another, for escalation prevention: a user may only grant the
 * permissions they hold (kubernetes/kubernetes pkg/registry/rbac/validation/policy_comparator.go:
 * Covers, BreakdownRule, ruleCovers; policy_compact.go: CompactRules; and
 * pkg/apis/rbac/v1/evaluation_helpers.go: CompactString for the error message).
 */
import type { PolicyRule } from "./rules.ts";

const ALL = "*";

/** One rule per (group, resource, verb[, resourceName]) and per (nonResourceURL, verb). */
export function breakdownRule(rule: PolicyRule): PolicyRule[] {
  const out: PolicyRule[] = [];
  const names = rule.resourceNames ?? [];
  for (const group of rule.apiGroups ?? []) {
    for (const resource of rule.resources ?? []) {
      for (const verb of rule.verbs) {
        if (names.length === 0) {
          out.push({ apiGroups: [group], resources: [resource], verbs: [verb] });
        }
        for (const name of names) {
          out.push({
            apiGroups: [group],
            resources: [resource],
            verbs: [verb],
            resourceNames: [name],
          });
        }
      }
    }
  }
  for (const url of rule.nonResourceURLs ?? []) {
    for (const verb of rule.verbs) out.push({ nonResourceURLs: [url], verbs: [verb] });
  }
  return out;
}

function hasAll(set: readonly string[], wanted: readonly string[]): boolean {
  return wanted.every(w => set.includes(w));
}

function resourcesCover(owner: readonly string[], wanted: readonly string[]): boolean {
  if (owner.includes(ALL) || hasAll(owner, wanted)) return true;
  return wanted.every(path => {
    if (owner.includes(path)) return true;
    const slash = path.indexOf("/");
    if (slash < 0) return false;
    return owner.includes(`*/${path.slice(slash + 1)}`);
  });
}

function urlCovers(owner: string, wanted: string): boolean {
  if (owner === wanted) return true;
  return owner.endsWith("*") && wanted.startsWith(owner.replace(/\*+$/, ""));
}

/** policy_comparator.go ruleCovers: owner may hold many values; sub holds one of each at most. */
export function ruleCovers(owner: PolicyRule, sub: PolicyRule): boolean {
  const verbs = owner.verbs.includes(ALL) || hasAll(owner.verbs, sub.verbs);
  const ownerGroups = owner.apiGroups ?? [];
  const groups = ownerGroups.includes(ALL) || hasAll(ownerGroups, sub.apiGroups ?? []);
  const resources = resourcesCover(owner.resources ?? [], sub.resources ?? []);
  const urls = (sub.nonResourceURLs ?? []).every(w =>
    (owner.nonResourceURLs ?? []).some(o => urlCovers(o, w)),
  );
  const ownerNames = owner.resourceNames ?? [];
  const subNames = sub.resourceNames ?? [];
  const names =
    subNames.length === 0
      ? ownerNames.length === 0
      : ownerNames.length === 0 || hasAll(ownerNames, subNames);
  return verbs && groups && resources && names && urls;
}

/** Covers: whether `owner` holds every permission in `wanted`, and the broken-down rules it lacks. */
export function covers(
  owner: readonly PolicyRule[],
  wanted: readonly PolicyRule[],
): { covered: boolean; missing: PolicyRule[] } {
  const missing = wanted
    .flatMap(breakdownRule)
    .filter(sub => !owner.some(rule => ruleCovers(rule, sub)));
  return { covered: missing.length === 0, missing };
}

/** CompactRules: simple rules (one group, one resource, at most one name) merge their verbs. */
export function compactRules(rules: readonly PolicyRule[]): PolicyRule[] {
  const compacted: PolicyRule[] = [];
  const simple = new Map<string, PolicyRule>();
  for (const rule of rules) {
    const names = rule.resourceNames ?? [];
    const isSimple =
      names.length <= 1 &&
      (rule.nonResourceURLs ?? []).length === 0 &&
      rule.apiGroups?.length === 1 &&
      rule.resources?.length === 1;
    if (!isSimple) {
      compacted.push(rule);
      continue;
    }
    const key = JSON.stringify([rule.apiGroups, rule.resources, names]);
    const existing = simple.get(key);
    if (existing) existing.verbs.push(...rule.verbs);
    else simple.set(key, { ...rule, verbs: [...rule.verbs] });
  }
  return [...compacted, ...simple.values()];
}

/** Go's %q of a []string: ["a" "b"]. */
function goQuoted(list: readonly string[]): string {
  return `[${list.map(s => JSON.stringify(s)).join(" ")}]`;
}

/** CompactString: `{APIGroups:["apps"], Resources:["deployments"], Verbs:["get"]}`. */
export function compactString(rule: PolicyRule): string {
  const parts: string[] = [];
  const add = (label: string, list: readonly string[] | undefined): void => {
    if (list && list.length > 0) parts.push(`${label}:${goQuoted(list)}`);
  };
  add("APIGroups", rule.apiGroups);
  add("Resources", rule.resources);
  add("NonResourceURLs", rule.nonResourceURLs);
  add("ResourceNames", rule.resourceNames);
  add("Verbs", rule.verbs);
  return `{${parts.join(", ")}}`;
}

/** Go's %q of a []string, exported for messages that quote a user's groups. */
export { goQuoted };
