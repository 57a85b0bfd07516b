/**
 * The ReplicaSet controller (pkg/controller/replicaset/replica_set.go): creates pods from the
 * template (generateName `<rs>-`, so names are `<rs>-<5 chars>`) or deletes the least valuable
 * ones until the active pods match spec.replicas, and writes status (replicas,
 * fullyLabeledReplicas, readyReplicas, availableReplicas honouring minReadySeconds,
 * observedGeneration, the ReplicaFailure condition).
 */
import {
  formatTimestamp,
  type KubeObject,
  type SimClock,
  type SimComponent,
  type Store,
} from "../types.ts";
import { createEventRecorder, type EventRecorder } from "./events.ts";
import type { OwnerIndex } from "./owner-index.ts";
import {
  controllerActor,
  controllerOf,
  controllerRef,
  creationMs,
  isApiError,
  isNotFound,
  isPodActive,
  isPodAvailable,
  isPodReady,
  podPhase,
  podReadyCondition,
  PODS,
  REPLICASETS,
  selectorMatches,
  splitKey,
  type Condition,
  type ReplicaSetView,
} from "./kube.ts";
import { startOwnerController } from "./owner-controller.ts";
import type { SyncResult } from "./workqueue.ts";

const ACTOR = controllerActor("replicaset-controller");

/** podutil / controller.ActivePods ranking: lower ranks are deleted first (controller_utils.go, ActivePods.Less). */
export function comparePodsForDeletion(a: KubeObject, b: KubeObject): number {
  const nodeA = nodeNameOf(a) !== "";
  const nodeB = nodeNameOf(b) !== "";
  // 1. Unassigned < assigned
  if (nodeA !== nodeB) return nodeA ? 1 : -1;
  // 2. Pending < Unknown < Running
  const rank: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };
  const pa = rank[podPhase(a) ?? "Pending"] ?? 0;
  const pb = rank[podPhase(b) ?? "Pending"] ?? 0;
  if (pa !== pb) return pa - pb;
  // 3. Not ready < ready
  const ra = isPodReady(a);
  const rb = isPodReady(b);
  if (ra !== rb) return ra ? 1 : -1;
  // 4. Been ready for less time < more time (newer readiness first)
  if (ra && rb) {
    const ta = Date.parse(podReadyCondition(a)?.lastTransitionTime ?? "");
    const tb = Date.parse(podReadyCondition(b)?.lastTransitionTime ?? "");
    if (ta !== tb && !Number.isNaN(ta) && !Number.isNaN(tb)) return tb - ta;
  }
  // 5. More restarts < fewer restarts
  const ca = restarts(a);
  const cb = restarts(b);
  if (ca !== cb) return cb - ca;
  // 6. Newer < older
  return creationMs(b) - creationMs(a);
}

function nodeNameOf(pod: KubeObject): string {
  return (pod["spec"] as { nodeName?: string } | undefined)?.nodeName ?? "";
}

function restarts(pod: KubeObject): number {
  const statuses =
    (pod["status"] as { containerStatuses?: { restartCount?: number }[] } | undefined)
      ?.containerStatuses ?? [];
  return statuses.reduce((m, s) => Math.max(m, s.restartCount ?? 0), 0);
}

function podFromTemplate(rs: ReplicaSetView): KubeObject {
  const t = rs.spec.template;
  const metadata: KubeObject["metadata"] = {
    generateName: `${rs.metadata.name ?? ""}-`,
    namespace: rs.metadata.namespace ?? "",
    ownerReferences: [controllerRef(rs)],
  };
  if (t.metadata?.labels) metadata.labels = { ...t.metadata.labels };
  if (t.metadata?.annotations) metadata.annotations = { ...t.metadata.annotations };
  return { apiVersion: "v1", kind: "Pod", metadata, spec: structuredClone(t.spec ?? {}) };
}

class ReplicaSetSync {
  readonly store: Store;
  readonly clock: SimClock;
  readonly recorder: EventRecorder;
  readonly owned: OwnerIndex;
  rs: ReplicaSetView;
  failure: string | undefined;

  constructor(
    store: Store,
    clock: SimClock,
    recorder: EventRecorder,
    owned: OwnerIndex,
    rs: ReplicaSetView,
  ) {
    this.store = store;
    this.clock = clock;
    this.recorder = recorder;
    this.owned = owned;
    this.rs = rs;
  }

  /** The pods in the ReplicaSet's namespace it controls and selects, in list order. */
  pods(): KubeObject[] {
    const rs = this.rs;
    const namespace = rs.metadata.namespace ?? "";
    const pods: KubeObject[] = [];
    for (const key of this.owned.keys(rs.metadata.uid ?? "")) {
      const { namespace: ns, name } = splitKey(key);
      if (ns !== namespace) continue;
      const p = this.store.get(PODS, ns, name);
      if (
        p !== undefined &&
        controllerOf(p)?.uid === rs.metadata.uid &&
        selectorMatches(rs.spec.selector, p.metadata.labels)
      )
        pods.push(p);
    }
    return pods;
  }

  run(): SyncResult | undefined {
    let active = this.pods().filter(isPodActive);
    if (this.rs.metadata.deletionTimestamp === undefined) {
      this.manage(active);
      active = this.pods().filter(isPodActive);
    }
    return this.updateStatus(active);
  }

  manage(active: KubeObject[]): void {
    const diff = active.length - (this.rs.spec.replicas ?? 1);
    if (diff < 0) {
      for (let i = 0; i < -diff; i++) {
        try {
          const pod = this.store.create(PODS, podFromTemplate(this.rs), ACTOR);
          this.recorder.event(
            this.rs,
            "Normal",
            "SuccessfulCreate",
            `Created pod: ${pod.metadata.name ?? ""}`,
          );
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          this.failure = message;
          if (!(
            isApiError(err) &&
            err.details?.causes?.some(c => c.reason === "NamespaceTerminating") === true
          ))
            this.recorder.event(this.rs, "Warning", "FailedCreate", `Error creating: ${message}`);
          break;
        }
      }
    } else if (diff > 0) {
      const victims = [...active].sort(comparePodsForDeletion).slice(0, diff);
      for (const pod of victims) {
        try {
          this.store.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? "", ACTOR);
          this.recorder.event(
            this.rs,
            "Normal",
            "SuccessfulDelete",
            `Deleted pod: ${pod.metadata.name ?? ""}`,
          );
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
      }
    }
  }

  updateStatus(active: KubeObject[]): SyncResult | undefined {
    const rs = this.rs;
    const now = this.clock.nowMs();
    const minReady = rs.spec.minReadySeconds ?? 0;
    const templateLabels = rs.spec.template.metadata?.labels ?? {};
    const fully = active.filter(p =>
      Object.entries(templateLabels).every(([k, v]) => p.metadata.labels?.[k] === v),
    );
    const ready = active.filter(isPodReady);
    const available = active.filter(p => isPodAvailable(p, minReady, now));
    const conditions = this.conditions(now);
    const status: NonNullable<ReplicaSetView["status"]> = {
      replicas: active.length,
      fullyLabeledReplicas: fully.length,
      readyReplicas: ready.length,
      availableReplicas: available.length,
      observedGeneration: rs.metadata.generation ?? 0,
    };
    if (conditions.length > 0) status.conditions = conditions;
    if (!sameRSStatus(rs.status, status)) {
      const next = structuredClone(rs);
      next.status = status;
      this.rs = this.store.update(REPLICASETS, next, ACTOR, {
        subresource: "status",
      }) as ReplicaSetView;
    }
    // Ready but not yet available pods: look again when the first of them becomes available.
    if (minReady > 0 && ready.length > available.length) {
      const waits = ready
        .filter(p => !available.includes(p))
        .map(
          p => Date.parse(podReadyCondition(p)?.lastTransitionTime ?? "") + minReady * 1000 - now,
        );
      const wait = Math.min(...waits.filter(w => !Number.isNaN(w)));
      if (Number.isFinite(wait)) return { requeueAfterMs: Math.max(0, wait) + 1 };
    }
    return undefined;
  }

  /** The ReplicaFailure condition: set while pod creation fails, removed once it succeeds. */
  conditions(now: number): Condition[] {
    const existing = (this.rs.status?.conditions ?? []).filter(c => c.type !== "ReplicaFailure");
    const prior = this.rs.status?.conditions?.find(c => c.type === "ReplicaFailure");
    if (this.failure === undefined) return existing;
    const c: Condition = {
      type: "ReplicaFailure",
      status: "True",
      lastTransitionTime: prior?.lastTransitionTime ?? formatTimestamp(now),
      reason: "FailedCreate",
      message: this.failure,
    };
    return [...existing, c];
  }
}

function sameRSStatus(
  a: ReplicaSetView["status"],
  b: NonNullable<ReplicaSetView["status"]>,
): boolean {
  const norm = (s: ReplicaSetView["status"]): string =>
    JSON.stringify({
      replicas: s?.replicas ?? 0,
      fullyLabeledReplicas: s?.fullyLabeledReplicas ?? 0,
      readyReplicas: s?.readyReplicas ?? 0,
      availableReplicas: s?.availableReplicas ?? 0,
      observedGeneration: s?.observedGeneration ?? 0,
      conditions: s?.conditions ?? [],
    });
  return norm(a) === norm(b);
}

export function startReplicaSetController(store: Store, clock: SimClock): SimComponent {
  const recorder = createEventRecorder(store, clock, { component: "replicaset-controller" }, ACTOR);
  return startOwnerController(store, clock, {
    name: "replicaset-controller",
    gvr: REPLICASETS,
    kind: "ReplicaSet",
    owns: { pods: PODS },
    sync: (rs, { pods }) =>
      new ReplicaSetSync(store, clock, recorder, pods, rs as ReplicaSetView).run(),
  });
}
