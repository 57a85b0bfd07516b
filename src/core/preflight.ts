/**
 * Preflight: static findings before any sandbox exists. Warnings go to status.warnings; a
 * finding blocks the run only when the spec asks (pinnedImages: Require) or when the sandbox
 * could not be faithful (a Secret the clone needs is not copied or cannot be read).
 */
import type { DrillWarning, RollbackDrill } from "../api/types.ts";
import type { Reason } from "../api/vocabulary.ts";
import { isPinned, parseImageRef, templateContainers } from "./digest.ts";
import type { AccountSource, ObjectMeta, PodTemplateSpec, SourceState } from "./observed.ts";
import { templateReferences } from "./refs.ts";

/** What preflight reads of the target: a Deployment, or a StatefulSet (never paused). */
export interface PreflightTarget {
  metadata: ObjectMeta;
  spec: { paused?: boolean; revisionHistoryLimit?: number };
}

export interface PreflightInput {
  drill: RollbackDrill;
  target: PreflightTarget;
  /** Findings of the target's kind, reported after preflight's own (e.g. EphemeralVolumes). */
  extraWarnings?: DrillWarning[];
  /** Revision M's template (the rollback target) and N's. */
  toTemplate: PodTemplateSpec;
  fromTemplate: PodTemplateSpec;
  toRevision: number;
  secrets: Readonly<Record<string, SourceState>>;
  /** The templates' ServiceAccounts, whose image pull secrets the Pods get too. */
  accounts?: Readonly<Record<string, AccountSource>>;
  /** Revisions a rollback could reach (revisionsAvailable()); undefined: not counted. */
  revisionsAvailable?: number;
}

export interface PreflightResult {
  warnings: DrillWarning[];
  blocked?: { reason: Reason; message: string };
}

function unpinnedWarning(template: PodTemplateSpec, revision: number): DrillWarning | undefined {
  const unpinned = templateContainers(template).filter(c => !isPinned(c.container.image));
  if (unpinned.length === 0) return undefined;
  const parts = unpinned.map(({ container }) => {
    const ref = parseImageRef(container.image);
    const why =
      ref.tag === "latest"
        ? container.image.includes(":latest")
          ? " (`latest`)"
          : " (no tag: means `latest`)"
        : "";
    return `"${container.name}" uses ${container.image}${why}`;
  });
  return {
    reason: "UnpinnedImage",
    message:
      `Revision ${revision} names images by tag, not digest: ${parts.join("; ")}. A tag can move, so a rollback ` +
      `may pull different bytes than ran; pin images by digest (image@sha256:...) in your release pipeline.`,
  };
}

/** The command a real rollback needs when a tool other than kubectl owns the Deployment. */
export function externalOwnerWarning(
  target: PreflightTarget,
  toRevision: number,
): DrillWarning | undefined {
  const labels = target.metadata.labels ?? {};
  const annotations = target.metadata.annotations ?? {};
  const ns = target.metadata.namespace ?? "";
  const fluxHelm = labels["helm.toolkit.fluxcd.io/name"];
  const fluxKustomize = labels["kustomize.toolkit.fluxcd.io/name"];
  if (fluxHelm !== undefined || fluxKustomize !== undefined) {
    const owner =
      fluxHelm !== undefined
        ? `HelmRelease ${labels["helm.toolkit.fluxcd.io/namespace"] ?? ns}/${fluxHelm}`
        : `Kustomization ${labels["kustomize.toolkit.fluxcd.io/namespace"] ?? ns}/${fluxKustomize ?? ""}`;
    const suspend =
      fluxHelm !== undefined
        ? `flux suspend helmrelease ${fluxHelm} -n ${ns}`
        : `flux suspend kustomization ${fluxKustomize ?? ""}`;
    return {
      reason: "ExternallyManaged",
      message:
        `Flux manages this Deployment (${owner}) and reverts a kubectl undo on its next reconcile: roll back by ` +
        `reverting the release in Git, or \`${suspend}\` before a kubectl rollout undo.`,
    };
  }
  const argoApp =
    annotations["argocd.argoproj.io/instance"] ??
    argoAppFromTracking(annotations["argocd.argoproj.io/tracking-id"]);
  if (
    argoApp !== undefined ||
    (labels["app.kubernetes.io/instance"] !== undefined && hasArgoMark(annotations))
  ) {
    const app = argoApp ?? labels["app.kubernetes.io/instance"] ?? "";
    return {
      reason: "ExternallyManaged",
      message:
        `Argo CD manages this Deployment (application ${app}): auto-sync reverts a kubectl rollout undo; roll back ` +
        `with \`argocd app rollback ${app}\` (auto-sync must be disabled for it) or revert in Git.`,
    };
  }
  const release = annotations["meta.helm.sh/release-name"];
  if (labels["app.kubernetes.io/managed-by"] === "Helm" || release !== undefined) {
    const name = release ?? "<release>";
    const releaseNs = annotations["meta.helm.sh/release-namespace"] ?? ns;
    return {
      reason: "ExternallyManaged",
      message:
        `Helm manages this Deployment (release ${name}): a kubectl undo is overwritten by the next helm upgrade; ` +
        `roll back with \`helm rollback ${name} <release revision> -n ${releaseNs}\` (see \`helm history ${name} -n ${releaseNs}\`; ` +
        `Deployment revision ${toRevision} is not the Helm revision).`,
    };
  }
  return undefined;
}

function hasArgoMark(annotations: Record<string, string>): boolean {
  return Object.keys(annotations).some(k => k.startsWith("argocd.argoproj.io/"));
}

/** tracking-id is "<app>:<group>/<kind>:<namespace>/<name>"; the app may carry "<ns>_" in front. */
function argoAppFromTracking(trackingId: string | undefined): string | undefined {
  if (trackingId === undefined) return undefined;
  const app = trackingId.split(":")[0] ?? "";
  return app === "" ? undefined : app;
}

export function pausedWarning(target: PreflightTarget): DrillWarning | undefined {
  if (target.spec.paused !== true) return undefined;
  const name = target.metadata.name;
  return {
    reason: "TargetPaused",
    message:
      `The Deployment is paused: kubectl refuses "you cannot rollback a paused deployment; resume it first with ` +
      `'kubectl rollout resume deployment/${name}' and try again". The drill rehearses on an unpaused clone; in ` +
      `an incident, resume first.`,
  };
}

/**
 * One revision to roll back to, because the Deployment keeps no more (revisionHistoryLimit 1): if
 * that revision is bad too, there is no further way back. A young Deployment with two revisions
 * has a depth of 1 as well, but nothing to fix, so only a history the limit cuts short warns.
 */
export function shallowHistoryWarning(
  target: PreflightTarget,
  available: number | undefined,
  toRevision: number,
): DrillWarning | undefined {
  const limit = target.spec.revisionHistoryLimit ?? 10;
  if (available !== 1 || limit > 1) return undefined;
  return {
    reason: "ShallowHistory",
    message:
      `Only one revision can be rolled back to (revision ${toRevision}): revisionHistoryLimit is ${limit}, so the ` +
      `Deployment keeps a single old ReplicaSet, and if that revision is bad too there is no further way back (and ` +
      `the next deploy replaces it). Set revisionHistoryLimit to 2 or more (the default is 10).`,
  };
}

function secretFinding(input: PreflightInput): { reason: Reason; message: string } | undefined {
  const { drill, secrets } = input;
  const copied = new Set(drill.spec.sandbox.copySecrets);
  const ns = drill.metadata.namespace;
  for (const [template, revision] of [
    [input.toTemplate, input.toRevision],
    [input.fromTemplate, undefined],
  ] as const) {
    for (const r of templateReferences(template, input.accounts)) {
      if (r.kind !== "Secret" || r.optional) continue;
      const state = secrets[r.name];
      const which = revision === undefined ? "the current revision" : `revision ${revision}`;
      if (!r.pull && !copied.has(r.name))
        return {
          reason: "SandboxError",
          message:
            `Secret "${r.name}", referenced by ${r.from} of ${which}, is not copied into the sandbox: add it to ` +
            `spec.sandbox.copySecrets (point the clone at staging credentials) or mark the reference optional.`,
        };
      if (state === "Forbidden")
        return {
          reason: "SandboxError",
          message:
            `Secret "${r.name}" (${r.from} of ${which}) cannot be read in namespace ${ns}: bind the ` +
            `rollback-drill-secret-reader ClusterRole to the operator there (kubectl -n ${ns} create rolebinding ...).`,
        };
    }
  }
  for (const name of drill.spec.sandbox.copySecrets) {
    const state = secrets[name];
    if (state === "Missing" || state === "Forbidden")
      return {
        reason: "SandboxError",
        message:
          state === "Missing"
            ? `Secret "${name}", listed in spec.sandbox.copySecrets, does not exist in namespace ${ns}: create it or remove it from the list.`
            : `Secret "${name}", listed in spec.sandbox.copySecrets, cannot be read in namespace ${ns}: bind the rollback-drill-secret-reader ClusterRole to the operator there.`,
      };
  }
  return undefined;
}

export function preflight(input: PreflightInput): PreflightResult {
  const warnings: DrillWarning[] = [];
  const policy = input.drill.spec.checks.pinnedImages;
  const unpinned =
    policy === "Ignore" ? undefined : unpinnedWarning(input.toTemplate, input.toRevision);
  if (unpinned !== undefined) warnings.push(unpinned);
  const owner = externalOwnerWarning(input.target, input.toRevision);
  if (owner !== undefined) warnings.push(owner);
  const paused = pausedWarning(input.target);
  if (paused !== undefined) warnings.push(paused);
  const shallow = shallowHistoryWarning(input.target, input.revisionsAvailable, input.toRevision);
  if (shallow !== undefined) warnings.push(shallow);
  if (unpinned !== undefined && policy === "Require")
    return {
      warnings,
      blocked: {
        reason: "UnpinnedImage",
        message: `${unpinned.message} spec.checks.pinnedImages is Require, so no sandbox was created.`,
      },
    };
  const secret = secretFinding(input);
  return secret === undefined ? { warnings } : { warnings, blocked: secret };
}
