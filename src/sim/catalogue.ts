/**
 * The resource catalogue: the built-in kinds the simulator serves, as discovery shows them on a
 * v1.32 apiserver (names, short names, categories, verbs, subresources), plus the simulator's own
 * groups, and each resource's write strategy (generation, status subresource isolation).
 */
import { SIM_GROUP, SIM_RESOURCES } from "./contract.ts";
import type { Actor, GVR, KubeObject, ResourceCatalogue, ResourceInfo, Store } from "./types.ts";

export const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];
const NO_COLLECTION_DELETE = ["create", "delete", "get", "list", "patch", "update", "watch"];

/** The simulator's own API group (FaultRule and the world's kinds), as its contract names it. */
export { SIM_GROUP } from "./contract.ts";
/** The read-only audit log group. */
export const AUDIT_GROUP = "audit.sim.rollbackdrill.io";

interface Spec {
  group: string;
  version?: string;
  resource: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  subresources?: string[];
  scale?: boolean;
}

function info(spec: Spec): ResourceInfo {
  const out: ResourceInfo = {
    group: spec.group,
    version: spec.version ?? "v1",
    resource: spec.resource,
    singular: spec.kind.toLowerCase(),
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    namespaced: spec.namespaced,
    verbs: spec.verbs ?? ALL_VERBS,
    subresources: spec.subresources ?? [],
  };
  if (spec.shortNames) out.shortNames = spec.shortNames;
  if (spec.categories) out.categories = spec.categories;
  if (spec.scale) out.scale = { group: "autoscaling", version: "v1", kind: "Scale" };
  return out;
}

const CREATE_ONLY = ["create"];

/** Built-in resources, as `kubectl api-resources` lists them on v1.32. */
function builtins(): ResourceInfo[] {
  const ns = true;
  const cluster = false;
  return [...coreBuiltins(ns, cluster), ...groupBuiltins(ns, cluster)];
}

function coreBuiltins(ns: boolean, cluster: boolean): ResourceInfo[] {
  return [
    info({
      group: "",
      resource: "namespaces",
      kind: "Namespace",
      namespaced: cluster,
      shortNames: ["ns"],
      verbs: NO_COLLECTION_DELETE,
      subresources: ["status", "finalize"],
    }),
    info({
      group: "",
      resource: "pods",
      kind: "Pod",
      namespaced: ns,
      shortNames: ["po"],
      categories: ["all"],
      subresources: ["status", "log"],
    }),
    info({ group: "", resource: "events", kind: "Event", namespaced: ns, shortNames: ["ev"] }),
    info({
      group: "",
      resource: "configmaps",
      kind: "ConfigMap",
      namespaced: ns,
      shortNames: ["cm"],
    }),
    info({ group: "", resource: "secrets", kind: "Secret", namespaced: ns }),
    info({
      group: "",
      resource: "serviceaccounts",
      kind: "ServiceAccount",
      namespaced: ns,
      shortNames: ["sa"],
    }),
    info({
      group: "",
      resource: "services",
      kind: "Service",
      namespaced: ns,
      shortNames: ["svc"],
      categories: ["all"],
      subresources: ["status"],
    }),
    info({
      group: "",
      resource: "nodes",
      kind: "Node",
      namespaced: cluster,
      shortNames: ["no"],
      subresources: ["status"],
    }),
    info({
      group: "",
      resource: "resourcequotas",
      kind: "ResourceQuota",
      namespaced: ns,
      shortNames: ["quota"],
      subresources: ["status"],
    }),
    info({
      group: "",
      resource: "limitranges",
      kind: "LimitRange",
      namespaced: ns,
      shortNames: ["limits"],
    }),
  ];
}

function groupBuiltins(ns: boolean, cluster: boolean): ResourceInfo[] {
  return [
    info({
      group: "apps",
      resource: "deployments",
      kind: "Deployment",
      namespaced: ns,
      shortNames: ["deploy"],
      categories: ["all"],
      subresources: ["status", "scale"],
      scale: true,
    }),
    info({
      group: "apps",
      resource: "replicasets",
      kind: "ReplicaSet",
      namespaced: ns,
      shortNames: ["rs"],
      categories: ["all"],
      subresources: ["status", "scale"],
      scale: true,
    }),
    info({
      group: "apps",
      resource: "statefulsets",
      kind: "StatefulSet",
      namespaced: ns,
      shortNames: ["sts"],
      categories: ["all"],
      subresources: ["status", "scale"],
      scale: true,
    }),
    info({
      group: "apps",
      resource: "daemonsets",
      kind: "DaemonSet",
      namespaced: ns,
      shortNames: ["ds"],
      categories: ["all"],
      subresources: ["status"],
    }),
    info({
      group: "apps",
      resource: "controllerrevisions",
      kind: "ControllerRevision",
      namespaced: ns,
    }),
    info({
      group: "events.k8s.io",
      resource: "events",
      kind: "Event",
      namespaced: ns,
      shortNames: ["ev"],
    }),
    info({
      group: "networking.k8s.io",
      resource: "networkpolicies",
      kind: "NetworkPolicy",
      namespaced: ns,
      shortNames: ["netpol"],
    }),
    info({ group: "coordination.k8s.io", resource: "leases", kind: "Lease", namespaced: ns }),
    info({
      group: "apiextensions.k8s.io",
      resource: "customresourcedefinitions",
      kind: "CustomResourceDefinition",
      namespaced: cluster,
      shortNames: ["crd", "crds"],
      subresources: ["status"],
    }),
    info({
      group: "authorization.k8s.io",
      resource: "selfsubjectaccessreviews",
      kind: "SelfSubjectAccessReview",
      namespaced: cluster,
      verbs: CREATE_ONLY,
    }),
    info({
      group: "authorization.k8s.io",
      resource: "selfsubjectrulesreviews",
      kind: "SelfSubjectRulesReview",
      namespaced: cluster,
      verbs: CREATE_ONLY,
    }),
    info({
      group: "authorization.k8s.io",
      resource: "subjectaccessreviews",
      kind: "SubjectAccessReview",
      namespaced: cluster,
      verbs: CREATE_ONLY,
    }),
    info({ group: "rbac.authorization.k8s.io", resource: "roles", kind: "Role", namespaced: ns }),
    info({
      group: "rbac.authorization.k8s.io",
      resource: "rolebindings",
      kind: "RoleBinding",
      namespaced: ns,
    }),
    info({
      group: "rbac.authorization.k8s.io",
      resource: "clusterroles",
      kind: "ClusterRole",
      namespaced: cluster,
    }),
    info({
      group: "rbac.authorization.k8s.io",
      resource: "clusterrolebindings",
      kind: "ClusterRoleBinding",
      namespaced: cluster,
    }),
    info({ group: SIM_GROUP, ...SIM_RESOURCES.faultRules, namespaced: cluster }),
    info({
      group: AUDIT_GROUP,
      resource: "auditevents",
      kind: "AuditEvent",
      namespaced: cluster,
      verbs: ["get", "list"],
    }),
  ];
}

function gvrKey(gvr: GVR): string {
  return `${gvr.group}/${gvr.version}/${gvr.resource}`;
}

/** Creates a catalogue holding the built-in kinds; CRD-served kinds are registered later. */
export function createCatalogue(): ResourceCatalogue {
  const byKey = new Map<string, ResourceInfo>();
  const catalogue: ResourceCatalogue = {
    all: () => [...byKey.values()].map(i => structuredClone(i)),
    byGVR: gvr => byKey.get(gvrKey(gvr)),
    byKind: (group, version, kind) =>
      [...byKey.values()].find(i => i.group === group && i.version === version && i.kind === kind),
    register: i => {
      byKey.set(gvrKey(i), i);
    },
    unregister: gvr => {
      byKey.delete(gvrKey(gvr));
    },
  };
  for (const i of builtins()) catalogue.register(i);
  return catalogue;
}

/** Resources whose storage is `<group>/<resource>` regardless of version (all versions share objects). */
export function storageKey(gvr: { group: string; resource: string }): string {
  return `${gvr.group}/${gvr.resource}`;
}

/** How writes to a resource behave: the parts of its registry strategy the store applies. */
export interface WriteStrategy {
  /** metadata.generation is set to 1 on create and bumped on spec changes. */
  generation: boolean;
  /** Which top-level fields, when changed, bump generation ("*" = everything but metadata and status). */
  generationFields: "spec" | "spec+annotations" | "nonMetadata";
  /** The main endpoint ignores status and /status changes only status. */
  statusSubresource: boolean;
  /** A custom resource: /status takes only status from the request; PUT needs a resourceVersion. */
  custom: boolean;
  /** Labels are reset to the old ones on /status writes (Deployments). */
  statusResetsLabels: boolean;
}

const GENERATION_SPEC = new Set([
  "apps/replicasets",
  "apps/statefulsets",
  "apps/daemonsets",
  "apiextensions.k8s.io/customresourcedefinitions",
  "networking.k8s.io/networkpolicies",
]);

/**
 * Per-resource write strategy. Sources: pkg/registry/apps/deployment/strategy.go (PrepareForUpdate:
 * spec or annotations bump generation; status strategy resets spec and labels),
 * pkg/registry/apps/replicaset/strategy.go, pkg/registry/apps/statefulset/strategy.go (spec changes
 * bump generation), pkg/registry/apps/daemonset/strategy.go (so do a DaemonSet's),
 * pkg/registry/networking/networkpolicy/strategy.go,
 * apiextensions-apiserver/pkg/registry/customresource/strategy.go (copyNonMetadata).
 */
export function writeStrategy(i: ResourceInfo): WriteStrategy {
  const key = storageKey(i);
  const custom = i.crd !== undefined || i.group === SIM_GROUP;
  const statusSubresource = i.subresources.includes("status");
  if (key === "apps/deployments") {
    return {
      generation: true,
      generationFields: "spec+annotations",
      statusSubresource,
      custom,
      statusResetsLabels: true,
    };
  }
  if (custom) {
    return {
      generation: true,
      generationFields: "nonMetadata",
      statusSubresource,
      custom,
      statusResetsLabels: false,
    };
  }
  return {
    generation: GENERATION_SPEC.has(key),
    generationFields: "spec",
    statusSubresource,
    custom,
    statusResetsLabels: false,
  };
}

const CRD_GVR: GVR = {
  group: "apiextensions.k8s.io",
  version: "v1",
  resource: "customresourcedefinitions",
};

function condition(
  type: string,
  reason: string,
  message: string,
  time: string,
): Record<string, string> {
  return { type, status: "True", lastTransitionTime: time, reason, message };
}

/**
 * Serves the resources of every CustomResourceDefinition in the store, as the apiextensions-apiserver
 * does: registers them in the catalogue and marks the CRD NamesAccepted and Established
 * (apiextensions-apiserver/pkg/controller/establish, status/naming_controller.go); a deleted CRD's
 * resources stop being served. Returns a function that stops watching.
 */
export function serveCrds(
  store: Store,
  catalogue: ResourceCatalogue,
  infosOf: (crd: KubeObject) => ResourceInfo[],
  nowIso: () => string,
): () => void {
  const served = new Map<string, ResourceInfo[]>();
  const actor: Actor = {
    user: "system:apiserver",
    manager: "kube-apiserver",
    userAgent: "kube-apiserver/v1.32.4",
  };
  const sync = (crd: KubeObject, deleted: boolean): void => {
    const name = crd.metadata.name ?? "";
    for (const i of served.get(name) ?? []) catalogue.unregister(i);
    served.delete(name);
    if (deleted) return;
    const infos = infosOf(crd).map(i => ({ ...i, crd }));
    for (const i of infos) catalogue.register(i);
    served.set(name, infos);
    const status = (crd["status"] ?? {}) as { conditions?: { type: string; status: string }[] };
    if (status.conditions?.some(c => c.type === "Established" && c.status === "True")) return;
    const spec = (crd["spec"] ?? {}) as {
      names?: unknown;
      versions?: { name: string; storage?: boolean }[];
    };
    const time = nowIso();
    const next = structuredClone(crd);
    next["status"] = {
      conditions: [
        condition("NamesAccepted", "NoConflicts", "no conflicts found", time),
        condition(
          "Established",
          "InitialNamesAccepted",
          "the initial names have been accepted",
          time,
        ),
      ],
      acceptedNames: spec.names ?? {},
      storedVersions: (spec.versions ?? []).filter(v => v.storage).map(v => v.name),
    };
    store.update(CRD_GVR, next, actor, { subresource: "status" });
  };
  for (const crd of store.list(CRD_GVR).items) sync(crd, false);
  return store.subscribe(event => {
    if (event.gvr.group !== CRD_GVR.group || event.gvr.resource !== CRD_GVR.resource) return;
    sync(event.object, event.type === "DELETED");
  });
}
