/** After the verdict: a kept sandbox waits out its TTL, is deleted (CleaningUp), and the run ends. */
import { normalEvent } from "../actions.ts";
import {
  currentRun,
  deleteSandbox,
  enterPhase,
  requeue,
  RESYNC_MS,
  sandboxDue,
  sandboxKeptUntilMs,
  type Step,
  stopSandboxPods,
} from "../run.ts";
import { isOwnedBy } from "../sandbox.ts";

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
