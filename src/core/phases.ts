/**
 * One function per phase of a run. Each reads the observed world, and either waits (requeue),
 * re-issues its idempotent actions, or moves the run on. See decide.ts for the state diagram.
 */
import type { ContainerEvidence } from "../api/types.ts";
import { normalEvent, warningEvent, type Action } from "./actions.ts";
import { evaluateDigests, runningDigests, shortDigest } from "./digest.ts";
import { allDigestsOfPods, ledgerEntryFor, podsWithHash } from "./ledger.ts";
import type {
  DeploymentView,
  ObservedSandbox,
  PodTemplateSpec,
  PodView,
  ReplicaSetView,
} from "./observed.ts";
import { preflight } from "./preflight.ts";
import {
  equalIgnoreHash,
  ownedRevisions,
  resolveRevisions,
  revisionOf,
  revisionsAvailable,
  type Revision,
} from "./revisions.ts";
import {
  currentRun,
  deleteSandbox,
  enterPhase,
  failure,
  finishRun,
  inPhaseMs,
  RESYNC_MS,
  requeue,
  sandboxDue,
  sandboxKeptUntilMs,
  stopSandboxPods,
  updateRun,
  type Step,
} from "./run.ts";
import {
  cloneManifest,
  isOwnedBy,
  sandboxNameFor,
  sandboxSetupActions,
  sandboxTemplate,
  undoPatch,
} from "./sandbox.ts";
import { formatSeconds, formatTime, parseTime, secondsBetween } from "./time.ts";
import { invalidSpecMessage, validate } from "./validate.ts";
import {
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  describeUnready,
  hasExceededDeadline,
  isRolloutComplete,
  nextReadinessCheckMs,
  notReadyFinding,
  podFailure,
  podsFor,
  readyCount,
  replicaFailure,
  replicaSetFor,
  type NotReadyContext,
} from "./verdict.ts";

/** Longest wait for revision N in the sandbox before undoing anyway, in milliseconds. */
export const FORWARD_WAIT_MAX_MS = 120_000;

/** How long the sandbox's setup may take to show in the cache before it is issued again, in ms. */
export const SETUP_REISSUE_MS = 10_000;

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

interface RunRevisions {
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
function runRevisions(step: Step): RunRevisions | undefined {
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

export function preflightPhase(step: Step): void {
  const revs = runRevisions(step);
  const target = step.observed.target;
  if (revs === undefined || target === undefined) return;
  const run = currentRun(step);
  const result = preflight({
    drill: step.drill,
    target: target.deployment,
    toTemplate: revs.toTemplate,
    fromTemplate: revs.fromTemplate,
    toRevision: revs.to.revision,
    secrets: step.observed.sources.secrets,
    ...(step.observed.sources.serviceAccounts === undefined
      ? {}
      : { accounts: step.observed.sources.serviceAccounts }),
    ...(run.revisionsAvailable === undefined ? {} : { revisionsAvailable: run.revisionsAvailable }),
  });
  step.status.warnings = result.warnings;
  for (const warning of result.warnings)
    step.actions.push(warningEvent("PreflightWarning", `${warning.reason}: ${warning.message}`));
  if (result.blocked !== undefined) {
    finishRun(step, failure(result.blocked.reason, result.blocked.message));
    return;
  }
  // The name is stored now: status is persisted before these actions run, so a restart finds it.
  const namespace = sandboxNameFor(step.drill, run.id);
  enterPhase(step, "CreatingSandbox", { sandboxNamespace: namespace });
  creatingSandbox(step);
}

function sandboxError(step: Step, message: string): void {
  finishRun(step, failure("SandboxError", message));
}

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

export function creatingSandbox(step: Step): void {
  const revs = runRevisions(step);
  const target = step.observed.target;
  if (revs === undefined || target === undefined) return;
  const run = currentRun(step);
  const namespace = run.sandboxNamespace ?? sandboxNameFor(step.drill, run.id);
  const sandbox = step.observed.sandbox;
  const existing = sandbox?.namespace.name === namespace ? sandbox.namespace : undefined;
  if (existing !== undefined) {
    if (!isOwnedBy(existing.labels, step.drill)) {
      sandboxError(
        step,
        `Namespace "${namespace}" exists and is not this drill's sandbox: it is left alone; name another spec.sandbox.namespace.`,
      );
      return;
    }
    if (existing.labels?.["rollbackdrill.io/run"] !== run.id) {
      // A previous run's sandbox under a fixed name: wait until it is gone.
      deleteSandbox(step, namespace);
      requeue(step, RESYNC_MS);
      return;
    }
    if (existing.phase === "Terminating") {
      sandboxError(
        step,
        `Sandbox namespace "${namespace}" was deleted during the run; the next run creates a new one.`,
      );
      return;
    }
  }
  if (sandbox?.deployment !== undefined && existing !== undefined) {
    enterPhase(step, "DeployingPrevious");
    step.actions.push(
      normalEvent(
        "SandboxCreated",
        `Created sandbox namespace ${namespace} with a clone of Deployment ${target.deployment.metadata.name} at revision ${revs.to.revision}`,
      ),
    );
    requeue(step, RESYNC_MS);
    return;
  }
  if (existing !== undefined && awaitingOwnSetup(step)) return;
  const present = (states: Readonly<Record<string, string>>): Set<string> =>
    new Set(
      Object.entries(states)
        .filter(([, s]) => s === "Present")
        .map(([n]) => n),
    );
  step.actions.push(
    ...sandboxSetupActions(
      {
        drill: step.drill,
        runId: run.id,
        namespace,
        templates: [revs.toTemplate, revs.fromTemplate],
        operator: step.observed.operator,
      },
      {
        configMaps: present(step.observed.sources.configMaps),
        secrets: present(step.observed.sources.secrets),
        ...(step.observed.sources.serviceAccounts === undefined
          ? {}
          : { accounts: step.observed.sources.serviceAccounts }),
      },
    ),
    {
      type: "CreateDeployment",
      manifest: cloneManifest(step.drill, run.id, namespace, target.deployment, revs.toTemplate),
    },
  );
  requeue(step, RESYNC_MS);
}

/**
 * The setup is issued by the decision that enters CreatingSandbox (phaseStartTime says when), and
 * the status saying so is stored before it runs. A later look that finds the run's namespace but
 * not yet the clone is the cache catching up with those writes (the namespace, created first,
 * shows first): wait for their events instead of sending them again. Without the namespace (a crash
 * between storing the status and the writes) the setup is issued at once; after SETUP_REISSUE_MS
 * (a crash or a failed write part-way) it is issued again. Every action is idempotent.
 */
function awaitingOwnSetup(step: Step): boolean {
  const waited = inPhaseMs(step);
  if (currentRun(step).phase !== "CreatingSandbox" || waited <= 0 || waited >= SETUP_REISSUE_MS)
    return false;
  requeue(step, SETUP_REISSUE_MS - waited);
  return true;
}

function prepared(step: Step, template: PodTemplateSpec): PodTemplateSpec {
  return sandboxTemplate(template, step.drill, currentRun(step).id);
}

/** What notReadyFinding() needs about the clone's current rollout. */
function notReadyContext(
  step: Step,
  ctx: { template: PodTemplateSpec; revision: number; when: string },
  clone: DeploymentView,
  rs: ReplicaSetView | undefined,
): NotReadyContext {
  return {
    ...ctx,
    deadlineSeconds: clone.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS,
    deadlineExceeded: rs !== undefined && hasExceededDeadline(clone, rs),
    nowMs: step.nowMs,
  };
}

/**
 * Waits for the rollout: watch events bring readiness and the controller's deadline, but a
 * container's readiness budget running out comes with time alone, so look again then.
 */
function requeueForReadiness(
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

/** What the phases after the roll forward's start need; a run whose clone vanished ends SandboxError. */
interface CloneContext {
  revs: RunRevisions;
  sandbox: ObservedSandbox;
  clone: DeploymentView;
}

function cloneContext(step: Step): CloneContext | undefined {
  const revs = runRevisions(step);
  const sandbox = step.observed.sandbox;
  const clone = sandbox?.deployment;
  if (revs === undefined || sandbox === undefined || clone === undefined) {
    if (revs !== undefined) sandboxError(step, "The sandbox clone disappeared during the run.");
    return undefined;
  }
  return { revs, sandbox, clone };
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
  const newCtx = { template: revs.fromTemplate, revision: revs.from.revision, when: "" };
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

export function verifying(step: Step): void {
  const present = cloneContext(step);
  if (present === undefined) return;
  const { revs, sandbox, clone } = present;
  const run = currentRun(step);
  const checks = step.drill.spec.checks;
  const toTemplate = prepared(step, revs.toTemplate);
  const pods = podsFor(sandbox, toTemplate);
  const ctx = { template: revs.toTemplate, revision: revs.to.revision, when: "after the rollback" };
  const rs = replicaSetFor(sandbox, toTemplate);
  const found = replicaFailure(rs) ?? podFailure(pods, ctx);
  if (found !== undefined) {
    finishRun(step, failure(found.reason, found.message));
    return;
  }
  const undoMs = parseTime(run.undoTime) ?? step.nowMs;
  const replicas = step.drill.spec.sandbox.replicas;
  const allReady =
    isRolloutComplete(clone) && pods.length === replicas && readyCount(pods) === replicas;
  const limit = checks.maxRollbackSeconds;
  const readyMs = parseTime(run.readyTime);
  if (!allReady) {
    if (readyMs !== undefined) {
      finishRun(
        step,
        failure(
          "PodsNotReady",
          `Pods of revision ${revs.to.revision} became Ready after the rollback but did not stay Ready for ${checks.stableSeconds}s (${describeUnready(pods, revs.toTemplate)}): fix the old release's readiness (probes, dependencies) or a real rollback will flap.`,
        ),
      );
      return;
    }
    const stuck = notReadyFinding(pods, notReadyContext(step, ctx, clone, rs));
    if (stuck !== undefined) {
      const elapsed = Math.floor((step.nowMs - undoMs) / 1000);
      const over =
        limit !== undefined && elapsed > limit
          ? ` The rollback was also over spec.checks.maxRollbackSeconds (${limit}s): more than ${elapsed}s since the undo, and never done.`
          : "";
      finishRun(step, failure(stuck.reason, `${stuck.message}${over}`));
      return;
    }
    // Past maxRollbackSeconds the clock keeps running: the verdict waits for the real rollback
    // time (all pods Ready), or the run's timeout ("more than N s").
    requeueForReadiness(step, pods, toTemplate, clone, RESYNC_MS);
    return;
  }
  const readyAt = readyMs ?? podsReadyAt(pods, undoMs, step.nowMs);
  const rollbackSeconds = secondsBetween(undoMs, readyAt);
  if (readyMs === undefined) {
    updateRun(step, { readyTime: formatTime(readyAt), rollbackSeconds });
    if (limit !== undefined && rollbackSeconds > limit) {
      finishRun(step, {
        ...failure("RollbackTooSlow", tooSlowMessage(formatSeconds(rollbackSeconds), limit, true)),
        rollbackSeconds,
      });
      return;
    }
  }
  const stableLeft = checks.stableSeconds * 1000 - (step.nowMs - readyAt);
  if (stableLeft > 0) {
    requeue(step, stableLeft);
    return;
  }
  conclude(step, revs, pods, rollbackSeconds);
}

/**
 * The run's timeout while the rolled-back pods are still not Ready and maxRollbackSeconds has
 * passed: RollbackTooSlow with the lower bound the measurement reached, not a generic timeout.
 */
export function tooSlowAtTimeout(step: Step): boolean {
  const run = currentRun(step);
  const limit = step.drill.spec.checks.maxRollbackSeconds;
  const undoMs = parseTime(run.undoTime);
  if (run.phase !== "Verifying" || limit === undefined || undoMs === undefined) return false;
  if (run.readyTime !== undefined) return false;
  const elapsed = Math.floor((step.nowMs - undoMs) / 1000);
  if (elapsed <= limit) return false;
  const clone = step.observed.sandbox?.deployment;
  const sandbox = step.observed.sandbox;
  const pods =
    clone === undefined || sandbox === undefined ? [] : podsFor(sandbox, clone.spec.template);
  const why = clone === undefined ? "" : ` (${describeUnready(pods, clone.spec.template)})`;
  finishRun(
    step,
    failure(
      "RollbackTooSlow",
      tooSlowMessage(`more than ${elapsed}s`, limit, false) +
        ` The run's spec.checks.timeoutSeconds (${step.drill.spec.checks.timeoutSeconds}s) ended the measurement${why}.`,
    ),
  );
  return true;
}

/** What the sandbox's current rollout waits for, for a timeout's message. */
export function sandboxWaitingFor(step: Step): string {
  const sandbox = step.observed.sandbox;
  const clone = sandbox?.deployment;
  if (sandbox === undefined || clone === undefined) return "";
  const unready = describeUnready(podsFor(sandbox, clone.spec.template), clone.spec.template);
  return unready === "" ? "" : `; the clone's pods: ${unready}`;
}

/**
 * When the rolled-back pods became Ready, for the rollback time (undo -> all pods Ready): the
 * latest Ready=True lastTransitionTime among them, as the kubelet stamped it, so the time does not
 * include how late the operator looked (a busy queue, or a scaled clock in the simulator). Those
 * stamps have second precision, so the observation time `nowMs` is used instead when it falls
 * within the stamp's second (it is then as exact and never early); and when the stamp is before
 * the undo's second (a pod of that revision that stayed Ready through the drill), the pods' own
 * stamps say nothing about the rollback, and the observation time is the honest bound. A stamp
 * within the undo's second but before it: halfway from the undo to that second's end.
 */
export function podsReadyAt(pods: readonly PodView[], undoMs: number, nowMs: number): number {
  let latest: number | undefined;
  for (const pod of pods) {
    const ready = pod.status?.conditions?.find(c => c.type === "Ready" && c.status === "True");
    const stamp = parseTime(ready?.lastTransitionTime);
    if (stamp === undefined) return nowMs;
    latest = Math.max(latest ?? stamp, stamp);
  }
  if (latest === undefined || latest + 1000 <= undoMs || nowMs - latest < 1000) return nowMs;
  // A stamp in the undo's own second, before the undo: Ready came after the undo and within that
  // second (the stamp is truncated), and not after the look. Clamping to the undo read "0s" for a
  // rollback of half a second; halfway through what is known is off by at most half of it.
  if (latest < undoMs) return Math.round((undoMs + Math.min(nowMs, latest + 1000)) / 2);
  return Math.min(nowMs, latest);
}

function tooSlowMessage(seconds: string, limit: number, ready: boolean): string {
  return (
    `The rollback ${ready ? "took" : "has taken"} ${seconds} from undo to all pods Ready${ready ? "" : " and is not done"}, over ` +
    `spec.checks.maxRollbackSeconds (${limit}s): make the old release start faster (smaller image, earlier readiness, ` +
    `pre-pulled images) or raise the limit to the recovery time you can accept.`
  );
}

function conclude(
  step: Step,
  revs: RunRevisions,
  pods: Parameters<typeof evaluateDigests>[0]["rolledBackPods"],
  rollbackSeconds: number,
): void {
  const run = currentRun(step);
  const ledger = ledgerEntryFor(step.status.digestLedger, revs.to.hash);
  const digests = evaluateDigests({
    fromTemplate: revs.fromTemplate,
    toTemplate: revs.toTemplate,
    fromRevision: revs.from.revision,
    toRevision: revs.to.revision,
    rolledBackPods: pods,
    brokenDigests: run.brokenDigests ?? [],
    brokenPods: podsWithHash(step.observed.target?.pods ?? [], revs.from.hash),
    ...(ledger === undefined ? {} : { ledger }),
  });
  const verify = step.drill.spec.checks.digestPolicy === "Verify";
  const evidence: ContainerEvidence[] = verify
    ? digests.evidence
    : digests.evidence.map(e => ({ ...e, digestCheck: "Ignored" }));
  if (verify && digests.finding !== undefined) {
    finishRun(step, {
      ...failure(digests.finding.reason, digests.finding.message),
      evidence,
      rollbackSeconds,
    });
    return;
  }
  const list = evidence.map(e => `${e.name}=${shortDigest(e.toDigest)}`).join(", ");
  finishRun(step, {
    verdict: "Passed",
    reason: "Passed",
    message:
      `Rolled back Deployment ${step.drill.spec.targetRef.name} from revision ${revs.from.revision} to ${revs.to.revision} ` +
      `in ${formatSeconds(rollbackSeconds)} (undo to all pods Ready); pods stayed Ready ${step.drill.spec.checks.stableSeconds}s and run ${list}.` +
      digestNote(evidence, verify),
    evidence,
    rollbackSeconds,
  });
}

/** What a Passed message says about the digest check when it did not verify a restored image. */
function digestNote(evidence: readonly ContainerEvidence[], verify: boolean): string {
  if (!verify)
    return " The digests were not checked (spec.checks.digestPolicy is Ignore): this run shows the old version runs, not which bytes it runs.";
  const same = evidence.filter(e => e.digestCheck === "NotApplicable");
  if (same.length === 0) return "";
  const names = same.map(e => `"${e.name}" (${shortDigest(e.toDigest)})`).join(", ");
  const all = same.length === evidence.length;
  return (
    ` The digest check does not apply to ${names}: both revisions pin the same digest, so ` +
    `${all ? "this rollback restores configuration only (env, args, resources...) and no image" : "for those containers the rollback restores configuration only"}; ` +
    `equal FROM and TO digests are expected here, and what passed is that the old configuration runs and stays Ready.`
  );
}

/**
 * After the verdict: a kept sandbox (SandboxKept) waits out its TTL, then goes (CleaningUp); once
 * its namespace is gone the run ends. An Error run's kept sandbox has its pods stopped.
 */
export function cleaningUp(step: Step): void {
  const run = currentRun(step);
  const namespace = run.sandboxNamespace;
  const observed = step.observed.sandbox?.namespace;
  if (namespace === undefined || observed?.name !== namespace) {
    if (namespace !== undefined)
      step.actions.push(
        normalEvent("SandboxDeleted", `Deleted sandbox namespace ${namespace} of run ${run.id}`),
      );
    endRun(step);
    return;
  }
  if (!isOwnedBy(observed.labels, step.drill)) {
    endRun(step);
    return;
  }
  if (sandboxDue(step, run)) {
    if (run.phase !== "CleaningUp") enterPhase(step, "CleaningUp");
    deleteSandbox(step, namespace);
    requeue(step, RESYNC_MS);
    return;
  }
  if (run.verdict === "Error") stopSandboxPods(step, run);
  requeue(step, sandboxKeptUntilMs(step, run) - step.nowMs);
}

/** The run's sandbox is gone: no more run, and its record no longer promises a kept sandbox. */
function endRun(step: Step): void {
  const run = currentRun(step);
  const last = step.status.lastRun;
  if (last?.id === run.id && last.sandboxKeptUntil !== undefined) {
    const rest = { ...last };
    delete rest.sandboxKeptUntil;
    step.status.lastRun = rest;
  }
  delete step.status.currentRun;
  requeue(step, 0);
}
