/**
 * The one adapter to Kubernetes: a small port (KubeClient) and its implementation on
 * @kubernetes/client-node 1.4.0. Every call is retried on transient errors (retry.ts) and every
 * failure is thrown typed (errors.ts), so callers never see a status code. Reads that happen on
 * every reconcile go through informers (list+watch caches), not through these GETs.
 */
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  NetworkingV1Api,
  Observable,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type {
  ConfigurationOptions,
  CoreV1Event,
  ObservableMiddleware,
  RequestContext,
  ResponseContext,
  KubernetesListObject,
  KubernetesObject,
  V1ConfigMap,
  V1Deployment,
  V1Lease,
  V1Namespace,
  V1NetworkPolicy,
  V1Pod,
  V1ControllerRevision,
  V1ReplicaSet,
  V1StatefulSet,
  V1DaemonSet,
  V1ResourceQuota,
  V1RoleBinding,
  V1Secret,
  V1ServiceAccount,
} from "@kubernetes/client-node";
import type { RollbackDrill } from "../api/types.ts";
import { GROUP, PLURAL, VERSION } from "../api/vocabulary.ts";
import { createInformer, type Informer } from "./informer.ts";
import { DEFAULT_RETRY_POLICY, withRetry, type RetryPolicy } from "./retry.ts";
import { toKubeError, type KubeError } from "./errors.ts";

export interface ObjectKey {
  readonly namespace: string;
  readonly name: string;
}

/** A namespaced object the sandbox gets, as a complete manifest. */
export interface SandboxManifest {
  apiVersion: string;
  kind: "ServiceAccount" | "RoleBinding" | "NetworkPolicy" | "ResourceQuota";
  metadata: { name: string; namespace: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
}

/** What the informers can watch. */
export type WatchedResource =
  | "rollbackdrills"
  | "deployments"
  | "replicasets"
  | "statefulsets"
  | "daemonsets"
  | "controllerrevisions"
  | "pods"
  | "namespaces";

export interface WatchScope {
  /** One namespace, or all when undefined (ignored for namespaces). */
  readonly namespace?: string;
  readonly labelSelector?: string;
}

export interface WatchedTypes {
  rollbackdrills: RollbackDrill & KubernetesObject;
  deployments: V1Deployment;
  replicasets: V1ReplicaSet;
  statefulsets: V1StatefulSet;
  daemonsets: V1DaemonSet;
  controllerrevisions: V1ControllerRevision;
  pods: V1Pod;
  namespaces: V1Namespace;
}

/** The port the controller codes against. */
export interface KubeClient {
  getDrill(key: ObjectKey): Promise<RollbackDrill>;
  /** PUT .../status with the drill's resourceVersion: ConflictError when it is stale. */
  replaceDrillStatus(drill: RollbackDrill): Promise<RollbackDrill>;
  /** Merge patch of metadata.finalizers, preconditioned on the drill's resourceVersion. */
  setDrillFinalizers(drill: RollbackDrill, finalizers: readonly string[]): Promise<RollbackDrill>;
  getNamespace(name: string): Promise<V1Namespace>;
  createNamespace(name: string, labels: Record<string, string>): Promise<V1Namespace>;
  deleteNamespace(name: string): Promise<void>;
  createSandboxObject(manifest: SandboxManifest): Promise<void>;
  getConfigMap(key: ObjectKey): Promise<V1ConfigMap>;
  createConfigMap(body: V1ConfigMap & { metadata: { namespace: string } }): Promise<void>;
  getSecret(key: ObjectKey): Promise<V1Secret>;
  /** A target's ServiceAccount, for the image pull secrets it gives its Pods. */
  getServiceAccount(key: ObjectKey): Promise<V1ServiceAccount>;
  createSecret(body: V1Secret & { metadata: { namespace: string } }): Promise<void>;
  createDeployment(body: V1Deployment & { metadata: { namespace: string } }): Promise<void>;
  /** PATCH application/json-patch+json, as `kubectl rollout undo` sends it. */
  patchDeploymentJson(key: ObjectKey, ops: readonly JsonPatchOp[]): Promise<void>;
  createStatefulSet(body: V1StatefulSet & { metadata: { namespace: string } }): Promise<void>;
  patchStatefulSetJson(key: ObjectKey, ops: readonly JsonPatchOp[]): Promise<void>;
  /** PATCH application/strategic-merge-patch+json, as `kubectl rollout undo statefulset` sends it. */
  patchStatefulSetStrategic(key: ObjectKey, body: unknown): Promise<void>;
  createDaemonSet(body: V1DaemonSet & { metadata: { namespace: string } }): Promise<void>;
  patchDaemonSetJson(key: ObjectKey, ops: readonly JsonPatchOp[]): Promise<void>;
  /** PATCH application/strategic-merge-patch+json, as `kubectl rollout undo daemonset` sends it. */
  patchDaemonSetStrategic(key: ObjectKey, body: unknown): Promise<void>;
  deletePod(key: ObjectKey): Promise<void>;
  /** The last `tailLines` lines of a container's log (of its previous instance when asked). */
  readPodLog(
    key: ObjectKey,
    options: { container: string; previous: boolean; tailLines: number },
  ): Promise<string>;
  createEvent(event: CoreV1Event & { metadata: { namespace: string } }): Promise<void>;
  getLease(key: ObjectKey): Promise<V1Lease>;
  createLease(lease: V1Lease & { metadata: { namespace: string; name: string } }): Promise<V1Lease>;
  /** PUT with the lease's resourceVersion: ConflictError when another candidate wrote first. */
  replaceLease(
    lease: V1Lease & { metadata: { namespace: string; name: string } },
  ): Promise<V1Lease>;
  informer<R extends WatchedResource>(resource: R, scope: WatchScope): Informer<WatchedTypes[R]>;
}

export interface KubeClientOptions {
  readonly kubeConfig: KubeConfig;
  /** Waits between retries and informer restarts (a Clock in the operator). */
  readonly sleep: (ms: number) => Promise<void>;
  readonly schedule: (fn: () => void, ms: number) => () => void;
  readonly random?: () => number;
  readonly retryPolicy?: RetryPolicy;
  /** Told about retries and informer restarts, e.g. to log them. */
  readonly onTransientError?: (what: string, error: KubeError, delayMs: number) => void;
}

/** A KubeConfig from kubeconfig YAML, a kubeconfig file path, or (neither) in-cluster / default. */
export function loadKubeConfig(kubeconfig?: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig === undefined || kubeconfig === "") kc.loadFromDefault();
  else if (/^\s*(apiVersion|kind|clusters|contexts|current-context|users)\s*:/m.test(kubeconfig))
    kc.loadFromString(kubeconfig);
  else kc.loadFromFile(kubeconfig);
  return kc;
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

/**
 * Sends `body` as JSON exactly as given. client-node serialises typed bodies through its models,
 * which rename or drop a few wire fields (NetworkPolicy ingress `from` is `_from` in the model,
 * JSON schema `default` is `_default`); the sandbox manifests are complete wire objects already.
 */
function rawJsonBody(body: unknown): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (context: RequestContext) => {
      context.setBody(JSON.stringify(body));
      return new Observable(Promise.resolve(context));
    },
    post: (response: ResponseContext) => new Observable(Promise.resolve(response)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: "append" };
}

/** client-node types custom objects as `any`; this is where they become drills. */
function asDrill(value: unknown): RollbackDrill {
  return value as RollbackDrill;
}

type ListFns = {
  [R in WatchedResource]: (scope: WatchScope) => Promise<KubernetesListObject<WatchedTypes[R]>>;
};

/** The LIST behind each informer: one namespace or all, optionally by label. */
function listFunctions(core: CoreV1Api, apps: AppsV1Api, custom: CustomObjectsApi): ListFns {
  const selectorOf = (scope: WatchScope) =>
    scope.labelSelector === undefined ? {} : { labelSelector: scope.labelSelector };
  return {
    rollbackdrills: async scope => {
      const params = { group: GROUP, version: VERSION, plural: PLURAL, ...selectorOf(scope) };
      const list: unknown = await (scope.namespace === undefined
        ? custom.listClusterCustomObject(params)
        : custom.listNamespacedCustomObject({ ...params, namespace: scope.namespace }));
      return list as KubernetesListObject<WatchedTypes["rollbackdrills"]>;
    },
    deployments: scope =>
      scope.namespace === undefined
        ? apps.listDeploymentForAllNamespaces(selectorOf(scope))
        : apps.listNamespacedDeployment({ namespace: scope.namespace, ...selectorOf(scope) }),
    replicasets: scope =>
      scope.namespace === undefined
        ? apps.listReplicaSetForAllNamespaces(selectorOf(scope))
        : apps.listNamespacedReplicaSet({ namespace: scope.namespace, ...selectorOf(scope) }),
    statefulsets: scope =>
      scope.namespace === undefined
        ? apps.listStatefulSetForAllNamespaces(selectorOf(scope))
        : apps.listNamespacedStatefulSet({ namespace: scope.namespace, ...selectorOf(scope) }),
    daemonsets: scope =>
      scope.namespace === undefined
        ? apps.listDaemonSetForAllNamespaces(selectorOf(scope))
        : apps.listNamespacedDaemonSet({ namespace: scope.namespace, ...selectorOf(scope) }),
    controllerrevisions: scope =>
      scope.namespace === undefined
        ? apps.listControllerRevisionForAllNamespaces(selectorOf(scope))
        : apps.listNamespacedControllerRevision({
            namespace: scope.namespace,
            ...selectorOf(scope),
          }),
    pods: scope =>
      scope.namespace === undefined
        ? core.listPodForAllNamespaces(selectorOf(scope))
        : core.listNamespacedPod({ namespace: scope.namespace, ...selectorOf(scope) }),
    namespaces: scope => core.listNamespace(selectorOf(scope)),
  };
}

function collectionPath(resource: WatchedResource, namespace: string | undefined): string {
  const prefix =
    resource === "rollbackdrills"
      ? `/apis/${GROUP}/${VERSION}`
      : resource === "deployments" ||
          resource === "replicasets" ||
          resource === "statefulsets" ||
          resource === "daemonsets" ||
          resource === "controllerrevisions"
        ? "/apis/apps/v1"
        : "/api/v1";
  if (resource === "namespaces" || namespace === undefined) return `${prefix}/${resource}`;
  return `${prefix}/namespaces/${namespace}/${resource}`;
}

type Call = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

/** Creates one of the sandbox's namespaced objects, by kind. */
async function createSandboxObject(
  apis: { core: CoreV1Api; rbac: RbacAuthorizationV1Api; net: NetworkingV1Api },
  call: Call,
  manifest: SandboxManifest,
): Promise<void> {
  const { core, rbac, net } = apis;
  const namespace = manifest.metadata.namespace;
  const what = `create ${manifest.kind}`;
  // The manifests are complete objects built by the core; client-node's models are their shapes.
  const body: unknown = manifest;
  const raw = rawJsonBody(body);
  switch (manifest.kind) {
    case "ServiceAccount":
      await call(what, () =>
        core.createNamespacedServiceAccount({ namespace, body: body as V1ServiceAccount }, raw),
      );
      return;
    case "RoleBinding":
      await call(what, () =>
        rbac.createNamespacedRoleBinding({ namespace, body: body as V1RoleBinding }, raw),
      );
      return;
    case "NetworkPolicy":
      await call(what, () =>
        net.createNamespacedNetworkPolicy({ namespace, body: body as V1NetworkPolicy }, raw),
      );
      return;
    case "ResourceQuota":
      await call(what, () =>
        core.createNamespacedResourceQuota({ namespace, body: body as V1ResourceQuota }, raw),
      );
      return;
  }
}

type WorkloadWrites = Pick<
  KubeClient,
  | "createDeployment"
  | "patchDeploymentJson"
  | "createStatefulSet"
  | "patchStatefulSetJson"
  | "patchStatefulSetStrategic"
  | "createDaemonSet"
  | "patchDaemonSetJson"
  | "patchDaemonSetStrategic"
>;

/** The clone's writes: create, JSON patch (roll forward, scale) and strategic merge patch (undo). */
function workloadWrites(apps: AppsV1Api, call: Call): WorkloadWrites {
  return {
    async createDeployment(body) {
      await call("create deployment", () =>
        apps.createNamespacedDeployment(
          { namespace: body.metadata.namespace, body },
          rawJsonBody(body),
        ),
      );
    },
    async patchDeploymentJson(key, ops) {
      await call("patch deployment", () =>
        apps.patchNamespacedDeployment({ ...key, body: ops }, jsonPatch),
      );
    },
    async createStatefulSet(body) {
      await call("create statefulset", () =>
        apps.createNamespacedStatefulSet(
          { namespace: body.metadata.namespace, body },
          rawJsonBody(body),
        ),
      );
    },
    async patchStatefulSetJson(key, ops) {
      await call("patch statefulset", () =>
        apps.patchNamespacedStatefulSet({ ...key, body: ops }, jsonPatch),
      );
    },
    async patchStatefulSetStrategic(key, body) {
      // The body is sent as given: the ControllerRevision's data with its $patch directive.
      await call("patch statefulset", () =>
        apps.patchNamespacedStatefulSet(
          { ...key, body },
          setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch, rawJsonBody(body)),
        ),
      );
    },
    async createDaemonSet(body) {
      await call("create daemonset", () =>
        apps.createNamespacedDaemonSet(
          { namespace: body.metadata.namespace, body },
          rawJsonBody(body),
        ),
      );
    },
    async patchDaemonSetJson(key, ops) {
      await call("patch daemonset", () =>
        apps.patchNamespacedDaemonSet({ ...key, body: ops }, jsonPatch),
      );
    },
    async patchDaemonSetStrategic(key, body) {
      await call("patch daemonset", () =>
        apps.patchNamespacedDaemonSet(
          { ...key, body },
          setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch, rawJsonBody(body)),
        ),
      );
    },
  };
}

export function createKubeClient(options: KubeClientOptions): KubeClient {
  const kc = options.kubeConfig;
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  const net = kc.makeApiClient(NetworkingV1Api);
  const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const random = options.random ?? Math.random;
  const policy = options.retryPolicy ?? DEFAULT_RETRY_POLICY;

  const call: Call = (what, fn) =>
    withRetry(fn, {
      sleep: options.sleep,
      random,
      policy,
      onRetry: ({ delayMs, error }) => {
        options.onTransientError?.(what, toKubeError(error), delayMs);
      },
    });
  const drillRef = (key: ObjectKey) => ({ group: GROUP, version: VERSION, plural: PLURAL, ...key });

  const lists = listFunctions(core, apps, custom);

  return {
    async getDrill(key) {
      return asDrill(
        await call("get drill", () => custom.getNamespacedCustomObject(drillRef(key))),
      );
    },
    async replaceDrillStatus(drill) {
      const key = { namespace: drill.metadata.namespace, name: drill.metadata.name };
      const body = { ...drill, apiVersion: `${GROUP}/${VERSION}` };
      return asDrill(
        await call("update drill status", () =>
          custom.replaceNamespacedCustomObjectStatus({ ...drillRef(key), body }),
        ),
      );
    },
    async setDrillFinalizers(drill, finalizers) {
      const key = { namespace: drill.metadata.namespace, name: drill.metadata.name };
      const body = {
        metadata: { finalizers: [...finalizers], resourceVersion: drill.metadata.resourceVersion },
      };
      return asDrill(
        await call("patch drill finalizers", () =>
          custom.patchNamespacedCustomObject({ ...drillRef(key), body }, mergePatch),
        ),
      );
    },
    getNamespace: name => call("get namespace", () => core.readNamespace({ name })),
    createNamespace: (name, labels) =>
      call("create namespace", () =>
        core.createNamespace({
          body: { apiVersion: "v1", kind: "Namespace", metadata: { name, labels } },
        }),
      ),
    async deleteNamespace(name) {
      await call("delete namespace", () => core.deleteNamespace({ name }));
    },
    createSandboxObject: manifest => createSandboxObject({ core, rbac, net }, call, manifest),
    getConfigMap: key => call("get configmap", () => core.readNamespacedConfigMap(key)),
    async createConfigMap(body) {
      await call("create configmap", () =>
        core.createNamespacedConfigMap({ namespace: body.metadata.namespace, body }),
      );
    },
    getSecret: key => call("get secret", () => core.readNamespacedSecret(key)),
    getServiceAccount: key =>
      call("get serviceaccount", () => core.readNamespacedServiceAccount(key)),
    async createSecret(body) {
      await call("create secret", () =>
        core.createNamespacedSecret({ namespace: body.metadata.namespace, body }),
      );
    },
    ...workloadWrites(apps, call),
    async deletePod(key) {
      await call("delete pod", () => core.deleteNamespacedPod(key));
    },
    readPodLog: (key, { container, previous, tailLines }) =>
      call("read pod log", () =>
        core.readNamespacedPodLog({ ...key, container, previous, tailLines }),
      ),
    async createEvent(event) {
      await call("create event", () =>
        core.createNamespacedEvent({ namespace: event.metadata.namespace, body: event }),
      );
    },
    getLease: key => call("get lease", () => coordination.readNamespacedLease(key)),
    createLease: lease =>
      call("create lease", () =>
        coordination.createNamespacedLease({ namespace: lease.metadata.namespace, body: lease }),
      ),
    replaceLease: lease =>
      call("update lease", () =>
        coordination.replaceNamespacedLease({
          namespace: lease.metadata.namespace,
          name: lease.metadata.name,
          body: lease,
        }),
      ),
    informer<R extends WatchedResource>(resource: R, scope: WatchScope) {
      const list = lists[resource] as (
        s: WatchScope,
      ) => Promise<KubernetesListObject<WatchedTypes[R]>>;
      return createInformer<WatchedTypes[R]>({
        kubeConfig: kc,
        path: collectionPath(resource, scope.namespace),
        list: () => list(scope),
        ...(scope.labelSelector === undefined ? {} : { labelSelector: scope.labelSelector }),
        schedule: options.schedule,
        onError: (error, delay) => options.onTransientError?.(`watch ${resource}`, error, delay),
      });
    },
  };
}
