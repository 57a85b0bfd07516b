/**
 * decide(drill, observed, now): the drill's whole logic as a pure function. It returns the next
 * status (the shell persists it first), the actions to run, and when to look again.
 *
 * A run's state machine (state in status.currentRun, so a restarted operator resumes):
 *
 *   Idle --trigger--> Pending --valid--> Resolving --history--> Preflight --ok--> CreatingSandbox
 *     CreatingSandbox --clone exists--> DeployingPrevious (clone at revision M's template)
 *     DeployingPrevious --rolled out--> DeployingCurrent (clone updated to revision N)
 *     DeployingCurrent --N rolled out, or N failing, or bounded wait--> RollingBack (the undo)
 *     RollingBack --template is M's again--> Verifying --stable, digests--> CleaningUp --> Idle
 *   Any phase --verdict--> CleaningUp (or straight to Idle when no sandbox was named yet).
 *   Deletion: delete the sandbox, wait for it to go, then remove the finalizer.
 *
 * Decisions documented here:
 * - Triggers during a run queue exactly one more run (status.queuedTrigger).
 * - A failed run's sandbox is kept for ttlSecondsAfterFinished (keepOnFailure); a queued or new
 *   trigger cuts that short, since the next run matters more than an old run's debris.
 * - A rollback target whose template equals the current one is NoRevisionHistory: kubectl would
 *   "skip" the rollback and change nothing, so there is no rollback to rehearse.
 * - A paused target is rehearsed on an unpaused clone, with the TargetPaused warning.
 */
import { setConditions, type NewCondition } from "../api/conditions.ts";
import type { DrillStatus, RollbackDrill } from "../api/types.ts";
import { FINALIZER, type RunPhase } from "../api/vocabulary.ts";
import { namespaceWrittenBy, normalEvent, type Action, type Decision } from "./actions.ts";
import { updateLedger } from "./ledger.ts";
import type { Observed } from "./observed.ts";
import {
  cleaningUp,
  creatingSandbox,
  creatingSetSandbox,
  deployingCurrentSet,
  deployingPreviousSet,
  preflightSet,
  resolvingSet,
  rollingBackSet,
  verifyingSet,
  deployingCurrent,
  deployingPrevious,
  pending,
  preflightPhase,
  refusedWrite,
  resolving,
  rollingBack,
  sandboxWaitingFor,
  tooSlowAtTimeout,
  verifying,
} from "./phases.ts";
import {
  currentRun,
  deleteSandbox,
  finishRun,
  failure,
  pointer,
  RESYNC_MS,
  requeue,
  startRun,
  type Step,
} from "./run.ts";
import { revisionOf } from "./revisions.ts";
import { isOwnedBy } from "./sandbox.ts";
import { formatTime, parseTime } from "./time.ts";
import { scanTriggers, settledRevision } from "./triggers.ts";

/** Phases with a run in flight and a clock running against timeoutSeconds. */
const TIMED_PHASES: readonly RunPhase[] = [
  "CreatingSandbox",
  "DeployingPrevious",
  "DeployingCurrent",
  "RollingBack",
  "Verifying",
];

export function decide(drill: RollbackDrill, observed: Observed, now: Date): Decision {
  const nowMs = now.getTime();
  const step: Step = {
    drill,
    observed,
    nowMs,
    nowIso: formatTime(nowMs),
    status: { ...(drill.status ?? {}) },
    actions: [],
  };
  if (drill.metadata.deletionTimestamp !== undefined) return finalize(step);
  if (!(drill.metadata.finalizers ?? []).includes(FINALIZER))
    step.actions.push({ type: "EnsureFinalizer" });
  const ledger = updateLedger(step.status.digestLedger, observed.target, step.nowIso);
  const scan = scanTriggers(drill, observed.target, nowMs);
  step.status = scan.status;
  if (ledger.length > 0) step.status.digestLedger = ledger;
  const run = step.status.currentRun;
  const first = scan.fired[0];
  // The run-now value a run answers: one that fired now, else one queued during the last run.
  const token = scan.fired.includes("RunNow")
    ? step.status.lastRunNowToken
    : step.status.queuedRunNowToken;
  if (run === undefined) {
    const trigger = first ?? (drill.spec.suspend ? undefined : step.status.queuedTrigger);
    // A new run is only recorded here; it advances on the next reconcile, once its status is stored.
    if (trigger !== undefined) startRun(step, trigger, token);
    else rest(step);
    return finish(step);
  }
  if (first !== undefined) {
    if (step.status.queuedTrigger === undefined)
      step.actions.push(
        normalEvent("RunQueued", `Queued one more run (${first}) after run ${run.id}`),
      );
    step.status.queuedTrigger ??= first;
    if (token !== undefined) step.status.queuedRunNowToken = token;
  }
  advance(step);
  return finish(step);
}

/** The phases a StatefulSet or DaemonSet target runs its own way (phases/set.ts); false for the shared ones. */
function dispatchSet(step: Step, phase: RunPhase): boolean {
  switch (phase) {
    case "Resolving":
      resolvingSet(step);
      return true;
    case "Preflight":
      preflightSet(step);
      return true;
    case "CreatingSandbox":
      creatingSetSandbox(step);
      return true;
    case "DeployingPrevious":
      deployingPreviousSet(step);
      return true;
    case "DeployingCurrent":
      deployingCurrentSet(step);
      return true;
    case "RollingBack":
      rollingBackSet(step);
      return true;
    case "Verifying":
      verifyingSet(step);
      return true;
    default:
      return false;
  }
}

/** One step of the run in progress, by phase. */
function advance(step: Step): void {
  const run = currentRun(step);
  const started = parseTime(run.startTime) ?? step.nowMs;
  const timeoutMs = step.drill.spec.checks.timeoutSeconds * 1000;
  if (TIMED_PHASES.includes(run.phase) && step.nowMs - started > timeoutMs) {
    if (tooSlowAtTimeout(step)) return;
    finishRun(
      step,
      failure(
        "RolloutTimeout",
        `The run did not finish within spec.checks.timeoutSeconds (${step.drill.spec.checks.timeoutSeconds}s); it was in phase ${run.phase}${sandboxWaitingFor(step)}. ` +
          `Look at the sandbox (kubectl -n ${run.sandboxNamespace ?? "?"} describe ${step.drill.spec.targetRef.kind.toLowerCase()}) for what blocks the rollout, or raise the timeout.`,
      ),
    );
    return;
  }
  if (refusedWrite(step)) return;
  dispatch(step, run.phase);
  // Watch events drive the phases; the timeout is the one thing that comes with time alone.
  const after = step.status.currentRun;
  if (after !== undefined && after.verdict === undefined && TIMED_PHASES.includes(after.phase))
    requeue(step, started + timeoutMs - step.nowMs + 1);
}

function dispatch(step: Step, phase: RunPhase): void {
  if (step.drill.spec.targetRef.kind !== "Deployment" && dispatchSet(step, phase)) return;
  switch (phase) {
    case "Pending":
      pending(step);
      return;
    case "Resolving":
      resolving(step);
      return;
    case "Preflight":
      preflightPhase(step);
      return;
    case "CreatingSandbox":
      creatingSandbox(step);
      return;
    case "DeployingPrevious":
      deployingPrevious(step);
      return;
    case "DeployingCurrent":
      deployingCurrent(step);
      return;
    case "RollingBack":
      rollingBack(step);
      return;
    case "Verifying":
      verifying(step);
      return;
    case "SandboxKept":
    case "CleaningUp":
      cleaningUp(step);
      return;
    case "Idle":
    case "Suspended":
      // Not a run phase: a stored run in a resting phase is an old one; drop it.
      delete step.status.currentRun;
      requeue(step, 0);
      return;
  }
}

/** No run: wait for the schedule (or the next watch event). */
function rest(step: Step): void {
  const next = parseTime(step.status.nextRunTime);
  if (next !== undefined && !step.drill.spec.suspend) requeue(step, Math.max(0, next - step.nowMs));
}

/** A drill being deleted: its sandbox goes first, then the finalizer. */
function finalize(step: Step): Decision {
  const sandbox = step.observed.sandbox?.namespace;
  const hasFinalizer = (step.drill.metadata.finalizers ?? []).includes(FINALIZER);
  if (sandbox !== undefined && isOwnedBy(sandbox.labels, step.drill)) {
    deleteSandbox(step, sandbox.name);
    requeue(step, RESYNC_MS);
    return { status: step.status, actions: step.actions, requeueAfterMs: RESYNC_MS };
  }
  if (step.status.currentRun?.sandboxNamespace !== undefined)
    step.actions.push(
      normalEvent(
        "SandboxDeleted",
        `Deleted sandbox namespace ${step.status.currentRun.sandboxNamespace}`,
      ),
    );
  delete step.status.currentRun;
  if (hasFinalizer) step.actions.push({ type: "RemoveFinalizer" });
  return { status: step.status, actions: step.actions };
}

function conditions(step: Step): NewCondition[] {
  const status = step.status;
  const run = status.currentRun;
  const running: NewCondition =
    run !== undefined && run.verdict === undefined
      ? {
          type: "Running",
          status: "True",
          reason: run.phase,
          message: `Run ${run.id} (${run.trigger}) is in phase ${run.phase}.`,
        }
      : {
          type: "Running",
          status: "False",
          reason: run !== undefined ? run.phase : step.drill.spec.suspend ? "Suspended" : "Idle",
          message:
            run !== undefined
              ? run.phase === "SandboxKept"
                ? `Run ${run.id} finished ${run.reason ?? ""}; its sandbox ${run.sandboxNamespace ?? ""} is kept for inspection until ${status.lastRun?.sandboxKeptUntil ?? "its TTL ends"}${run.verdict === "Error" ? " (its pods stopped: an Error is no rollback result)" : ""}.`
                : `Run ${run.id} finished; its sandbox is being deleted.`
              : step.drill.spec.suspend
                ? "spec.suspend is true: no new runs start."
                : "No run in progress.",
        };
  const last = status.lastRun;
  const ready: NewCondition =
    last === undefined
      ? {
          type: "Ready",
          status: "Unknown",
          reason: "NeverRun",
          message: "No run has finished yet.",
        }
      : {
          type: "Ready",
          status: last.verdict === "Passed" ? "True" : "False",
          reason: last.reason ?? "Passed",
          message: pointer(last.id, {
            verdict: last.verdict ?? "Error",
            reason: last.reason ?? "Passed",
          }),
        };
  return [ready, running, rollbackReady(step)];
}

function rollbackReady(step: Step): NewCondition {
  const target = step.observed.target;
  if (target === undefined)
    return {
      type: "RollbackReady",
      status: "False",
      reason: "TargetNotFound",
      message: `Deployment "${step.drill.spec.targetRef.name}" not found.`,
    };
  // The revision the Deployment now declares: a deploy makes it current at once, rolled out or
  // not, and it has no tested way back until a drill of it passes.
  const declared = revisionOf(target.deployment.metadata.annotations);
  const revision =
    declared !== undefined && declared > 0
      ? declared
      : (settledRevision(target) ?? step.status.observedTargetRevision);
  const runs = [...(step.status.history ?? [])];
  const passed = runs.find(r => r.verdict === "Passed" && r.fromRevision === revision);
  if (revision !== undefined && passed !== undefined)
    return {
      type: "RollbackReady",
      status: "True",
      reason: "Rehearsed",
      message: `The rollback from revision ${revision} to ${String(passed.toRevision)} passed in run ${passed.id}.`,
    };
  const failed = runs.find(r => r.fromRevision === revision && r.verdict !== undefined);
  if (revision !== undefined && failed !== undefined)
    return {
      type: "RollbackReady",
      status: "False",
      reason: "LastRunFailed",
      message: `The rollback from revision ${revision} failed in run ${failed.id} (${failed.reason ?? "?"}): see status.lastRun.message.`,
    };
  return {
    type: "RollbackReady",
    status: "False",
    reason: "NotRehearsed",
    message: `Revision ${revision === undefined ? "?" : String(revision)} has no passed rehearsal yet.`,
  };
}

/** Headline phase, conditions, and the containment guard, then the Decision. */
function finish(step: Step): Decision {
  const status: DrillStatus = step.status;
  const phase: RunPhase =
    status.currentRun?.phase ?? (step.drill.spec.suspend ? "Suspended" : "Idle");
  status.phase = phase;
  status.conditions = setConditions(
    status.conditions,
    conditions(step),
    step.drill.metadata.generation,
    step.nowIso,
  );
  const actions = step.actions.filter(a => isContained(a, step.drill));
  return step.requeueAfterMs === undefined
    ? { status, actions }
    : { status, actions, requeueAfterMs: step.requeueAfterMs };
}

/** No action writes in the drill's own namespace (only the drill itself: finalizer, Events). */
export function isContained(action: Action, drill: RollbackDrill): boolean {
  const ns = namespaceWrittenBy(action);
  return ns === undefined || (ns !== drill.metadata.namespace && ns !== "");
}
