/**
 * The deployment controller (pkg/controller/deployment in kubernetes/kubernetes): owns ReplicaSets
 * named `<deployment>-<pod-template-hash>`, keeps their revision annotations, rolls out with the
 * RollingUpdate or Recreate strategy, scales proportionally, cleans up old history and writes
 * status and conditions through the status subresource. Reads and writes go through the store
 * only, as "system:serviceaccount:kube-system:deployment-controller".
 */
import type { KubeObject, SimClock, SimComponent, Store, StoreEvent } from "../types.ts";
import {
  activeReplicaSets,
  byRevision,
  calculateStatus,
  DESIRED_REPLICAS_ANNOTATION,
  findNewReplicaSet,
  getCondition,
  hasProgressDeadline,
  isComplete,
  isRollingUpdate,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newCondition,
  newRSNewReplicas,
  proportion,
  Reasons,
  replicasOf,
  REVISION_ANNOTATION,
  rolloutStatus,
  rsReplicas,
  setCondition,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  sumSpec,
  sumStatus,
} from "./deployment-util.ts";
import { createEventRecorder, type EventRecorder } from "./events.ts";
import { createOwnerIndex, type OwnerIndex } from "./owner-index.ts";
import {
  byCreation,
  controllerActor,
  controllerOf,
  controllerRef,
  DEPLOYMENTS,
  isAlreadyExists,
  isApiError,
  isControlledBy,
  isEmptySelector,
  keyOf,
  PODS,
  podPhase,
  REPLICASETS,
  selectorMatches,
  splitKey,
  type DeploymentStatus,
  type DeploymentView,
  type ReplicaSetView,
} from "./kube.ts";
import { computeTemplateHash, POD_TEMPLATE_HASH_LABEL, templatesEqualIgnoreHash } from "./names.ts";
import { createWorkQueue, type SyncResult, type WorkQueue } from "./workqueue.ts";

const ACTOR = controllerActor("deployment-controller");

/** One sync of one Deployment: the store, the clock and what the sync has learned so far. */
class DeploymentSync {
  d: DeploymentView;
  rsList: ReplicaSetView[];
  requeueAfterMs: number | undefined;
  readonly store: Store;
  readonly clock: SimClock;
  readonly recorder: EventRecorder;

  constructor(
    store: Store,
    clock: SimClock,
    recorder: EventRecorder,
    owned: OwnerIndex,
    d: DeploymentView,
  ) {
    this.store = store;
    this.clock = clock;
    this.recorder = recorder;
    this.d = d;
    // The ReplicaSets in the Deployment's namespace it controls, in list order.
    const namespace = d.metadata.namespace ?? "";
    this.rsList = [];
    for (const key of owned.keys(d.metadata.uid ?? "")) {
      const { namespace: ns, name } = splitKey(key);
      if (ns !== namespace) continue;
      const rs = store.get(REPLICASETS, ns, name);
      if (rs !== undefined && isControlledBy(rs, d)) this.rsList.push(rs as ReplicaSetView);
    }
  }

  now(): number {
    return this.clock.nowMs();
  }

  /** syncDeployment: the top of the controller's sync handler. */
  run(): SyncResult | undefined {
    const d = this.d;
    if (isEmptySelector(d.spec.selector)) {
      this.recorder.event(
        d,
        "Warning",
        "SelectingAll",
        "This deployment is selecting all pods. A non-empty selector is required.",
      );
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0))
        this.writeStatus({ ...(d.status ?? {}), observedGeneration: d.metadata.generation ?? 0 });
      return undefined;
    }
    if (d.metadata.deletionTimestamp !== undefined) return this.syncStatusOnly();
    this.checkPausedConditions();
    if (d.spec.paused === true) return this.sync();
    if (this.isScalingEvent()) return this.sync();
    return isRollingUpdate(d) ? this.rolloutRolling() : this.rolloutRecreate();
  }

  /** getAllReplicaSetsAndSyncRevision */
  allReplicaSets(create: boolean): { newRS: ReplicaSetView | undefined; oldRSs: ReplicaSetView[] } {
    const found = findNewReplicaSet(this.rsList, rs =>
      templatesEqualIgnoreHash(rs.spec.template, this.d.spec.template),
    );
    const oldRSs = this.rsList.filter(rs => rs !== found);
    const newRS = this.getNewReplicaSet(found, oldRSs, create);
    return { newRS, oldRSs };
  }

  getNewReplicaSet(
    existing: ReplicaSetView | undefined,
    oldRSs: ReplicaSetView[],
    create: boolean,
  ): ReplicaSetView | undefined {
    const d = this.d;
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing !== undefined) {
      const copy = structuredClone(existing);
      const annotations = { ...(copy.metadata.annotations ?? {}) };
      const changed = setNewReplicaSetAnnotations(d, annotations, newRevision, true);
      const minReady = d.spec.minReadySeconds ?? 0;
      if (changed || (copy.spec.minReadySeconds ?? 0) !== minReady) {
        copy.metadata.annotations = annotations;
        copy.spec.minReadySeconds = minReady;
        const updated = this.store.update(REPLICASETS, copy, ACTOR) as ReplicaSetView;
        this.replaceRS(updated);
        return updated;
      }
      let needsUpdate = this.setDeploymentRevision(annotations[REVISION_ANNOTATION] ?? "");
      const status = this.statusCopy();
      if (hasProgressDeadline(d) && getCondition(status, "Progressing") === undefined) {
        setCondition(
          status,
          newCondition(
            "Progressing",
            "True",
            Reasons.FoundNewReplicaSet,
            `Found new replica set "${copy.metadata.name ?? ""}"`,
            this.now(),
          ),
        );
        needsUpdate = true;
      }
      if (needsUpdate) this.writeStatus(status);
      return copy;
    }
    if (!create) return undefined;
    return this.createNewReplicaSet(oldRSs, newRevision);
  }

  createNewReplicaSet(oldRSs: ReplicaSetView[], newRevision: number): ReplicaSetView | undefined {
    const d = this.d;
    const template = structuredClone(d.spec.template);
    const hash = computeTemplateHash(template, d.status?.collisionCount);
    const labels = { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    template.metadata = { ...(template.metadata ?? {}), labels };
    const selector = structuredClone(d.spec.selector);
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
    const name = `${d.metadata.name ?? ""}-${hash}`;
    const annotations: Record<string, string> = {};
    const rs: ReplicaSetView = {
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: {
        name,
        namespace: d.metadata.namespace ?? "",
        labels,
        ownerReferences: [controllerRef(d)],
        annotations,
      },
      spec: { replicas: 0, minReadySeconds: d.spec.minReadySeconds ?? 0, selector, template },
    };
    const replicas = newRSNewReplicas(d, [...oldRSs, rs], 0);
    rs.spec.replicas = replicas;
    setNewReplicaSetAnnotations(d, annotations, newRevision, false);
    const { created, alreadyExists } = this.createOrAdopt(rs);
    this.rsList.push(created);
    if (!alreadyExists && replicas > 0)
      this.recorder.event(
        d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${name} from 0 to ${replicas}`,
      );
    let needsUpdate = this.setDeploymentRevision(String(newRevision));
    const status = this.statusCopy();
    if (!alreadyExists && hasProgressDeadline(d)) {
      setCondition(
        status,
        newCondition(
          "Progressing",
          "True",
          Reasons.NewReplicaSetCreated,
          `Created new replica set "${name}"`,
          this.now(),
        ),
      );
      needsUpdate = true;
    }
    if (needsUpdate) this.writeStatus(status);
    return created;
  }

  /** Creates the new ReplicaSet; an existing one with this name counts only if it is ours and equal. */
  createOrAdopt(rs: ReplicaSetView): { created: ReplicaSetView; alreadyExists: boolean } {
    const d = this.d;
    const name = rs.metadata.name ?? "";
    try {
      return {
        created: this.store.create(REPLICASETS, rs, ACTOR) as ReplicaSetView,
        alreadyExists: false,
      };
    } catch (err) {
      if (isAlreadyExists(err)) {
        const found = this.store.get(REPLICASETS, d.metadata.namespace, name) as
          ReplicaSetView | undefined;
        if (
          found !== undefined &&
          isControlledBy(found, d) &&
          templatesEqualIgnoreHash(d.spec.template, found.spec.template)
        )
          return { created: found, alreadyExists: true };
        // A different template hashes to the same name: count the collision and retry (sync.go).
        this.writeStatus({
          ...this.statusCopy(),
          collisionCount: (d.status?.collisionCount ?? 0) + 1,
        });
        throw err;
      }
      if (
        isApiError(err) &&
        err.details?.causes?.some(c => c.reason === "NamespaceTerminating") === true
      )
        throw err;
      const message = `Failed to create new replica set "${name}": ${err instanceof Error ? err.message : String(err)}`;
      if (hasProgressDeadline(d)) {
        const status = this.statusCopy();
        setCondition(
          status,
          newCondition("Progressing", "False", Reasons.ReplicaSetCreateError, message, this.now()),
        );
        this.writeStatus(status);
      }
      this.recorder.event(d, "Warning", Reasons.ReplicaSetCreateError, message);
      throw err;
    }
  }

  /** SetDeploymentRevision: records the revision on the Deployment (written with the next status update). */
  setDeploymentRevision(revision: string): boolean {
    if (this.d.metadata.annotations?.[REVISION_ANNOTATION] === revision) return false;
    this.d.metadata.annotations = {
      ...(this.d.metadata.annotations ?? {}),
      [REVISION_ANNOTATION]: revision,
    };
    return true;
  }

  statusCopy(): DeploymentStatus {
    return structuredClone(this.d.status ?? {});
  }

  /** UpdateStatus: the revision annotation rides along (the status strategy keeps annotations). */
  writeStatus(status: DeploymentStatus): void {
    const next = structuredClone(this.d);
    next.status = status;
    this.d = this.store.update(DEPLOYMENTS, next, ACTOR, {
      subresource: "status",
    }) as DeploymentView;
  }

  replaceRS(rs: ReplicaSetView): void {
    this.rsList = this.rsList.map(x => (x.metadata.uid === rs.metadata.uid ? rs : x));
  }

  checkPausedConditions(): void {
    const d = this.d;
    if (!hasProgressDeadline(d)) return;
    const cond = getCondition(d.status, "Progressing");
    if (cond?.reason === Reasons.ProgressDeadlineExceeded) return;
    const pausedExists = cond?.reason === Reasons.DeploymentPaused;
    const status = this.statusCopy();
    if (d.spec.paused === true && !pausedExists) {
      setCondition(
        status,
        newCondition(
          "Progressing",
          "Unknown",
          Reasons.DeploymentPaused,
          "Deployment is paused",
          this.now(),
        ),
      );
    } else if (d.spec.paused !== true && pausedExists) {
      setCondition(
        status,
        newCondition(
          "Progressing",
          "Unknown",
          Reasons.DeploymentResumed,
          "Deployment is resumed",
          this.now(),
        ),
      );
    } else return;
    this.writeStatus(status);
  }

  isScalingEvent(): boolean {
    const { newRS, oldRSs } = this.allReplicaSets(false);
    for (const rs of activeReplicaSets([...oldRSs, newRS])) {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
      if (desired === undefined || !/^\d+$/.test(desired)) continue;
      if (Number(desired) !== replicasOf(this.d)) return true;
    }
    return false;
  }

  /** sync: scaling (and cleanup while paused), then status without progress estimation. */
  sync(): SyncResult | undefined {
    const { newRS, oldRSs } = this.allReplicaSets(false);
    this.scale(newRS, oldRSs);
    if (this.d.spec.paused === true) this.cleanup(oldRSs);
    const status = calculateStatus([...oldRSs, newRS], newRS, this.d, this.now());
    if (!sameStatus(this.d.status, status)) this.writeStatus(status);
    return undefined;
  }

  syncStatusOnly(): SyncResult | undefined {
    const { newRS, oldRSs } = this.allReplicaSets(false);
    const status = calculateStatus([...oldRSs, newRS], newRS, this.d, this.now());
    if (!sameStatus(this.d.status, status)) this.writeStatus(status);
    return undefined;
  }

  syncRolloutStatus(
    allRSs: (ReplicaSetView | undefined)[],
    newRS: ReplicaSetView | undefined,
  ): SyncResult | undefined {
    const fresh = allRSs.map(rs =>
      rs === undefined ? rs : (this.rsList.find(x => x.metadata.uid === rs.metadata.uid) ?? rs),
    );
    const freshNew =
      newRS === undefined
        ? undefined
        : (this.rsList.find(x => x.metadata.uid === newRS.metadata.uid) ?? newRS);
    const { status, requeueAfterMs } = rolloutStatus(fresh, freshNew, this.d, this.now());
    if (!sameStatus(this.d.status, status)) {
      this.writeStatus(status);
      return undefined;
    }
    return requeueAfterMs === undefined ? undefined : { requeueAfterMs };
  }

  /** scaleReplicaSetAndRecordEvent + scaleReplicaSet: returns whether the size changed. */
  scaleRS(
    rs: ReplicaSetView,
    newScale: number,
    operation?: "up" | "down",
  ): { scaled: boolean; rs: ReplicaSetView } {
    const d = this.d;
    const sizeNeedsUpdate = rsReplicas(rs) !== newScale;
    const annotations = { ...(rs.metadata.annotations ?? {}) };
    const annotationsChanged = setReplicasAnnotations(
      annotations,
      replicasOf(d),
      replicasOf(d) + maxSurge(d),
    );
    if (!sizeNeedsUpdate && !annotationsChanged) return { scaled: false, rs };
    const op = operation ?? (rsReplicas(rs) < newScale ? "up" : "down");
    const copy = structuredClone(rs);
    copy.spec.replicas = newScale;
    copy.metadata.annotations = annotations;
    const updated = this.store.update(REPLICASETS, copy, ACTOR) as ReplicaSetView;
    this.replaceRS(updated);
    if (sizeNeedsUpdate)
      this.recorder.event(
        d,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${op} replica set ${rs.metadata.name ?? ""} from ${rsReplicas(rs)} to ${newScale}`,
      );
    return { scaled: sizeNeedsUpdate, rs: updated };
  }

  scaleIfNeeded(rs: ReplicaSetView, newScale: number): { scaled: boolean; rs: ReplicaSetView } {
    if (rsReplicas(rs) === newScale) return { scaled: false, rs };
    return this.scaleRS(rs, newScale);
  }

  /** scale: proportional scaling across the active ReplicaSets (sync.go). */
  scale(newRS: ReplicaSetView | undefined, oldRSs: ReplicaSetView[]): void {
    const d = this.d;
    const replicas = replicasOf(d);
    const activeOrLatest = findActiveOrLatest(newRS, oldRSs);
    if (activeOrLatest !== undefined) {
      if (rsReplicas(activeOrLatest) !== replicas) this.scaleRS(activeOrLatest, replicas);
      return;
    }
    if (isSaturated(d, newRS)) {
      for (const old of activeReplicaSets(oldRSs)) this.scaleRS(old, 0);
      return;
    }
    if (!isRollingUpdate(d)) return;
    const all = activeReplicaSets([...oldRSs, newRS]);
    const allowed = replicas > 0 ? replicas + maxSurge(d) : 0;
    const toAdd = allowed - sumSpec(all);
    let op: "up" | "down" | undefined;
    if (toAdd > 0) {
      all.sort((a, b) => rsReplicas(b) - rsReplicas(a) || -byCreation(a, b)); // ReplicaSetsBySizeNewer
      op = "up";
    } else if (toAdd < 0) {
      all.sort((a, b) => rsReplicas(b) - rsReplicas(a) || byCreation(a, b)); // ReplicaSetsBySizeOlder
      op = "down";
    }
    let added = 0;
    const sizes = new Map<ReplicaSetView, number>();
    for (const rs of all) {
      const p = toAdd !== 0 ? proportion(rs, d, toAdd, added) : 0;
      sizes.set(rs, rsReplicas(rs) + p);
      added += p;
    }
    all.forEach((rs, i) => {
      let size = sizes.get(rs) ?? 0;
      if (i === 0 && toAdd !== 0) size = Math.max(0, size + toAdd - added);
      this.scaleRS(rs, size, op);
    });
  }

  /** cleanupDeployment: delete the oldest surplus ReplicaSets that are fully scaled down. */
  cleanup(oldRSs: ReplicaSetView[]): void {
    const limit = this.d.spec.revisionHistoryLimit;
    if (limit === undefined) return;
    const cleanable = oldRSs.filter(rs => rs.metadata.deletionTimestamp === undefined);
    const diff = cleanable.length - limit;
    if (diff <= 0) return;
    cleanable.sort(byRevision);
    for (const rs of cleanable.slice(0, diff)) {
      const fresh = this.rsList.find(x => x.metadata.uid === rs.metadata.uid) ?? rs;
      if ((fresh.status?.replicas ?? 0) !== 0 || rsReplicas(fresh) !== 0) continue;
      if ((fresh.metadata.generation ?? 0) > (fresh.status?.observedGeneration ?? 0)) continue;
      this.store.delete(REPLICASETS, fresh.metadata.namespace, fresh.metadata.name ?? "", ACTOR);
    }
  }

  rolloutRolling(): SyncResult | undefined {
    const { newRS, oldRSs } = this.allReplicaSets(true);
    if (newRS === undefined) return undefined;
    const all = [...oldRSs, newRS];
    if (this.reconcileNewReplicaSet(all, newRS)) return this.syncRolloutStatus(all, newRS);
    const fresh = this.rsList.find(x => x.metadata.uid === newRS.metadata.uid) ?? newRS;
    if (this.reconcileOldReplicaSets(oldRSs, fresh)) return this.syncRolloutStatus(all, newRS);
    if (isComplete(this.d, this.d.status ?? {})) this.cleanup(oldRSs);
    return this.syncRolloutStatus(all, newRS);
  }

  reconcileNewReplicaSet(allRSs: ReplicaSetView[], newRS: ReplicaSetView): boolean {
    const replicas = replicasOf(this.d);
    if (rsReplicas(newRS) === replicas) return false;
    if (rsReplicas(newRS) > replicas) return this.scaleIfNeeded(newRS, replicas).scaled;
    return this.scaleIfNeeded(newRS, newRSNewReplicas(this.d, allRSs, rsReplicas(newRS))).scaled;
  }

  /** reconcileOldReplicaSets: unhealthy old replicas first, then as many as availability allows. */
  reconcileOldReplicaSets(oldRSsIn: ReplicaSetView[], newRS: ReplicaSetView): boolean {
    let oldRSs = activeReplicaSets(oldRSsIn);
    if (sumSpec(oldRSs) === 0) return false;
    const d = this.d;
    const minAvailable = replicasOf(d) - maxUnavailable(d);
    const newUnavailable = rsReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
    const maxScaledDown = sumSpec([...oldRSs, newRS]) - minAvailable - newUnavailable;
    if (maxScaledDown <= 0) return false;
    // cleanupUnhealthyReplicas
    oldRSs = [...oldRSs].sort(byCreation);
    let cleaned = 0;
    oldRSs = oldRSs.map(rs => {
      if (cleaned >= maxScaledDown || rsReplicas(rs) === 0) return rs;
      const unhealthy = rsReplicas(rs) - (rs.status?.availableReplicas ?? 0);
      if (unhealthy <= 0) return rs;
      const n = Math.min(maxScaledDown - cleaned, unhealthy);
      cleaned += n;
      return this.scaleIfNeeded(rs, rsReplicas(rs) - n).rs;
    });
    // scaleDownOldReplicaSetsForRollingUpdate
    const available = sumStatus([...oldRSs, newRS], "availableReplicas");
    let scaledDown = 0;
    if (available > minAvailable) {
      const total = available - minAvailable;
      for (const rs of oldRSs) {
        if (scaledDown >= total) break;
        if (rsReplicas(rs) === 0) continue;
        const n = Math.min(rsReplicas(rs), total - scaledDown);
        this.scaleIfNeeded(rs, rsReplicas(rs) - n);
        scaledDown += n;
      }
    }
    return cleaned + scaledDown > 0;
  }

  rolloutRecreate(): SyncResult | undefined {
    let { newRS, oldRSs } = this.allReplicaSets(false);
    let scaledDown = false;
    for (const rs of activeReplicaSets(oldRSs))
      if (this.scaleIfNeeded(rs, 0).scaled) scaledDown = true;
    if (scaledDown || this.oldPodsRunning(newRS, oldRSs))
      return this.syncRolloutStatus([...oldRSs, newRS], newRS);
    if (newRS === undefined) ({ newRS, oldRSs } = this.allReplicaSets(true));
    if (newRS !== undefined) this.scaleIfNeeded(newRS, replicasOf(this.d));
    if (isComplete(this.d, this.d.status ?? {})) this.cleanup(oldRSs);
    return this.syncRolloutStatus([...oldRSs, newRS], newRS);
  }

  /** oldPodsRunning (recreate.go): old ReplicaSets still report replicas, or their pods are not terminal. */
  oldPodsRunning(newRS: ReplicaSetView | undefined, oldRSs: ReplicaSetView[]): boolean {
    if (sumStatus(oldRSs, "replicas") > 0) return true;
    const oldUids = new Set(oldRSs.map(rs => rs.metadata.uid));
    const pods = this.store.list(PODS, { namespace: this.d.metadata.namespace ?? "" }).items;
    return pods.some(p => {
      const owner = controllerOf(p);
      if (owner === undefined || !oldUids.has(owner.uid) || owner.uid === newRS?.metadata.uid)
        return false;
      if (!selectorMatches(this.d.spec.selector, p.metadata.labels)) return false;
      const phase = podPhase(p);
      return phase !== "Failed" && phase !== "Succeeded";
    });
  }
}

/** FindActiveOrLatest: the only active ReplicaSet, or the newest when none is active. */
function findActiveOrLatest(
  newRS: ReplicaSetView | undefined,
  oldRSs: ReplicaSetView[],
): ReplicaSetView | undefined {
  if (newRS === undefined && oldRSs.length === 0) return undefined;
  const olds = [...oldRSs].sort((a, b) => -byCreation(a, b));
  const active = activeReplicaSets([...olds, newRS]);
  if (active.length === 0) return newRS ?? olds[0];
  return active.length === 1 ? active[0] : undefined;
}

/** IsSaturated: the new ReplicaSet has every desired replica, all available. */
function isSaturated(d: DeploymentView, rs: ReplicaSetView | undefined): boolean {
  if (rs === undefined) return false;
  const desired = rs.metadata.annotations?.[DESIRED_REPLICAS_ANNOTATION];
  const r = replicasOf(d);
  return desired === String(r) && rsReplicas(rs) === r && (rs.status?.availableReplicas ?? 0) === r;
}

function sameStatus(a: DeploymentStatus | undefined, b: DeploymentStatus): boolean {
  return JSON.stringify(normalizeStatus(a ?? {})) === JSON.stringify(normalizeStatus(b));
}

function normalizeStatus(s: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = {};
  for (const k of [
    "observedGeneration",
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
  ] as const) {
    const v = s[k];
    if (v !== undefined && v !== 0) out[k] = v;
  }
  if (s.collisionCount !== undefined) out.collisionCount = s.collisionCount;
  out.conditions = s.conditions ?? [];
  return out;
}

/** Starts the deployment controller; events from the store queue the Deployment they concern. */
export function startDeploymentController(store: Store, clock: SimClock): SimComponent {
  const recorder = createEventRecorder(store, clock, { component: "deployment-controller" }, ACTOR);
  let queue: WorkQueue | undefined;
  let unsubscribe: (() => void) | undefined;
  let owned: OwnerIndex | undefined;

  const sync = (key: string): SyncResult | undefined => {
    const { namespace, name } = splitKey(key);
    const d = store.get(DEPLOYMENTS, namespace, name) as DeploymentView | undefined;
    if (d === undefined || owned === undefined) return undefined;
    return new DeploymentSync(store, clock, recorder, owned, d).run();
  };

  const enqueueOwnerOf = (o: KubeObject): void => {
    const ref = controllerOf(o);
    if (ref?.kind !== "Deployment") return;
    queue?.add(`${o.metadata.namespace ?? ""}/${ref.name}`);
  };

  const onEvent = (e: StoreEvent): void => {
    const res = e.gvr.resource;
    if (e.gvr.group === "apps" && res === "deployments") queue?.add(keyOf(e.object));
    else if (e.gvr.group === "apps" && res === "replicasets") {
      enqueueOwnerOf(e.object);
      if (
        e.oldObject !== undefined &&
        controllerOf(e.oldObject)?.uid !== controllerOf(e.object)?.uid
      )
        enqueueOwnerOf(e.oldObject);
    } else if (e.gvr.group === "" && res === "pods" && e.type === "DELETED") {
      // Recreate waits for old pods to go: a deleted pod's ReplicaSet's Deployment looks again.
      const rsRef = controllerOf(e.object);
      if (rsRef?.kind !== "ReplicaSet") return;
      const rs = store.get(REPLICASETS, e.object.metadata.namespace, rsRef.name);
      if (rs !== undefined) enqueueOwnerOf(rs);
    }
  };

  return {
    name: "deployment-controller",
    start() {
      queue = createWorkQueue(clock, sync);
      owned = createOwnerIndex(store, REPLICASETS);
      unsubscribe = store.subscribe(onEvent);
      for (const d of store.list(DEPLOYMENTS).items) queue.add(keyOf(d));
    },
    stop() {
      unsubscribe?.();
      queue?.stop();
      owned?.stop();
      owned = undefined;
    },
  };
}
