/**
 * The default policy kube-apiserver creates at start (kubernetes/kubernetes
 * plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go: ClusterRoles, ClusterRoleBindings):
 * cluster-admin for system:masters, discovery and the public info (health, version) for every
 * authenticated user, and the self reviews `kubectl auth can-i` uses (system:basic-user).
 * The aggregated admin/edit/view roles are not created.
 *
 * Objects the store refuses (its admission may reject the "system:" names) still take effect:
 * the authorizer reads the store's objects and, for names the store lacks, these defaults.
 */
import { ApiError } from "../errors.ts";
import type { Actor, GVR, KubeObject, Store } from "../types.ts";
import type { PolicyRule } from "./rules.ts";

export const RBAC_GROUP = "rbac.authorization.k8s.io";
export const SYSTEM_MASTERS = "system:masters";

const gvr = (resource: string): GVR => ({ group: RBAC_GROUP, version: "v1", resource });
export const ROLES = gvr("roles");
export const CLUSTER_ROLES = gvr("clusterroles");
export const ROLE_BINDINGS = gvr("rolebindings");
export const CLUSTER_ROLE_BINDINGS = gvr("clusterrolebindings");

const META = {
  labels: { "kubernetes.io/bootstrapping": "rbac-defaults" },
  annotations: { "rbac.authorization.kubernetes.io/autoupdate": "true" },
};

const DEFAULT_ROLES: Record<string, PolicyRule[]> = {
  "cluster-admin": [
    { apiGroups: ["*"], resources: ["*"], verbs: ["*"] },
    { nonResourceURLs: ["*"], verbs: ["*"] },
  ],
  "system:discovery": [
    {
      nonResourceURLs: [
        "/api",
        "/api/*",
        "/apis",
        "/apis/*",
        "/healthz",
        "/livez",
        "/openapi",
        "/openapi/*",
        "/readyz",
        "/version",
        "/version/",
      ],
      verbs: ["get"],
    },
  ],
  "system:public-info-viewer": [
    { nonResourceURLs: ["/healthz", "/livez", "/readyz", "/version", "/version/"], verbs: ["get"] },
  ],
  "system:basic-user": [
    {
      apiGroups: ["authorization.k8s.io"],
      resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
      verbs: ["create"],
    },
    { apiGroups: ["authentication.k8s.io"], resources: ["selfsubjectreviews"], verbs: ["create"] },
  ],
};

const DEFAULT_BINDINGS: Record<string, string[]> = {
  "cluster-admin": [SYSTEM_MASTERS],
  "system:discovery": ["system:authenticated"],
  "system:public-info-viewer": ["system:authenticated", "system:unauthenticated"],
  "system:basic-user": ["system:authenticated"],
};

/** The bootstrap ClusterRoles and ClusterRoleBindings as objects. */
export function bootstrapPolicy(): { roles: KubeObject[]; bindings: KubeObject[] } {
  const apiVersion = `${RBAC_GROUP}/v1`;
  const roles = Object.entries(DEFAULT_ROLES).map(([name, rules]) => ({
    apiVersion,
    kind: "ClusterRole",
    metadata: { name, ...structuredClone(META) },
    rules: structuredClone(rules),
  }));
  const bindings = Object.entries(DEFAULT_BINDINGS).map(([name, groups]) => ({
    apiVersion,
    kind: "ClusterRoleBinding",
    metadata: { name, ...structuredClone(META) },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name },
    subjects: groups.map(group => ({ apiGroup: RBAC_GROUP, kind: "Group", name: group })),
  }));
  return { roles, bindings };
}

const DEFAULTS = bootstrapPolicy();

function tryCreate(store: Store, gvr: GVR, object: KubeObject, actor: Actor): void {
  try {
    store.create(gvr, object, actor);
  } catch (err) {
    // 409: already there; 422: a name the store's admission refuses (see above).
    if (!(err instanceof ApiError) || (err.code !== 409 && err.code !== 422)) throw err;
  }
}

/** Creates the bootstrap policy in the store (what the apiserver's rbac post-start hook does). */
export function createBootstrapPolicy(store: Store, actor: Actor): void {
  for (const role of DEFAULTS.roles) tryCreate(store, CLUSTER_ROLES, role, actor);
  for (const binding of DEFAULTS.bindings) {
    tryCreate(store, CLUSTER_ROLE_BINDINGS, binding, actor);
  }
}

function overlay(stored: KubeObject[], defaults: KubeObject[]): KubeObject[] {
  const names = new Set(stored.map(o => o.metadata.name));
  return [...stored, ...defaults.filter(d => !names.has(d.metadata.name))];
}

/** The ClusterRoleBindings in effect: the store's, plus defaults the store lacks. */
export function clusterRoleBindings(store: Store): KubeObject[] {
  return overlay(store.list(CLUSTER_ROLE_BINDINGS).items, DEFAULTS.bindings);
}

/** A ClusterRole in effect: the store's, or a default the store lacks. */
export function clusterRole(store: Store, name: string): KubeObject | undefined {
  return (
    store.get(CLUSTER_ROLES, undefined, name) ?? DEFAULTS.roles.find(r => r.metadata.name === name)
  );
}
