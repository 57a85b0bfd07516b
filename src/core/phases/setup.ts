/**
 * Before and while the sandbox is made: preflight's findings (Preflight), then the namespace, its
 * RBAC, policy, copies and the clone of revision M, issued once and re-issued only if lost.
 */
import { normalEvent, warningEvent, type Action } from "../actions.ts";
import type { PodTemplateSpec } from "../observed.ts";
import { preflight, type PreflightInput } from "../preflight.ts";
import {
  currentRun,
  deleteSandbox,
  enterPhase,
  failure,
  finishRun,
  inPhaseMs,
  requeue,
  RESYNC_MS,
  type Step,
} from "../run.ts";
import { cloneManifest, isOwnedBy, sandboxNameFor, sandboxSetupActions } from "../sandbox.ts";
import { sandboxError } from "./clone.ts";
import { runRevisions } from "./history.ts";

/** How long the sandbox's setup may take to show in the cache before it is issued again, in ms. */
export const SETUP_REISSUE_MS = 10_000;

export function preflightPhase(step: Step): void {
  const revs = runRevisions(step);
  const target = step.observed.target;
  if (revs === undefined || target === undefined) return;
  const run = currentRun(step);
  const passed = runPreflight(step, {
    target: target.deployment,
    toTemplate: revs.toTemplate,
    fromTemplate: revs.fromTemplate,
    toRevision: revs.to.revision,
    ...(run.revisionsAvailable === undefined ? {} : { revisionsAvailable: run.revisionsAvailable }),
  });
  if (passed) creatingSandbox(step);
}

/**
 * Preflight for any target kind: its warnings recorded and sent as Events, a blocking finding
 * ends the run (false), else the sandbox's name is stored and the run enters CreatingSandbox
 * (true: the caller goes on with its kind's creatingSandbox).
 */
export function runPreflight(
  step: Step,
  input: Omit<PreflightInput, "drill" | "secrets" | "accounts">,
): boolean {
  const run = currentRun(step);
  const result = preflight({
    ...input,
    drill: step.drill,
    secrets: step.observed.sources.secrets,
    ...(step.observed.sources.serviceAccounts === undefined
      ? {}
      : { accounts: step.observed.sources.serviceAccounts }),
  });
  step.status.warnings = [...result.warnings, ...(input.extraWarnings ?? [])];
  for (const warning of step.status.warnings)
    step.actions.push(warningEvent("PreflightWarning", `${warning.reason}: ${warning.message}`));
  if (result.blocked !== undefined) {
    finishRun(step, failure(result.blocked.reason, result.blocked.message));
    return false;
  }
  // The name is stored now: status is persisted before these actions run, so a restart finds it.
  const namespace = sandboxNameFor(step.drill, run.id);
  enterPhase(step, "CreatingSandbox", { sandboxNamespace: namespace });
  return true;
}

export function creatingSandbox(step: Step): void {
  const revs = runRevisions(step);
  const target = step.observed.target;
  if (revs === undefined || target === undefined) return;
  const run = currentRun(step);
  buildSandbox(step, {
    templates: [revs.toTemplate, revs.fromTemplate],
    cloneExists: step.observed.sandbox?.deployment !== undefined,
    createClone: namespace => ({
      type: "CreateDeployment",
      manifest: cloneManifest(step.drill, run.id, namespace, target.deployment, revs.toTemplate),
    }),
    created: `a clone of Deployment ${target.deployment.metadata.name} at revision ${revs.to.revision}`,
  });
}

/** What buildSandbox needs to know about the clone of one target kind. */
export interface SandboxClone {
  /** Revision M's and N's templates, as in the target (the copies and accounts come from them). */
  templates: PodTemplateSpec[];
  /** Whether the clone is in the sandbox already. */
  cloneExists: boolean;
  /** The action creating the clone in this sandbox namespace. */
  createClone: (namespace: string) => Action;
  /** "a clone of <Kind> <name> at revision M", for the SandboxCreated Event. */
  created: string;
  /** The sandbox quota's pods, when the kind needs other than the default. */
  podQuota?: number;
}

/**
 * CreatingSandbox for any target kind: the run's namespace checked (ours, this run's, not going
 * away), then the setup and the clone issued, until the clone shows in the cache.
 */
export function buildSandbox(step: Step, clone: SandboxClone): void {
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
  if (clone.cloneExists && existing !== undefined) {
    enterPhase(step, "DeployingPrevious");
    step.actions.push(
      normalEvent("SandboxCreated", `Created sandbox namespace ${namespace} with ${clone.created}`),
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
        templates: clone.templates,
        operator: step.observed.operator,
        ...(clone.podQuota === undefined ? {} : { podQuota: clone.podQuota }),
      },
      {
        configMaps: present(step.observed.sources.configMaps),
        secrets: present(step.observed.sources.secrets),
        ...(step.observed.sources.serviceAccounts === undefined
          ? {}
          : { accounts: step.observed.sources.serviceAccounts }),
      },
    ),
    clone.createClone(namespace),
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
