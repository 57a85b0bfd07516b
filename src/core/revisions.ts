/**
 * Revision history exactly as `kubectl rollout undo` reads it (k8s.io/kubectl pkg/polymorphichelpers/rollback.go, DeploymentRollbacker): the
 * ReplicaSets controlled by the Deployment (controller ownerReference with its uid), their
 * revision from the `deployment.kubernetes.io/revision` annotation (missing: 0; unparsable:
 * skipped), `--to-revision=0` meaning the highest revision below the current one.
 */
import type { DeploymentView, PodTemplateSpec, ReplicaSetView } from "./observed.ts";

export const REVISION_ANNOTATION = "deployment.kubernetes.io/revision";
export const POD_TEMPLATE_HASH = "pod-template-hash";

/** The annotations `kubectl rollout undo` never copies from the ReplicaSet. */
export const ANNOTATIONS_TO_SKIP: readonly string[] = [
  "kubectl.kubernetes.io/last-applied-configuration",
  "deployment.kubernetes.io/revision",
  "deployment.kubernetes.io/revision-history",
  "deployment.kubernetes.io/desired-replicas",
  "deployment.kubernetes.io/max-replicas",
  "deprecated.deployment.rollback.to",
];

/** A revision: its number, its ReplicaSet, and that ReplicaSet's pod-template-hash. */
export interface Revision {
  revision: number;
  replicaSet: ReplicaSetView;
  hash: string | undefined;
}

/** The revision annotation as kubectl parses it: missing is 0, unparsable is undefined (skipped). */
export function revisionOf(annotations: Record<string, string> | undefined): number | undefined {
  const raw = annotations?.[REVISION_ANNOTATION];
  if (raw === undefined) return 0;
  if (!/^-?\d+$/.test(raw.trim())) return undefined;
  return Number(raw.trim());
}

export function templateHashOf(rs: ReplicaSetView): string | undefined {
  return (
    rs.metadata.labels?.[POD_TEMPLATE_HASH] ??
    rs.spec.template.metadata?.labels?.[POD_TEMPLATE_HASH]
  );
}

/** ReplicaSets controlled by the Deployment, with their revisions, highest first. */
export function ownedRevisions(
  deployment: DeploymentView,
  replicaSets: readonly ReplicaSetView[],
): Revision[] {
  const uid = deployment.metadata.uid;
  const out: Revision[] = [];
  for (const rs of replicaSets) {
    const controlled =
      rs.metadata.ownerReferences?.some(o => o.controller === true && o.uid === uid) ?? false;
    if (!controlled || uid === undefined) continue;
    const revision = revisionOf(rs.metadata.annotations);
    if (revision === undefined) continue;
    out.push({ revision, replicaSet: rs, hash: templateHashOf(rs) });
  }
  return out.sort((a, b) => b.revision - a.revision);
}

/**
 * How many revisions `kubectl rollout undo --to-revision` could reach from the current one: the
 * Deployment's other ReplicaSets whose template differs from the current template (an equal one
 * would be skipped, not rolled back to). 0 when there is no history at all.
 */
export function revisionsAvailable(
  deployment: DeploymentView,
  replicaSets: readonly ReplicaSetView[],
): number {
  const resolved = resolveRevisions(deployment, replicaSets, 0);
  if (!resolved.ok) return 0;
  const current = resolved.current;
  return ownedRevisions(deployment, replicaSets).filter(
    r =>
      r.revision !== current.revision &&
      !equalIgnoreHash(r.replicaSet.spec.template, current.replicaSet.spec.template),
  ).length;
}

export type Resolution =
  | { ok: true; current: Revision; target: Revision; revisions: number[] }
  | {
      ok: false;
      kind: "NoHistory" | "NotFound" | "SameTemplate";
      message: string;
      revisions: number[];
    };

/** How to keep a workload's history, for the messages of a resolution that found none. */
export function keepHistory(kind: string): string {
  return `keep revisionHistoryLimit >= 2 on the ${kind} (the default is 10) so a previous revision exists to roll back to`;
}

const KEEP_HISTORY = keepHistory("Deployment");

/** Revision numbers for a message, lowest first ("none" for none). */
export function listed(revisions: readonly number[]): string {
  return revisions.length === 0 ? "none" : [...revisions].sort((a, b) => a - b).join(", ");
}

/** kubectl's "unable to find specified revision" for any kind, with what to do about it. */
export function revisionNotFoundMessage(
  toRevision: number,
  revisions: readonly number[],
  kind: string,
): string {
  return `unable to find specified revision ${toRevision} in history (existing revisions: ${listed(revisions)}): set spec.toRevision to one of them or 0 for the previous one, and ${keepHistory(kind)}.`;
}

/** kubectl's "skipped rollback" for any kind (resource as kubectl names it: "deployment"). */
export function skippedRollbackMessage(
  resource: string,
  name: string,
  toRevision: number,
  target: number,
  revisions: readonly number[],
): string {
  return `kubectl rollout undo would print "skipped rollback (current template already matches revision ${toRevision})" for ${resource} "${name}": revision ${target} is the current template, so there is nothing to roll back to; set spec.toRevision to an earlier revision (existing: ${listed(revisions)}) or 0.`;
}

/**
 * The current revision N (the Deployment's own annotation; else the highest owned) and the
 * rollback target M, as kubectl picks it. A target whose template already equals the current one
 * is refused: kubectl would print "skipped rollback" and change nothing, so there is nothing to
 * rehearse, and a real incident's undo would leave the broken version running.
 */
export function resolveRevisions(
  deployment: DeploymentView,
  replicaSets: readonly ReplicaSetView[],
  toRevision: number,
): Resolution {
  const owned = ownedRevisions(deployment, replicaSets);
  const revisions = owned.map(r => r.revision);
  const name = deployment.metadata.name;
  const annotated = revisionOf(deployment.metadata.annotations);
  const current =
    owned.find(r => annotated !== undefined && annotated > 0 && r.revision === annotated) ??
    owned.find(r => equalIgnoreHash(r.replicaSet.spec.template, deployment.spec.template)) ??
    owned[0];
  const limit = deployment.spec.revisionHistoryLimit;
  if (current === undefined || owned.length < 2) {
    const why =
      limit === 0
        ? "revisionHistoryLimit is 0, so old ReplicaSets are deleted"
        : `only revision ${listed(revisions)} exists`;
    return {
      ok: false,
      kind: "NoHistory",
      revisions,
      message: `no rollout history found for deployment "${name}" (${why}): ${KEEP_HISTORY}.`,
    };
  }
  let target: Revision | undefined;
  if (toRevision === 0) {
    target = owned.find(r => r.revision < current.revision);
    if (target === undefined)
      return {
        ok: false,
        kind: "NoHistory",
        revisions,
        message: `no rollout history found for deployment "${name}" (no revision below ${current.revision}; existing: ${listed(revisions)}): ${KEEP_HISTORY}.`,
      };
  } else {
    target = owned.find(r => r.revision === toRevision);
    if (target === undefined)
      return {
        ok: false,
        kind: "NotFound",
        revisions,
        message: revisionNotFoundMessage(toRevision, revisions, "Deployment"),
      };
  }
  if (
    target === current ||
    equalIgnoreHash(target.replicaSet.spec.template, current.replicaSet.spec.template)
  )
    return {
      ok: false,
      kind: "SameTemplate",
      revisions,
      message: skippedRollbackMessage("deployment", name, toRevision, target.revision, revisions),
    };
  return { ok: true, current, target, revisions };
}

/** The template without the pod-template-hash label, as kubectl compares and copies it. */
export function withoutHash(template: PodTemplateSpec): PodTemplateSpec {
  const labels = { ...(template.metadata?.labels ?? {}) };
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a label key, not a property name
  delete labels[POD_TEMPLATE_HASH];
  return { ...template, metadata: { ...(template.metadata ?? {}), labels } };
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === "object") return Object.keys(value).length === 0;
  return false;
}

/** apimachinery's Semantic.DeepEqual for JSON: nil and empty maps/slices are equal. */
export function semanticEqual(a: unknown, b: unknown): boolean {
  if (isEmpty(a) && isEmpty(b)) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => semanticEqual(item, b[i]));
  }
  if (typeof a === "object" && typeof b === "object" && a !== null && b !== null) {
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    const keys = new Set([...Object.keys(left), ...Object.keys(right)]);
    return [...keys].every(k => semanticEqual(left[k], right[k]));
  }
  return a === b;
}

/** kubectl's equalIgnoreHash: equal once both lose the pod-template-hash label. */
export function equalIgnoreHash(a: PodTemplateSpec, b: PodTemplateSpec): boolean {
  return semanticEqual(withoutHash(a), withoutHash(b));
}
