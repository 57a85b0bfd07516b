/**
 * What decide() sees: the state the shell gathers before each decision, as narrow local shapes (no
 * client library types). The shell fills it with plain reads; every field is level-based, so a
 * restarted operator gathers the same picture again. `now` is passed to decide() separately, and
 * so is the drill itself.
 *
 * Kubernetes objects keep the fields the core reads by name and everything else through an index
 * signature, so a pod template copied into the sandbox loses nothing (probes, volumes, affinity...).
 */
import type { RollbackDrill } from "../api/types.ts";
import type { Action } from "./actions.ts";

/** A controller reference, as the Deployment controller sets on its ReplicaSets. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** The metadata fields the core reads. */
export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
}

export interface KeyRef {
  name: string;
  key?: string;
  optional?: boolean;
  [field: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: KeyRef;
    secretKeyRef?: KeyRef;
    [field: string]: unknown;
  };
}

export interface EnvFromSource {
  prefix?: string;
  configMapRef?: { name: string; optional?: boolean };
  secretRef?: { name: string; optional?: boolean };
}

/** A container of a pod template; fields the core does not read pass through untouched. */
export interface Container {
  name: string;
  image: string;
  imagePullPolicy?: string;
  /** Only on init containers: "Always" makes it a native sidecar. */
  restartPolicy?: string;
  env?: EnvVar[];
  envFrom?: EnvFromSource[];
  readinessProbe?: Probe;
  startupProbe?: Probe;
  [field: string]: unknown;
}

/** A container probe: the fields a verdict names; the rest passes through. */
export interface Probe {
  exec?: { command?: string[] };
  httpGet?: { path?: string; port?: number | string; host?: string; scheme?: string };
  tcpSocket?: { port?: number | string };
  grpc?: { port?: number; service?: string };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  failureThreshold?: number;
  [field: string]: unknown;
}

export interface Volume {
  name: string;
  configMap?: { name: string; optional?: boolean; [field: string]: unknown };
  secret?: { secretName?: string; optional?: boolean; [field: string]: unknown };
  projected?: {
    sources?: {
      configMap?: { name: string; optional?: boolean; [field: string]: unknown };
      secret?: { name: string; optional?: boolean; [field: string]: unknown };
      [field: string]: unknown;
    }[];
    [field: string]: unknown;
  };
  [field: string]: unknown;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  serviceAccountName?: string;
  /** Deprecated alias of serviceAccountName; still honoured by the apiserver. */
  serviceAccount?: string;
  automountServiceAccountToken?: boolean;
  imagePullSecrets?: { name: string }[];
  volumes?: Volume[];
  [field: string]: unknown;
}

export interface PodTemplateSpec {
  metadata?: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [field: string]: unknown;
  };
  spec: PodSpec;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface DeploymentCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

/** A Deployment as the core reads it: the target in production, or the clone in the sandbox. */
export interface DeploymentView {
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    paused?: boolean;
    revisionHistoryLimit?: number;
    progressDeadlineSeconds?: number;
    minReadySeconds?: number;
    selector: LabelSelector;
    strategy?: Record<string, unknown>;
    template: PodTemplateSpec;
  };
  /** Absent integer fields mean 0, as the apiserver omits zeros. */
  status?: {
    observedGeneration?: number;
    replicas?: number;
    updatedReplicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    unavailableReplicas?: number;
    conditions?: DeploymentCondition[];
  };
}

/** A ReplicaSet: revision in the `deployment.kubernetes.io/revision` annotation. */
export interface ReplicaSetView {
  metadata: ObjectMeta;
  spec: { replicas?: number; template: PodTemplateSpec };
  status?: {
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    conditions?: DeploymentCondition[];
  };
}

export interface ContainerStateView {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    exitCode?: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
  };
}

/** One container's status, plus what the shell read from its logs when it crashed. */
export interface ContainerStatusView {
  name: string;
  image?: string;
  /** The runtime's image reference, e.g. "docker.io/library/app@sha256:..." (compare the digest). */
  imageID?: string;
  ready?: boolean;
  started?: boolean;
  restartCount?: number;
  state?: ContainerStateView;
  lastState?: ContainerStateView;
  /**
   * The last log lines of the previous (crashed) instance, newest last. The shell fills it for
   * containers with restartCount > 0 or a terminated state, and for a running container that is
   * unready past its readiness budget (wantsReadinessLog), in the sandbox only (at most ~20 lines).
   */
  lastLogLines?: string[];
}

export interface PodView {
  metadata: ObjectMeta;
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: {
      type: string;
      status: string;
      reason?: string;
      message?: string;
      /** RFC 3339, second precision: when `status` last flipped (the kubelet's stamp). */
      lastTransitionTime?: string;
    }[];
    containerStatuses?: ContainerStatusView[];
    initContainerStatuses?: ContainerStatusView[];
  };
}

/** The target Deployment in the drill's namespace, read only. */
export interface ObservedTarget {
  deployment: DeploymentView;
  /**
   * ReplicaSets matching the Deployment's selector. The core keeps only those controlled by it
   * (controller ownerReference with the Deployment's uid), as `kubectl rollout undo` does.
   */
  replicaSets: ReplicaSetView[];
  /** Pods matching the Deployment's selector (all revisions: the core groups them by pod-template-hash). */
  pods: PodView[];
}

/** The sandbox namespace of the current run (or of spec.sandbox.namespace before a run names it). */
export interface ObservedSandbox {
  namespace: {
    name: string;
    labels?: Record<string, string>;
    /** "Active" or "Terminating". */
    phase: string;
  };
  /** The clone Deployment, when it exists. */
  deployment?: DeploymentView;
  replicaSets: ReplicaSetView[];
  pods: PodView[];
}

/** Whether an object the sandbox needs could be read in the target's namespace. */
export type SourceState = "Present" | "Missing" | "Forbidden";

/** Who the operator runs as: the subject of the sandbox RoleBinding. */
export interface OperatorIdentity {
  serviceAccountName: string;
  namespace: string;
}

export interface Observed {
  /** Undefined when the Deployment does not exist (NotFound). */
  target?: ObservedTarget;
  /**
   * The namespace named by sandboxNamespaceToObserve(drill), with its objects; undefined when
   * that namespace does not exist (or no namespace is named yet).
   */
  sandbox?: ObservedSandbox;
  /**
   * The ConfigMaps and Secrets named by objectsToLookUp(): whether each is readable in the
   * target's namespace. Names not looked up are absent.
   */
  sources: {
    configMaps: Readonly<Record<string, SourceState>>;
    secrets: Readonly<Record<string, SourceState>>;
  };
  operator: OperatorIdentity;
  /**
   * A write of this reconcile's actions that the apiserver refused for good: set only when the
   * shell decides again right after the refusal, so it always describes the current state.
   */
  actionFailure?: ActionFailure;
}

/**
 * An action the apiserver refused in a way that repeating it cannot change: 403 Forbidden (RBAC,
 * e.g. no `bind` on the sandbox role, or an admission policy's denial) or 422 Invalid (the object
 * rejected by validation or a policy). Transient failures are never reported here: they back off.
 */
export interface ActionFailure {
  /** The run whose decision issued the action. */
  runId: string;
  action: Action;
  kind: "Forbidden" | "Invalid";
  /** The apiserver's message, as it gave it. */
  message: string;
}

/**
 * The sandbox namespace the shell should gather for this drill: the current run's (stored in
 * status before anything was created), else the fixed spec.sandbox.namespace (so validation can
 * see whether someone else owns it). Undefined: gather no sandbox.
 */
export function sandboxNamespaceToObserve(drill: RollbackDrill): string | undefined {
  return drill.status?.currentRun?.sandboxNamespace ?? drill.spec.sandbox.namespace;
}
