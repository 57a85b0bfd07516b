/**
 * What a built-in object looks like after the apiserver decodes it into its Go type and encodes it
 * again: integer fields tagged `json:",omitempty"` that hold 0 disappear. For the workload status
 * counts this is visible to every client (a scaled-down ReplicaSet has no readyReplicas, a healthy
 * Deployment no unavailableReplicas). Fields from k8s.io/api apps/v1 types.go DeploymentStatus and
 * ReplicaSetStatus; ReplicaSetStatus.replicas has no omitempty and stays, and the pointer
 * DeploymentStatus.collisionCount keeps a 0. StatefulSetStatus keeps replicas and
 * availableReplicas (no omitempty) and its pointer collisionCount; DaemonSetStatus keeps
 * currentNumberScheduled, numberMisscheduled, desiredNumberScheduled and numberReady.
 */
import type { GVR, KubeObject } from "../types.ts";

const OMIT_ZERO: Record<string, readonly string[]> = {
  "apps/deployments": [
    "observedGeneration",
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
    "terminatingReplicas",
  ],
  "apps/statefulsets": [
    "observedGeneration",
    "readyReplicas",
    "currentReplicas",
    "updatedReplicas",
  ],
  "apps/daemonsets": [
    "observedGeneration",
    "updatedNumberScheduled",
    "numberAvailable",
    "numberUnavailable",
  ],
  "apps/replicasets": [
    "fullyLabeledReplicas",
    "readyReplicas",
    "availableReplicas",
    "observedGeneration",
    "terminatingReplicas",
  ],
};

/** Drops the zero-valued omitempty status counts of apps/v1 Deployments, ReplicaSets, StatefulSets. */
export function dropOmittedZeros(gvr: GVR, object: KubeObject): void {
  const fields = OMIT_ZERO[`${gvr.group}/${gvr.resource}`];
  const status = object.status;
  if (fields === undefined || typeof status !== "object" || status === null) return;
  object.status = Object.fromEntries(
    Object.entries(status).filter(([key, value]) => !(value === 0 && fields.includes(key))),
  );
}

/**
 * MicroTime fields of built-in types (metav1.MicroTime), which the apiserver decodes with Go's
 * RFC3339Micro layout: exactly six fractional digits, so a JavaScript Date's ISO string (three)
 * is refused before validation, with a 400.
 */
const MICRO_TIME: Record<string, { kind: string; version: string; paths: readonly string[][] }> = {
  "coordination.k8s.io/leases": {
    kind: "Lease",
    version: "v1",
    paths: [
      ["spec", "acquireTime"],
      ["spec", "renewTime"],
    ],
  },
  "/events": { kind: "Event", version: "v1", paths: [["eventTime"]] },
};
const RFC3339_MICRO = "2006-01-02T15:04:05.000000Z07:00";
const SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/;
const MICRO_REST = /^\.\d{6}(Z|[+-]\d{2}:\d{2})$/;

/** The decode error a real apiserver gives for a MicroTime without six fractional digits, if any. */
export function microTimeError(gvr: GVR, object: KubeObject): string | undefined {
  const fields = MICRO_TIME[`${gvr.group}/${gvr.resource}`];
  if (fields === undefined) return undefined;
  for (const path of fields.paths) {
    let value: unknown = object;
    for (const key of path)
      value =
        typeof value === "object" && value !== null
          ? (value as Record<string, unknown>)[key]
          : undefined;
    if (typeof value !== "string" || value === "") continue;
    const head = SECONDS.exec(value)?.[0];
    const rest = head === undefined ? value : value.slice(head.length);
    if (head !== undefined && MICRO_REST.test(rest)) continue;
    const what = `${fields.kind} in version "${fields.version}" cannot be handled as a ${fields.kind}`;
    const detail =
      head === undefined
        ? `cannot parse "${value}" as "2006"`
        : `cannot parse "${rest}" as ".000000"`;
    return `${what}: parsing time "${value}" as "${RFC3339_MICRO}": ${detail}`;
  }
  return undefined;
}

/**
 * metav1.Time fields of built-in types: the apiserver decodes any RFC 3339 time (fractional
 * seconds, an offset) and encodes it back in UTC at second precision, so a client that sends
 * milliseconds reads back whole seconds. MicroTime fields (above) are not among them.
 */
const TIME_KEYS = new Set([
  "creationTimestamp",
  "deletionTimestamp",
  "firstTimestamp",
  "lastTimestamp",
  "lastTransitionTime",
  "lastUpdateTime",
  "lastProbeTime",
  "lastHeartbeatTime",
  "startTime",
  "startedAt",
  "finishedAt",
  "expirationTimestamp",
]);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function secondsUtc(value: string): string | undefined {
  if (!RFC3339.test(value)) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return undefined;
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** Rewrites a built-in object's metav1.Time values as the apiserver stores them. */
export function canonicalTimes(value: unknown, key?: string, inManagedFields = false): unknown {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++)
      value[i] = canonicalTimes(value[i], undefined, key === "managedFields");
    return value;
  }
  if (typeof value === "string") {
    const isTime = key !== undefined && (TIME_KEYS.has(key) || (inManagedFields && key === "time"));
    return isTime ? (secondsUtc(value) ?? value) : value;
  }
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(record)) {
    // Label and annotation values are the user's text, never times.
    if (k === "labels" || k === "annotations") continue;
    record[k] = canonicalTimes(v, k, inManagedFields);
  }
  return record;
}
