/**
 * The DaemonSet controller (pkg/controller/daemon: daemon_controller.go, update.go,
 * util/daemonset_util.go). Per set it keeps the history of its templates as ControllerRevisions
 * (history.ts's data shape, `{"spec":{"template":{...,"$patch":"replace"}}}`), named
 * `<set>-<hash>` after the template's hash (ComputeHash, as names.ts approximates it) and
 * labelled `controller-revision-hash: <hash>`, and one pod per node that should run it:
 *
 * - a node should run the pod when the template's nodeName and nodeSelector allow it and every
 *   NoSchedule / NoExecute taint is tolerated (the controller adds its own tolerations first);
 * - a pod is pinned to its node by a required node affinity on `metadata.name` (matchFields), not
 *   by nodeName, and the scheduler binds it there; pods carry the template's labels,
 *   `controller-revision-hash` and `pod-template-generation`;
 * - RollingUpdate without surge deletes old pods while the new pods that are unavailable (and
 *   nodes with no pod) stay within maxUnavailable, so a new pod that never becomes ready holds the
 *   budget and stops the roll-out; with maxSurge a new pod starts beside the old one, which is
 *   deleted once the new pod is available. OnDelete replaces nothing: a deleted pod comes back
 *   from the current template;
 * - status: desiredNumberScheduled, currentNumberScheduled, numberReady, numberAvailable,
 *   numberUnavailable, updatedNumberScheduled, numberMisscheduled, observedGeneration;
 * - history beyond revisionHistoryLimit is deleted, oldest first, never one a pod still runs;
 *   an undo finds the revision whose data equals the template and gives it the next number.
 *
 * Not modelled: the failed-pod back-off (a failed pod is deleted at once), burstReplicas and slow
 * start, hash collisions between different templates.
 */
import type { KubeObject, SimClock, SimComponent, Store } from "../types.ts";
import { createEventRecorder, type EventRecorder } from "./events.ts";
import { byRevisionNumber, goJson, revisionData } from "./history.ts";
import {
  byCreation,
  CONTROLLERREVISIONS,
  controllerActor,
  controllerOf,
  controllerRef,
  DAEMONSETS,
  isNotFound,
  isPodAvailable,
  isPodReady,
  NODES,
  podPhase,
  PODS,
  selectorMatches,
  splitKey,
  type ControllerRevisionView,
  type DaemonSetStatus,
  type DaemonSetView,
  type PodTemplate,
} from "./kube.ts";
import { computeTemplateHash } from "./names.ts";
import type { OwnerIndex } from "./owner-index.ts";
import { startOwnerController } from "./owner-controller.ts";
import type { SyncResult } from "./workqueue.ts";
import { pinnedNode } from "../kubelet/scheduler.ts";
import { TEMPLATE_GENERATION } from "../store/strategy.ts";

const ACTOR = controllerActor("daemon-set-controller");

/** apps/v1 DefaultDaemonSetUniqueLabelKey and DaemonSetTemplateGenerationKey. */
export const DAEMON_HASH_LABEL = "controller-revision-hash";
export const TEMPLATE_GENERATION_LABEL = "pod-template-generation";

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}
interface Taint {
  key?: string;
  value?: string;
  effect?: string;
}

/** AddOrUpdateDaemonPodTolerations: what every daemon pod tolerates. */
function daemonTolerations(spec: Record<string, unknown>): Toleration[] {
  const own = Array.isArray(spec["tolerations"]) ? [...(spec["tolerations"] as Toleration[])] : [];
  const add: [string, string][] = [
    ["node.kubernetes.io/not-ready", "NoExecute"],
    ["node.kubernetes.io/unreachable", "NoExecute"],
    ["node.kubernetes.io/disk-pressure", "NoSchedule"],
    ["node.kubernetes.io/memory-pressure", "NoSchedule"],
    ["node.kubernetes.io/pid-pressure", "NoSchedule"],
    ["node.kubernetes.io/unschedulable", "NoSchedule"],
  ];
  if (spec["hostNetwork"] === true)
    add.push(["node.kubernetes.io/network-unavailable", "NoSchedule"]);
  for (const [key, effect] of add) {
    const t = { key, operator: "Exists", effect };
    const i = own.findIndex(o => o.key === key && o.effect === effect);
    if (i >= 0) own[i] = t;
    else own.push(t);
  }
  return own;
}

function tolerates(tolerations: Toleration[], taint: Taint): boolean {
  return tolerations.some(
    t =>
      (t.effect === undefined || t.effect === "" || t.effect === taint.effect) &&
      (t.key === undefined || t.key === "" ? t.operator === "Exists" : t.key === taint.key) &&
      (t.operator === "Exists" || (t.value ?? "") === (taint.value ?? "")),
  );
}

/** NodeShouldRunDaemonPod: [shouldRun, shouldContinueRunning]. */
export function nodeShouldRun(node: KubeObject, template: PodTemplate): [boolean, boolean] {
  const spec = template.spec ?? {};
  const nodeName = typeof spec["nodeName"] === "string" ? spec["nodeName"] : "";
  if (nodeName !== "" && nodeName !== node.metadata.name) return [false, false];
  const selector = (spec["nodeSelector"] ?? {}) as Record<string, string>;
  const labels = node.metadata.labels ?? {};
  if (Object.entries(selector).some(([k, v]) => labels[k] !== v)) return [false, false];
  const taints = ((node["spec"] as { taints?: Taint[] } | undefined)?.taints ?? []).filter(
    t => t.effect === "NoSchedule" || t.effect === "NoExecute",
  );
  const tolerations = daemonTolerations(spec);
  const untolerated = taints.filter(t => !tolerates(tolerations, t));
  if (untolerated.length === 0) return [true, true];
  return [false, !untolerated.some(t => t.effect === "NoExecute")];
}

/** GetTargetNodeName: spec.nodeName, else the node the affinity pins the pod to. */
function targetNode(pod: KubeObject): string | undefined {
  const bound = (pod["spec"] as { nodeName?: string } | undefined)?.nodeName;
  return bound !== undefined && bound !== "" ? bound : pinnedNode(pod);
}

const isTerminating = (pod: KubeObject): boolean => pod.metadata.deletionTimestamp !== undefined;
const isTerminal = (pod: KubeObject): boolean =>
  podPhase(pod) === "Failed" || podPhase(pod) === "Succeeded";
const nodeNameOf = (pod: KubeObject): string =>
  (pod["spec"] as { nodeName?: string } | undefined)?.nodeName ?? "";

/** podByCreationTimestampAndPhase: bound pods first, then oldest, then by name. */
function byCreationAndBinding(a: KubeObject, b: KubeObject): number {
  const ab = nodeNameOf(a) !== "";
  const bb = nodeNameOf(b) !== "";
  if (ab !== bb) return ab ? -1 : 1;
  return byCreation(a, b);
}

/** GetScaledValueFromIntOrPercent, rounding up. */
function scaled(value: number | string | undefined, total: number): number {
  if (value === undefined) return 0;
  if (typeof value === "number") return value;
  const m = /^([0-9]+)%$/.exec(value);
  return m === null ? 0 : Math.ceil((Number(m[1]) * total) / 100);
}

/** The new and the old pod on a node (findUpdatedPodsOnNode). */
interface Split {
  cur: KubeObject | undefined;
  old: KubeObject | undefined;
}

/** One sync of one DaemonSet. */
class DaemonSetSync {
  readonly store: Store;
  readonly clock: SimClock;
  readonly recorder: EventRecorder;
  readonly indexes: { pods: OwnerIndex; revisions: OwnerIndex };
  ds: DaemonSetView;

  constructor(
    store: Store,
    clock: SimClock,
    recorder: EventRecorder,
    indexes: { pods: OwnerIndex; revisions: OwnerIndex },
    ds: DaemonSetView,
  ) {
    this.store = store;
    this.clock = clock;
    this.recorder = recorder;
    this.indexes = indexes;
    this.ds = ds;
  }

  get namespace(): string {
    return this.ds.metadata.namespace ?? "";
  }

  owned<T extends KubeObject>(index: OwnerIndex, gvr: typeof PODS): T[] {
    const out: T[] = [];
    for (const key of index.keys(this.ds.metadata.uid ?? "")) {
      const { namespace, name } = splitKey(key);
      if (namespace !== this.namespace) continue;
      const o = this.store.get(gvr, namespace, name);
      if (o !== undefined && controllerOf(o)?.uid === this.ds.metadata.uid) out.push(o as T);
    }
    return out;
  }

  /** getNodesToDaemonPods: the set's pods by target node, without deleted terminal ones. */
  nodeToPods(includeDeletedTerminal = false): Map<string, KubeObject[]> {
    const out = new Map<string, KubeObject[]>();
    for (const pod of this.owned(this.indexes.pods, PODS)) {
      if (!selectorMatches(this.ds.spec.selector, pod.metadata.labels)) continue;
      if (!includeDeletedTerminal && isTerminal(pod) && isTerminating(pod)) continue;
      const node = targetNode(pod);
      if (node === undefined) continue;
      out.set(node, [...(out.get(node) ?? []), pod]);
    }
    return out;
  }

  run(): SyncResult | undefined {
    const ds = this.ds;
    if (
      Object.keys(ds.spec.selector.matchLabels ?? {}).length === 0 &&
      (ds.spec.selector.matchExpressions ?? []).length === 0
    )
      return undefined;
    if (ds.metadata.deletionTimestamp !== undefined) return undefined;
    const nodes = this.store.list(NODES).items;
    const { cur, old } = this.constructHistory();
    const hash = cur.metadata.labels?.[DAEMON_HASH_LABEL] ?? "";
    this.manage(nodes, hash);
    if (ds.spec.updateStrategy?.type === "RollingUpdate") this.rollingUpdate(nodes, hash);
    this.cleanupHistory(old);
    return this.writeStatus(nodes, hash);
  }

  /** constructHistory: the revision matching the template (made or renumbered) and the rest. */
  constructHistory(): { cur: ControllerRevisionView; old: ControllerRevisionView[] } {
    const ds = this.ds;
    const data = goJson(revisionData(ds.spec.template));
    const all = this.owned<ControllerRevisionView>(this.indexes.revisions, CONTROLLERREVISIONS);
    const current = all.filter(r => goJson(r.data) === data);
    const old = all.filter(r => goJson(r.data) !== data);
    const next = Math.max(0, ...old.map(r => r.revision)) + 1;
    const keep = [...current].sort(byRevisionNumber).pop();
    if (keep === undefined) return { cur: this.snapshot(next), old };
    for (const dup of current) if (dup !== keep) this.deleteRevision(dup);
    if (keep.revision >= next) return { cur: keep, old };
    const renumbered = structuredClone(keep);
    renumbered.revision = next;
    return {
      cur: this.store.update(CONTROLLERREVISIONS, renumbered, ACTOR) as ControllerRevisionView,
      old,
    };
  }

  /** snapshot: a new ControllerRevision for the template. */
  snapshot(revision: number): ControllerRevisionView {
    const ds = this.ds;
    const hash = computeTemplateHash(ds.spec.template, ds.status?.collisionCount);
    const metadata: KubeObject["metadata"] = {
      name: `${ds.metadata.name ?? ""}-${hash}`,
      namespace: this.namespace,
      labels: { ...(ds.spec.template.metadata?.labels ?? {}), [DAEMON_HASH_LABEL]: hash },
      ownerReferences: [controllerRef(ds)],
    };
    if (Object.keys(ds.metadata.annotations ?? {}).length > 0)
      metadata.annotations = { ...ds.metadata.annotations };
    const created: ControllerRevisionView = {
      apiVersion: "apps/v1",
      kind: "ControllerRevision",
      metadata,
      data: revisionData(ds.spec.template),
      revision,
    };
    return this.store.create(CONTROLLERREVISIONS, created, ACTOR) as ControllerRevisionView;
  }

  deleteRevision(r: ControllerRevisionView): void {
    try {
      this.store.delete(CONTROLLERREVISIONS, this.namespace, r.metadata.name ?? "", ACTOR);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  get minReady(): number {
    return this.ds.spec.minReadySeconds ?? 0;
  }

  available(pod: KubeObject): boolean {
    return isPodAvailable(pod, this.minReady, this.clock.nowMs());
  }

  isUpdated(pod: KubeObject, hash: string): boolean {
    const generation = this.ds.metadata.annotations?.[TEMPLATE_GENERATION];
    const labels = pod.metadata.labels ?? {};
    return (
      (hash !== "" && labels[DAEMON_HASH_LABEL] === hash) ||
      (generation !== undefined && labels[TEMPLATE_GENERATION_LABEL] === generation)
    );
  }

  allowsSurge(): boolean {
    const s = this.ds.spec.updateStrategy;
    return s?.type === "RollingUpdate" && scaled(s.rollingUpdate?.maxSurge, 1) > 0;
  }

  /** manage / podsShouldBeOnNode: creates missing pods, deletes failed, excess and misplaced ones. */
  manage(nodes: KubeObject[], hash: string): void {
    const byNode = this.nodeToPods();
    const create: string[] = [];
    const remove: KubeObject[] = [];
    for (const node of nodes) {
      const name = node.metadata.name ?? "";
      const [shouldRun, shouldContinue] = nodeShouldRun(node, this.ds.spec.template);
      const pods = byNode.get(name);
      if (shouldRun && pods === undefined) {
        create.push(name);
        continue;
      }
      if (!shouldContinue) {
        for (const pod of pods ?? []) if (!isTerminating(pod)) remove.push(pod);
        continue;
      }
      const onNode = this.podsShouldBeOnNode(name, pods ?? [], shouldRun, hash);
      if (onNode.create) create.push(name);
      remove.push(...onNode.remove);
    }
    // getUnscheduledPodsWithoutNode: pods pinned to a node that is gone.
    const known = new Set(nodes.map(n => n.metadata.name ?? ""));
    for (const [node, pods] of byNode) {
      if (known.has(node)) continue;
      for (const pod of pods) if (nodeNameOf(pod) === "" && !isTerminating(pod)) remove.push(pod);
    }
    this.syncNodes(remove, create, hash);
  }

  /** podsShouldBeOnNode for a node that should keep running its pod. */
  podsShouldBeOnNode(
    name: string,
    pods: KubeObject[],
    shouldRun: boolean,
    hash: string,
  ): { create: boolean; remove: KubeObject[] } {
    const create = false;
    const remove: KubeObject[] = [];
    const running: KubeObject[] = [];
    for (const pod of pods) {
      if (isTerminating(pod)) continue;
      if (isTerminal(pod)) {
        const verb = podPhase(pod) === "Failed" ? "failed" : "succeeded";
        this.recorder.event(
          this.ds,
          verb === "failed" ? "Warning" : "Normal",
          verb === "failed" ? "FailedDaemonPod" : "SucceededDaemonPod",
          `Found ${verb} daemon pod ${this.namespace}/${pod.metadata.name ?? ""} on node ${name}, will try to ${verb === "failed" ? "kill" : "delete"} it`,
        );
        remove.push(pod);
      } else running.push(pod);
    }
    running.sort(byCreationAndBinding);
    if (!this.allowsSurge()) {
      return { create, remove: [...remove, ...running.slice(1)] };
    }
    if (running.length === 0) return { create: shouldRun, remove };
    let oldestNew: KubeObject | undefined;
    let oldestOld: KubeObject | undefined;
    for (const pod of running) {
      if (pod.metadata.labels?.[DAEMON_HASH_LABEL] === hash) {
        if (oldestNew === undefined) {
          oldestNew = pod;
          continue;
        }
      } else if (oldestOld === undefined) {
        oldestOld = pod;
        continue;
      }
      remove.push(pod);
    }
    if (oldestNew !== undefined && oldestOld !== undefined) {
      if (!isPodReady(oldestOld) || this.available(oldestNew)) remove.push(oldestOld);
    }
    return { create, remove };
  }

  /** rollingUpdate: within maxUnavailable (no surge) or maxSurge. */
  rollingUpdate(nodes: KubeObject[], hash: string): void {
    const byNode = this.nodeToPods();
    let desired = 0;
    for (const node of nodes) {
      if (!nodeShouldRun(node, this.ds.spec.template)[0]) continue;
      desired++;
      const name = node.metadata.name ?? "";
      if (!byNode.has(name)) byNode.set(name, []);
    }
    const rolling = this.ds.spec.updateStrategy?.rollingUpdate;
    const maxSurge = scaled(rolling?.maxSurge, desired);
    let maxUnavailable = scaled(rolling?.maxUnavailable, desired);
    if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
    const split = (pods: KubeObject[]): Split | undefined => {
      let cur: KubeObject | undefined;
      let old: KubeObject | undefined;
      for (const pod of pods) {
        if (isTerminating(pod)) continue;
        if (this.isUpdated(pod, hash)) {
          if (cur !== undefined) return undefined;
          cur = pod;
        } else {
          if (old !== undefined) return undefined;
          old = pod;
        }
      }
      return { cur, old };
    };
    const entries = [...byNode.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    if (maxSurge === 0) {
      let unavailable = 0;
      const replace: KubeObject[] = [];
      const candidates: KubeObject[] = [];
      for (const [, pods] of entries) {
        const found = split(pods);
        if (found === undefined) {
          unavailable++;
          continue;
        }
        const { cur, old } = found;
        if ((cur === undefined) === (old === undefined)) unavailable++;
        else if (cur !== undefined) {
          if (!this.available(cur)) unavailable++;
        } else if (old !== undefined) {
          if (!this.available(old)) {
            replace.push(old);
            unavailable++;
          } else if (unavailable < maxUnavailable) candidates.push(old);
        }
      }
      const room = Math.min(Math.max(0, maxUnavailable - unavailable), candidates.length);
      this.syncNodes([...replace, ...candidates.slice(0, room)], [], hash);
      return;
    }
    this.surgeUpdate(entries, split, maxSurge, hash);
  }

  /** The surging half of rollingUpdate: a new pod beside each old one, within maxSurge. */
  surgeUpdate(
    entries: [string, KubeObject[]][],
    split: (pods: KubeObject[]) => Split | undefined,
    maxSurge: number,
    hash: string,
  ): void {
    const remove: KubeObject[] = [];
    const allowed: string[] = [];
    const candidates: string[] = [];
    let surging = 0;
    for (const [node, pods] of entries) {
      const found = split(pods);
      if (found === undefined) {
        surging++;
        continue;
      }
      const { cur, old } = found;
      if (old === undefined) continue;
      if (cur === undefined) {
        if (!this.available(old)) allowed.push(node);
        else if (surging < maxSurge) candidates.push(node);
      } else if (!this.available(cur)) surging++;
      else remove.push(old);
    }
    const room = Math.min(Math.max(0, maxSurge - surging), candidates.length);
    this.syncNodes(remove, [...allowed, ...candidates.slice(0, room)], hash);
  }

  /** syncNodes: creates a pod for each node, deletes each pod. */
  syncNodes(remove: KubeObject[], create: string[], hash: string): void {
    for (const node of create) this.createPod(node, hash);
    for (const pod of remove) this.deletePod(pod);
  }

  /** CreatePodTemplate plus ReplaceDaemonSetPodNodeNameNodeAffinity. */
  newPod(node: string, hash: string): KubeObject {
    const ds = this.ds;
    const t = ds.spec.template;
    const labels: Record<string, string> = { ...(t.metadata?.labels ?? {}) };
    const generation = ds.metadata.annotations?.[TEMPLATE_GENERATION];
    if (generation !== undefined) labels[TEMPLATE_GENERATION_LABEL] = generation;
    if (hash !== "") labels[DAEMON_HASH_LABEL] = hash;
    const spec = structuredClone(t.spec ?? {});
    spec["tolerations"] = daemonTolerations(spec);
    const affinity = (spec["affinity"] ?? {}) as Record<string, unknown>;
    const nodeAffinity = (affinity["nodeAffinity"] ?? {}) as Record<string, unknown>;
    nodeAffinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
      nodeSelectorTerms: [
        { matchFields: [{ key: "metadata.name", operator: "In", values: [node] }] },
      ],
    };
    spec["affinity"] = { ...affinity, nodeAffinity };
    const metadata: KubeObject["metadata"] = {
      generateName: `${ds.metadata.name ?? ""}-`,
      namespace: this.namespace,
      labels,
      ownerReferences: [controllerRef(ds)],
    };
    if (t.metadata?.annotations) metadata.annotations = { ...t.metadata.annotations };
    return { apiVersion: "v1", kind: "Pod", metadata, spec };
  }

  createPod(node: string, hash: string): void {
    try {
      const pod = this.store.create(PODS, this.newPod(node, hash), ACTOR);
      this.recorder.event(
        this.ds,
        "Normal",
        "SuccessfulCreate",
        `Created pod: ${pod.metadata.name ?? ""}`,
      );
    } catch (err) {
      const message = err instanceof Error ? err.message : JSON.stringify(err);
      this.recorder.event(this.ds, "Warning", "FailedCreate", `Error creating: ${message}`);
      throw err;
    }
  }

  deletePod(pod: KubeObject): void {
    const name = pod.metadata.name ?? "";
    try {
      this.store.delete(PODS, this.namespace, name, ACTOR);
    } catch (err) {
      if (isNotFound(err)) return;
      throw err;
    }
    this.recorder.event(this.ds, "Normal", "SuccessfulDelete", `Deleted pod: ${name}`);
  }

  /** cleanupHistory: the oldest old revisions no pod runs, beyond revisionHistoryLimit. */
  cleanupHistory(old: ControllerRevisionView[]): void {
    const limit = this.ds.spec.revisionHistoryLimit ?? 10;
    let toKill = old.length - limit;
    if (toKill <= 0) return;
    const live = new Set<string>();
    for (const pods of this.nodeToPods(true).values())
      for (const pod of pods) {
        const h = pod.metadata.labels?.[DAEMON_HASH_LABEL];
        if (h !== undefined && h !== "") live.add(h);
      }
    for (const r of [...old].sort(byRevisionNumber)) {
      if (toKill <= 0) break;
      if (live.has(r.metadata.labels?.[DAEMON_HASH_LABEL] ?? "")) continue;
      this.deleteRevision(r);
      toKill--;
    }
  }

  /** updateDaemonSetStatus / storeDaemonSetStatus: writes only what changed. */
  writeStatus(nodes: KubeObject[], hash: string): SyncResult | undefined {
    const byNode = this.nodeToPods();
    const s = {
      desiredNumberScheduled: 0,
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      numberReady: 0,
      updatedNumberScheduled: 0,
      numberAvailable: 0,
      numberUnavailable: 0,
    };
    for (const node of nodes) {
      const pods = [...(byNode.get(node.metadata.name ?? "") ?? [])].sort(byCreationAndBinding);
      const [shouldRun] = nodeShouldRun(node, this.ds.spec.template);
      const pod = pods[0];
      if (!shouldRun) {
        if (pod !== undefined) s.numberMisscheduled++;
        continue;
      }
      s.desiredNumberScheduled++;
      if (pod === undefined) continue;
      s.currentNumberScheduled++;
      if (isPodReady(pod)) {
        s.numberReady++;
        if (this.available(pod)) s.numberAvailable++;
      }
      if (this.isUpdated(pod, hash)) s.updatedNumberScheduled++;
    }
    s.numberUnavailable = s.desiredNumberScheduled - s.numberAvailable;
    const old: DaemonSetStatus = this.ds.status ?? {};
    const generation = this.ds.metadata.generation ?? 0;
    const same =
      (Object.keys(s) as (keyof typeof s)[]).every(k => (old[k] ?? 0) === s[k]) &&
      (old.observedGeneration ?? 0) >= generation;
    if (!same) {
      const next = structuredClone(this.ds);
      next.status = { ...old, ...s, observedGeneration: generation };
      this.ds = this.store.update(DAEMONSETS, next, ACTOR, {
        subresource: "status",
      }) as DaemonSetView;
    }
    if (this.minReady > 0 && s.numberReady !== s.numberAvailable)
      return { requeueAfterMs: this.minReady * 1000 };
    return undefined;
  }
}

/** Starts the DaemonSet controller; a set's, its pods' and any node's events queue sets. */
export function startDaemonSetController(store: Store, clock: SimClock): SimComponent {
  const recorder = createEventRecorder(store, clock, { component: "daemonset-controller" }, ACTOR);
  return startOwnerController(store, clock, {
    name: "daemonset-controller",
    gvr: DAEMONSETS,
    kind: "DaemonSet",
    owns: { pods: PODS, revisions: CONTROLLERREVISIONS },
    sync: (ds, indexes) =>
      new DaemonSetSync(store, clock, recorder, indexes, ds as DaemonSetView).run(),
    onOtherEvent(e, enqueue) {
      if (e.gvr.group !== "" || e.gvr.resource !== "nodes") return;
      // shouldIgnoreNodeUpdate: a status-only change (a heartbeat) queues nothing.
      const old = e.oldObject;
      if (
        e.type === "MODIFIED" &&
        old !== undefined &&
        JSON.stringify(old["spec"]) === JSON.stringify(e.object["spec"]) &&
        JSON.stringify(old.metadata.labels) === JSON.stringify(e.object.metadata.labels)
      )
        return;
      for (const ds of store.list(DAEMONSETS).items) enqueue(ds);
    },
  });
}
