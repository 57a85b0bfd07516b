/**
 * A StatefulSet's history and undo exactly as `kubectl rollout undo statefulset/NAME` reads and
 * performs them (k8s.io/kubectl pkg/polymorphichelpers/rollback.go, StatefulSetRollbacker; its
 * history from history.go), its `kubectl rollout status` (rollout_status.go), and the traps of its
 * rollback that the StatefulSet controller (pkg/controller/statefulset) sets: OnDelete replaces no
 * pod, a partition leaves the ordinals below it alone, and OrderedReady waits for a broken pod to
 * become Ready before it replaces it. Pure: no I/O, no clock.
 */
import type { RollbackDrill } from "../api/types.ts";
import type { SetKind, StatefulSetManifest } from "./actions.ts";
import type {
  ControllerRevisionView,
  PodTemplateSpec,
  PodView,
  SetView,
  StatefulSetView,
  Volume,
} from "./objects.ts";
import {
  keepHistory,
  listed,
  revisionNotFoundMessage,
  semanticEqual,
  skippedRollbackMessage,
} from "./revisions.ts";
import { sandboxLabels, sandboxProgressDeadlineSeconds, sandboxTemplate } from "./sandbox.ts";
import type { ReadinessClone } from "./verdict.ts";

/**
 * The label a set's controller puts on each pod, naming its revision: a StatefulSet's pods carry
 * the ControllerRevision's name, a DaemonSet's the hash its ControllerRevision is named and
 * labelled by (`<set>-<hash>`, pkg/controller/daemon's snapshot).
 */
export const CONTROLLER_REVISION_HASH = "controller-revision-hash";

/** One revision of a set: its number, its ControllerRevision's name and the template. */
export interface SetRevision {
  revision: number;
  /** The ControllerRevision's name. */
  name: string;
  /** The value of its pods' controller-revision-hash label. */
  podLabel: string;
  /** Undefined when the ControllerRevision's data holds no template (then it cannot be rehearsed). */
  template: PodTemplateSpec | undefined;
  controllerRevision: ControllerRevisionView;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * The template a ControllerRevision restores: `data.spec.template` without the strategic merge
 * patch directive `$patch`. Undefined when the data is not of that shape.
 */
export function revisionTemplate(revision: ControllerRevisionView): PodTemplateSpec | undefined {
  const data = revision.data;
  if (!isRecord(data) || !isRecord(data.spec) || !isRecord(data.spec.template)) return undefined;
  const template = { ...data.spec.template };
  delete template.$patch;
  const spec = template.spec;
  if (!isRecord(spec) || !Array.isArray(spec.containers)) return undefined;
  return template as unknown as PodTemplateSpec;
}

/**
 * The ControllerRevisions controlled by the set (a controller ownerReference with its uid, as
 * metav1.IsControlledBy), highest revision first. The shell lists them by the set's selector, as
 * kubectl does.
 */
export function setRevisions(
  set: SetView,
  revisions: readonly ControllerRevisionView[],
  kind: SetKind = "StatefulSet",
): SetRevision[] {
  const uid = set.metadata.uid;
  if (uid === undefined) return [];
  const prefix = `${set.metadata.name}-`;
  const podLabel = (r: ControllerRevisionView): string =>
    kind === "StatefulSet"
      ? r.metadata.name
      : (r.metadata.labels?.[CONTROLLER_REVISION_HASH] ??
        (r.metadata.name.startsWith(prefix)
          ? r.metadata.name.slice(prefix.length)
          : r.metadata.name));
  return revisions
    .filter(r => r.metadata.ownerReferences?.some(o => o.controller === true && o.uid === uid))
    .map(r => ({
      revision: r.revision,
      name: r.metadata.name,
      podLabel: podLabel(r),
      template: revisionTemplate(r),
      controllerRevision: r,
    }))
    .sort((a, b) => b.revision - a.revision);
}

/** Whether two templates are the same revision: what kubectl's byte comparison of the patches amounts to. */
export function sameTemplate(a: PodTemplateSpec | undefined, b: PodTemplateSpec): boolean {
  return a !== undefined && semanticEqual(a, b);
}

export type SetResolution =
  | { ok: true; current: SetRevision; target: SetRevision; revisions: number[] }
  | {
      ok: false;
      kind: "NoHistory" | "NotFound" | "SameTemplate";
      message: string;
      revisions: number[];
    };

/**
 * The current revision N (the one whose template the set has now, else a StatefulSet's
 * status.updateRevision, else the highest) and the rollback target M as kubectl picks it, the same
 * for a StatefulSet and a DaemonSet: with `--to-revision=0` the second highest revision number
 * (not "the highest below N"), else the one numbered so. A target whose template is the set's own
 * is refused, as kubectl prints "skipped rollback" and changes nothing.
 */
export function resolveSetRevisions(
  set: SetView,
  controllerRevisions: readonly ControllerRevisionView[],
  toRevision: number,
  kind: SetKind = "StatefulSet",
): SetResolution {
  const owned = setRevisions(set, controllerRevisions, kind);
  const revisions = owned.map(r => r.revision);
  const name = set.metadata.name;
  const resource = kind.toLowerCase();
  const statefulSet: StatefulSetView = set;
  const updateRevision = kind === "StatefulSet" ? statefulSet.status?.updateRevision : undefined;
  const current =
    owned.find(r => sameTemplate(r.template, set.spec.template)) ??
    owned.find(r => r.name === updateRevision) ??
    owned[0];
  if (toRevision < 0)
    return {
      ok: false,
      kind: "NotFound",
      revisions,
      message: `unable to find specified revision ${toRevision} in history: spec.toRevision must be 0 (the previous revision) or one of ${listed(revisions)}.`,
    };
  if (current === undefined || (toRevision === 0 && owned.length <= 1)) {
    const why =
      set.spec.revisionHistoryLimit === 0
        ? "revisionHistoryLimit is 0, so old ControllerRevisions are deleted"
        : `only revision ${listed(revisions)} exists`;
    return {
      ok: false,
      kind: "NoHistory",
      revisions,
      message: `no last revision to roll back to for ${resource} "${name}" (${why}): ${keepHistory(kind)}.`,
    };
  }
  const target = toRevision === 0 ? owned[1] : owned.find(r => r.revision === toRevision);
  if (target === undefined)
    return {
      ok: false,
      kind: "NotFound",
      revisions,
      message: revisionNotFoundMessage(toRevision, revisions, kind),
    };
  if (target.template === undefined)
    return {
      ok: false,
      kind: "NotFound",
      revisions,
      message: `ControllerRevision "${target.name}" (revision ${target.revision}) of ${resource} "${name}" holds no pod template in its data, so kubectl could not restore it.`,
    };
  if (target === current || sameTemplate(target.template, set.spec.template))
    return {
      ok: false,
      kind: "SameTemplate",
      revisions,
      message: skippedRollbackMessage(resource, name, toRevision, target.revision, revisions),
    };
  return { ok: true, current, target, revisions };
}

/**
 * The body `kubectl rollout undo` PATCHes a StatefulSet with (Content-Type
 * application/strategic-merge-patch+json): the ControllerRevision's data as it is stored.
 */
export function setUndoPatch(revision: SetRevision): unknown {
  return revision.controllerRevision.data;
}

export type SetRolloutStatus =
  | { done: boolean; message: string }
  /** kubectl refuses: rollout status exists for RollingUpdate only. */
  | { done: undefined; message: string };

/** The update strategy's type as defaulted: RollingUpdate unless it says otherwise. */
export function updateStrategyOf(set: SetView): string {
  return set.spec.updateStrategy?.type ?? "RollingUpdate";
}

/** The partition as defaulted (0). */
export function partitionOf(set: StatefulSetView): number {
  return set.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
}

/**
 * `kubectl rollout status statefulset/NAME`'s test, in its order: RollingUpdate only; the spec
 * observed; every replica ready; then, as the apiserver always defaults rollingUpdate, the
 * partitioned test (updatedReplicas >= replicas - partition). kubectl never compares
 * currentRevision with updateRevision once rollingUpdate is set.
 */
export function setRolloutStatus(set: StatefulSetView): SetRolloutStatus {
  if (updateStrategyOf(set) !== "RollingUpdate")
    return {
      done: undefined,
      message: "rollout status is only available for RollingUpdate strategy type",
    };
  const status = set.status ?? {};
  const observed = status.observedGeneration ?? 0;
  if (observed === 0 || (set.metadata.generation ?? 0) > observed)
    return { done: false, message: "Waiting for statefulset spec update to be observed..." };
  const replicas = set.spec.replicas ?? 1;
  const ready = status.readyReplicas ?? 0;
  if (ready < replicas)
    return { done: false, message: `Waiting for ${replicas - ready} pods to be ready...` };
  const wanted = replicas - partitionOf(set);
  const updated = status.updatedReplicas ?? 0;
  if (updated < wanted)
    return {
      done: false,
      message: `Waiting for partitioned roll out to finish: ${updated} out of ${wanted} new pods have been updated...`,
    };
  return {
    done: true,
    message: `partitioned roll out complete: ${updated} new pods have been updated...`,
  };
}

/** A pod's ordinal: the number after the set's name (`web-2` is 2, `web-02` too); undefined for another's pod. */
export function ordinalOf(pod: PodView, setName: string): number | undefined {
  const name = pod.metadata.name;
  if (!name.startsWith(`${setName}-`)) return undefined;
  const rest = name.slice(setName.length + 1);
  // getParentNameAndOrdinal: digits after the last dash, as strconv.ParseInt reads them.
  return /^\d+$/.test(rest) ? Number(rest) : undefined;
}

/** The set's pods (by name and ordinal), lowest ordinal first, without those being deleted. */
export function podsOfSet(set: StatefulSetView, pods: readonly PodView[]): PodView[] {
  const name = set.metadata.name;
  return pods
    .filter(p => ordinalOf(p, name) !== undefined && p.metadata.deletionTimestamp === undefined)
    .sort((a, b) => (ordinalOf(a, name) ?? 0) - (ordinalOf(b, name) ?? 0));
}

/** The pods of one revision, by their controller-revision-hash label. */
export function podsOfRevision(pods: readonly PodView[], revision: SetRevision): PodView[] {
  return pods.filter(p => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === revision.podLabel);
}

function isRunningAndReady(pod: PodView): boolean {
  return (
    pod.status?.phase === "Running" &&
    (pod.status.conditions?.some(c => c.type === "Ready" && c.status === "True") ?? false)
  );
}

/** Why some pods are not on the rollback's revision once the undo is in: the StatefulSet's trap. */
export type SetTrap =
  | { kind: "OnDelete"; pods: string[] }
  | { kind: "Partition"; partition: number; pods: string[] }
  | { kind: "BlockedByUnreadyPod"; pod: string; ordinal: number; pods: string[] };

/**
 * After the undo changed the template back to revision `to`, which of the set's pods the
 * StatefulSet controller will not bring to it on its own, and why; undefined while it still will.
 * - OnDelete: the controller replaces no pod; each stays on its revision until someone deletes it.
 * - A partition: ordinals below it keep their revision (RollingUpdate replaces only those >= it).
 * - OrderedReady (the default policy): the controller walks the pods in ordinal order and stops at
 *   the first that is not Running and Ready, before it replaces any pod; a pod of the broken
 *   revision that never becomes Ready therefore blocks its own replacement (the "forced rollback"
 *   of the StatefulSet documentation: delete that pod by hand).
 */
export function setTrap(
  set: StatefulSetView,
  pods: readonly PodView[],
  to: SetRevision,
): SetTrap | undefined {
  const mine = podsOfSet(set, pods);
  const name = set.metadata.name;
  const behind = mine.filter(p => p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== to.podLabel);
  if (behind.length === 0) return undefined;
  const names = behind.map(p => p.metadata.name);
  if (updateStrategyOf(set) === "OnDelete") return { kind: "OnDelete", pods: names };
  const partition = partitionOf(set);
  const below = behind.filter(p => (ordinalOf(p, name) ?? 0) < partition);
  if (below.length > 0 && below.length === behind.length)
    return { kind: "Partition", partition, pods: below.map(p => p.metadata.name) };
  if ((set.spec.podManagementPolicy ?? "OrderedReady") !== "OrderedReady") return undefined;
  const blocker = mine.find(p => !isRunningAndReady(p));
  if (blocker === undefined || !behind.includes(blocker)) return undefined;
  return {
    kind: "BlockedByUnreadyPod",
    pod: blocker.metadata.name,
    ordinal: ordinalOf(blocker, name) ?? 0,
    pods: names,
  };
}

/** What a trap means in an incident, and the one-line fix. */
export function describeSetTrap(
  set: SetView,
  trap: SetTrap,
  to: SetRevision,
  kind: SetKind = "StatefulSet",
): string {
  const ns = set.metadata.namespace ?? "default";
  const name = set.metadata.name;
  const pods = trap.pods.join(" ");
  const deleteThem = `kubectl delete pod -n ${ns} ${pods}`;
  const keep = trap.pods.length === 1 ? "keeps" : "keep";
  switch (trap.kind) {
    case "OnDelete":
      return `${kind} "${name}" has updateStrategy OnDelete: kubectl rollout undo restored revision ${to.revision}'s template, but the controller replaces no pod, so ${pods} ${keep} running the broken revision. In an incident, run the undo and then ${deleteThem} (or switch the ${kind} to RollingUpdate).`;
    case "Partition":
      return `StatefulSet "${name}" has rollingUpdate.partition ${trap.partition}: kubectl rollout undo restored revision ${to.revision}'s template only on ordinals >= ${trap.partition}, so ${pods} ${keep} ${trap.pods.length === 1 ? "its" : "their"} revision. In an incident, set the partition to 0 before the undo: kubectl patch statefulset ${name} -n ${ns} -p '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}'.`;
    case "BlockedByUnreadyPod":
      return `StatefulSet "${name}" (podManagementPolicy OrderedReady) waits for pod ${trap.pod} (ordinal ${trap.ordinal}) of the broken revision to become Running and Ready before it replaces any pod, which never happens: kubectl rollout undo alone does not roll back. In an incident, run the undo and then ${deleteThem} (the StatefulSet documentation's forced rollback).`;
  }
}

/** The clone, and the claims of the target's volumeClaimTemplates it mounts as emptyDir instead. */
export interface StatefulSetClone {
  manifest: StatefulSetManifest;
  /** Names of the volumeClaimTemplates replaced by emptyDir volumes (the status must say so). */
  emptyDirClaims: string[];
}

/**
 * The clone's replicas: spec.sandbox.replicas, but at least one ordinal at or above the target's
 * partition, or the roll-outs in the sandbox would replace no pod and rehearse nothing.
 */
export function setCloneReplicas(drill: RollbackDrill, target: StatefulSetView): number {
  return Math.max(drill.spec.sandbox.replicas, partitionOf(target) + 1);
}

/** The names of a set's volumeClaimTemplates. */
function claimNames(target: StatefulSetView): string[] {
  return (target.spec.volumeClaimTemplates ?? [])
    .map(c => c.metadata?.name)
    .filter((name): name is string => name !== undefined && name !== "");
}

/**
 * A revision's template as the clone runs it: prepared for the sandbox (sandboxTemplate), and with
 * spec.sandbox.volumes EmptyDir each volumeClaimTemplate mounted as an emptyDir of its name (as the
 * controller does with a claim's volume, updateStorage, a template volume of the same name is
 * replaced). The phases find the clone's ControllerRevisions by this template.
 */
export function setSandboxTemplate(
  drill: RollbackDrill,
  runId: string,
  target: StatefulSetView,
  template: PodTemplateSpec,
): PodTemplateSpec {
  const prepared = sandboxTemplate(template, drill, runId);
  const claims = drill.spec.sandbox.volumes === "EmptyDir" ? claimNames(target) : [];
  if (claims.length === 0) return prepared;
  const kept = (prepared.spec.volumes ?? []).filter(v => !claims.includes(v.name));
  const volumes: Volume[] = [...kept, ...claims.map(name => ({ name, emptyDir: {} }))];
  return { ...prepared, spec: { ...prepared.spec, volumes } };
}

/**
 * The clone of a StatefulSet in the sandbox: the target's name, selector, serviceName, ordinals,
 * pod management policy, update strategy (so OnDelete and a partition are rehearsed as they
 * are) and minReadySeconds; revision M's template as setSandboxTemplate makes it. Its
 * volumeClaimTemplates are kept (fresh claims in the sandbox) unless spec.sandbox.volumes is
 * EmptyDir: then each is an emptyDir, which lives as long as its pod, so data one revision writes
 * is not there for the pod that replaces it, and the run must say that this choice was made.
 */
export function setCloneManifest(
  drill: RollbackDrill,
  runId: string,
  namespace: string,
  target: StatefulSetView,
  template: PodTemplateSpec,
): StatefulSetClone {
  const spec = target.spec;
  const emptyDir = drill.spec.sandbox.volumes === "EmptyDir";
  const copied = (key: string): Record<string, unknown> =>
    spec[key] === undefined ? {} : { [key]: spec[key] };
  return {
    manifest: {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: target.metadata.name, namespace, labels: sandboxLabels(drill, runId) },
      spec: {
        replicas: setCloneReplicas(drill, target),
        selector: spec.selector,
        template: setSandboxTemplate(drill, runId, target, template),
        revisionHistoryLimit: 10,
        ...copied("serviceName"),
        ...copied("ordinals"),
        ...copied("podManagementPolicy"),
        ...copied("updateStrategy"),
        ...copied("minReadySeconds"),
        ...(emptyDir ? {} : copied("volumeClaimTemplates")),
      },
    },
    emptyDirClaims: emptyDir ? claimNames(target) : [],
  };
}

/**
 * A StatefulSet has no progress deadline: a container of its clone may stay unready as long as a
 * Deployment clone's shortened deadline would allow (sandboxProgressDeadlineSeconds), or its own
 * probes allow, whichever is longer. The phases and the shell's log reads both use this budget.
 */
export function setReadinessClone(drill: RollbackDrill, clone: SetView): ReadinessClone {
  return {
    spec: {
      template: clone.spec.template,
      progressDeadlineSeconds: sandboxProgressDeadlineSeconds(drill, { spec: {} }),
    },
  };
}
