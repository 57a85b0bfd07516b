/**
 * A DaemonSet's side of a ControllerRevision-history run: its history and undo are a StatefulSet's
 * (`kubectl rollout undo daemonset/NAME`, DaemonSetRollbacker in k8s.io/kubectl
 * pkg/polymorphichelpers/rollback.go: the same ControllerRevisions, the same strategic merge
 * patch of their data; statefulset.ts reads and resolves them for both kinds), its pods are one
 * per node the template selects, owned by the set (pkg/controller/daemon), and its rollback's trap
 * is OnDelete: the undo replaces no pod. Pure: no I/O, no clock.
 */
import type { RollbackDrill } from "../api/types.ts";
import type { DaemonSetManifest } from "./actions.ts";
import type { DaemonSetView, PodTemplateSpec, PodView, SetView } from "./objects.ts";
import { sandboxLabels, sandboxTemplate } from "./sandbox.ts";
import { CONTROLLER_REVISION_HASH, type SetRevision, type SetTrap } from "./statefulset.ts";

/**
 * The label a stopped DaemonSet clone's template selects nodes by, which no node has: a DaemonSet
 * has no replicas to scale to 0, so stopping its pods (an Error run) is a nodeSelector no node
 * matches.
 */
export const STOPPED_NODE_LABEL = "rollbackdrill.io/stopped";

/** A DaemonSetView of a set the drill's kind says is a DaemonSet. */
export const asDaemonSet = (set: SetView): DaemonSetView => set;

/** The set's pods (controlled by it: a controller ownerReference with its uid), by name, without those being deleted. */
export function podsOfDaemonSet(set: SetView, pods: readonly PodView[]): PodView[] {
  const uid = set.metadata.uid;
  return pods
    .filter(
      p =>
        uid !== undefined &&
        p.metadata.deletionTimestamp === undefined &&
        (p.metadata.ownerReferences?.some(o => o.controller === true && o.uid === uid) ?? false),
    )
    .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
}

/**
 * How many pods the DaemonSet runs once rolled out: status.desiredNumberScheduled (the nodes its
 * template selects), once the controller has seen the latest spec; undefined before.
 */
export function daemonSetWanted(set: SetView): number | undefined {
  const ds = asDaemonSet(set);
  const observed = ds.status?.observedGeneration ?? 0;
  if (observed === 0 || observed < (ds.metadata.generation ?? 0)) return undefined;
  return ds.status?.desiredNumberScheduled ?? 0;
}

/**
 * After the undo restored revision `to`'s template, the pods the DaemonSet controller will not
 * bring to it on its own: with OnDelete, every pod not on it (a RollingUpdate DaemonSet replaces
 * an unavailable old pod at once, whatever its budget, so a broken revision does not hold it).
 */
export function daemonSetTrap(
  set: SetView,
  pods: readonly PodView[],
  to: SetRevision,
): SetTrap | undefined {
  if ((set.spec.updateStrategy?.type ?? "RollingUpdate") !== "OnDelete") return undefined;
  const behind = podsOfDaemonSet(set, pods).filter(
    p => p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== to.podLabel,
  );
  return behind.length === 0
    ? undefined
    : { kind: "OnDelete", pods: behind.map(p => p.metadata.name) };
}

/**
 * The clone of a DaemonSet in the sandbox: the target's name, selector, update strategy (so
 * OnDelete and its budget are rehearsed as they are) and minReadySeconds; revision M's template
 * prepared for the sandbox, which keeps the target's node selection, so the clone runs on the
 * nodes production's pods run on, one pod each.
 */
export function daemonSetCloneManifest(
  drill: RollbackDrill,
  runId: string,
  namespace: string,
  target: SetView,
  template: PodTemplateSpec,
): DaemonSetManifest {
  const spec = asDaemonSet(target).spec;
  const copied = (key: "updateStrategy" | "minReadySeconds"): Record<string, unknown> =>
    spec[key] === undefined ? {} : { [key]: spec[key] };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: target.metadata.name, namespace, labels: sandboxLabels(drill, runId) },
    spec: {
      selector: spec.selector,
      template: sandboxTemplate(template, drill, runId),
      revisionHistoryLimit: 10,
      ...copied("updateStrategy"),
      ...copied("minReadySeconds"),
    },
  };
}

/** Whether a DaemonSet clone's template is stopped (selects no node). */
export function isStoppedDaemonSet(set: SetView): boolean {
  return set.spec.template.spec.nodeSelector?.[STOPPED_NODE_LABEL] !== undefined;
}

/** The clone's template with a nodeSelector no node matches: the controller deletes every pod. */
export function stoppedTemplate(set: SetView): PodTemplateSpec {
  const template = set.spec.template;
  return {
    ...template,
    spec: {
      ...template.spec,
      nodeSelector: { ...template.spec.nodeSelector, [STOPPED_NODE_LABEL]: "true" },
    },
  };
}

/**
 * The pods a sandbox quota must allow for a DaemonSet clone: two per node production's pods run
 * on (a surge runs the new pod beside the old), and two more, as for a Deployment's clone.
 */
export function daemonSetPodQuota(target: SetView): number {
  return Math.max(1, asDaemonSet(target).status?.desiredNumberScheduled ?? 1) * 2 + 2;
}
