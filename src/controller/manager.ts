/**
 * The manager: informers (drills; the targets' Deployments, ReplicaSets and Pods; the sandboxes'
 * namespaces and workloads by label) feed a work queue with drill keys; N workers (the maximum of
 * concurrent drills) reconcile them. With leader election only the Lease holder runs workers;
 * losing the lease stops the work. stop() ends intake, lets in-flight reconciles finish and
 * releases the lease.
 */
import type { KubernetesObject } from "@kubernetes/client-node";
import type { Logger } from "pino";
import type { RollbackDrill } from "../api/types.ts";
import { LABEL_DRILL_UID, LABEL_MANAGED_BY, MANAGED_BY } from "../api/vocabulary.ts";
import type {
  ControllerRevisionView,
  DeploymentView,
  OperatorIdentity,
  PodView,
  ReplicaSetView,
  SetView,
} from "../core/observed.ts";
import type { KubeClient, ObjectKey, WatchedResource, WatchedTypes } from "../kube/client.ts";
import { toKubeError } from "../kube/errors.ts";
import type { Informer } from "../kube/informer.ts";
import type { Clock } from "./clock.ts";
import { createEventRecorder } from "./events.ts";
import type { ClusterCache, NamespaceView } from "./gather.ts";
import { createLogCache, gatherTarget } from "./gather.ts";
import { createLeaderElector, type LeaderElectionConfig, type LeaderElector } from "./leader.ts";
import { CONTROLLER_NAME, type Metrics } from "./metrics.ts";
import { reconcile, type DrillSource, type ReconcileDeps } from "./reconcile.ts";
import { createWorkqueue, type Workqueue } from "./workqueue.ts";

export interface ManagerOptions {
  readonly kube: KubeClient;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: Metrics;
  /** Namespaces to watch drills (and targets) in; undefined: all. */
  readonly namespaces?: readonly string[];
  /**
   * Reconcile this one drill and no other (the standalone gate: another drill's run, even one
   * orphaned by a stopped operator, is not its business). Default: every drill watched.
   */
  readonly onlyDrill?: ObjectKey;
  /** Workers, i.e. drills reconciled at once. Default 4. */
  readonly maxConcurrentDrills?: number;
  readonly leaderElection?: LeaderElectionConfig;
  readonly operator: OperatorIdentity;
  /** Reporting instance on Events (the pod name). */
  readonly instance: string;
}

export interface Manager {
  /** Starts the informers, waits for their first lists, then campaigns or starts working. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Caches synced (and not stopped). */
  isReady(): boolean;
  isLeader(): boolean;
}

const SANDBOX_SELECTOR = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
/**
 * The sandbox's workloads carry the drill's uid: the clone by its labels, and its ReplicaSets and
 * pods through the template's labels (the Deployment controller copies those, not the clone's own).
 */
const SANDBOX_WORKLOAD_SELECTOR = LABEL_DRILL_UID;

function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? ""}/${obj.metadata?.name ?? ""}`;
}

function keyOfDrill(drill: RollbackDrill): ObjectKey {
  return { namespace: drill.metadata.namespace, name: drill.metadata.name };
}

function parseKey(key: string): ObjectKey {
  const at = key.indexOf("/");
  return { namespace: key.slice(0, at), name: key.slice(at + 1) };
}

interface Informers {
  drills: Informer<WatchedTypes["rollbackdrills"]>[];
  deployments: Informer<WatchedTypes["deployments"]>[];
  replicasets: Informer<WatchedTypes["replicasets"]>[];
  statefulsets: Informer<WatchedTypes["statefulsets"]>[];
  daemonsets: Informer<WatchedTypes["daemonsets"]>[];
  controllerrevisions: Informer<WatchedTypes["controllerrevisions"]>[];
  pods: Informer<WatchedTypes["pods"]>[];
  namespaces: Informer<WatchedTypes["namespaces"]>[];
}

function buildInformers(kube: KubeClient, namespaces: readonly string[] | undefined): Informers {
  const scoped = <R extends WatchedResource>(resource: R): Informer<WatchedTypes[R]>[] =>
    namespaces === undefined
      ? [kube.informer(resource, {})]
      : namespaces.map(namespace => kube.informer(resource, { namespace }));
  // With a namespace list, the sandboxes (elsewhere) are watched by their labels.
  const sandbox = <R extends WatchedResource>(resource: R): Informer<WatchedTypes[R]>[] =>
    namespaces === undefined
      ? []
      : [kube.informer(resource, { labelSelector: SANDBOX_WORKLOAD_SELECTOR })];
  return {
    drills: scoped("rollbackdrills"),
    deployments: [...scoped("deployments"), ...sandbox("deployments")],
    replicasets: [...scoped("replicasets"), ...sandbox("replicasets")],
    statefulsets: [...scoped("statefulsets"), ...sandbox("statefulsets")],
    daemonsets: [...scoped("daemonsets"), ...sandbox("daemonsets")],
    controllerrevisions: [...scoped("controllerrevisions"), ...sandbox("controllerrevisions")],
    pods: [...scoped("pods"), ...sandbox("pods")],
    namespaces: [kube.informer("namespaces", { labelSelector: SANDBOX_SELECTOR })],
  };
}

function listAll<T extends KubernetesObject>(
  informers: Informer<T>[],
  namespace: string,
): readonly T[] {
  if (informers.length === 1) return informers[0]?.list(namespace) ?? [];
  const seen = new Map<string, T>();
  for (const informer of informers)
    for (const obj of informer.list(namespace)) seen.set(obj.metadata?.name ?? "", obj);
  return [...seen.values()];
}

/**
 * The informers' objects as gather reads them. They are already plain JSON, slimmed and frozen
 * when they entered the cache (kube/informer.ts), so they are shared, not copied, per reconcile.
 */
function cacheOf(informers: Informers): ClusterCache {
  return {
    deployment: (namespace, name) => {
      for (const i of informers.deployments) {
        const found = i.get(name, namespace);
        if (found !== undefined) return found as unknown as DeploymentView;
      }
      return undefined;
    },
    deployments: namespace =>
      listAll(informers.deployments, namespace) as unknown as readonly DeploymentView[],
    replicaSets: namespace =>
      listAll(informers.replicasets, namespace) as unknown as readonly ReplicaSetView[],
    set: (kind, namespace, name) => {
      for (const i of kind === "StatefulSet" ? informers.statefulsets : informers.daemonsets) {
        const found = i.get(name, namespace);
        if (found !== undefined) return found as unknown as SetView;
      }
      return undefined;
    },
    sets: (kind, namespace) =>
      (kind === "StatefulSet"
        ? listAll(informers.statefulsets, namespace)
        : listAll(informers.daemonsets, namespace)) as unknown as readonly SetView[],
    controllerRevisions: namespace =>
      listAll(
        informers.controllerrevisions,
        namespace,
      ) as unknown as readonly ControllerRevisionView[],
    pods: namespace => listAll(informers.pods, namespace) as unknown as readonly PodView[],
    namespace: name => informers.namespaces[0]?.get(name) as NamespaceView | undefined,
  };
}

/** resourceVersions the drill informers delivered, per drill key (the last few). */
const SEEN_VERSIONS = 16;

/**
 * The informer's drills, overlaid with this controller's own newer writes. A write is newer only
 * while the cache has not delivered it yet: once the informer has shown that resourceVersion, the
 * cache is at it or past it (someone may have written since, e.g. a run-now annotation), so the
 * cache wins. resourceVersions are compared for equality only, as Kubernetes requires.
 */
export function drillSourceOf(drillInformers: Informers["drills"]): DrillSource {
  const written = new Map<string, { drill: RollbackDrill; cachedRv: string | undefined }>();
  const seen = new Map<string, string[]>();
  const cached = (key: ObjectKey): RollbackDrill | undefined => {
    for (const i of drillInformers) {
      const found = i.get(key.name, key.namespace);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const wasDelivered = (k: string, rv: string | undefined): boolean =>
    rv !== undefined && (seen.get(k) ?? []).includes(rv);
  for (const i of drillInformers)
    for (const event of ["add", "update"] as const)
      i.on(event, d => {
        const k = keyOf(d);
        const rvs = [...(seen.get(k) ?? []), d.metadata.resourceVersion ?? ""].slice(
          -SEEN_VERSIONS,
        );
        seen.set(k, rvs);
      });
  for (const i of drillInformers)
    i.on("delete", d => {
      seen.delete(keyOf(d));
      written.delete(keyOf(d));
    });
  return {
    get(key) {
      const fromCache = cached(key);
      const k = `${key.namespace}/${key.name}`;
      const mine = written.get(k);
      // Ours is newer only while the cache still shows the version we replaced.
      if (
        mine !== undefined &&
        fromCache?.metadata.resourceVersion === mine.cachedRv &&
        !wasDelivered(k, mine.drill.metadata.resourceVersion)
      )
        return mine.drill;
      written.delete(k);
      return fromCache;
    },
    remember(drill) {
      const key = { namespace: drill.metadata.namespace, name: drill.metadata.name };
      const k = `${key.namespace}/${key.name}`;
      if (wasDelivered(k, drill.metadata.resourceVersion)) {
        written.delete(k);
        return;
      }
      written.set(k, { drill, cachedRv: cached(key)?.metadata.resourceVersion });
    },
  };
}

/**
 * The drills by what their events come from: their own uid (sandbox objects carry it in a label),
 * their target (namespace/name) and their namespace. Kept by the drill informers' events, so a
 * watch event finds its drills without looking at every drill.
 */
interface DrillIndex {
  byUid(uid: string): readonly string[];
  byTarget(namespace: string, name: string): readonly string[];
  byNamespace(namespace: string): readonly string[];
}

function indexDrills(drillInformers: Informers["drills"]): DrillIndex {
  const uids = new Map<string, Set<string>>();
  const targets = new Map<string, Set<string>>();
  const namespaces = new Map<string, Set<string>>();
  const entries = new Map<string, { uid: string; target: string; namespace: string }>();
  const add = (map: Map<string, Set<string>>, k: string, key: string): void => {
    const set = map.get(k) ?? new Set<string>();
    set.add(key);
    map.set(k, set);
  };
  const remove = (map: Map<string, Set<string>>, k: string, key: string): void => {
    const set = map.get(k);
    set?.delete(key);
    if (set?.size === 0) map.delete(k);
  };
  const unindex = (key: string): void => {
    const entry = entries.get(key);
    if (entry === undefined) return;
    remove(uids, entry.uid, key);
    remove(targets, entry.target, key);
    remove(namespaces, entry.namespace, key);
    entries.delete(key);
  };
  const index = (drill: RollbackDrill): void => {
    const key = keyOf(drill);
    unindex(key);
    const namespace = drill.metadata.namespace;
    const entry = {
      uid: drill.metadata.uid,
      target: `${namespace}/${drill.spec.targetRef.name}`,
      namespace,
    };
    entries.set(key, entry);
    add(uids, entry.uid, key);
    add(targets, entry.target, key);
    add(namespaces, entry.namespace, key);
  };
  for (const i of drillInformers) {
    i.on("add", index);
    i.on("update", index);
    i.on("delete", d => {
      unindex(keyOf(d));
    });
  }
  const keys = (set: Set<string> | undefined): readonly string[] => (set ? [...set] : []);
  return {
    byUid: uid => keys(uids.get(uid)),
    byTarget: (namespace, name) => keys(targets.get(`${namespace}/${name}`)),
    byNamespace: namespace => keys(namespaces.get(namespace)),
  };
}

/** Maps every watch event to the keys of the drills it concerns. */
function wireEvents(informers: Informers, index: DrillIndex, enqueue: (key: string) => void): void {
  const enqueueDrillsFor = (obj: KubernetesObject, targetName: string | undefined): void => {
    const uid = obj.metadata?.labels?.[LABEL_DRILL_UID];
    const namespace = obj.metadata?.namespace ?? "";
    const keys =
      uid !== undefined
        ? index.byUid(uid)
        : targetName === undefined
          ? index.byNamespace(namespace)
          : index.byTarget(namespace, targetName);
    for (const key of keys) enqueue(key);
  };
  const ownerName = (obj: KubernetesObject, kind: string): string | undefined =>
    obj.metadata?.ownerReferences?.find(o => o.kind === kind && o.controller === true)?.name;
  const deploymentOfPod = (pod: KubernetesObject): string | undefined => {
    const rsName = ownerName(pod, "ReplicaSet");
    if (rsName === undefined) return undefined;
    for (const i of informers.replicasets) {
      const rs = i.get(rsName, pod.metadata?.namespace);
      if (rs !== undefined) return ownerName(rs, "Deployment");
    }
    return undefined;
  };

  for (const i of informers.drills)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, d => {
        enqueue(keyOf(d));
      });
  for (const i of informers.deployments)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, d => {
        enqueueDrillsFor(d, d.metadata?.name);
      });
  for (const i of informers.replicasets)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, rs => {
        enqueueDrillsFor(rs, ownerName(rs, "Deployment"));
      });
  for (const i of informers.statefulsets)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, set => {
        enqueueDrillsFor(set, set.metadata?.name);
      });
  for (const i of informers.daemonsets)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, set => {
        enqueueDrillsFor(set, set.metadata?.name);
      });
  for (const i of informers.controllerrevisions)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, cr => {
        enqueueDrillsFor(cr, ownerName(cr, "StatefulSet") ?? ownerName(cr, "DaemonSet"));
      });
  for (const i of informers.pods)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, pod => {
        enqueueDrillsFor(
          pod,
          deploymentOfPod(pod) ?? ownerName(pod, "StatefulSet") ?? ownerName(pod, "DaemonSet"),
        );
      });
  for (const i of informers.namespaces)
    for (const event of ["add", "update", "delete"] as const)
      i.on(event, ns => {
        enqueueDrillsFor(ns, undefined);
      });
}

export function createManager(options: ManagerOptions): Manager {
  const { kube, clock, log, metrics } = options;
  const workers = Math.max(1, options.maxConcurrentDrills ?? 4);
  const informers = buildInformers(kube, options.namespaces);
  const cache = cacheOf(informers);
  const drills = drillSourceOf(informers.drills);
  const deps: ReconcileDeps = {
    kube,
    cache,
    drills,
    clock,
    log,
    metrics,
    events: createEventRecorder({ kube, now: () => clock.now(), instance: options.instance }),
    logs: createLogCache(),
    operator: options.operator,
  };
  let queue: Workqueue | undefined;
  let loops: Promise<void>[] = [];
  let ready = false;
  let elector: LeaderElector | undefined;

  const only = options.onlyDrill === undefined ? undefined : keyOf({ metadata: options.onlyDrill });
  const allDrills = (): RollbackDrill[] =>
    informers.drills
      .flatMap(i => [...i.list()])
      .filter(d => only === undefined || keyOf(d) === only);
  wireEvents(informers, indexDrills(informers.drills), key => {
    if (only === undefined || key === only) queue?.add(key);
  });
  metrics.observe({
    // Only the replica that works reports the drills' state, so a standby adds no duplicates.
    drills: () => (queue === undefined ? [] : allDrills().map(d => drills.get(keyOfDrill(d)) ?? d)),
    target: drill => gatherTarget(drill, cache),
    nowMs: () => clock.now().getTime(),
  });
  metrics.maxConcurrentReconciles.set({ controller: CONTROLLER_NAME }, workers);
  // As controller-runtime does: every series exists from the start, so rate() sees the first one.
  metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME }, 0);
  for (const result of ["success", "error", "requeue", "requeue_after"])
    metrics.reconcileTotal.inc({ controller: CONTROLLER_NAME, result }, 0);
  metrics.activeWorkers.set({ controller: CONTROLLER_NAME }, 0);

  const work = async (q: Workqueue): Promise<void> => {
    for (;;) {
      const key = await q.get();
      if (key === undefined) return;
      const started = performance.now();
      metrics.activeWorkers.inc({ controller: CONTROLLER_NAME });
      try {
        const result = await reconcile(parseKey(key), deps);
        q.forget(key);
        if (result.requeueAfterMs !== undefined) q.addAfter(key, result.requeueAfterMs);
        metrics.reconcileTotal.inc({
          controller: CONTROLLER_NAME,
          result: result.requeueAfterMs === undefined ? "success" : "requeue_after",
        });
      } catch (err) {
        metrics.reconcileErrors.inc({ controller: CONTROLLER_NAME });
        metrics.reconcileTotal.inc({ controller: CONTROLLER_NAME, result: "error" });
        log.warn(
          { err: toKubeError(err), drill: key, retries: q.retries(key) },
          "Reconcile failed; backing off",
        );
        q.addRateLimited(key);
      } finally {
        q.done(key);
        metrics.activeWorkers.dec({ controller: CONTROLLER_NAME });
        metrics.reconcileTime.observe(
          { controller: CONTROLLER_NAME },
          (performance.now() - started) / 1000,
        );
      }
    }
  };

  const startWorkers = (): void => {
    if (queue !== undefined) return;
    const q = createWorkqueue({
      clock,
      onDepth: depth => {
        metrics.workqueueDepth.set({ name: CONTROLLER_NAME }, depth);
      },
    });
    queue = q;
    // The queue reports changes only; a queue whose keys all go straight to idle workers has none.
    metrics.workqueueDepth.set({ name: CONTROLLER_NAME }, q.len());
    metrics.leader.set(1);
    for (const drill of allDrills()) q.add(keyOf(drill));
    loops = Array.from({ length: workers }, () => work(q));
    log.info({ workers }, "Started workers");
  };
  const stopWorkers = async (): Promise<void> => {
    const q = queue;
    if (q === undefined) return;
    queue = undefined;
    metrics.leader.set(0);
    q.shutdown();
    await q.drain();
    await Promise.all(loops);
    loops = [];
    log.info("Stopped workers");
  };

  return {
    async start() {
      await Promise.all(
        Object.values(informers)
          .flat()
          .map((i: Informer<KubernetesObject>) => i.start()),
      );
      ready = true;
      log.info({ namespaces: options.namespaces ?? "all" }, "Caches synced");
      if (options.leaderElection === undefined) {
        startWorkers();
        return;
      }
      elector = createLeaderElector(options.leaderElection, {
        kube,
        clock,
        log,
        onStartedLeading: startWorkers,
        onStoppedLeading: () => void stopWorkers(),
      });
      elector.start();
    },
    async stop() {
      ready = false;
      await stopWorkers();
      await elector?.stop();
      for (const i of Object.values(informers).flat()) (i as Informer<KubernetesObject>).stop();
    },
    isReady: () =>
      ready &&
      Object.values(informers)
        .flat()
        .every((i: Informer<KubernetesObject>) => i.hasSynced()),
    isLeader: () => options.leaderElection === undefined || (elector?.isLeader() ?? false),
  };
}
