/**
 * What a ControllerRevision-history run (phases/set.ts) needs of its target's kind, StatefulSet
 * (statefulset.ts) or DaemonSet (daemonset.ts): which pods are the set's, how many it runs when
 * rolled out, which revision its controller rolls pods to, the trap its rollback hides, and its
 * clone. Everything else about the two kinds' history and undo is the same.
 */
import type { RollbackDrill } from "../api/types.ts";
import type { DaemonSetManifest, SetKind, StatefulSetManifest } from "./actions.ts";
import {
  daemonSetCloneManifest,
  daemonSetPodQuota,
  daemonSetTrap,
  daemonSetWanted,
  podsOfDaemonSet,
} from "./daemonset.ts";
import type { PodTemplateSpec, PodView, SetView, StatefulSetView } from "./objects.ts";
import {
  podsOfSet,
  sameTemplate,
  setCloneManifest,
  setSandboxTemplate,
  setTrap,
  type SetRevision,
  type SetTrap,
} from "./statefulset.ts";
import { sandboxTemplate } from "./sandbox.ts";

export interface SetClone {
  manifest: StatefulSetManifest | DaemonSetManifest;
  /** Names of the volumeClaimTemplates replaced by emptyDir volumes (the status must say so). */
  emptyDirClaims: string[];
}

export interface SetKindOps {
  kind: SetKind;
  /** The set's live pods. */
  podsOf(set: SetView, pods: readonly PodView[]): PodView[];
  /** How many pods the set runs once rolled out; undefined while its controller has not said. */
  wanted(set: SetView): number | undefined;
  /** Whether the set's controller has seen its spec and rolls pods to this revision now. */
  rollingTo(set: SetView, revision: SetRevision): boolean;
  /** The pods the controller will not bring to `to` on its own after the undo, and why. */
  trap(set: SetView, pods: readonly PodView[], to: SetRevision): SetTrap | undefined;
  cloneManifest(
    drill: RollbackDrill,
    runId: string,
    namespace: string,
    target: SetView,
    template: PodTemplateSpec,
  ): SetClone;
  /** A revision's template as the clone runs it (the phases find its ControllerRevisions by it). */
  sandboxTemplate(
    drill: RollbackDrill,
    runId: string,
    target: SetView,
    template: PodTemplateSpec,
  ): PodTemplateSpec;
  /** The sandbox quota's pods for a clone of `target`; undefined: the Deployment's default. */
  podQuota(target: SetView): number | undefined;
}

/** Whether the controller has seen the set's latest spec. */
export function observedSpec(set: SetView): boolean {
  const observed = set.status?.observedGeneration ?? 0;
  return observed > 0 && observed >= (set.metadata.generation ?? 0);
}

/** A StatefulSetView of a set the drill's kind says is a StatefulSet. */
const asStatefulSet = (set: SetView): StatefulSetView => set;

const STATEFUL_SET: SetKindOps = {
  kind: "StatefulSet",
  podsOf: (set, pods) => podsOfSet(asStatefulSet(set), pods),
  wanted: set => (observedSpec(set) ? (asStatefulSet(set).spec.replicas ?? 1) : undefined),
  rollingTo: (set, revision) =>
    observedSpec(set) && asStatefulSet(set).status?.updateRevision === revision.name,
  trap: (set, pods, to) => setTrap(asStatefulSet(set), pods, to),
  cloneManifest: (drill, runId, namespace, target, template) =>
    setCloneManifest(drill, runId, namespace, asStatefulSet(target), template),
  sandboxTemplate: (drill, runId, target, template) =>
    setSandboxTemplate(drill, runId, asStatefulSet(target), template),
  podQuota: () => undefined,
};

const DAEMON_SET: SetKindOps = {
  kind: "DaemonSet",
  podsOf: podsOfDaemonSet,
  wanted: daemonSetWanted,
  // A DaemonSet's status names no update revision: its controller rolls pods to the revision
  // whose template is the set's own, once it has seen the spec.
  rollingTo: (set, revision) =>
    observedSpec(set) && sameTemplate(revision.template, set.spec.template),
  trap: daemonSetTrap,
  cloneManifest: (drill, runId, namespace, target, template) => ({
    manifest: daemonSetCloneManifest(drill, runId, namespace, target, template),
    emptyDirClaims: [],
  }),
  sandboxTemplate: (drill, runId, _target, template) => sandboxTemplate(template, drill, runId),
  podQuota: daemonSetPodQuota,
};

export function setKindOps(kind: SetKind): SetKindOps {
  return kind === "StatefulSet" ? STATEFUL_SET : DAEMON_SET;
}
