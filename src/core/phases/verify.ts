/**
 * After the undo (Verifying): the rolled-back pods' failures, the rollback time and RollbackTooSlow,
 * then the digest check and the Passed message.
 */
import type { ContainerEvidence } from "../../api/types.ts";
import { evaluateDigests, shortDigest } from "../digest.ts";
import { ledgerEntryFor, podsWithHash } from "../ledger.ts";
import type { PodTemplateSpec, PodView } from "../observed.ts";
import {
  currentRun,
  failure,
  finishRun,
  requeue,
  RESYNC_MS,
  type Step,
  updateRun,
} from "../run.ts";
import { formatSeconds, formatTime, parseTime, secondsBetween } from "../time.ts";
import {
  describeUnready,
  type Finding,
  isRolloutComplete,
  notReadyFinding,
  podFailure,
  podsFor,
  readyCount,
  replicaFailure,
  replicaSetFor,
} from "../verdict.ts";
import { cloneContext, notReadyContext, prepared, requeueForReadiness } from "./clone.ts";

export function verifying(step: Step): void {
  const present = cloneContext(step);
  if (present === undefined) return;
  const { revs, sandbox, clone } = present;
  const toTemplate = prepared(step, revs.toTemplate);
  const pods = podsFor(sandbox, toTemplate);
  const ctx = {
    template: revs.toTemplate,
    revision: revs.to.revision,
    when: "after the rollback",
    nowMs: step.nowMs,
  };
  const rs = replicaSetFor(sandbox, toTemplate);
  const found = replicaFailure(rs) ?? podFailure(pods, ctx);
  if (found !== undefined) {
    finishRun(step, failure(found.reason, found.message));
    return;
  }
  const replicas = step.drill.spec.sandbox.replicas;
  const allReady =
    isRolloutComplete(clone) && pods.length === replicas && readyCount(pods) === replicas;
  settleRollback(step, {
    revs: {
      ...revs,
      brokenPods: podsWithHash(step.observed.target?.pods ?? [], revs.from.hash),
    },
    pods,
    allReady,
    stuck: () => notReadyFinding(pods, notReadyContext(step, ctx, clone, rs)),
    wait: () => {
      requeueForReadiness(step, pods, toTemplate, clone, RESYNC_MS);
    },
  });
}

/** The two revisions a run rehearses, of any target kind, for the verdict. */
export interface Rehearsed {
  from: { revision: number; hash?: string | undefined };
  to: { revision: number; hash?: string | undefined };
  fromTemplate: PodTemplateSpec;
  toTemplate: PodTemplateSpec;
  /** The target's pods of revision N: where the broken digests ran in production. */
  brokenPods: PodView[];
}

export interface Settling {
  revs: Rehearsed;
  /** The clone's pods of revision M. */
  pods: PodView[];
  /** Whether the clone's rollout to M is complete with every pod Ready. */
  allReady: boolean;
  /** A not-Ready finding on M's pods that ends the wait, looked for while not all are Ready. */
  stuck: () => Finding | undefined;
  /** Look again later, while not all are Ready and nothing is final. */
  wait: () => void;
}

/**
 * Verifying, once the kind's own failures are ruled out: the rollback time (undo to all pods
 * Ready) against maxRollbackSeconds, the stable window, then the digest check and the verdict.
 */
export function settleRollback(step: Step, s: Settling): void {
  const { revs, pods } = s;
  const run = currentRun(step);
  const checks = step.drill.spec.checks;
  const undoMs = parseTime(run.undoTime) ?? step.nowMs;
  const limit = checks.maxRollbackSeconds;
  const readyMs = parseTime(run.readyTime);
  if (!s.allReady) {
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
    const stuck = s.stuck();
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
    s.wait();
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
  const clone = sandbox?.deployment ?? sandbox?.set;
  if (sandbox === undefined || clone === undefined) return "";
  // A set's pods are all the sandbox's; a Deployment's those of its current template.
  const pods =
    sandbox.deployment === undefined
      ? sandbox.pods.filter(p => p.metadata.deletionTimestamp === undefined)
      : podsFor(sandbox, clone.spec.template);
  const unready = describeUnready(pods, clone.spec.template);
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
  revs: Rehearsed,
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
    brokenPods: revs.brokenPods,
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
      `Rolled back ${step.drill.spec.targetRef.kind} ${step.drill.spec.targetRef.name} from revision ${revs.from.revision} to ${revs.to.revision} ` +
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
