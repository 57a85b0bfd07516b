/**
 * The simulator's internal contract: the object model, the store the HTTP handlers and the
 * in-process controllers share, the clock, and the resource catalogue entry. Every part of
 * src/sim codes against these types, so the API machinery (server, store, watch, admission) and
 * the simulated world (controllers, kubelet, registry) can be built and tested separately.
 *
 * The simulator stands for Kubernetes: nothing here knows about RollbackDrills.
 */

/** A JSON value as it travels on the wire. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  /** Numeric string from the store's single global counter. */
  resourceVersion?: string;
  generation?: number;
  /** RFC 3339, second precision (e.g. "2026-01-02T03:04:05Z"), simulated time. */
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: ManagedFieldsEntry[];
}

export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion: string;
  time: string;
  fieldsType: "FieldsV1";
  fieldsV1: Record<string, Json>;
  subresource?: string;
}

/**
 * Any Kubernetes object. Kind-specific fields are reached through the index signature; the
 * controllers narrow them with their own local interfaces.
 */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

/** Group/version/resource; group "" is the core group. */
export interface GVR {
  group: string;
  version: string;
  /** Lower-case plural, e.g. "deployments". */
  resource: string;
}

/** Who made a request or an internal write: recorded in the audit log and in managedFields. */
export interface Actor {
  /** e.g. "system:serviceaccount:kube-system:deployment-controller", "kubernetes-admin". */
  user: string;
  groups?: string[];
  /** e.g. "kube-controller-manager/v1.32.4 (linux/amd64) kubernetes/sim". */
  userAgent?: string;
  /** The fieldManager name used for managedFields ("kube-controller-manager", "kubelet", "kubectl-client-side-apply"). */
  manager?: string;
}

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";

/** One committed change; delivered to subscribers synchronously after the commit, in RV order. */
export interface StoreEvent {
  type: "ADDED" | "MODIFIED" | "DELETED";
  gvr: GVR;
  /** The object after the change (for DELETED: the last state, with a new resourceVersion). */
  object: KubeObject;
  /** The object before the change (undefined for ADDED). */
  oldObject?: KubeObject;
  resourceVersion: number;
}

export interface ListOptions {
  /** Undefined means all namespaces (for namespaced resources). */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
}

export interface WriteOptions {
  /** "status" or "scale" or undefined for the main resource. */
  subresource?: string;
  dryRun?: boolean;
  fieldManager?: string;
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

/**
 * The store: every read and write of the simulator goes through it, whether it comes from an HTTP
 * handler or from an in-process controller. It applies the apiserver's write semantics (uid,
 * resourceVersion, generation, creationTimestamp, defaults and validation via admission,
 * optimistic concurrency, status subresource isolation, finalizers and deletionTimestamp) and
 * throws ApiError (see errors.ts) exactly where the apiserver would answer with a Status.
 * Returned objects are copies: mutating them does not change the store.
 */
export interface Store {
  /** The current value of the global resourceVersion counter. */
  currentResourceVersion(): number;
  get(gvr: GVR, namespace: string | undefined, name: string): KubeObject | undefined;
  list(gvr: GVR, options?: ListOptions): { items: KubeObject[]; resourceVersion: string };
  create(gvr: GVR, object: KubeObject, actor: Actor, options?: WriteOptions): KubeObject;
  /** Full replace (PUT). Conflicts (409) when metadata.resourceVersion is set and stale. */
  update(gvr: GVR, object: KubeObject, actor: Actor, options?: WriteOptions): KubeObject;
  patch(
    gvr: GVR,
    namespace: string | undefined,
    name: string,
    patchType: PatchType,
    body: unknown,
    actor: Actor,
    options?: WriteOptions & { force?: boolean },
  ): KubeObject;
  /**
   * Deletes per the apiserver: with finalizers it only sets deletionTimestamp; dependants are
   * handled by the garbage collector through ownerReferences.
   */
  delete(
    gvr: GVR,
    namespace: string | undefined,
    name: string,
    actor: Actor,
    options?: DeleteOptions,
  ): KubeObject;
  /** Every committed change, all resources. Returns an unsubscribe function. */
  subscribe(listener: (event: StoreEvent) => void): () => void;
  /** The catalogue this store serves. */
  readonly resources: ResourceCatalogue;
}

/** How the status subresource splits writes (the apiserver's "status strategy"). */
export interface ResourceInfo {
  group: string;
  version: string;
  /** Lower-case plural. */
  resource: string;
  singular: string;
  kind: string;
  listKind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  /** e.g. ["status", "scale", "log"]. */
  subresources: string[];
  /** For a CRD-served resource: the CRD object that defines it. */
  crd?: KubeObject;
  /** For the scale subresource: its group/version/kind as discovery shows it. */
  scale?: { group: string; version: string; kind: string };
}

export interface ResourceCatalogue {
  all(): ResourceInfo[];
  byGVR(gvr: GVR): ResourceInfo | undefined;
  byKind(group: string, version: string, kind: string): ResourceInfo | undefined;
  /** Add (or replace) a resource, e.g. when a CRD becomes Established or the sim group registers. */
  register(info: ResourceInfo): void;
  unregister(gvr: GVR): void;
}

/**
 * Simulated time: real time multiplied by `scale` (1 for the demo, 1000 in tests). Every delay the
 * controllers and kubelet wait is in simulated milliseconds and scheduled here.
 */
export interface SimClock {
  readonly scale: number;
  /** Simulated epoch milliseconds. */
  nowMs(): number;
  now(): Date;
  /** Runs fn after `simMs` simulated milliseconds. */
  setTimeout(fn: () => void, simMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
  /** Stops every pending timer (on close). */
  dispose(): void;
}

export interface TimerHandle {
  readonly id: number;
}

/** A running part of the simulated world (a controller, the kubelet): started and stopped by index.ts. */
export interface SimComponent {
  readonly name: string;
  start(): void;
  stop(): void;
}

/** Formats a simulated time the way the apiserver writes timestamps: RFC 3339, second precision. */
export function formatTimestamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

/** What admission (defaulting and validation) is asked about one write. */
export interface AdmissionContext {
  gvr: GVR;
  info: ResourceInfo;
  operation: "CREATE" | "UPDATE";
  object: KubeObject;
  oldObject?: KubeObject;
  subresource?: string;
}
