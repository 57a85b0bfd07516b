/**
 * The run's target history: the spec checked (Pending), the two revisions chosen as `kubectl
 * rollout undo` would (Resolving), and found again by pod-template-hash on every later look.
 */
import { allDigestsOfPods, ledgerEntryFor, podsWithHash } from "../ledger.ts";
import type { DeploymentView, PodTemplateSpec } from "../observed.ts";
import {
  ownedRevisions,
  resolveRevisions,
  type Revision,
  revisionOf,
  revisionsAvailable,
} from "../revisions.ts";
import { currentRun, enterPhase, failure, finishRun, requeue, type Step } from "../run.ts";
import { invalidSpecMessage, validate } from "../validate.ts";

export function pending(step: Step): void {
  const errors = validate(step.drill, step.observed, step.nowMs);
  if (errors.length > 0) {
    finishRun(step, failure("InvalidSpec", invalidSpecMessage(errors)));
    return;
  }
  enterPhase(step, "Resolving");
}

function targetMissing(step: Step, during: boolean): void {
  const { name } = step.drill.spec.targetRef;
  const ns = step.drill.metadata.namespace;
  const when = during ? " (it was deleted during the run)" : "";
  finishRun(
    step,
    failure(
      "TargetNotFound",
      `Deployment "${name}" not found in namespace "${ns}"${when}: create it, or fix spec.targetRef.name.`,
    ),
  );
}

export function resolving(step: Step): void {
  const target = step.observed.target;
  if (target === undefined) {
    targetMissing(step, false);
    return;
  }
  const resolved = resolveRevisions(
    target.deployment,
    target.replicaSets,
    step.drill.spec.toRevision,
  );
  if (!resolved.ok) {
    finishRun(step, failure("NoRevisionHistory", resolved.message));
    return;
  }
  const { current, target: to } = resolved;
  const names = [
    ...(current.replicaSet.spec.template.spec.initContainers ?? []),
    ...current.replicaSet.spec.template.spec.containers,
  ].map(c => c.name);
  const broken =
    allDigestsOfPods(podsWithHash(target.pods, current.hash), names) ??
    ledgerEntryFor(step.status.digestLedger, current.hash)?.containers.map(c => ({
      name: c.name,
      digest: c.digest,
    }));
  enterPhase(step, "Preflight", {
    fromRevision: current.revision,
    toRevision: to.revision,
    ...(target.deployment.metadata.uid === undefined
      ? {}
      : { targetUID: target.deployment.metadata.uid }),
    ...(current.hash === undefined ? {} : { fromTemplateHash: current.hash }),
    ...(to.hash === undefined ? {} : { toTemplateHash: to.hash }),
    ...(broken === undefined ? {} : { brokenDigests: broken }),
    revisionsAvailable: revisionsAvailable(target.deployment, target.replicaSets),
  });
}
export interface RunRevisions {
  from: Revision;
  to: Revision;
  fromTemplate: PodTemplateSpec;
  toTemplate: PodTemplateSpec;
}

/** How soon a run whose target's history is mid-change looks again, in milliseconds. */
export const HISTORY_RECHECK_MS = 1_000;

/** Whether the ReplicaSet of the Deployment's own current revision is among those observed. */
function historyConsistent(deployment: DeploymentView, owned: readonly Revision[]): boolean {
  const current = revisionOf(deployment.metadata.annotations);
  return current === undefined || current === 0 || owned.some(r => r.revision === current);
}

/** The run's two revisions, found again by pod-template-hash; finishes the run when they are gone. */
export function runRevisions(step: Step): RunRevisions | undefined {
  const target = step.observed.target;
  const run = currentRun(step);
  if (target === undefined) {
    targetMissing(step, true);
    return undefined;
  }
  if (run.targetUID !== undefined && target.deployment.metadata.uid !== run.targetUID) {
    finishRun(
      step,
      failure(
        "TargetNotFound",
        `Deployment "${target.deployment.metadata.name}" was deleted and recreated during the run; the next run rehearses the new one.`,
      ),
    );
    return undefined;
  }
  if (target.deployment.metadata.deletionTimestamp !== undefined) {
    targetMissing(step, true);
    return undefined;
  }
  const owned = ownedRevisions(target.deployment, target.replicaSets);
  const from = owned.find(r => r.hash === run.fromTemplateHash);
  const to = owned.find(r => r.hash === run.toTemplateHash);
  if ((from === undefined || to === undefined) && !historyConsistent(target.deployment, owned)) {
    // A Deployment always has the ReplicaSet of its current revision. Without it, the view is
    // mid-change: the Deployment is being deleted (its ReplicaSets go first to the garbage
    // collector's watch) or the cache has not caught up. Look again before concluding.
    requeue(step, HISTORY_RECHECK_MS);
    return undefined;
  }
  if (from === undefined || to === undefined) {
    finishRun(
      step,
      failure(
        "NoRevisionHistory",
        `The ReplicaSet of revision ${String(from === undefined ? run.fromRevision : run.toRevision)} disappeared from the target's history during the run (revisionHistoryLimit cleanup?): keep revisionHistoryLimit >= 2 on the Deployment.`,
      ),
    );
    return undefined;
  }
  return {
    from,
    to,
    fromTemplate: from.replicaSet.spec.template,
    toTemplate: to.replicaSet.spec.template,
  };
}
