/**
 * What the controllers share: the resources they touch, the identities they write with, local
 * views of the kinds they read (narrowed from KubeObject), label selector matching, and owner
 * references.
 */
import { ApiError } from "../errors.ts";
import type { Actor, GVR, KubeObject, OwnerReference } from "../types.ts";

export const PODS: GVR = { group: "", version: "v1", resource: "pods" };
export const NODES: GVR = { group: "", version: "v1", resource: "nodes" };
export const NAMESPACES: GVR = { group: "", version: "v1", resource: "namespaces" };
export const EVENTS: GVR = { group: "", version: "v1", resource: "events" };
export const CONFIGMAPS: GVR = { group: "", version: "v1", resource: "configmaps" };
export const SECRETS: GVR = { group: "", version: "v1", resource: "secrets" };
export const SERVICEACCOUNTS: GVR = { group: "", version: "v1", resource: "serviceaccounts" };
export const DEPLOYMENTS: GVR = { group: "apps", version: "v1", resource: "deployments" };
export const REPLICASETS: GVR = { group: "apps", version: "v1", resource: "replicasets" };
export const STATEFULSETS: GVR = { group: "apps", version: "v1", resource: "statefulsets" };
export const DAEMONSETS: GVR = { group: "apps", version: "v1", resource: "daemonsets" };
export const CONTROLLERREVISIONS: GVR = {
  group: "apps",
  version: "v1",
  resource: "controllerrevisions",
};

const KCM_AGENT = "kube-controller-manager/v1.32.4 (linux/amd64) kubernetes/sim";

/** A kube-controller-manager controller's identity (its service account, as with --use-service-account-credentials). */
export function controllerActor(serviceAccount: string): Actor {
  return {
    user: `system:serviceaccount:kube-system:${serviceAccount}`,
    groups: [
      "system:serviceaccounts",
      "system:serviceaccounts:kube-system",
      "system:authenticated",
    ],
    userAgent: `${KCM_AGENT}/${serviceAccount}`,
    manager: "kube-controller-manager",
  };
}

export function kubeletActor(node: string): Actor {
  return {
    user: `system:node:${node}`,
    groups: ["system:nodes", "system:authenticated"],
    userAgent: "kubelet/v1.32.4 (linux/amd64) kubernetes/sim",
    manager: "kubelet",
  };
}

export const SCHEDULER_ACTOR: Actor = {
  user: "system:kube-scheduler",
  groups: ["system:authenticated"],
  userAgent: "kube-scheduler/v1.32.4 (linux/amd64) kubernetes/sim/scheduler",
  manager: "kube-scheduler",
};

export interface LabelSelectorRequirement {
  key: string;
  operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason?: string;
  message?: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
}

export interface ReplicaSetView extends KubeObject {
  spec: {
    replicas?: number;
    minReadySeconds?: number;
    selector: LabelSelector;
    template: PodTemplate;
  };
  status?: {
    replicas?: number;
    fullyLabeledReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    observedGeneration?: number;
    conditions?: Condition[];
  };
}

export interface DeploymentView extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplate;
    strategy?: {
      type?: "RollingUpdate" | "Recreate";
      rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string };
    };
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    progressDeadlineSeconds?: number;
    paused?: boolean;
  };
  status?: DeploymentStatus;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: Condition[];
}

export interface StatefulSetView extends KubeObject {
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplate;
    serviceName?: string;
    podManagementPolicy?: "OrderedReady" | "Parallel";
    updateStrategy?: {
      type?: "RollingUpdate" | "OnDelete";
      rollingUpdate?: { partition?: number; maxUnavailable?: number | string };
    };
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
    ordinals?: { start?: number };
    volumeClaimTemplates?: { metadata?: { name?: string } }[];
  };
  status?: StatefulSetStatus;
}

export interface StatefulSetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
  conditions?: Condition[];
}

export interface DaemonSetView extends KubeObject {
  spec: {
    selector: LabelSelector;
    template: PodTemplate;
    updateStrategy?: {
      type?: "RollingUpdate" | "OnDelete";
      rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string };
    };
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
  };
  status?: DaemonSetStatus;
}

export interface DaemonSetStatus {
  currentNumberScheduled?: number;
  numberMisscheduled?: number;
  desiredNumberScheduled?: number;
  numberReady?: number;
  observedGeneration?: number;
  updatedNumberScheduled?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  collisionCount?: number;
  conditions?: Condition[];
}

export interface ControllerRevisionView extends KubeObject {
  data?: unknown;
  revision: number;
}

/** Does a LabelSelector object match these labels (metav1.LabelSelectorAsSelector semantics)? */
export function selectorMatches(
  selector: LabelSelector | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (selector === undefined) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const r of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(l, r.key);
    const value = l[r.key] ?? "";
    const values = r.values ?? [];
    if (r.operator === "In" && !(has && values.includes(value))) return false;
    if (r.operator === "NotIn" && has && values.includes(value)) return false;
    if (r.operator === "Exists" && !has) return false;
    if (r.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** An empty selector (`{}`) selects everything; the deployment controller refuses it. */
export function isEmptySelector(selector: LabelSelector | undefined): boolean {
  return (
    selector !== undefined &&
    Object.keys(selector.matchLabels ?? {}).length === 0 &&
    (selector.matchExpressions ?? []).length === 0
  );
}

/** metav1.GetControllerOf */
export function controllerOf(object: KubeObject): OwnerReference | undefined {
  return object.metadata.ownerReferences?.find(r => r.controller === true);
}

/** metav1.IsControlledBy: a controller reference with the owner's uid. */
export function isControlledBy(object: KubeObject, owner: KubeObject): boolean {
  const ref = controllerOf(object);
  return ref !== undefined && ref.uid === owner.metadata.uid;
}

/** metav1.NewControllerRef */
export function controllerRef(owner: KubeObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name ?? "",
    uid: owner.metadata.uid ?? "",
    controller: true,
    blockOwnerDeletion: true,
  };
}

export function isApiError(err: unknown, code?: number): err is ApiError {
  return err instanceof ApiError && (code === undefined || err.code === code);
}

export function isConflict(err: unknown): boolean {
  return isApiError(err, 409) && err.reason === "Conflict";
}

export function isNotFound(err: unknown): boolean {
  return isApiError(err, 404);
}

export function isAlreadyExists(err: unknown): boolean {
  return isApiError(err, 409) && err.reason === "AlreadyExists";
}

/** `namespace/name` (or `name` for cluster-scoped objects): the work queue key. */
export function keyOf(object: KubeObject): string {
  const ns = object.metadata.namespace;
  return ns === undefined || ns === ""
    ? (object.metadata.name ?? "")
    : `${ns}/${object.metadata.name ?? ""}`;
}

export function splitKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf("/");
  return i < 0
    ? { namespace: undefined, name: key }
    : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

/** The Ready condition of a pod, if any. */
export function podReadyCondition(pod: KubeObject): Condition | undefined {
  const status = pod["status"] as { conditions?: Condition[] } | undefined;
  return status?.conditions?.find(c => c.type === "Ready");
}

export function podPhase(pod: KubeObject): string | undefined {
  return (pod["status"] as { phase?: string } | undefined)?.phase;
}

export function isPodReady(pod: KubeObject): boolean {
  return podReadyCondition(pod)?.status === "True";
}

/**
 * podutil.IsPodAvailable: ready, and ready for at least minReadySeconds
 * (pkg/api/v1/pod/util.go: lastTransitionTime + minReadySeconds <= now).
 */
export function isPodAvailable(pod: KubeObject, minReadySeconds: number, nowMs: number): boolean {
  const ready = podReadyCondition(pod);
  if (ready?.status !== "True") return false;
  if (minReadySeconds === 0) return true;
  const since = ready.lastTransitionTime !== undefined ? Date.parse(ready.lastTransitionTime) : NaN;
  return !Number.isNaN(since) && since + minReadySeconds * 1000 <= nowMs;
}

/** controller.IsPodActive: not terminal and not being deleted. */
export function isPodActive(pod: KubeObject): boolean {
  const phase = podPhase(pod);
  return (
    phase !== "Succeeded" && phase !== "Failed" && pod.metadata.deletionTimestamp === undefined
  );
}

export function creationMs(o: KubeObject): number {
  const t = o.metadata.creationTimestamp;
  return t === undefined ? 0 : Date.parse(t);
}

/** controller.ReplicaSetsByCreationTimestamp: oldest first, ties by name. */
export function byCreation<T extends KubeObject>(a: T, b: T): number {
  const d = creationMs(a) - creationMs(b);
  if (d !== 0) return d;
  const an = a.metadata.name ?? "";
  const bn = b.metadata.name ?? "";
  return an < bn ? -1 : an > bn ? 1 : 0;
}
