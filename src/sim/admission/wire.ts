/**
 * What a built-in object looks like after the apiserver decodes it into its Go type and encodes it
 * again: integer fields tagged `json:",omitempty"` that hold 0 disappear. For the workload status
 * counts this is visible to every client (a scaled-down ReplicaSet has no readyReplicas, a healthy
 * Deployment no unavailableReplicas). Fields from k8s.io/api apps/v1 types.go DeploymentStatus and
 * ReplicaSetStatus; ReplicaSetStatus.replicas has no omitempty and stays, and the pointer
 * DeploymentStatus.collisionCount keeps a 0.
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
  "apps/replicasets": [
    "fullyLabeledReplicas",
    "readyReplicas",
    "availableReplicas",
    "observedGeneration",
    "terminatingReplicas",
  ],
};

/** Drops the zero-valued omitempty status counts of apps/v1 Deployments and ReplicaSets. */
export function dropOmittedZeros(gvr: GVR, object: KubeObject): void {
  const fields = OMIT_ZERO[`${gvr.group}/${gvr.resource}`];
  const status = object.status;
  if (fields === undefined || typeof status !== "object" || status === null) return;
  object.status = Object.fromEntries(
    Object.entries(status).filter(([key, value]) => !(value === 0 && fields.includes(key))),
  );
}
