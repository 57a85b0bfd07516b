/**
 * The clone's rollouts: revision M goes Ready (DeployingPrevious), is rolled forward to N
 * (DeployingCurrent), then `kubectl rollout undo` back to M (RollingBack).
 */
import { normalEvent } from "../actions.ts";
import { runningDigests } from "../digest.ts";
import { equalIgnoreHash } from "../revisions.ts";
import {
  currentRun,
  enterPhase,
  failure,
  finishRun,
  inPhaseMs,
  requeue,
  RESYNC_MS,
  type Step,
} from "../run.ts";
import { undoPatch } from "../sandbox.ts";
import {
  isRolloutComplete,
  notReadyFinding,
  podFailure,
  podsFor,
  replicaFailure,
  replicaSetFor,
} from "../verdict.ts";
import {
  cloneContext,
  notReadyContext,
  prepared,
  requeueForReadiness,
  sandboxError,
} from "./clone.ts";
import { runRevisions } from "./history.ts";
import { creatingSandbox } from "./setup.ts";
import { verifying } from "./verify.ts";

/** Longest wait for revision N in the sandbox before undoing anyway, in milliseconds. */
export const FORWARD_WAIT_MAX_MS = 120_000;

export function deployingPrevious(step: Step): void {
  const revs = runRevisions(step);
  const clone = step.observed.sandbox?.deployment;
  if (revs === undefined) return;
  if (clone === undefined) {
    creatingSandbox(step);
    return;
  }
  const toTemplate = prepared(step, revs.toTemplate);
  const sandbox = step.observed.sandbox;
  if (sandbox === undefined) return;
  const pods = podsFor(sandbox, toTemplate);
  const ctx = {
    template: revs.toTemplate,
    revision: revs.to.revision,
    when: "in the sandbox, before the roll forward",
    nowMs: step.nowMs,
  };
  const rs = replicaSetFor(sandbox, toTemplate);
  const found =
    replicaFailure(rs) ??
    podFailure(pods, ctx) ??
    (equalIgnoreHash(clone.spec.template, toTemplate)
      ? notReadyFinding(pods, notReadyContext(step, ctx, clone, rs))
      : undefined);
  if (found !== undefined) {
    finishRun(step, failure(found.reason, found.message));
    return;
  }
  if (!isRolloutComplete(clone) || !equalIgnoreHash(clone.spec.template, toTemplate)) {
    requeueForReadiness(step, pods, toTemplate, clone, RESYNC_MS);
    return;
  }
  const target = { namespace: currentRun(step).sandboxNamespace ?? "", name: clone.metadata.name };
  step.actions.push(
    { type: "ReplaceDeploymentTemplate", target, template: prepared(step, revs.fromTemplate) },
    normalEvent(
      "RolledForward",
      `Rolled the sandbox clone forward from revision ${revs.to.revision} to revision ${revs.from.revision}`,
    ),
  );
  enterPhase(step, "DeployingCurrent");
  requeue(step, RESYNC_MS);
}

export function deployingCurrent(step: Step): void {
  const present = cloneContext(step);
  if (present === undefined) return;
  const { revs, sandbox, clone } = present;
  const run = currentRun(step);
  const fromTemplate = prepared(step, revs.fromTemplate);
  const key = { namespace: run.sandboxNamespace ?? "", name: clone.metadata.name };
  if (!equalIgnoreHash(clone.spec.template, fromTemplate)) {
    step.actions.push({ type: "ReplaceDeploymentTemplate", target: key, template: fromTemplate });
    requeue(step, RESYNC_MS);
    return;
  }
  const newPods = podsFor(sandbox, fromTemplate);
  const complete = isRolloutComplete(clone);
  const newCtx = {
    template: revs.fromTemplate,
    revision: revs.from.revision,
    when: "",
    nowMs: step.nowMs,
  };
  const failing = podFailure(newPods, newCtx) !== undefined;
  // Revision N running but never Ready is failing too, found as for revision M: undo at once.
  const stuck = complete
    ? undefined
    : notReadyFinding(
        newPods,
        notReadyContext(step, newCtx, clone, replicaSetFor(sandbox, fromTemplate)),
      );
  const waitMs = Math.min(FORWARD_WAIT_MAX_MS, (step.drill.spec.checks.timeoutSeconds * 1000) / 4);
  if (!complete && !failing && stuck === undefined && inPhaseMs(step) < waitMs) {
    requeue(step, waitMs - inPhaseMs(step));
    requeueForReadiness(step, newPods, fromTemplate, clone, undefined);
    return;
  }
  const rs = replicaSetFor(sandbox, prepared(step, revs.toTemplate));
  if (rs === undefined) {
    sandboxError(
      step,
      `The sandbox lost the ReplicaSet of revision ${revs.to.revision}, so there is nothing to undo to.`,
    );
    return;
  }
  const fallback = [...runningDigests(newPods)].map(([name, digests]) => ({
    name,
    digest: digests[0] ?? "",
  }));
  const broken = run.brokenDigests ?? (fallback.length > 0 ? fallback : undefined);
  step.actions.push(
    { type: "UndoDeployment", target: key, patch: undoPatch(clone, rs) },
    normalEvent(
      "RollbackApplied",
      `Ran kubectl rollout undo on the sandbox clone: revision ${revs.from.revision} -> ${revs.to.revision}${undoNote(revs.from.revision, complete, failing, stuck)}`,
    ),
  );
  enterPhase(step, "RollingBack", {
    undoTime: step.nowIso,
    ...(broken === undefined ? {} : { brokenDigests: broken }),
  });
  requeue(step, RESYNC_MS);
}

/** Why the undo came before revision N finished rolling out, for the RollbackApplied Event. */
function undoNote(
  revision: number,
  complete: boolean,
  failing: boolean,
  stuck: { container?: string } | undefined,
): string {
  if (complete) return "";
  if (failing) return ` (revision ${revision} was failing, as in an incident)`;
  if (stuck !== undefined)
    return ` (revision ${revision}${stuck.container === undefined ? "" : ` container "${stuck.container}"`} never became Ready, as in an incident)`;
  return ` (revision ${revision} had not finished rolling out)`;
}

export function rollingBack(step: Step): void {
  const present = cloneContext(step);
  if (present === undefined) return;
  const { revs, sandbox, clone } = present;
  const toTemplate = prepared(step, revs.toTemplate);
  if (equalIgnoreHash(clone.spec.template, toTemplate)) {
    enterPhase(step, "Verifying");
    verifying(step);
    return;
  }
  const rs = replicaSetFor(sandbox, toTemplate);
  if (rs !== undefined)
    step.actions.push({
      type: "UndoDeployment",
      target: { namespace: currentRun(step).sandboxNamespace ?? "", name: clone.metadata.name },
      patch: undoPatch(clone, rs),
    });
  requeue(step, RESYNC_MS);
}
