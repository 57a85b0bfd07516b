/**
 * Effects as data: what decide() asks the shell to do. Each action is fully computed, so the
 * shell's execute() is a thin exhaustive switch over `type`; each is safe to repeat (status is
 * persisted before actions run, and a crash replays them): AlreadyExists on a create and NotFound
 * on a delete are success.
 *
 * Containment: apart from the drill itself (finalizer, Events), every action writes in a sandbox
 * namespace this drill owns. The source namespace of a copy is only read.
 */
import type { DrillStatus } from "../api/types.ts";
import type { DaemonSetView, DeploymentView, PodTemplateSpec, StatefulSetView } from "./objects.ts";

/** Event reasons on the drill, a closed list. */
export const EVENT_REASONS = [
  "DrillStarted",
  "SandboxCreated",
  "RolledForward",
  "RollbackApplied",
  "DrillPassed",
  "DrillFailed",
  "SandboxDeleted",
  "SandboxKept",
  "SandboxStopped",
  "RunQueued",
  "PreflightWarning",
  "InvalidSpec",
] as const;
export type EventReason = (typeof EVENT_REASONS)[number];

export type EventType = "Normal" | "Warning";

export interface ObjectKey {
  namespace: string;
  name: string;
}

/** An RFC 6902 operation, as `kubectl rollout undo` sends them (application/json-patch+json). */
export interface JsonPatchOperation {
  op: "replace" | "add";
  path: string;
  value: unknown;
}

/** A complete manifest of a namespaced object the sandbox gets (apiVersion, kind, metadata, ...). */
export interface Manifest {
  apiVersion: string;
  kind: "ServiceAccount" | "RoleBinding" | "NetworkPolicy" | "ResourceQuota";
  metadata: {
    name: string;
    namespace: string;
    labels: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** A complete Deployment manifest: the clone. */
export type DeploymentManifest = Omit<DeploymentView, "status"> & {
  apiVersion: "apps/v1";
  kind: "Deployment";
};

/** A complete StatefulSet manifest: the clone of a StatefulSet target. */
export type StatefulSetManifest = Omit<StatefulSetView, "status"> & {
  apiVersion: "apps/v1";
  kind: "StatefulSet";
};

/** A complete DaemonSet manifest: the clone of a DaemonSet target. */
export type DaemonSetManifest = Omit<DaemonSetView, "status"> & {
  apiVersion: "apps/v1";
  kind: "DaemonSet";
};

/** The kinds whose history is ControllerRevisions and whose undo is a strategic merge patch. */
export type SetKind = "StatefulSet" | "DaemonSet";

export type Action =
  /** Add FINALIZER to the drill (metadata update of the drill only). */
  | { type: "EnsureFinalizer" }
  /** Remove FINALIZER from the drill, once its sandboxes are gone. */
  | { type: "RemoveFinalizer" }
  /** Create the sandbox namespace with labels naming the drill and the run. */
  | { type: "CreateNamespace"; name: string; labels: Record<string, string> }
  /** Create a namespaced object in the sandbox. */
  | { type: "CreateObject"; manifest: Manifest }
  /**
   * Copy a ConfigMap: read `from` (data, binaryData, immutable), create `to` with those contents
   * and `labels`. The content is read at execution, so it is not part of the action.
   */
  | { type: "CopyConfigMap"; from: ObjectKey; to: ObjectKey; labels: Record<string, string> }
  /** Copy a Secret likewise (type, data). */
  | { type: "CopySecret"; from: ObjectKey; to: ObjectKey; labels: Record<string, string> }
  /** Create the clone Deployment in the sandbox. */
  | { type: "CreateDeployment"; manifest: DeploymentManifest }
  /**
   * Roll the clone forward: replace its /spec/template with `template` (a JSON patch
   * `[{op: replace, path: /spec/template, value: template}]` is the intended wire form).
   */
  | { type: "ReplaceDeploymentTemplate"; target: ObjectKey; template: PodTemplateSpec }
  /**
   * The undo, byte for byte what `kubectl rollout undo` sends: PATCH the Deployment with
   * Content-Type application/json-patch+json and this body.
   */
  | { type: "UndoDeployment"; target: ObjectKey; patch: JsonPatchOperation[] }
  /**
   * Delete a sandbox namespace. `expectLabels` must all be present on it, or the shell must not
   * delete it (a guard against ever deleting a namespace this drill does not own).
   */
  | { type: "DeleteNamespace"; name: string; expectLabels: Record<string, string> }
  /**
   * Save the last log lines of these sandbox containers into a ConfigMap in the sandbox (one key
   * per pod and container), so they outlive the pods. Created once; an existing one is kept.
   */
  | {
      type: "SaveLogs";
      configMap: ObjectKey;
      labels: Record<string, string>;
      containers: { pod: string; container: string }[];
    }
  /** Set the clone's replicas (a JSON patch of /spec/replicas), e.g. 0 to stop its pods. */
  | { type: "ScaleDeployment"; target: ObjectKey; replicas: number }
  /** Create the clone StatefulSet or DaemonSet in the sandbox (the manifest's kind). */
  | { type: "CreateSet"; manifest: StatefulSetManifest | DaemonSetManifest }
  /** Roll the clone set forward: a JSON patch replacing /spec/template with `template`. */
  | { type: "ReplaceSetTemplate"; kind: SetKind; target: ObjectKey; template: PodTemplateSpec }
  /**
   * The undo, as `kubectl rollout undo statefulset|daemonset` sends it: PATCH the set with
   * Content-Type application/strategic-merge-patch+json and this body (the ControllerRevision's
   * data as stored).
   */
  | { type: "UndoSet"; kind: SetKind; target: ObjectKey; patch: unknown }
  /** Set the clone StatefulSet's replicas (a JSON patch of /spec/replicas). */
  | { type: "ScaleStatefulSet"; target: ObjectKey; replicas: number }
  /**
   * Delete these pods in the sandbox (what a team does to roll an OnDelete StatefulSet forward).
   * NotFound is success.
   */
  | { type: "DeletePods"; namespace: string; names: string[] }
  /** A Kubernetes Event on the drill. */
  | { type: "EmitEvent"; eventType: EventType; reason: EventReason; message: string };

export type ActionType = Action["type"];

/** The namespace an action writes in, or undefined when it writes only the drill itself. */
export function namespaceWrittenBy(action: Action): string | undefined {
  switch (action.type) {
    case "EnsureFinalizer":
    case "RemoveFinalizer":
    case "EmitEvent":
      return undefined;
    case "CreateNamespace":
    case "DeleteNamespace":
      return action.name;
    case "CreateObject":
      return action.manifest.metadata.namespace;
    case "CopyConfigMap":
    case "CopySecret":
      return action.to.namespace;
    case "CreateDeployment":
    case "CreateSet":
      return action.manifest.metadata.namespace ?? "";
    case "ReplaceDeploymentTemplate":
    case "UndoDeployment":
    case "ScaleDeployment":
    case "ReplaceSetTemplate":
    case "UndoSet":
    case "ScaleStatefulSet":
      return action.target.namespace;
    case "DeletePods":
      return action.namespace;
    case "SaveLogs":
      return action.configMap.namespace;
  }
}

export function normalEvent(reason: EventReason, message: string): Action {
  return { type: "EmitEvent", eventType: "Normal", reason, message };
}

export function warningEvent(reason: EventReason, message: string): Action {
  return { type: "EmitEvent", eventType: "Warning", reason, message };
}

/** What decide() returns: the next status (persist it first), then the actions, then when to look again. */
export interface Decision {
  status: DrillStatus;
  actions: Action[];
  /**
   * Reconcile again after this many milliseconds even without a watch event (0: at once).
   * Undefined: wait for the next watch event.
   */
  requeueAfterMs?: number;
}
