/**
 * A user's view of a cluster, for the demo, the e2e suite, the soak and the benchmarks: what a
 * platform engineer would do with kubectl (create namespaces and Deployments, deploy a new
 * image, create drills, wait for things), plus a registry and databases: by default the
 * simulator's, reached through its own API group so the same code drives an in-process simulator
 * or one in another process (sim-registry.ts); a real cluster's backend passes its own. It never
 * imports the simulator.
 */
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { V1DaemonSet, V1Deployment, V1Probe, V1StatefulSet } from "@kubernetes/client-node";
import type { RollbackDrill } from "../api/types.ts";
import { GROUP, PLURAL, VERSION } from "../api/vocabulary.ts";
import type { ImageBehaviour, RegistryOps } from "./registry.ts";
import { SimRegistry, statusCode } from "./sim-registry.ts";
import { TimeoutError, waitUntil } from "./wait.ts";

export type { ImageBehaviour, RegistryOps } from "./registry.ts";
export { TimeoutError } from "./wait.ts";

/** A readiness probe for the simulator's images: its kubelet times readiness from the behaviour. */
export const SIM_READINESS_PROBE: V1Probe = {
  exec: { command: ["sh", "-c", "test -e /tmp/ready"] },
  periodSeconds: 1,
  failureThreshold: 1,
};

export interface ClusterOptions {
  kubeconfig: string;
  /** Real milliseconds to wait for anything before giving up; default 60,000. */
  timeoutMs?: number;
  /** The registry and databases; default the simulator's, through its API group. */
  registry?: (cluster: Cluster) => RegistryOps;
}

export class Cluster {
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly custom: CustomObjectsApi;
  readonly timeoutMs: number;
  readonly registry: RegistryOps;

  constructor(options: ClusterOptions) {
    this.kc = new KubeConfig();
    if (options.kubeconfig.includes("apiVersion")) this.kc.loadFromString(options.kubeconfig);
    else this.kc.loadFromFile(options.kubeconfig);
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.apps = this.kc.makeApiClient(AppsV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.registry =
      options.registry?.(this) ??
      new SimRegistry(this.custom, (what, probe) => this.until(what, probe));
  }

  async ensureNamespace(name: string, labels: Record<string, string> = {}): Promise<void> {
    try {
      await this.core.createNamespace({ body: { metadata: { name, labels } } });
    } catch (error) {
      if (statusCode(error) !== 409) throw error;
    }
  }

  async deleteNamespace(name: string): Promise<void> {
    try {
      await this.core.deleteNamespace({ name });
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
    }
  }

  /** Installs (or updates) a CustomResourceDefinition and waits until it is served. */
  async applyCrd(crd: Record<string, unknown>): Promise<void> {
    const name = (crd["metadata"] as { name: string }).name;
    await this.custom.patchClusterCustomObject(
      {
        group: "apiextensions.k8s.io",
        version: "v1",
        plural: "customresourcedefinitions",
        name,
        body: crd,
        fieldManager: "rollback-drill",
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
    type Crd = {
      metadata?: { resourceVersion?: string };
      status?: { conditions?: { type: string; status: string }[] };
    };
    await this.watchUntil<Crd>(
      `CRD ${name} established`,
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
      name,
      async () =>
        (await this.custom.getClusterCustomObject({
          group: "apiextensions.k8s.io",
          version: "v1",
          plural: "customresourcedefinitions",
          name,
        })) as Crd,
      got =>
        got.status?.conditions?.some(c => c.type === "Established" && c.status === "True") ?? false,
    );
  }

  // ---- the registry and databases (the simulator's through its API group, unless replaced) ----

  /**
   * Builds and pushes `repository:tag` with a behaviour, moving the tag to the new image, and
   * returns its digest once the registry has taken it.
   */
  pushImage(repository: string, tag: string, behaviour: ImageBehaviour = {}): Promise<string> {
    return this.registry.pushImage(repository, tag, behaviour);
  }

  /** Deletes an image by digest, as a registry retention policy would; its tags go with it. */
  deleteImage(repository: string, digest: string): Promise<void> {
    return this.registry.deleteImage(repository, digest);
  }

  /** The digest `repository:tag` points at now; undefined when the tag does not exist. */
  imageDigest(repository: string, tag: string): Promise<string | undefined> {
    return this.registry.imageDigest(repository, tag);
  }

  createDatabase(name: string, schemaVersion: number): Promise<void> {
    return this.registry.createDatabase(name, schemaVersion);
  }

  databaseVersion(name: string): Promise<number | undefined> {
    return this.registry.databaseVersion(name);
  }

  /** The URL a pod reaches database `name` by on the server a scenario calls `host`. */
  databaseUrl(name: string, host: string): string {
    return this.registry.databaseUrl?.(name, host) ?? `postgres://${host}:5432/${name}`;
  }

  /** The readiness probe a scenario's pods use to make readyAfterMs and neverReady real. */
  readinessProbe(): V1Probe {
    return this.registry.readinessProbe?.() ?? SIM_READINESS_PROBE;
  }

  /** The names of the cluster's nodes, sorted. */
  async nodeNames(): Promise<string[]> {
    const list = await this.core.listNode();
    return list.items
      .map(n => n.metadata?.name ?? "")
      .filter(n => n !== "")
      .sort();
  }

  /** Deletes a Deployment (its ReplicaSets and pods go with it, by garbage collection). */
  async deleteDeployment(namespace: string, name: string): Promise<void> {
    try {
      await this.apps.deleteNamespacedDeployment({ namespace, name });
    } catch (error) {
      if (statusCode(error) !== 404) throw error;
    }
  }

  // ---- workloads ----

  async createDeployment(deployment: V1Deployment): Promise<void> {
    const namespace = deployment.metadata?.namespace ?? "default";
    await this.apps.createNamespacedDeployment({ namespace, body: deployment });
  }

  async getDeployment(namespace: string, name: string): Promise<V1Deployment> {
    return this.apps.readNamespacedDeployment({ namespace, name });
  }

  /** `kubectl set image`-like: a strategic merge patch of one container's image. */
  async setImage(namespace: string, name: string, container: string, image: string): Promise<void> {
    await this.apps.patchNamespacedDeployment(
      {
        namespace,
        name,
        body: { spec: { template: { spec: { containers: [{ name: container, image }] } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  /** `kubectl rollout restart`: a new revision that differs only by an annotation. */
  async restart(namespace: string, name: string, at: string): Promise<void> {
    await this.apps.patchNamespacedDeployment(
      {
        namespace,
        name,
        body: {
          spec: {
            template: { metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": at } } },
          },
        },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  /** Waits until the deployment controller has seen the Deployment's latest spec (a ReplicaSet for it exists). */
  async waitObserved(namespace: string, name: string): Promise<V1Deployment> {
    return this.watchUntil(
      `deployment ${namespace}/${name} observed`,
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      name,
      () => this.getDeployment(namespace, name),
      d => (d.status?.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1),
    );
  }

  /** Waits as `kubectl rollout status` does (observed, updated, available, no old replicas), on a watch. */
  async waitRolledOut(namespace: string, name: string): Promise<V1Deployment> {
    return this.watchUntil(
      `deployment ${namespace}/${name} rolled out`,
      `/apis/apps/v1/namespaces/${namespace}/deployments`,
      name,
      () => this.getDeployment(namespace, name),
      d => {
        const want = d.spec?.replicas ?? 1;
        const s = d.status ?? {};
        return (
          (s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 1) &&
          (s.updatedReplicas ?? 0) === want &&
          (s.replicas ?? 0) === want &&
          (s.availableReplicas ?? 0) === want
        );
      },
    );
  }

  async createStatefulSet(set: V1StatefulSet): Promise<void> {
    const namespace = set.metadata?.namespace ?? "default";
    await this.apps.createNamespacedStatefulSet({ namespace, body: set });
  }

  async getStatefulSet(namespace: string, name: string): Promise<V1StatefulSet> {
    return this.apps.readNamespacedStatefulSet({ namespace, name });
  }

  /** `kubectl set image statefulset/<name>`: a strategic merge patch of one container's image. */
  async setStatefulSetImage(
    namespace: string,
    name: string,
    container: string,
    image: string,
  ): Promise<void> {
    await this.apps.patchNamespacedStatefulSet(
      {
        namespace,
        name,
        body: { spec: { template: { spec: { containers: [{ name: container, image }] } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  /**
   * Waits as `kubectl rollout status statefulset` does (observed, every replica Ready, and the
   * updated replicas down to the partition), on a watch. kubectl refuses an OnDelete set; for one,
   * this waits until every replica runs the update revision, which a team gets by deleting pods.
   */
  async waitStatefulSetRolledOut(namespace: string, name: string): Promise<V1StatefulSet> {
    return this.watchUntil(
      `statefulset ${namespace}/${name} rolled out`,
      `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
      name,
      () => this.getStatefulSet(namespace, name),
      set => {
        const want = set.spec?.replicas ?? 1;
        const s = set.status;
        if (s === undefined) return false;
        if ((s.observedGeneration ?? 0) < (set.metadata?.generation ?? 1)) return false;
        if ((s.readyReplicas ?? 0) < want) return false;
        const partition = set.spec?.updateStrategy?.rollingUpdate?.partition ?? 0;
        return (s.updatedReplicas ?? 0) >= want - partition;
      },
    );
  }

  /**
   * What a team does to roll an OnDelete StatefulSet forward: deletes each of its pods that does
   * not run the update revision, then waits for the set to roll out.
   */
  async rollOnDelete(namespace: string, name: string): Promise<V1StatefulSet> {
    const set = await this.watchUntil(
      `statefulset ${namespace}/${name} observed`,
      `/apis/apps/v1/namespaces/${namespace}/statefulsets`,
      name,
      () => this.getStatefulSet(namespace, name),
      s => (s.status?.observedGeneration ?? 0) >= (s.metadata?.generation ?? 1),
    );
    const update = set.status?.updateRevision ?? "";
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector: `app=${name}` });
    for (const pod of pods.items) {
      const hash = pod.metadata?.labels?.["controller-revision-hash"];
      if (hash !== update && pod.metadata?.name !== undefined)
        await this.core.deleteNamespacedPod({ namespace, name: pod.metadata.name });
    }
    return this.waitStatefulSetRolledOut(namespace, name);
  }

  async createDaemonSet(set: V1DaemonSet): Promise<void> {
    const namespace = set.metadata?.namespace ?? "default";
    await this.apps.createNamespacedDaemonSet({ namespace, body: set });
  }

  async getDaemonSet(namespace: string, name: string): Promise<V1DaemonSet> {
    return this.apps.readNamespacedDaemonSet({ namespace, name });
  }

  /** `kubectl set image daemonset/<name>`: a strategic merge patch of one container's image. */
  async setDaemonSetImage(
    namespace: string,
    name: string,
    container: string,
    image: string,
  ): Promise<void> {
    await this.apps.patchNamespacedDaemonSet(
      {
        namespace,
        name,
        body: { spec: { template: { spec: { containers: [{ name: container, image }] } } } },
      },
      setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
    );
  }

  /**
   * Waits as `kubectl rollout status daemonset` does (observed, every scheduled pod updated and
   * available), on a watch.
   */
  async waitDaemonSetRolledOut(namespace: string, name: string): Promise<V1DaemonSet> {
    return this.watchUntil(
      `daemonset ${namespace}/${name} rolled out`,
      `/apis/apps/v1/namespaces/${namespace}/daemonsets`,
      name,
      () => this.getDaemonSet(namespace, name),
      set => {
        const s = set.status;
        if (s === undefined) return false;
        if ((s.observedGeneration ?? 0) < (set.metadata?.generation ?? 1)) return false;
        const desired = s.desiredNumberScheduled;
        return (
          desired > 0 &&
          (s.updatedNumberScheduled ?? 0) >= desired &&
          (s.numberAvailable ?? 0) >= desired
        );
      },
    );
  }

  // ---- drills ----

  async applyDrill(
    drill: Omit<RollbackDrill, "metadata"> & {
      metadata: { name: string; namespace: string; annotations?: Record<string, string> };
    },
  ): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace: drill.metadata.namespace,
        name: drill.metadata.name,
        body: drill,
        fieldManager: "rollback-drill-user",
        force: true,
      },
      setHeaderOptions("Content-Type", PatchStrategy.ServerSideApply),
    );
  }

  async getDrill(namespace: string, name: string): Promise<RollbackDrill | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: PLURAL,
        namespace,
        name,
      })) as RollbackDrill;
    } catch (error) {
      if (statusCode(error) === 404) return undefined;
      throw error;
    }
  }

  async listDrills(namespace?: string): Promise<RollbackDrill[]> {
    const list = (
      namespace === undefined
        ? await this.custom.listClusterCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
          })
        : await this.custom.listNamespacedCustomObject({
            group: GROUP,
            version: VERSION,
            plural: PLURAL,
            namespace,
          })
    ) as { items: RollbackDrill[] };
    return list.items;
  }

  /**
   * Resolves with the drill once `done` holds for it, watching the drills (no polling). Re-lists
   * when the watch ends, so a dropped stream is survived.
   */
  async waitForDrill(
    namespace: string,
    name: string,
    done: (drill: RollbackDrill) => boolean,
  ): Promise<RollbackDrill> {
    return this.watchUntil(
      `drill ${namespace}/${name}`,
      `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`,
      name,
      () => this.getDrill(namespace, name),
      done,
    );
  }

  /**
   * Reads one object, and if `done` does not hold yet, watches it (by name, from the read's
   * resourceVersion) until it does; reads again and watches anew whenever the stream ends, so a
   * dropped watch is survived. The waiting is the one of wait.ts: it throws TimeoutError after the
   * cluster's timeout, naming `what` and the object's last status seen.
   */
  private watchUntil<T extends { metadata?: { resourceVersion?: string } }>(
    what: string,
    collectionPath: string,
    name: string,
    read: () => Promise<T | undefined>,
    done: (object: T) => boolean,
  ): Promise<T> {
    let latest: T | undefined;
    return waitUntil({
      what,
      timeoutMs: this.timeoutMs,
      probe: () => (latest !== undefined && done(latest) ? latest : undefined),
      lastSeen: () =>
        latest === undefined ? "not found" : ((latest as { status?: unknown }).status ?? latest),
      subscribe: (changed, failed) => {
        const watch = new Watch(this.kc);
        let stopped = false;
        const isStopped = (): boolean => stopped;
        let abort = (): void => undefined;
        const streamOnce = (resourceVersion: string): Promise<void> =>
          new Promise<void>(ended => {
            const request = watch.watch(
              collectionPath,
              {
                fieldSelector: `metadata.name=${name}`,
                resourceVersion,
                allowWatchBookmarks: true,
              },
              (type: string, object: T) => {
                if (type !== "ADDED" && type !== "MODIFIED") return;
                latest = object;
                changed();
              },
              () => {
                ended();
              },
            );
            request.catch(() => {
              ended();
            });
            abort = () => {
              void request.then(
                r => {
                  r.abort();
                },
                () => undefined,
              );
            };
          });
        const follow = async (): Promise<void> => {
          while (!isStopped()) {
            latest = await read();
            changed();
            if (isStopped()) return;
            await streamOnce(latest?.metadata?.resourceVersion ?? "0");
          }
        };
        follow().catch((error: unknown) => {
          failed(error instanceof Error ? error : new Error(String(error)));
        });
        return () => {
          stopped = true;
          abort();
        };
      },
    });
  }

  /**
   * Repeats `probe` (a read) until it returns a value, or throws TimeoutError. Only for what no
   * watch can follow (the simulator's registry through its API group, an arbitrary read of the
   * e2e suite); anything a watch can follow waits with watchUntil.
   */
  async until<T>(
    what: string,
    probe: () => Promise<T | undefined | false>,
    intervalMs = 25,
  ): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new TimeoutError(`timed out waiting for ${what}`);
      await new Promise(resolve => setTimeout(resolve, intervalMs));
    }
  }
}
