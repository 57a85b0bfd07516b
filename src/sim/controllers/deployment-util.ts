/**
 * The pure parts of the deployment controller, on plain objects: rollout arithmetic (maxSurge,
 * maxUnavailable, how far to scale), revision bookkeeping, annotations, status and conditions.
 * Sources (kubernetes/kubernetes): pkg/controller/deployment/util/deployment_util.go,
 * pkg/controller/deployment/sync.go (calculateStatus, scale), progress.go (syncRolloutStatus).
 */
import { formatTimestamp } from "../types.ts";
import type { Condition, DeploymentStatus, DeploymentView, ReplicaSetView } from "./kube.ts";
import { byCreation } from "./kube.ts";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const REVISION_HISTORY_ANNOTATION = "deployment.kubernetes.io/revision-history";
export const DESIRED_REPLICAS_ANNOTATION = "deployment.kubernetes.io/desired-replicas";
export const MAX_REPLICAS_ANNOTATION = "deployment.kubernetes.io/max-replicas";
export const LAST_APPLIED_ANNOTATION = "kubectl.kubernetes.io/last-applied-configuration";
export const DEPRECATED_ROLLBACK_TO = "deprecated.deployment.rollback.to";
/** maxRevHistoryLengthInChars in pkg/controller/deployment/sync.go */
export const MAX_REV_HISTORY_CHARS = 2000;

/** Condition reasons (deployment_util.go constants). */
export const Reasons = {
  NewReplicaSetCreated: "NewReplicaSetCreated",
  FoundNewReplicaSet: "FoundNewReplicaSet",
  ReplicaSetUpdated: "ReplicaSetUpdated",
  NewReplicaSetAvailable: "NewReplicaSetAvailable",
  ProgressDeadlineExceeded: "ProgressDeadlineExceeded",
  ReplicaSetCreateError: "ReplicaSetCreateError",
  DeploymentPaused: "DeploymentPaused",
  DeploymentResumed: "DeploymentResumed",
  MinimumReplicasAvailable: "MinimumReplicasAvailable",
  MinimumReplicasUnavailable: "MinimumReplicasUnavailable",
} as const;

const SKIPPED_ANNOTATIONS = new Set([
  LAST_APPLIED_ANNOTATION,
  REVISION_ANNOTATION,
  REVISION_HISTORY_ANNOTATION,
  DESIRED_REPLICAS_ANNOTATION,
  MAX_REPLICAS_ANNOTATION,
  DEPRECATED_ROLLBACK_TO,
]);

/** skipCopyAnnotation: annotations the controller never copies from a Deployment to its ReplicaSets. */
export function isSkippedAnnotation(key: string): boolean {
  return SKIPPED_ANNOTATIONS.has(key);
}

export function replicasOf(o: { spec: { replicas?: number } }): number {
  return o.spec.replicas ?? 1;
}

export function rsReplicas(rs: ReplicaSetView | undefined): number {
  return rs?.spec.replicas ?? 0;
}

/**
 * intstr.GetScaledValueFromIntOrPercent: an integer, or "N%" of total rounded up or down.
 * Throws on a malformed percentage, as the controller errors out.
 */
export function scaledValue(
  v: number | string | undefined,
  total: number,
  roundUp: boolean,
): number {
  if (v === undefined) return 0;
  if (typeof v === "number") return v;
  const m = /^(\d+)%$/.exec(v);
  if (!m) {
    if (/^\d+$/.test(v)) return Number(v);
    throw new Error(`invalid value for IntOrString: invalid type: string is not a percentage`);
  }
  const pct = Number(m[1]);
  return roundUp ? Math.ceil((pct * total) / 100) : Math.floor((pct * total) / 100);
}

/** ResolveFenceposts: surge rounds up, unavailable rounds down; both 0 means unavailable 1. */
export function resolveFenceposts(
  maxSurge: number | string | undefined,
  maxUnavailable: number | string | undefined,
  desired: number,
): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? "25%", desired, true);
  let unavailable = scaledValue(maxUnavailable ?? "25%", desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

export function isRollingUpdate(d: DeploymentView): boolean {
  return (d.spec.strategy?.type ?? "RollingUpdate") === "RollingUpdate";
}

/** MaxUnavailable: 0 for Recreate or zero replicas; never more than replicas. */
export function maxUnavailable(d: DeploymentView): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  const { unavailable } = resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicas);
  return Math.min(unavailable, replicas);
}

/** MaxSurge: 0 for Recreate. */
export function maxSurge(d: DeploymentView): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicasOf(d)).surge;
}

/** Revision: the revision annotation as an integer; missing or malformed counts as 0. */
export function revisionOf(rs: { metadata: { annotations?: Record<string, string> } }): number {
  const v = rs.metadata.annotations?.[REVISION_ANNOTATION];
  if (v === undefined || !/^-?\d+$/.test(v)) return 0;
  return Number(v);
}

export function maxRevision(rss: ReplicaSetView[]): number {
  return rss.reduce((m, rs) => Math.max(m, revisionOf(rs)), 0);
}

export const sumSpec = (rss: (ReplicaSetView | undefined)[]): number =>
  rss.reduce((n, rs) => n + rsReplicas(rs), 0);
export const sumStatus = (
  rss: (ReplicaSetView | undefined)[],
  field: "replicas" | "readyReplicas" | "availableReplicas",
): number => rss.reduce((n, rs) => n + (rs?.status?.[field] ?? 0), 0);

/** controller.FilterActiveReplicaSets: ReplicaSets with spec.replicas > 0. */
export function activeReplicaSets(rss: (ReplicaSetView | undefined)[]): ReplicaSetView[] {
  return rss.filter((rs): rs is ReplicaSetView => rs !== undefined && rsReplicas(rs) > 0);
}

/** NewRSNewReplicas: how many replicas the new ReplicaSet may have now. */
export function newRSNewReplicas(
  d: DeploymentView,
  allRSs: (ReplicaSetView | undefined)[],
  newRSReplicas: number,
): number {
  const replicas = replicasOf(d);
  if (!isRollingUpdate(d)) return replicas;
  if (newRSReplicas === replicas) return newRSReplicas;
  const maxTotal = replicas + maxSurge(d);
  const current = sumSpec(allRSs);
  if (current >= maxTotal) return newRSReplicas;
  const scaleUp = Math.min(maxTotal - current, replicas - newRSReplicas);
  return newRSReplicas + scaleUp;
}

/** SetReplicasAnnotations: desired-replicas and max-replicas; returns whether they changed. */
export function setReplicasAnnotations(
  annotations: Record<string, string>,
  desired: number,
  max: number,
): boolean {
  let changed = false;
  if (annotations[DESIRED_REPLICAS_ANNOTATION] !== String(desired)) {
    annotations[DESIRED_REPLICAS_ANNOTATION] = String(desired);
    changed = true;
  }
  if (annotations[MAX_REPLICAS_ANNOTATION] !== String(max)) {
    annotations[MAX_REPLICAS_ANNOTATION] = String(max);
    changed = true;
  }
  return changed;
}

/**
 * SetNewReplicaSetAnnotations: copies the Deployment's annotations (except the skipped ones), sets
 * the revision when it is lower than newRevision and, when an existing revision is replaced (a
 * rollback to this ReplicaSet), appends the old number to revision-history (capped at 2000 chars,
 * oldest dropped). Mutates `annotations`; returns whether anything changed.
 */
export function setNewReplicaSetAnnotations(
  d: DeploymentView,
  annotations: Record<string, string>,
  newRevision: number,
  exists: boolean,
): boolean {
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (isSkippedAnnotation(k) || annotations[k] === v) continue;
    annotations[k] = v;
    changed = true;
  }
  const had = Object.hasOwn(annotations, REVISION_ANNOTATION);
  const oldRevision = annotations[REVISION_ANNOTATION] ?? "";
  let oldInt = 0;
  if (oldRevision !== "") {
    if (!/^-?\d+$/.test(oldRevision)) return false;
    oldInt = Number(oldRevision);
  }
  if (oldInt < newRevision) {
    annotations[REVISION_ANNOTATION] = String(newRevision);
    changed = true;
  }
  if (had && oldInt < newRevision) appendRevisionHistory(annotations, oldRevision);
  const replicas = replicasOf(d);
  if (!exists && setReplicasAnnotations(annotations, replicas, replicas + maxSurge(d)))
    changed = true;
  return changed;
}

function appendRevisionHistory(annotations: Record<string, string>, oldRevision: string): void {
  const history = annotations[REVISION_HISTORY_ANNOTATION] ?? "";
  const old = history.split(",");
  if ((old[0] ?? "").length === 0) {
    annotations[REVISION_HISTORY_ANNOTATION] = oldRevision;
    return;
  }
  let total = history.length + oldRevision.length + 1;
  let start = 0;
  while (total > MAX_REV_HISTORY_CHARS && start < old.length) {
    total -= (old[start] ?? "").length + 1;
    start++;
  }
  if (total <= MAX_REV_HISTORY_CHARS)
    annotations[REVISION_HISTORY_ANNOTATION] = [...old.slice(start), oldRevision].join(",");
}

export function hasProgressDeadline(d: DeploymentView): boolean {
  const s = d.spec.progressDeadlineSeconds;
  return s !== undefined && s !== 2147483647;
}

export function getCondition(
  status: DeploymentStatus | undefined,
  type: string,
): Condition | undefined {
  return status?.conditions?.find(c => c.type === type);
}

export function newCondition(
  type: string,
  status: Condition["status"],
  reason: string,
  message: string,
  nowMs: number,
): Condition {
  const t = formatTimestamp(nowMs);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/** SetDeploymentCondition: no-op for the same status and reason; keeps lastTransitionTime when the status holds. */
export function setCondition(status: DeploymentStatus, c: Condition): void {
  const current = getCondition(status, c.type);
  if (current?.status === c.status && current.reason === c.reason) return;
  const next = { ...c };
  if (current?.status === c.status && current.lastTransitionTime !== undefined)
    next.lastTransitionTime = current.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter(x => x.type !== c.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (status.conditions === undefined) return;
  status.conditions = status.conditions.filter(c => c.type !== type);
}

/** calculateStatus (sync.go): counts from the ReplicaSets plus the Available condition. */
export function calculateStatus(
  allRSs: (ReplicaSetView | undefined)[],
  newRS: ReplicaSetView | undefined,
  d: DeploymentView,
  nowMs: number,
): DeploymentStatus {
  const available = sumStatus(allRSs, "availableReplicas");
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sumStatus(allRSs, "replicas"),
    updatedReplicas: sumStatus([newRS], "replicas"),
    readyReplicas: sumStatus(allRSs, "readyReplicas"),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, sumSpec(allRSs) - available),
  };
  if (d.status?.collisionCount !== undefined) status.collisionCount = d.status.collisionCount;
  status.conditions = (d.status?.conditions ?? []).map(c => ({ ...c }));
  if (available >= replicasOf(d) - maxUnavailable(d)) {
    setCondition(
      status,
      newCondition(
        "Available",
        "True",
        Reasons.MinimumReplicasAvailable,
        "Deployment has minimum availability.",
        nowMs,
      ),
    );
  } else {
    setCondition(
      status,
      newCondition(
        "Available",
        "False",
        Reasons.MinimumReplicasUnavailable,
        "Deployment does not have minimum availability.",
        nowMs,
      ),
    );
  }
  return status;
}

/** DeploymentComplete */
export function isComplete(d: DeploymentView, s: DeploymentStatus): boolean {
  const r = replicasOf(d);
  return (
    (s.updatedReplicas ?? 0) === r &&
    (s.replicas ?? 0) === r &&
    (s.availableReplicas ?? 0) === r &&
    (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0)
  );
}

/** DeploymentProgressing: more updated, fewer old, more ready or more available replicas. */
export function isProgressing(d: DeploymentView, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (
    (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) ||
    newOld < oldOld ||
    (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) ||
    (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0)
  );
}

/** DeploymentTimedOut: the Progressing condition's lastUpdateTime + deadline is before now. */
export function isTimedOut(d: DeploymentView, s: DeploymentStatus, nowMs: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const c = getCondition(s, "Progressing");
  if (c === undefined || c.reason === Reasons.NewReplicaSetAvailable) return false;
  if (c.reason === Reasons.ProgressDeadlineExceeded) return true;
  const from = c.lastUpdateTime !== undefined ? Date.parse(c.lastUpdateTime) : NaN;
  if (Number.isNaN(from)) return false;
  return from + (d.spec.progressDeadlineSeconds ?? 600) * 1000 < nowMs;
}

/**
 * syncRolloutStatus's computation (progress.go): the next status with the Progressing condition
 * advanced. Returns it with `requeueAfterMs` when the deadline should be checked again
 * (requeueStuckDeployment).
 */
export function rolloutStatus(
  allRSs: (ReplicaSetView | undefined)[],
  newRS: ReplicaSetView | undefined,
  d: DeploymentView,
  nowMs: number,
): { status: DeploymentStatus; requeueAfterMs?: number } {
  const s = calculateStatus(allRSs, newRS, d, nowMs);
  if (!hasProgressDeadline(d)) removeCondition(s, "Progressing");
  const current = getCondition(d.status, "Progressing");
  const completeAlready =
    s.replicas === s.updatedReplicas && current?.reason === Reasons.NewReplicaSetAvailable;
  const rsName = newRS?.metadata.name;
  const subject =
    rsName !== undefined ? `ReplicaSet "${rsName}"` : `Deployment "${d.metadata.name ?? ""}"`;
  if (hasProgressDeadline(d) && !completeAlready) {
    if (isComplete(d, s)) {
      setCondition(
        s,
        newCondition(
          "Progressing",
          "True",
          Reasons.NewReplicaSetAvailable,
          `${subject} has successfully progressed.`,
          nowMs,
        ),
      );
    } else if (isProgressing(d, s)) {
      const c = newCondition(
        "Progressing",
        "True",
        Reasons.ReplicaSetUpdated,
        `${subject} is progressing.`,
        nowMs,
      );
      if (current !== undefined) {
        if (current.status === "True" && current.lastTransitionTime !== undefined)
          c.lastTransitionTime = current.lastTransitionTime;
        removeCondition(s, "Progressing");
      }
      setCondition(s, c);
    } else if (isTimedOut(d, s, nowMs)) {
      setCondition(
        s,
        newCondition(
          "Progressing",
          "False",
          Reasons.ProgressDeadlineExceeded,
          `${subject} has timed out progressing.`,
          nowMs,
        ),
      );
    }
  }
  copyReplicaFailure(allRSs, newRS, s);
  const requeueAfterMs = stuckRequeue(d, s, nowMs);
  return requeueAfterMs === undefined ? { status: s } : { status: s, requeueAfterMs };
}

/** getReplicaFailures: the new (else any) ReplicaSet's ReplicaFailure condition, copied over. */
function copyReplicaFailure(
  allRSs: (ReplicaSetView | undefined)[],
  newRS: ReplicaSetView | undefined,
  s: DeploymentStatus,
): void {
  // The new ReplicaSet's failure wins over the old ones'.
  for (const rs of [newRS, ...allRSs]) {
    const c = rs?.status?.conditions?.find(x => x.type === "ReplicaFailure");
    if (c !== undefined) {
      setCondition(s, {
        type: "ReplicaFailure",
        status: c.status,
        lastUpdateTime: c.lastTransitionTime ?? "",
        lastTransitionTime: c.lastTransitionTime ?? "",
        reason: c.reason ?? "",
        message: c.message ?? "",
      });
      return;
    }
  }
  removeCondition(s, "ReplicaFailure");
}

/** requeueStuckDeployment: when to look at a rollout again to notice a missed deadline. */
function stuckRequeue(d: DeploymentView, s: DeploymentStatus, nowMs: number): number | undefined {
  const c = getCondition(s, "Progressing");
  if (!hasProgressDeadline(d) || c === undefined) return undefined;
  if (c.reason === Reasons.NewReplicaSetAvailable || c.reason === Reasons.ProgressDeadlineExceeded)
    return undefined;
  if (isComplete(d, s)) return undefined;
  const from = c.lastUpdateTime !== undefined ? Date.parse(c.lastUpdateTime) : nowMs;
  const after = from + (d.spec.progressDeadlineSeconds ?? 600) * 1000 - nowMs;
  // The controller requeues at once when less than a second is left, else a second past the deadline.
  return after < 1000 ? 0 : after + 1000;
}

/** FindNewReplicaSet: the oldest ReplicaSet whose template equals the Deployment's (ignoring the hash). */
export function findNewReplicaSet(
  rss: ReplicaSetView[],
  equal: (rs: ReplicaSetView) => boolean,
): ReplicaSetView | undefined {
  return [...rss].sort(byCreation).find(equal);
}

/** ReplicaSetsByRevision: by revision, then by creation. */
export function byRevision(a: ReplicaSetView, b: ReplicaSetView): number {
  const d = revisionOf(a) - revisionOf(b);
  return d !== 0 ? d : byCreation(a, b);
}

/** getReplicaSetFraction + GetProportion: an RS's share of a proportional scale. */
export function proportion(
  rs: ReplicaSetView,
  d: DeploymentView,
  toAdd: number,
  added: number,
): number {
  if (rsReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  let fraction: number;
  if (replicasOf(d) === 0) fraction = -rsReplicas(rs);
  else {
    const deploymentReplicas = replicasOf(d) + maxSurge(d);
    const annotated = Number(rs.metadata.annotations?.[MAX_REPLICAS_ANNOTATION] ?? NaN);
    const base = Number.isInteger(annotated) ? annotated : (d.status?.replicas ?? 0);
    fraction = Math.round((rsReplicas(rs) * deploymentReplicas) / base) - rsReplicas(rs);
  }
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}
