/**
 * A StatefulSet or DaemonSet target's run, phase by phase, as the Deployment's (history.ts,
 * setup.ts, rollout.ts, verify.ts) with the history and undo of a set (statefulset.ts): revisions
 * M and N from ControllerRevisions, found again by name; the clone of revision M, rolled forward
 * to N (an OnDelete clone by deleting its pods, as a team rolls such a set forward), then `kubectl
 * rollout undo` (the ControllerRevision's data as a strategic merge patch); the verdict adds the
 * kind's traps (set-kinds.ts): OnDelete replaces no pod; a StatefulSet's partition keeps low
 * ordinals, and OrderedReady waits for a broken pod to become Ready.
 */
import type { DrillWarning } from "../../api/types.ts";
import { normalEvent } from "../actions.ts";
import { runningDigests } from "../digest.ts";
import { allDigestsOfPods } from "../ledger.ts";
import type { SetKind } from "../actions.ts";
import type { ObservedSandbox, PodTemplateSpec, PodView, SetView } from "../observed.ts";
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
import { sandboxProgressDeadlineSeconds } from "../sandbox.ts";
import { setKindOps, type SetKindOps } from "../set-kinds.ts";
import {
  CONTROLLER_REVISION_HASH,
  describeSetTrap,
  podsOfRevision,
  resolveSetRevisions,
  sameTemplate,
  setRevisions,
  type SetRevision,
  type SetTrap,
  updateStrategyOf,
} from "../statefulset.ts";
import {
  isPodReady,
  nextReadinessCheckMs,
  notReadyFinding,
  podFailure,
  type Context,
  type Finding,
  type NotReadyContext,
} from "../verdict.ts";
import { sandboxError } from "./clone.ts";
import { buildSandbox, runPreflight } from "./setup.ts";
import { settleRollback } from "./verify.ts";
import { FORWARD_WAIT_MAX_MS } from "./rollout.ts";

/** The run's two revisions of the target set, with their templates. */
export interface SetRunRevisions {
  from: SetRevision & { template: PodTemplateSpec };
  to: SetRevision & { template: PodTemplateSpec };
  set: SetView;
}

function targetName(step: Step): string {
  return step.drill.spec.targetRef.name;
}

/** The target's kind, which dispatchSet runs these phases for only when it is a set's. */
function kindOf(step: Step): SetKind {
  return step.drill.spec.targetRef.kind === "DaemonSet" ? "DaemonSet" : "StatefulSet";
}

function opsOf(step: Step): SetKindOps {
  return setKindOps(kindOf(step));
}

function setMissing(step: Step, during: boolean): void {
  const ns = step.drill.metadata.namespace;
  const when = during ? " (it was deleted during the run)" : "";
  finishRun(
    step,
    failure(
      "TargetNotFound",
      `${kindOf(step)} "${targetName(step)}" not found in namespace "${ns}"${when}: create it, or fix spec.targetRef.name.`,
    ),
  );
}

export function resolvingSet(step: Step): void {
  const target = step.observed.setTarget;
  if (target === undefined) {
    setMissing(step, false);
    return;
  }
  const resolved = resolveSetRevisions(
    target.set,
    target.controllerRevisions,
    step.drill.spec.toRevision,
    kindOf(step),
  );
  if (!resolved.ok) {
    finishRun(step, failure("NoRevisionHistory", resolved.message));
    return;
  }
  const { current, target: to } = resolved;
  const template = current.template ?? target.set.spec.template;
  const names = [...(template.spec.initContainers ?? []), ...template.spec.containers].map(
    c => c.name,
  );
  const broken = allDigestsOfPods(podsOfRevision(target.pods, current), names);
  const uid = target.set.metadata.uid;
  enterPhase(step, "Preflight", {
    fromRevision: current.revision,
    toRevision: to.revision,
    ...(uid === undefined ? {} : { targetUID: uid }),
    fromTemplateHash: current.name,
    toTemplateHash: to.name,
    ...(broken === undefined ? {} : { brokenDigests: broken }),
    revisionsAvailable: resolved.revisions.length - 1,
  });
}

/** The run's revisions, found again by ControllerRevision name; finishes the run when they are gone. */
export function setRunRevisions(step: Step): SetRunRevisions | undefined {
  const target = step.observed.setTarget;
  const run = currentRun(step);
  const set = target?.set;
  if (target === undefined || set === undefined || set.metadata.deletionTimestamp !== undefined) {
    setMissing(step, true);
    return undefined;
  }
  if (run.targetUID !== undefined && set.metadata.uid !== run.targetUID) {
    finishRun(
      step,
      failure(
        "TargetNotFound",
        `${kindOf(step)} "${set.metadata.name}" was deleted and recreated during the run; the next run rehearses the new one.`,
      ),
    );
    return undefined;
  }
  const owned = setRevisions(set, target.controllerRevisions, kindOf(step));
  const from = owned.find(r => r.name === run.fromTemplateHash);
  const to = owned.find(r => r.name === run.toTemplateHash);
  if (from?.template === undefined || to?.template === undefined) {
    const lost = from === undefined ? run.fromRevision : run.toRevision;
    finishRun(
      step,
      failure(
        "NoRevisionHistory",
        `The ControllerRevision of revision ${String(lost)} disappeared from the target's history during the run (revisionHistoryLimit cleanup?): keep revisionHistoryLimit >= 2 on the ${kindOf(step)}.`,
      ),
    );
    return undefined;
  }
  return {
    from: { ...from, template: from.template },
    to: { ...to, template: to.template },
    set,
  };
}

/** The EphemeralVolumes warning, when the clone mounts emptyDir volumes for the set's claims. */
function ephemeralVolumesWarning(step: Step, set: SetView): DrillWarning | undefined {
  const claims = opsOf(step).cloneManifest(
    step.drill,
    "",
    "",
    set,
    set.spec.template,
  ).emptyDirClaims;
  if (claims.length === 0) return undefined;
  return {
    reason: "EphemeralVolumes",
    message:
      `spec.sandbox.volumes is EmptyDir: the clone mounts an emptyDir for each of the StatefulSet's volumeClaimTemplates (${claims.join(", ")}), ` +
      `which does not outlive its pod, so data revision N wrote is not there when revision M starts again. Old code meeting new data on ` +
      `a volume is not rehearsed; use Claims on a cluster that provisions volumes.`,
  };
}

export function preflightSet(step: Step): void {
  const revs = setRunRevisions(step);
  if (revs === undefined) return;
  const run = currentRun(step);
  const ephemeral = ephemeralVolumesWarning(step, revs.set);
  const passed = runPreflight(step, {
    target: revs.set,
    toTemplate: revs.to.template,
    fromTemplate: revs.from.template,
    toRevision: revs.to.revision,
    ...(run.revisionsAvailable === undefined ? {} : { revisionsAvailable: run.revisionsAvailable }),
    ...(ephemeral === undefined ? {} : { extraWarnings: [ephemeral] }),
  });
  if (passed) creatingSetSandbox(step);
}

export function creatingSetSandbox(step: Step): void {
  const revs = setRunRevisions(step);
  if (revs === undefined) return;
  const run = currentRun(step);
  const ops = opsOf(step);
  const podQuota = ops.podQuota(revs.set);
  buildSandbox(step, {
    templates: [revs.to.template, revs.from.template],
    cloneExists: step.observed.sandbox?.set !== undefined,
    createClone: namespace => ({
      type: "CreateSet",
      manifest: ops.cloneManifest(step.drill, run.id, namespace, revs.set, revs.to.template)
        .manifest,
    }),
    created: `a clone of ${ops.kind} ${revs.set.metadata.name} at revision ${revs.to.revision}`,
    ...(podQuota === undefined ? {} : { podQuota }),
  });
}

/** A revision's template as the clone runs it. */
function cloneTemplate(step: Step, revs: SetRunRevisions, rev: SetRevision): PodTemplateSpec {
  return opsOf(step).sandboxTemplate(
    step.drill,
    currentRun(step).id,
    revs.set,
    rev.template ?? revs.set.spec.template,
  );
}

/** The clone's ControllerRevision whose template is this (sandbox) template. */
function cloneRevisionFor(
  present: SetCloneContext,
  template: PodTemplateSpec,
): SetRevision | undefined {
  const { sandbox, clone, ops } = present;
  return setRevisions(clone, sandbox.controllerRevisions ?? [], ops.kind).find(r =>
    sameTemplate(r.template, template),
  );
}

/** The clone's live pods of that ControllerRevision. */
function podsOf(present: SetCloneContext, rev: SetRevision | undefined): PodView[] {
  if (rev === undefined) return [];
  return podsOfRevision(present.ops.podsOf(present.clone, present.sandbox.pods), rev);
}

/** Every pod the clone should run runs this revision and is Ready (and there is one at least). */
function allOn(present: SetCloneContext, pods: readonly PodView[]): boolean {
  const wanted = present.ops.wanted(present.clone);
  return wanted !== undefined && wanted > 0 && pods.length === wanted && pods.every(isPodReady);
}

function notReadyContext(step: Step, ctx: Context): NotReadyContext {
  // A StatefulSet has no progress deadline: the budget of setReadinessClone stands in.
  const deadlineSeconds = sandboxProgressDeadlineSeconds(step.drill, { spec: {} });
  return { ...ctx, deadlineSeconds, deadlineExceeded: false };
}

function requeueForReadiness(
  step: Step,
  pods: readonly PodView[],
  template: PodTemplateSpec,
  ctx: NotReadyContext,
  fallbackMs: number | undefined,
): void {
  const next = nextReadinessCheckMs(pods, template, ctx.deadlineSeconds);
  if (next !== undefined && next - step.nowMs < RESYNC_MS) requeue(step, next - step.nowMs);
  else if (fallbackMs !== undefined) requeue(step, fallbackMs);
}

interface SetCloneContext {
  revs: SetRunRevisions;
  sandbox: ObservedSandbox;
  clone: SetView;
  key: { namespace: string; name: string };
  ops: SetKindOps;
}

function setCloneContext(step: Step): SetCloneContext | undefined {
  const revs = setRunRevisions(step);
  const sandbox = step.observed.sandbox;
  const clone = sandbox?.set;
  if (revs === undefined) return undefined;
  if (sandbox === undefined || clone === undefined) {
    sandboxError(step, "The sandbox clone disappeared during the run.");
    return undefined;
  }
  const key = { namespace: currentRun(step).sandboxNamespace ?? "", name: clone.metadata.name };
  return { revs, sandbox, clone, key, ops: opsOf(step) };
}

export function deployingPreviousSet(step: Step): void {
  if (step.observed.sandbox?.set === undefined) {
    creatingSetSandbox(step);
    return;
  }
  const present = setCloneContext(step);
  if (present === undefined) return;
  const { revs, clone, key } = present;
  const toTemplate = cloneTemplate(step, revs, revs.to);
  const pods = podsOf(present, cloneRevisionFor(present, toTemplate));
  const ctx = {
    template: revs.to.template,
    revision: revs.to.revision,
    when: "in the sandbox, before the roll forward",
    nowMs: step.nowMs,
  };
  const nrCtx = notReadyContext(step, ctx);
  const found = podFailure(pods, ctx) ?? notReadyFinding(pods, nrCtx);
  if (found !== undefined) {
    finishRun(step, failure(found.reason, found.message));
    return;
  }
  if (!sameTemplate(clone.spec.template, toTemplate) || !allOn(present, pods)) {
    requeueForReadiness(step, pods, toTemplate, nrCtx, RESYNC_MS);
    return;
  }
  step.actions.push(
    {
      type: "ReplaceSetTemplate",
      kind: present.ops.kind,
      target: key,
      template: cloneTemplate(step, revs, revs.from),
    },
    normalEvent(
      "RolledForward",
      `Rolled the sandbox clone forward from revision ${revs.to.revision} to revision ${revs.from.revision}`,
    ),
  );
  enterPhase(step, "DeployingCurrent");
  requeue(step, RESYNC_MS);
}

export function deployingCurrentSet(step: Step): void {
  const present = setCloneContext(step);
  if (present === undefined) return;
  const { revs, sandbox, clone, key } = present;
  const run = currentRun(step);
  const fromTemplate = cloneTemplate(step, revs, revs.from);
  if (!sameTemplate(clone.spec.template, fromTemplate)) {
    step.actions.push({
      type: "ReplaceSetTemplate",
      kind: present.ops.kind,
      target: key,
      template: fromTemplate,
    });
    requeue(step, RESYNC_MS);
    return;
  }
  const fromRev = cloneRevisionFor(present, fromTemplate);
  const newPods = podsOf(present, fromRev);
  if (
    updateStrategyOf(clone) === "OnDelete" &&
    fromRev !== undefined &&
    present.ops.rollingTo(clone, fromRev)
  ) {
    // OnDelete: the controller replaces no pod; the team rolls forward by deleting them.
    const old = present.ops
      .podsOf(clone, sandbox.pods)
      .filter(p => p.metadata.labels?.[CONTROLLER_REVISION_HASH] !== fromRev.podLabel);
    if (old.length > 0)
      step.actions.push({
        type: "DeletePods",
        namespace: key.namespace,
        names: old.map(p => p.metadata.name),
      });
  }
  const complete = allOn(present, newPods);
  const newCtx = {
    template: revs.from.template,
    revision: revs.from.revision,
    when: "",
    nowMs: step.nowMs,
  };
  const nrCtx = notReadyContext(step, newCtx);
  const failing = podFailure(newPods, newCtx) !== undefined;
  const stuck = complete ? undefined : notReadyFinding(newPods, nrCtx);
  const waitMs = Math.min(FORWARD_WAIT_MAX_MS, (step.drill.spec.checks.timeoutSeconds * 1000) / 4);
  if (!complete && !failing && stuck === undefined && inPhaseMs(step) < waitMs) {
    requeue(step, waitMs - inPhaseMs(step));
    requeueForReadiness(step, newPods, fromTemplate, nrCtx, undefined);
    return;
  }
  const toRev = cloneRevisionFor(present, cloneTemplate(step, revs, revs.to));
  if (toRev === undefined) {
    sandboxError(
      step,
      `The sandbox lost the ControllerRevision of revision ${revs.to.revision}, so there is nothing to undo to.`,
    );
    return;
  }
  const fallback = [...runningDigests(newPods)].map(([name, digests]) => ({
    name,
    digest: digests[0] ?? "",
  }));
  const broken = run.brokenDigests ?? (fallback.length > 0 ? fallback : undefined);
  step.actions.push(
    {
      type: "UndoSet",
      kind: present.ops.kind,
      target: key,
      patch: toRev.controllerRevision.data,
    },
    normalEvent(
      "RollbackApplied",
      `Ran kubectl rollout undo on the sandbox clone: revision ${revs.from.revision} -> ${revs.to.revision}${complete ? "" : failing ? ` (revision ${revs.from.revision} was failing, as in an incident)` : ` (revision ${revs.from.revision} had not finished rolling out)`}`,
    ),
  );
  enterPhase(step, "RollingBack", {
    undoTime: step.nowIso,
    ...(broken === undefined ? {} : { brokenDigests: broken }),
  });
  requeue(step, RESYNC_MS);
}

export function rollingBackSet(step: Step): void {
  const present = setCloneContext(step);
  if (present === undefined) return;
  const { revs, clone, key } = present;
  const toTemplate = cloneTemplate(step, revs, revs.to);
  if (sameTemplate(clone.spec.template, toTemplate)) {
    enterPhase(step, "Verifying");
    verifyingSet(step);
    return;
  }
  const toRev = cloneRevisionFor(present, toTemplate);
  if (toRev !== undefined)
    step.actions.push({
      type: "UndoSet",
      kind: present.ops.kind,
      target: key,
      patch: toRev.controllerRevision.data,
    });
  requeue(step, RESYNC_MS);
}

const TRAP_REASONS = {
  OnDelete: "PodsNotReplaced",
  Partition: "PartitionedRollback",
  BlockedByUnreadyPod: "RolloutStuckAtOrdinal",
} as const satisfies Record<SetTrap["kind"], string>;

/**
 * The set's trap once it is final: OnDelete and a partition as soon as the controller has seen
 * the undo (it will not replace those pods, ever); a pod blocking OrderedReady once that pod is
 * failing or out of its readiness budget (it will never become Ready, so the rollout never goes on).
 */
function finalTrap(
  step: Step,
  present: SetCloneContext,
  toRev: SetRevision | undefined,
): Finding | undefined {
  const { revs, sandbox, clone } = present;
  if (toRev === undefined || !present.ops.rollingTo(clone, toRev)) return undefined;
  const trap = present.ops.trap(clone, sandbox.pods, toRev);
  if (trap === undefined) return undefined;
  const message = describeSetTrap(revs.set, trap, revs.to, present.ops.kind);
  if (trap.kind !== "BlockedByUnreadyPod") return { reason: TRAP_REASONS[trap.kind], message };
  const blocker = sandbox.pods.filter(p => p.metadata.name === trap.pod);
  const ctx = {
    template: revs.from.template,
    revision: revs.from.revision,
    when: "after the rollback",
    nowMs: step.nowMs,
  };
  const final = podFailure(blocker, ctx) ?? notReadyFinding(blocker, notReadyContext(step, ctx));
  if (final === undefined) return undefined;
  return {
    reason: TRAP_REASONS[trap.kind],
    message: `${message} The blocking pod: ${final.message}`,
  };
}

export function verifyingSet(step: Step): void {
  const present = setCloneContext(step);
  if (present === undefined) return;
  const { revs } = present;
  const toTemplate = cloneTemplate(step, revs, revs.to);
  const toRev = cloneRevisionFor(present, toTemplate);
  const pods = podsOf(present, toRev);
  const ctx = {
    template: revs.to.template,
    revision: revs.to.revision,
    when: "after the rollback",
    nowMs: step.nowMs,
  };
  const found = podFailure(pods, ctx);
  if (found !== undefined) {
    finishRun(step, failure(found.reason, found.message));
    return;
  }
  const allReady = allOn(present, pods);
  const trap = allReady ? undefined : finalTrap(step, present, toRev);
  if (trap !== undefined) {
    finishRun(step, failure(trap.reason, trap.message));
    return;
  }
  const nrCtx = notReadyContext(step, ctx);
  settleRollback(step, {
    revs: {
      from: { revision: revs.from.revision, hash: revs.from.name },
      to: { revision: revs.to.revision, hash: revs.to.name },
      fromTemplate: revs.from.template,
      toTemplate: revs.to.template,
      brokenPods: podsOfRevision(step.observed.setTarget?.pods ?? [], revs.from),
    },
    pods,
    allReady,
    stuck: () => notReadyFinding(pods, nrCtx),
    wait: () => {
      requeueForReadiness(step, pods, toTemplate, nrCtx, RESYNC_MS);
    },
  });
}
