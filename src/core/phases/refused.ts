/** A sandbox write the apiserver refused for good: the run ends SandboxError naming the write. */
import type { Action } from "../actions.ts";
import type { Step } from "../run.ts";
import { sandboxError } from "./clone.ts";

/** How much of the apiserver's message a refused write's verdict quotes. */
export const REFUSAL_MAX_CHARS = 2000;

/**
 * A sandbox write of this run that the apiserver refused for good ends the run SandboxError at
 * once, naming the write and where the fix lies, instead of repeating it until RolloutTimeout.
 * Refusals of anything else (the drill's finalizer, its Events) are not the sandbox's doing.
 */
export function refusedWrite(step: Step): boolean {
  const failed = step.observed.actionFailure;
  const run = step.status.currentRun;
  if (failed === undefined || run === undefined) return false;
  if (run.verdict !== undefined || failed.runId !== run.id) return false;
  const write = describeWrite(failed.action);
  if (write === undefined) return false;
  const fix =
    failed.kind === "Forbidden"
      ? "the operator's service account lacks a right it needs there (config/rbac: its roles, and bind on the rollback-drill-sandbox ClusterRole) or an admission policy denies the write (config/policy)"
      : "the object was rejected by validation or an admission policy (config/policy, and any policy of the cluster's own)";
  // status messages hold 4096 characters; an RBAC escalation message lists every missing rule.
  const said =
    failed.message.length > REFUSAL_MAX_CHARS
      ? `${failed.message.slice(0, REFUSAL_MAX_CHARS)}...`
      : failed.message;
  sandboxError(
    step,
    `The apiserver refused to ${write} (${failed.kind}: ${said}): ${fix}. ` +
      `Check config/rbac and config/policy against what is installed, then run the drill again.`,
  );
  return true;
}

/** The sandbox write an action makes, in words; undefined for writes to the drill itself. */
function describeWrite(action: Action): string | undefined {
  switch (action.type) {
    case "CreateNamespace":
      return `create the sandbox Namespace ${action.name}`;
    case "CreateObject": {
      const { kind, metadata } = action.manifest;
      return `create ${kind} ${metadata.name} in the sandbox ${metadata.namespace}`;
    }
    case "CopyConfigMap":
    case "CopySecret": {
      const kind = action.type === "CopySecret" ? "Secret" : "ConfigMap";
      return `copy ${kind} ${action.from.name} from ${action.from.namespace} into the sandbox ${action.to.namespace}`;
    }
    case "CreateDeployment":
      return `create the clone Deployment ${action.manifest.metadata.name} in the sandbox ${action.manifest.metadata.namespace ?? ""}`;
    case "ReplaceDeploymentTemplate":
      return `roll the clone Deployment ${action.target.name} forward in the sandbox ${action.target.namespace}`;
    case "UndoDeployment":
      return `undo the clone Deployment ${action.target.name} in the sandbox ${action.target.namespace}`;
    case "CreateSet":
      return `create the clone ${action.manifest.kind} ${action.manifest.metadata.name} in the sandbox ${action.manifest.metadata.namespace ?? ""}`;
    case "ReplaceSetTemplate":
      return `roll the clone ${action.kind} ${action.target.name} forward in the sandbox ${action.target.namespace}`;
    case "UndoSet":
      return `undo the clone ${action.kind} ${action.target.name} in the sandbox ${action.target.namespace}`;
    case "ScaleStatefulSet":
      return `scale the clone StatefulSet ${action.target.name} in the sandbox ${action.target.namespace}`;
    case "DeletePods":
      return `delete pods ${action.names.join(", ")} in the sandbox ${action.namespace}`;
    case "SaveLogs":
      return `save the sandbox's logs in ConfigMap ${action.configMap.name} of ${action.configMap.namespace}`;
    case "ScaleDeployment":
      return `scale the clone Deployment ${action.target.name} in the sandbox ${action.target.namespace}`;
    case "DeleteNamespace":
    case "EnsureFinalizer":
    case "RemoveFinalizer":
    case "EmitEvent":
      return undefined;
  }
}
