/**
 * What decide() sees: the state the shell gathers before each decision, as narrow local shapes (no
 * client library types; the object shapes themselves are in objects.ts). The shell fills it with
 * plain reads; every field is level-based, so a restarted operator gathers the same picture again.
 * `now` is passed to decide() separately, and so is the drill itself.
 */
import type { RollbackDrill } from "../api/types.ts";
import type { Action } from "./actions.ts";
import type {
  ControllerRevisionView,
  DeploymentView,
  PodView,
  ReplicaSetView,
  SetView,
} from "./objects.ts";

export type {
  OwnerReference,
  ObjectMeta,
  KeyRef,
  EnvVar,
  EnvFromSource,
  Container,
  Probe,
  Volume,
  PodSpec,
  PodTemplateSpec,
  LabelSelector,
  DeploymentCondition,
  DeploymentView,
  ReplicaSetView,
  ContainerStateView,
  ContainerStatusView,
  PodView,
  StatefulSetView,
  StatefulSetUpdateStrategy,
  DaemonSetView,
  DaemonSetUpdateStrategy,
  SetView,
  ControllerRevisionView,
} from "./objects.ts";

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

/**
 * A target StatefulSet or DaemonSet (as spec.targetRef.kind says) in the drill's namespace, read
 * only: the object as the API returns it (a StatefulSetView or a DaemonSetView).
 */
export interface ObservedSetTarget {
  set: SetView;
  /**
   * ControllerRevisions matching the set's selector. The core keeps only those controlled by it
   * (controller ownerReference with its uid), as `kubectl rollout undo statefulset` does.
   */
  controllerRevisions: ControllerRevisionView[];
  /** The set's pods (controlled by it; the core groups them by controller-revision-hash). */
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
  /** The clone StatefulSet or DaemonSet (of a target of that kind), when it exists. */
  set?: SetView;
  /** The ControllerRevisions the clone set controls. */
  controllerRevisions?: ControllerRevisionView[];
  /** The clone's pods (of the Deployment's ReplicaSets, or of the StatefulSet). */
  pods: PodView[];
}

/** Whether an object the sandbox needs could be read in the target's namespace. */
export type SourceState = "Present" | "Missing" | "Forbidden";

/**
 * A ServiceAccount a template runs as, in the target's namespace: whether it could be read, and
 * the image pull secrets the ServiceAccount admission plugin gives its Pods (those without a list
 * of their own).
 */
export interface AccountSource {
  state: SourceState;
  imagePullSecrets: readonly string[];
}

/** Who the operator runs as: the subject of the sandbox RoleBinding. */
export interface OperatorIdentity {
  serviceAccountName: string;
  namespace: string;
}

export interface Observed {
  /** Undefined when the Deployment does not exist (NotFound), or the target is another kind. */
  target?: ObservedTarget;
  /** A StatefulSet or DaemonSet target (as spec.targetRef.kind says); undefined when it does not exist. */
  setTarget?: ObservedSetTarget;
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
    /** The templates' ServiceAccounts (accountsToLookUp()); absent when none was looked up. */
    serviceAccounts?: Readonly<Record<string, AccountSource>>;
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
