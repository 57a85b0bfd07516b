/**
 * What the phases inside the sandbox share: the clone and its run's revisions, the sandbox's
 * templates as prepared, how to wait for readiness, and ending a run SandboxError.
 */
import type {
  DeploymentView,
  ObservedSandbox,
  PodTemplateSpec,
  PodView,
  ReplicaSetView,
} from "../observed.ts";
import { currentRun, failure, finishRun, requeue, RESYNC_MS, type Step } from "../run.ts";
import { sandboxTemplate } from "../sandbox.ts";
import {
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  hasExceededDeadline,
  nextReadinessCheckMs,
  type Context,
  type NotReadyContext,
} from "../verdict.ts";
import { runRevisions, type RunRevisions } from "./history.ts";

export function sandboxError(step: Step, message: string): void {
  finishRun(step, failure("SandboxError", message));
}
export function prepared(step: Step, template: PodTemplateSpec): PodTemplateSpec {
  return sandboxTemplate(template, step.drill, currentRun(step).id);
}

/** What notReadyFinding() needs about the clone's current rollout. */
export function notReadyContext(
  step: Step,
  ctx: Context,
  clone: DeploymentView,
  rs: ReplicaSetView | undefined,
): NotReadyContext {
  return {
    ...ctx,
    deadlineSeconds: clone.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
    deadlineExceeded: rs !== undefined && hasExceededDeadline(clone, rs),
  };
}

/**
 * Waits for the rollout: watch events bring readiness and the controller's deadline, but a
 * container's readiness budget running out comes with time alone, so look again then.
 */
export function requeueForReadiness(
  step: Step,
  pods: readonly PodView[],
  template: PodTemplateSpec,
  clone: DeploymentView,
  fallbackMs: number | undefined,
): void {
  const deadline = clone.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS;
  const next = nextReadinessCheckMs(pods, template, deadline);
  if (next !== undefined && next - step.nowMs < RESYNC_MS) requeue(step, next - step.nowMs);
  else if (fallbackMs !== undefined) requeue(step, fallbackMs);
}
/** What the phases after the roll forward's start need; a run whose clone vanished ends SandboxError. */
interface CloneContext {
  revs: RunRevisions;
  sandbox: ObservedSandbox;
  clone: DeploymentView;
}

export function cloneContext(step: Step): CloneContext | undefined {
  const revs = runRevisions(step);
  const sandbox = step.observed.sandbox;
  const clone = sandbox?.deployment;
  if (revs === undefined || sandbox === undefined || clone === undefined) {
    if (revs !== undefined) sandboxError(step, "The sandbox clone disappeared during the run.");
    return undefined;
  }
  return { revs, sandbox, clone };
}
