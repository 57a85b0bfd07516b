/**
 * The run's bookkeeping, shared by the phases: the decision being built (status + actions +
 * requeue), starting a run, moving it to a phase, and finishing it with a verdict (history,
 * lastRun, Events, and the sandbox's fate).
 */
import type {
  ContainerEvidence,
  CurrentRun,
  DrillStatus,
  RollbackDrill,
  RunRecord,
  RunSummary,
} from "../api/types.ts";
import type { Reason, RunPhase, Trigger, Verdict } from "../api/vocabulary.ts";
import { normalEvent, warningEvent, type Action } from "./actions.ts";
import { isStoppedDaemonSet, stoppedTemplate } from "./daemonset.ts";
import type { Observed, ObservedSandbox, StatefulSetView } from "./observed.ts";
import { ownershipLabels, sandboxLabels } from "./sandbox.ts";
import { formatSeconds, formatTime, parseTime } from "./time.ts";

/** The ConfigMap in a stopped sandbox that keeps its containers' last log lines. */
export const SAVED_LOGS_CONFIGMAP = "rollback-drill-logs";

/**
 * The safety net while a run waits, in milliseconds: watch events on the drill, its target and its
 * sandbox drive every step, and decide() asks for a look at a time only where time itself decides
 * (the run's timeout, the forward wait, the rollback limit, the stable window, a kept sandbox's
 * TTL, a schedule). This re-look only bounds the damage of an event that never came.
 */
export const RESYNC_MS = 60_000;

/** The decision under construction. `status` is a working copy; the drill is never mutated. */
export interface Step {
  drill: RollbackDrill;
  observed: Observed;
  nowMs: number;
  nowIso: string;
  status: DrillStatus;
  actions: Action[];
  requeueAfterMs?: number;
}

/** Requeue no later than `ms` from now. */
export function requeue(step: Step, ms: number): void {
  const bounded = Math.max(0, Math.ceil(ms));
  step.requeueAfterMs =
    step.requeueAfterMs === undefined ? bounded : Math.min(step.requeueAfterMs, bounded);
}

export function currentRun(step: Step): CurrentRun {
  const run = step.status.currentRun;
  if (run === undefined) throw new Error("no run in progress");
  return run;
}

/** Moves the run to a phase (phaseStartTime now) with extra fields, and looks again at once. */
export function enterPhase(step: Step, phase: RunPhase, fields: Partial<CurrentRun> = {}): void {
  step.status.currentRun = {
    ...currentRun(step),
    ...fields,
    phase,
    phaseStartTime: step.nowIso,
  };
  requeue(step, 0);
}

/** Updates fields of the run without changing phase. */
export function updateRun(step: Step, fields: Partial<CurrentRun>): void {
  step.status.currentRun = { ...currentRun(step), ...fields };
}

/** Milliseconds since the run's phase started. */
export function inPhaseMs(step: Step): number {
  return step.nowMs - (parseTime(currentRun(step).phaseStartTime) ?? step.nowMs);
}

/** Starts run runCount+1; `runNowToken` is the run-now value it answers (the CD gate waits on it). */
export function startRun(step: Step, trigger: Trigger, runNowToken?: string): void {
  const count = (step.status.runCount ?? 0) + 1;
  const id = String(count);
  step.status.runCount = count;
  step.status.currentRun = {
    id,
    trigger,
    phase: "Pending",
    startTime: step.nowIso,
    phaseStartTime: step.nowIso,
    ...(runNowToken === undefined ? {} : { runNowToken }),
  };
  delete step.status.queuedTrigger;
  delete step.status.queuedRunNowToken;
  const { kind, name } = step.drill.spec.targetRef;
  step.actions.push(
    normalEvent(
      "DrillStarted",
      `Started run ${id} (${trigger}) rehearsing the rollback of ${kind} ${name}`,
    ),
  );
  requeue(step, 0);
}

export interface Outcome {
  verdict: Verdict;
  reason: Reason;
  message: string;
  evidence?: ContainerEvidence[];
  rollbackSeconds?: number;
}

/** Reasons that mean the drill could not rehearse at all, rather than a rollback that fails. */
const ERROR_REASONS: readonly Reason[] = ["TargetNotFound", "InvalidSpec", "SandboxError"];

export function failure(reason: Reason, message: string): Outcome {
  return { verdict: ERROR_REASONS.includes(reason) ? "Error" : "Failed", reason, message };
}

function recordOf(run: CurrentRun, outcome: Outcome, completionTime: string): RunRecord {
  return {
    id: run.id,
    trigger: run.trigger,
    startTime: run.startTime,
    completionTime,
    verdict: outcome.verdict,
    reason: outcome.reason,
    message: outcome.message,
    ...(run.fromRevision === undefined ? {} : { fromRevision: run.fromRevision }),
    ...(run.toRevision === undefined ? {} : { toRevision: run.toRevision }),
    ...(outcome.rollbackSeconds === undefined ? {} : { rollbackSeconds: outcome.rollbackSeconds }),
    ...(run.sandboxNamespace === undefined ? {} : { sandboxNamespace: run.sandboxNamespace }),
    ...(run.revisionsAvailable === undefined ? {} : { revisionsAvailable: run.revisionsAvailable }),
    ...(outcome.evidence === undefined ? {} : { evidence: outcome.evidence }),
    ...(run.runNowToken === undefined ? {} : { runNowToken: run.runNowToken }),
  };
}

function summaryOf(record: RunRecord): RunSummary {
  const { id, trigger, startTime, completionTime, verdict, reason } = record;
  return {
    id,
    trigger,
    startTime,
    ...(completionTime === undefined ? {} : { completionTime }),
    ...(verdict === undefined ? {} : { verdict }),
    ...(reason === undefined ? {} : { reason }),
    ...(record.fromRevision === undefined ? {} : { fromRevision: record.fromRevision }),
    ...(record.toRevision === undefined ? {} : { toRevision: record.toRevision }),
    ...(record.rollbackSeconds === undefined ? {} : { rollbackSeconds: record.rollbackSeconds }),
    ...(record.runNowToken === undefined ? {} : { runNowToken: record.runNowToken }),
  };
}

/** Whether the sandbox of a finished run is deleted now (passed, or not kept, or kept long enough). */
export function sandboxDue(step: Step, run: CurrentRun): boolean {
  const sandbox = step.drill.spec.sandbox;
  if (run.verdict === "Passed" || !sandbox.keepOnFailure) return true;
  if (step.status.queuedTrigger !== undefined) return true;
  const done = parseTime(run.completionTime) ?? step.nowMs;
  return step.nowMs >= done + sandbox.ttlSecondsAfterFinished * 1000;
}

/** When a finished run's kept sandbox is deleted (completion + ttlSecondsAfterFinished). */
export function sandboxKeptUntilMs(step: Step, run: CurrentRun): number {
  const done = parseTime(run.completionTime) ?? step.nowMs;
  return done + step.drill.spec.sandbox.ttlSecondsAfterFinished * 1000;
}

/**
 * The write that stops the clone's pods, undefined when they are stopped (or there is no clone): a
 * Deployment or StatefulSet scaled to 0, a DaemonSet's template given a nodeSelector no node has.
 */
function stopAction(step: Step, sandbox: ObservedSandbox, namespace: string): Action | undefined {
  const { deployment, set } = sandbox;
  if (deployment !== undefined) {
    if ((deployment.spec.replicas ?? 1) === 0) return undefined;
    const target = { namespace, name: deployment.metadata.name };
    return { type: "ScaleDeployment", target, replicas: 0 };
  }
  if (set === undefined) return undefined;
  const target = { namespace, name: set.metadata.name };
  if (step.drill.spec.targetRef.kind === "DaemonSet")
    return isStoppedDaemonSet(set)
      ? undefined
      : { type: "ReplaceSetTemplate", kind: "DaemonSet", target, template: stoppedTemplate(set) };
  const statefulSet: StatefulSetView = set;
  const replicas = statefulSet.spec.replicas ?? 1;
  return replicas === 0 ? undefined : { type: "ScaleStatefulSet", target, replicas: 0 };
}

/**
 * An Error run cannot conclude, so nothing in its sandbox is worth running: its containers' logs
 * go into a ConfigMap beside the objects and Events that stay, then the clone is scaled to 0.
 * Repeated while the clone still has replicas (both writes are idempotent).
 */
export function stopSandboxPods(step: Step, run: CurrentRun): boolean {
  const sandbox = step.observed.sandbox;
  const namespace = run.sandboxNamespace;
  if (sandbox === undefined || namespace === undefined || sandbox.namespace.name !== namespace)
    return false;
  const stop = stopAction(step, sandbox, namespace);
  if (stop === undefined) return false;
  const containers = sandbox.pods
    .filter(p => p.metadata.deletionTimestamp === undefined)
    .flatMap(p =>
      [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]
        .filter(
          c =>
            c.state?.running !== undefined ||
            c.state?.terminated !== undefined ||
            (c.restartCount ?? 0) > 0,
        )
        .map(c => ({ pod: p.metadata.name, container: c.name })),
    );
  if (containers.length > 0)
    step.actions.push({
      type: "SaveLogs",
      configMap: { namespace, name: SAVED_LOGS_CONFIGMAP },
      labels: sandboxLabels(step.drill, run.id),
      containers,
    });
  step.actions.push(
    stop,
    normalEvent(
      "SandboxStopped",
      `Stopped the pods of sandbox ${namespace}: run ${run.id} ended ${run.reason ?? "Error"}, which is no rollback ` +
        `result, so nothing there should keep running; its objects and Events stay, and its containers' last log ` +
        `lines are in ConfigMap ${SAVED_LOGS_CONFIGMAP}`,
    ),
  );
  return true;
}

/** Deletes the run's sandbox namespace, unless it is already on its way out. */
export function deleteSandbox(step: Step, namespace: string): void {
  const observed = step.observed.sandbox?.namespace;
  if (observed?.name === namespace && observed.phase === "Terminating") return;
  step.actions.push({
    type: "DeleteNamespace",
    name: namespace,
    expectLabels: ownershipLabels(step.drill),
  });
}

/** Where a finished run's message is. */
export const RUN_MESSAGE_FIELD = "status.lastRun.message";

/**
 * A run's verdict in one line that points to its message: for the headline status.message, the
 * Ready condition and the DrillPassed / DrillFailed Event (with the revisions, when given the run).
 */
export function pointer(
  id: string,
  outcome: Pick<Outcome, "verdict" | "reason" | "rollbackSeconds">,
  run?: Pick<CurrentRun, "fromRevision" | "toRevision">,
): string {
  const revisions =
    run?.fromRevision === undefined
      ? ""
      : `, revision ${String(run.fromRevision)} -> ${String(run.toRevision ?? "?")}`;
  const rto =
    run === undefined || outcome.rollbackSeconds === undefined
      ? ""
      : `, rolled back in ${formatSeconds(outcome.rollbackSeconds)}`;
  const what =
    outcome.verdict === "Passed" ? "passed" : `ended ${outcome.verdict} (${outcome.reason})`;
  return `Run ${id} ${what}${revisions}${rto}: see ${RUN_MESSAGE_FIELD}.`;
}

/**
 * Ends the run with a verdict: lastRun, history (bounded by historyLimit), the headline fields,
 * an Event; then CleaningUp when a sandbox may exist, else straight back to rest.
 */
export function finishRun(step: Step, outcome: Outcome): void {
  const run = currentRun(step);
  const record = recordOf(run, outcome, step.nowIso);
  const status = step.status;
  status.lastRun = record;
  status.history = [summaryOf(record), ...(status.history ?? [])].slice(
    0,
    step.drill.spec.historyLimit,
  );
  status.verdict = outcome.verdict;
  status.reason = outcome.reason;
  // The message is said once, in lastRun (kubectl describe showed it four times): the headline,
  // the Ready condition and the Event name the verdict and point there.
  status.message = pointer(run.id, outcome);
  if (outcome.verdict === "Passed") status.lastSuccessTime = step.nowIso;
  step.actions.push(
    outcome.verdict === "Passed"
      ? normalEvent("DrillPassed", pointer(run.id, outcome, run))
      : warningEvent("DrillFailed", pointer(run.id, outcome, run)),
  );
  if (run.sandboxNamespace === undefined) {
    delete status.currentRun;
    requeue(step, 0);
    return;
  }
  const finished: CurrentRun = {
    ...run,
    phase: "SandboxKept",
    phaseStartTime: step.nowIso,
    completionTime: step.nowIso,
    verdict: outcome.verdict,
    reason: outcome.reason,
    ...(outcome.evidence === undefined ? {} : { evidence: outcome.evidence }),
    ...(outcome.rollbackSeconds === undefined ? {} : { rollbackSeconds: outcome.rollbackSeconds }),
  };
  if (sandboxDue(step, finished)) {
    status.currentRun = { ...finished, phase: "CleaningUp" };
    deleteSandbox(step, run.sandboxNamespace);
    requeue(step, RESYNC_MS);
    return;
  }
  // Kept for debugging: the phase and lastRun say until when.
  status.currentRun = finished;
  const until = formatTime(sandboxKeptUntilMs(step, finished));
  status.lastRun = { ...record, sandboxKeptUntil: until };
  step.actions.push(
    normalEvent(
      "SandboxKept",
      `Keeping sandbox ${run.sandboxNamespace} of failed run ${run.id} for inspection until ${until} ` +
        `(spec.sandbox.ttlSecondsAfterFinished)`,
    ),
  );
  if (outcome.verdict === "Error") stopSandboxPods(step, finished);
  requeue(step, sandboxKeptUntilMs(step, finished) - step.nowMs);
}
