/**
 * The StatefulSet controller (pkg/controller/statefulset: stateful_set.go, stateful_set_control.go,
 * stateful_set_utils.go, stateful_pod_control.go). Per set it keeps the history of its templates
 * as ControllerRevisions (history.ts), and pods named `<set>-<ordinal>` with a stable identity
 * (hostname, subdomain, the pod-name and pod-index labels) and the `controller-revision-hash` of
 * the revision they were made from:
 *
 * - OrderedReady creates ordinals in order, each once the one before is Running and Ready (and
 *   available after minReadySeconds), and scales down from the highest; Parallel creates and
 *   deletes them all at once.
 * - RollingUpdate deletes, highest ordinal first and one at a time, the pod whose revision is not
 *   the update revision, once every pod is Running and Ready, down to `partition`; the pod comes
 *   back at the update revision (ordinals below the partition at the current one). A new pod that
 *   never becomes ready so blocks the roll-out where it is. OnDelete replaces nothing: a pod
 *   someone deletes comes back at the update revision. maxUnavailable is ignored, as its feature
 *   gate (MaxUnavailableStatefulSet, beta) is off by default in v1.36 and the apiserver drops it.
 * - status: replicas, readyReplicas, availableReplicas, currentReplicas, updatedReplicas,
 *   current and update revision, collisionCount, observedGeneration; the current revision
 *   becomes the update revision once every replica is updated and ready.
 * - history beyond revisionHistoryLimit is deleted, oldest first, never the current or update
 *   revision nor one a pod still runs.
 *
 * volumeClaimTemplates: pods get the claims' volumes under the names the real controller gives
 * (`<claim>-<set>-<ordinal>`), but the simulator serves no PersistentVolumeClaims, so none is made.
 */
import type { KubeObject, SimClock, SimComponent, Store } from "../types.ts";
import { createEventRecorder, type EventRecorder } from "./events.ts";
import {
  byRevisionNumber,
  equalRevision,
  newRevision,
  nextRevision,
  revisionHash,
  revisionName,
  revisionTemplate,
  semanticallyEqual,
} from "./history.ts";
import {
  CONTROLLERREVISIONS,
  controllerActor,
  controllerOf,
  controllerRef,
  isAlreadyExists,
  isNotFound,
  isPodAvailable,
  isPodReady,
  podPhase,
  podReadyCondition,
  PODS,
  selectorMatches,
  splitKey,
  STATEFULSETS,
  type ControllerRevisionView,
  type PodTemplate,
  type StatefulSetStatus,
  type StatefulSetView,
} from "./kube.ts";
import type { OwnerIndex } from "./owner-index.ts";
import { startOwnerController } from "./owner-controller.ts";
import type { SyncResult } from "./workqueue.ts";

const ACTOR = controllerActor("statefulset-controller");

/** apps/v1 StatefulSetRevisionLabel, StatefulSetPodNameLabel, PodIndexLabel. */
export const REVISION_LABEL = "controller-revision-hash";
export const POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name";
export const POD_INDEX_LABEL = "apps.kubernetes.io/pod-index";

const ORDINAL = /^(.*)-([0-9]+)$/;

/** getParentNameAndOrdinal: `<parent>-<ordinal>`, or ordinal -1. */
export function parentAndOrdinal(name: string): { parent: string; ordinal: number } {
  const m = ORDINAL.exec(name);
  if (m === null) return { parent: "", ordinal: -1 };
  const ordinal = Number(m[2]);
  return { parent: m[1] ?? "", ordinal: ordinal <= 0x7fffffff ? ordinal : -1 };
}

const ordinalOf = (pod: KubeObject): number => parentAndOrdinal(pod.metadata.name ?? "").ordinal;
const revisionOf = (pod: KubeObject): string => pod.metadata.labels?.[REVISION_LABEL] ?? "";
const isCreated = (pod: KubeObject): boolean => (podPhase(pod) ?? "") !== "";
const isTerminating = (pod: KubeObject): boolean => pod.metadata.deletionTimestamp !== undefined;
const isRunningAndReady = (pod: KubeObject): boolean =>
  podPhase(pod) === "Running" && isPodReady(pod);

function startOrdinal(set: StatefulSetView): number {
  return set.spec.ordinals?.start ?? 0;
}

function replicasOf(set: StatefulSetView): number {
  return set.spec.replicas ?? 1;
}

/** A set whose template is the one a revision restores (ApplyRevision). */
function withTemplate(set: StatefulSetView, revision: ControllerRevisionView): StatefulSetView {
  const template = revisionTemplate(revision) ?? set.spec.template;
  return { ...set, spec: { ...set.spec, template } };
}

/** newStatefulSetPod: the template's pod with the set's identity and storage for `ordinal`. */
function newPod(set: StatefulSetView, ordinal: number, revision: string): KubeObject {
  const t: PodTemplate = set.spec.template;
  const name = `${set.metadata.name ?? ""}-${String(ordinal)}`;
  const metadata: KubeObject["metadata"] = {
    name,
    generateName: `${set.metadata.name ?? ""}-`,
    namespace: set.metadata.namespace ?? "",
    labels: {
      ...(t.metadata?.labels ?? {}),
      [POD_NAME_LABEL]: name,
      [POD_INDEX_LABEL]: String(ordinal),
      [REVISION_LABEL]: revision,
    },
    ownerReferences: [controllerRef(set)],
  };
  if (t.metadata?.annotations) metadata.annotations = { ...t.metadata.annotations };
  const spec = structuredClone(t.spec ?? {});
  spec["hostname"] = name;
  if ((set.spec.serviceName ?? "") !== "") spec["subdomain"] = set.spec.serviceName;
  else delete spec["subdomain"];
  const claims = (set.spec.volumeClaimTemplates ?? []).map(c => c.metadata?.name ?? "");
  if (claims.length > 0) {
    const others = Array.isArray(spec["volumes"])
      ? (spec["volumes"] as { name?: string }[]).filter(v => !claims.includes(v.name ?? ""))
      : [];
    spec["volumes"] = [
      ...claims.map(claim => ({
        name: claim,
        persistentVolumeClaim: { claimName: `${claim}-${set.metadata.name ?? ""}-${ordinal}` },
      })),
      ...others,
    ];
  }
  return { apiVersion: "v1", kind: "Pod", metadata, spec };
}

interface Revisions {
  current: ControllerRevisionView;
  update: ControllerRevisionView;
  collisionCount: number;
}

/** One sync of one StatefulSet. */
class StatefulSetSync {
  readonly store: Store;
  readonly clock: SimClock;
  readonly recorder: EventRecorder;
  readonly pods: OwnerIndex;
  readonly revisions: OwnerIndex;
  set: StatefulSetView;

  constructor(
    store: Store,
    clock: SimClock,
    recorder: EventRecorder,
    indexes: { pods: OwnerIndex; revisions: OwnerIndex },
    set: StatefulSetView,
  ) {
    this.store = store;
    this.clock = clock;
    this.recorder = recorder;
    this.pods = indexes.pods;
    this.revisions = indexes.revisions;
    this.set = set;
  }

  get namespace(): string {
    return this.set.metadata.namespace ?? "";
  }

  /** getPodsForStatefulSet: the pods it controls that its selector matches and that bear its name. */
  ownedPods(): KubeObject[] {
    const set = this.set;
    const out: KubeObject[] = [];
    for (const key of this.pods.keys(set.metadata.uid ?? "")) {
      const { namespace, name } = splitKey(key);
      if (namespace !== this.namespace) continue;
      const pod = this.store.get(PODS, namespace, name);
      if (
        pod !== undefined &&
        controllerOf(pod)?.uid === set.metadata.uid &&
        selectorMatches(set.spec.selector, pod.metadata.labels) &&
        parentAndOrdinal(name).parent === set.metadata.name
      )
        out.push(pod);
    }
    return out;
  }

  /** ListRevisions plus adoptOrphanRevisions: its own, and orphans its selector matches (adopted). */
  listRevisions(): ControllerRevisionView[] {
    const set = this.set;
    const out: ControllerRevisionView[] = [];
    for (const key of this.revisions.keys(set.metadata.uid ?? "")) {
      const { namespace, name } = splitKey(key);
      if (namespace !== this.namespace) continue;
      const r = this.store.get(CONTROLLERREVISIONS, namespace, name) as
        ControllerRevisionView | undefined;
      if (r !== undefined && selectorMatches(set.spec.selector, r.metadata.labels)) out.push(r);
    }
    if (set.metadata.deletionTimestamp === undefined) {
      const orphans = this.store
        .list(CONTROLLERREVISIONS, { namespace: this.namespace })
        .items.filter(
          r =>
            controllerOf(r) === undefined && selectorMatches(set.spec.selector, r.metadata.labels),
        );
      for (const orphan of orphans) {
        const adopted = structuredClone(orphan);
        adopted.metadata.ownerReferences = [
          ...(orphan.metadata.ownerReferences ?? []),
          controllerRef(set),
        ];
        out.push(this.store.update(CONTROLLERREVISIONS, adopted, ACTOR) as ControllerRevisionView);
      }
    }
    return out.sort(byRevisionNumber);
  }

  run(): SyncResult | undefined {
    const revisions = this.listRevisions();
    const pods = this.ownedPods();
    const found = this.getRevisions(revisions);
    const status = this.update(found, pods);
    this.writeStatus(status);
    this.truncateHistory(pods, revisions, found);
    return this.requeue(status, pods);
  }

  /** getStatefulSetRevisions: the current and update revisions, creating or renumbering one. */
  getRevisions(revisions: ControllerRevisionView[]): Revisions {
    const set = this.set;
    let collisionCount = set.status?.collisionCount ?? 0;
    const proposed = newRevision(set, nextRevision(revisions), collisionCount);
    const equal = revisions.filter(r => equalRevision(r, proposed));
    const last = revisions[revisions.length - 1];
    const lastEqual = equal[equal.length - 1];
    let update: ControllerRevisionView;
    if (last !== undefined && lastEqual !== undefined && equalRevision(last, lastEqual)) {
      update = last;
    } else if (lastEqual !== undefined) {
      // A template seen before (an undo): that revision comes back with the next number.
      const renumbered = structuredClone(lastEqual);
      renumbered.revision = proposed.revision;
      update = this.store.update(CONTROLLERREVISIONS, renumbered, ACTOR) as ControllerRevisionView;
    } else if (last !== undefined && semanticallyEqual(set.spec.template, last)) {
      update = last;
    } else {
      ({ revision: update, collisionCount } = this.createRevision(proposed, collisionCount));
    }
    const current = revisions.find(r => r.metadata.name === set.status?.currentRevision) ?? update;
    return { current, update, collisionCount };
  }

  /** CreateControllerRevision: a name taken by different data counts a collision and retries. */
  createRevision(
    proposed: ControllerRevisionView,
    collisionCount: number,
  ): { revision: ControllerRevisionView; collisionCount: number } {
    let count = collisionCount;
    for (;;) {
      const candidate = structuredClone(proposed);
      candidate.metadata.name = revisionName(
        this.set.metadata.name ?? "",
        revisionHash(proposed.data, count),
      );
      try {
        const created = this.store.create(CONTROLLERREVISIONS, candidate, ACTOR);
        return { revision: created as ControllerRevisionView, collisionCount: count };
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        const existing = this.store.get(
          CONTROLLERREVISIONS,
          this.namespace,
          candidate.metadata.name,
        ) as ControllerRevisionView | undefined;
        if (existing !== undefined && equalRevision(existing, candidate))
          return { revision: existing, collisionCount: count };
        count++;
      }
    }
  }

  /** updateStatefulSet: creates, deletes and replaces pods; returns the status to record. */
  update(revisions: Revisions, pods: KubeObject[]): StatefulSetStatus {
    const set = this.set;
    const { current, update } = revisions;
    const currentSet = withTemplate(set, current);
    const updateSet = withTemplate(set, update);
    const now = this.clock.nowMs();
    const minReady = set.spec.minReadySeconds ?? 0;
    const status: StatefulSetStatus = {
      observedGeneration: set.metadata.generation ?? 0,
      currentRevision: current.metadata.name ?? "",
      updateRevision: update.metadata.name ?? "",
      collisionCount: revisions.collisionCount,
    };
    const count = (lists: KubeObject[][]): StatefulSetStatus => ({
      ...status,
      ...replicaStatus(lists.flat(), minReady, now, status),
    });

    const start = startOrdinal(set);
    const n = replicasOf(set);
    const replicas: (KubeObject | undefined)[] = Array.from({ length: n }, () => undefined);
    const condemned: KubeObject[] = [];
    for (const pod of pods) {
      const ord = ordinalOf(pod);
      if (ord >= start && ord < start + n) replicas[ord - start] = pod;
      else if (ord >= 0) condemned.push(pod);
    }
    const slots: KubeObject[] = replicas.map(
      (pod, i) => pod ?? this.versionedPod(currentSet, updateSet, revisions, start + i),
    );
    condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
    const unavailable = (p: KubeObject): boolean =>
      !isPodAvailable(p, minReady, now) || isTerminating(p);
    const firstUnavailable = slots.find(unavailable) ?? [...condemned].reverse().find(unavailable);

    if (set.metadata.deletionTimestamp !== undefined) return count([pods]);
    const monotonic = set.spec.podManagementPolicy !== "Parallel";

    for (const pod of slots) {
      if (this.processReplica(pod, monotonic, minReady, now) && monotonic)
        return count([slots, condemned]);
    }
    for (const pod of condemned) {
      if (this.processCondemned(pod, firstUnavailable, monotonic, minReady, now) && monotonic)
        return count([slots, condemned]);
    }
    const result = count([slots, condemned]);
    if (set.spec.updateStrategy?.type === "OnDelete") return result;
    this.rollingUpdate(slots, update, unavailable, result);
    return result;
  }

  /**
   * The rolling update proper: from the highest ordinal down to the partition, deletes the first
   * pod not at the update revision (to come back at it), unless a pod on the way is unavailable.
   */
  rollingUpdate(
    slots: KubeObject[],
    update: ControllerRevisionView,
    unavailable: (pod: KubeObject) => boolean,
    result: StatefulSetStatus,
  ): void {
    const updateMin = this.set.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
    for (let target = slots.length - 1; target >= updateMin; target--) {
      const pod = slots[target];
      if (pod === undefined) continue;
      if (revisionOf(pod) !== update.metadata.name && !isTerminating(pod)) {
        this.deletePod(pod);
        result.currentReplicas = (result.currentReplicas ?? 0) - 1;
        return;
      }
      if (unavailable(pod)) return;
    }
  }

  /** newVersionedStatefulSetPod: below the partition at the current revision, else the update one. */
  versionedPod(
    currentSet: StatefulSetView,
    updateSet: StatefulSetView,
    revisions: Revisions,
    ordinal: number,
  ): KubeObject {
    const strategy = currentSet.spec.updateStrategy;
    const start = startOrdinal(currentSet);
    const atCurrent =
      (strategy?.type === "RollingUpdate" &&
        strategy.rollingUpdate === undefined &&
        ordinal < start + (currentSet.status?.currentReplicas ?? 0)) ||
      (strategy?.rollingUpdate !== undefined &&
        ordinal < start + (strategy.rollingUpdate.partition ?? 0));
    return atCurrent
      ? newPod(currentSet, ordinal, revisions.current.metadata.name ?? "")
      : newPod(updateSet, ordinal, revisions.update.metadata.name ?? "");
  }

  /**
   * processReplica: a failed or finished pod is deleted (to come back), a missing one created;
   * returns whether a monotonic set must wait here (a Parallel set goes on regardless).
   */
  processReplica(pod: KubeObject, monotonic: boolean, minReady: number, now: number): boolean {
    const phase = podPhase(pod);
    if (phase === "Failed" || phase === "Succeeded") {
      if (!isTerminating(pod)) this.deletePod(pod);
      return true;
    }
    if (!isCreated(pod)) {
      this.createPod(pod);
      return true;
    }
    const waiting =
      isTerminating(pod) || !isRunningAndReady(pod) || !isPodAvailable(pod, minReady, now);
    if (waiting && monotonic) return true;
    this.keepIdentity(pod);
    return false;
  }

  /** processCondemned: deletes a pod beyond the replicas; whether a monotonic set stops here. */
  processCondemned(
    pod: KubeObject,
    firstUnavailable: KubeObject | undefined,
    monotonic: boolean,
    minReady: number,
    now: number,
  ): boolean {
    if (isTerminating(pod)) return monotonic;
    if (monotonic && pod !== firstUnavailable) {
      if (!isRunningAndReady(pod) || !isPodAvailable(pod, minReady, now)) return true;
    }
    this.deletePod(pod);
    return true;
  }

  /** updateIdentity: a pod that lost its pod-name or pod-index label gets it back. */
  keepIdentity(pod: KubeObject): void {
    const name = pod.metadata.name ?? "";
    const labels = pod.metadata.labels ?? {};
    if (labels[POD_NAME_LABEL] === name) return;
    const next = structuredClone(pod);
    next.metadata.labels = {
      ...labels,
      [POD_NAME_LABEL]: name,
      [POD_INDEX_LABEL]: String(ordinalOf(pod)),
    };
    this.store.update(PODS, next, ACTOR);
    this.podEvent("update", name);
  }

  createPod(pod: KubeObject): void {
    const name = pod.metadata.name ?? "";
    try {
      this.store.create(PODS, pod, ACTOR);
    } catch (err) {
      if (isAlreadyExists(err)) throw err;
      this.podEvent("create", name, err);
      throw err;
    }
    this.podEvent("create", name);
  }

  deletePod(pod: KubeObject): void {
    const name = pod.metadata.name ?? "";
    try {
      this.store.delete(PODS, pod.metadata.namespace, name, ACTOR);
    } catch (err) {
      if (!isNotFound(err)) {
        this.podEvent("delete", name, err);
        throw err;
      }
    }
    this.podEvent("delete", name);
  }

  /** recordPodEvent: SuccessfulCreate "create Pod web-0 in StatefulSet web successful", and so on. */
  podEvent(verb: "create" | "update" | "delete", pod: string, err?: unknown): void {
    const title = `${verb[0]?.toUpperCase() ?? ""}${verb.slice(1)}`;
    const set = this.set.metadata.name ?? "";
    if (err === undefined)
      this.recorder.event(
        this.set,
        "Normal",
        `Successful${title}`,
        `${title} Pod ${pod} in StatefulSet ${set} successful`,
      );
    else {
      const message = err instanceof Error ? err.message : JSON.stringify(err);
      this.recorder.event(
        this.set,
        "Warning",
        `Failed${title}`,
        `${title} Pod ${pod} in StatefulSet ${set} failed error: ${message}`,
      );
    }
  }

  /** updateStatefulSetStatus: completes a finished rolling update, writes only what changed. */
  writeStatus(status: StatefulSetStatus): void {
    const set = this.set;
    const n = replicasOf(set);
    if (
      set.spec.updateStrategy?.type === "RollingUpdate" &&
      status.updatedReplicas === n &&
      status.readyReplicas === n &&
      status.replicas === n
    ) {
      status.currentReplicas = status.updatedReplicas;
      status.currentRevision = status.updateRevision ?? "";
    }
    const old = set.status ?? {};
    const fields = [
      "replicas",
      "currentReplicas",
      "readyReplicas",
      "updatedReplicas",
      "availableReplicas",
    ] as const;
    const changed =
      (status.observedGeneration ?? 0) > (old.observedGeneration ?? 0) ||
      fields.some(f => (status[f] ?? 0) !== (old[f] ?? 0)) ||
      (status.currentRevision ?? "") !== (old.currentRevision ?? "") ||
      (status.updateRevision ?? "") !== (old.updateRevision ?? "");
    if (!changed) return;
    const next = structuredClone(set);
    next.status = { ...status };
    if (old.conditions !== undefined) next.status.conditions = old.conditions;
    this.set = this.store.update(STATEFULSETS, next, ACTOR, {
      subresource: "status",
    }) as StatefulSetView;
  }

  /** truncateHistory: the oldest revisions no one uses, beyond revisionHistoryLimit. */
  truncateHistory(pods: KubeObject[], revisions: ControllerRevisionView[], found: Revisions): void {
    const live = new Set([found.current.metadata.name, found.update.metadata.name]);
    for (const pod of pods) live.add(revisionOf(pod));
    const history = revisions.filter(r => !live.has(r.metadata.name));
    const limit = this.set.spec.revisionHistoryLimit ?? 10;
    if (limit < 0 || history.length <= limit) return;
    for (const r of history.slice(0, history.length - limit)) {
      try {
        this.store.delete(CONTROLLERREVISIONS, r.metadata.namespace, r.metadata.name ?? "", ACTOR);
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** syncStatefulSet: with minReadySeconds, look again when the next pod becomes available. */
  requeue(status: StatefulSetStatus, pods: KubeObject[]): SyncResult | undefined {
    const minReady = this.set.spec.minReadySeconds ?? 0;
    if (minReady <= 0 || (status.readyReplicas ?? 0) === (status.availableReplicas ?? 0))
      return undefined;
    const now = this.clock.nowMs();
    const waits = pods
      .filter(p => isPodReady(p) && !isPodAvailable(p, minReady, now))
      .map(p => Date.parse(podReadyCondition(p)?.lastTransitionTime ?? "") + minReady * 1000 - now)
      .filter(w => !Number.isNaN(w));
    const wait = waits.length > 0 ? Math.min(...waits) : minReady * 1000;
    return { requeueAfterMs: Math.max(0, wait) + 1 };
  }
}

/** computeReplicaStatus over every pod the sync holds. */
function replicaStatus(
  pods: KubeObject[],
  minReady: number,
  now: number,
  revisions: StatefulSetStatus,
): Required<
  Pick<
    StatefulSetStatus,
    "replicas" | "readyReplicas" | "availableReplicas" | "currentReplicas" | "updatedReplicas"
  >
> {
  const out = {
    replicas: 0,
    readyReplicas: 0,
    availableReplicas: 0,
    currentReplicas: 0,
    updatedReplicas: 0,
  };
  for (const pod of pods) {
    if (isCreated(pod)) out.replicas++;
    if (isRunningAndReady(pod)) {
      out.readyReplicas++;
      if (isPodAvailable(pod, minReady, now)) out.availableReplicas++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      const revision = revisionOf(pod);
      if (revision === revisions.currentRevision) out.currentReplicas++;
      if (revision === revisions.updateRevision) out.updatedReplicas++;
    }
  }
  return out;
}

/** Starts the StatefulSet controller; a set's events and its pods' events queue the set. */
export function startStatefulSetController(store: Store, clock: SimClock): SimComponent {
  const recorder = createEventRecorder(
    store,
    clock,
    { component: "statefulset-controller" },
    ACTOR,
  );
  return startOwnerController(store, clock, {
    name: "statefulset-controller",
    gvr: STATEFULSETS,
    kind: "StatefulSet",
    owns: { pods: PODS, revisions: CONTROLLERREVISIONS },
    sync: (set, indexes) =>
      new StatefulSetSync(store, clock, recorder, indexes, set as StatefulSetView).run(),
  });
}
