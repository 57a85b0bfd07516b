/**
 * The Kubernetes objects as the core reads and writes them: narrow local shapes (no client library
 * types) shared by what the shell gathers (observed.ts) and what decide() asks it to write
 * (actions.ts). They keep the fields the core reads by name and everything else through an index
 * signature, so a pod template copied into the sandbox loses nothing (probes, volumes, affinity...).
 */
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
  nodeSelector?: Record<string, string>;
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
    /** RFC 3339: when the kubelet accepted the pod, before its first image pull. */
    startTime?: string;
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

/** A StatefulSet's update strategy: RollingUpdate (the default, with a partition) or OnDelete. */
export interface StatefulSetUpdateStrategy {
  type?: string;
  rollingUpdate?: { partition?: number; maxUnavailable?: number | string };
}

/** A StatefulSet as the core reads it; its history is ControllerRevisions. */
export interface StatefulSetView {
  metadata: ObjectMeta;
  spec: {
    replicas?: number;
    selector: LabelSelector;
    template: PodTemplateSpec;
    serviceName?: string;
    podManagementPolicy?: string;
    updateStrategy?: StatefulSetUpdateStrategy;
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
    volumeClaimTemplates?: { metadata?: { name?: string }; [field: string]: unknown }[];
    [field: string]: unknown;
  };
  /** Absent integer fields mean 0, as the apiserver omits zeros. */
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    currentReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    currentRevision?: string;
    updateRevision?: string;
  };
}

/** A DaemonSet's update strategy: RollingUpdate (the default, with its budget) or OnDelete. */
export interface DaemonSetUpdateStrategy {
  type?: string;
  rollingUpdate?: { maxUnavailable?: number | string; maxSurge?: number | string };
}

/** A DaemonSet as the core reads it: one pod per eligible node; its history is ControllerRevisions. */
export interface DaemonSetView {
  metadata: ObjectMeta;
  spec: {
    selector: LabelSelector;
    template: PodTemplateSpec;
    updateStrategy?: DaemonSetUpdateStrategy;
    revisionHistoryLimit?: number;
    minReadySeconds?: number;
    [field: string]: unknown;
  };
  /** Absent integer fields mean 0, as the apiserver omits zeros. */
  status?: {
    observedGeneration?: number;
    desiredNumberScheduled?: number;
    currentNumberScheduled?: number;
    numberReady?: number;
    numberAvailable?: number;
    numberUnavailable?: number;
    updatedNumberScheduled?: number;
    numberMisscheduled?: number;
  };
}

/**
 * What the StatefulSet and the DaemonSet share, all a ControllerRevision-history run reads of
 * either without knowing which (statefulset.ts and daemonset.ts read the rest by kind).
 */
export interface SetView {
  metadata: ObjectMeta;
  spec: {
    selector: LabelSelector;
    template: PodTemplateSpec;
    updateStrategy?: { type?: string };
    revisionHistoryLimit?: number;
    [field: string]: unknown;
  };
  status?: { observedGeneration?: number; [field: string]: unknown };
}

/**
 * A ControllerRevision: one entry of a StatefulSet's (or DaemonSet's) history. `data` is the
 * strategic merge patch that restores it, `{"spec":{"template":{..., "$patch":"replace"}}}`.
 */
export interface ControllerRevisionView {
  metadata: ObjectMeta;
  revision: number;
  data?: unknown;
}
