/**
 * What the operator needs of RBAC, derived from its code rather than from the YAML: every request
 * the Kubernetes adapter (src/kube/client.ts) sends is a client-node call whose API object and
 * method name say the API group, the verb and the resource. The e2e suite compares this with what
 * the real authorizer grants the operator's ServiceAccount (`kubectl auth can-i --list`) and with
 * what the operator actually sent (the API server's audit log).
 */

export interface Need {
  /** "" for the core group. */
  group: string;
  /** The resource, with its subresource: "pods/log", "rollbackdrills/status". */
  resource: string;
  verb: string;
}

export const needKey = (n: Need): string =>
  `${n.verb} ${n.resource}${n.group === "" ? "" : `.${n.group}`}`;

/** client-node's API objects, as the adapter names them, and their groups. */
const API_GROUPS: Readonly<Record<string, string>> = {
  core: "",
  apps: "apps",
  rbac: "rbac.authorization.k8s.io",
  net: "networking.k8s.io",
  coordination: "coordination.k8s.io",
  // The adapter's CustomObjectsApi touches one kind of custom object: drills.
  custom: "rollbackdrill.io",
};

const VERBS: Readonly<Record<string, string>> = {
  read: "get",
  get: "get",
  list: "list",
  create: "create",
  delete: "delete",
  patch: "patch",
  replace: "update",
};

function plural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith("y")) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** "readNamespacedPodLog" -> get pods/log; "replaceNamespacedCustomObjectStatus" -> update drills/status. */
export function needOf(api: string, method: string): Need {
  const group = API_GROUPS[api];
  const m =
    /^(read|get|list|create|delete|patch|replace)(Namespaced|Cluster)?(\w+?)(ForAllNamespaces)?$/.exec(
      method,
    );
  const verb = m === null ? undefined : VERBS[m[1] ?? ""];
  if (group === undefined || m === null || verb === undefined)
    throw new Error(`cannot tell the RBAC need of ${api}.${method}`);
  let kind = m[3] ?? "";
  let sub = "";
  if (kind.endsWith("Status")) {
    kind = kind.slice(0, -"Status".length);
    sub = "/status";
  } else if (kind === "PodLog") {
    kind = "Pod";
    sub = "/log";
  }
  const resource = api === "custom" ? "rollbackdrills" : plural(kind);
  return { group, resource: `${resource}${sub}`, verb };
}

/**
 * Every request in the adapter's source. A LIST feeds an informer, which then watches the same
 * collection. Creating a RoleBinding to the sandbox ClusterRole, whose rules the operator does not
 * hold itself, needs `bind` on that role (RBAC's escalation check).
 */
export function adapterNeeds(source: string): Need[] {
  const found = new Map<string, Need>();
  const add = (n: Need): void => {
    found.set(needKey(n), n);
  };
  for (const m of source.matchAll(/\b(core|apps|custom|rbac|net|coordination)\.(\w+)\(/g)) {
    const need = needOf(m[1] ?? "", m[2] ?? "");
    add(need);
    if (need.verb === "list") add({ ...need, verb: "watch" });
    if (need.verb === "create" && need.resource === "rolebindings")
      add({ group: "rbac.authorization.k8s.io", resource: "clusterroles", verb: "bind" });
  }
  return [...found.values()].sort((a, b) => needKey(a).localeCompare(needKey(b)));
}

/** The rows of `kubectl auth can-i --list` that grant resource verbs (non-resource URLs dropped). */
export function parseCanIList(table: string): Need[] {
  const needs: Need[] = [];
  for (const line of table.split("\n").slice(1)) {
    const m = /^(\S+)\s+(\[[^\]]*\])\s+(\[[^\]]*\])\s+\[([^\]]*)\]\s*$/.exec(line.trim());
    if (m === null) continue;
    const [name = "", nonResource = "[]"] = [m[1], m[2]];
    if (nonResource !== "[]") continue;
    // kubectl prints resource[.group][/subresource], e.g. rollbackdrills.rollbackdrill.io/status.
    const slash = name.indexOf("/");
    const qualified = slash === -1 ? name : name.slice(0, slash);
    const subresource = slash === -1 ? "" : name.slice(slash);
    const dot = qualified.indexOf(".");
    const resource = (dot === -1 ? qualified : qualified.slice(0, dot)) + subresource;
    const group = dot === -1 ? "" : qualified.slice(dot + 1);
    for (const verb of (m[4] ?? "").split(" ").filter(v => v !== ""))
      needs.push({ group, resource, verb });
  }
  return needs;
}

/** What every authenticated user may do (system:basic-user and friends): not the operator's. */
export const EVERYONE = new Set([
  "create selfsubjectreviews.authentication.k8s.io",
  "create selfsubjectaccessreviews.authorization.k8s.io",
  "create selfsubjectrulesreviews.authorization.k8s.io",
]);
