/**
 * The closed vocabularies of the RollbackDrill API. Each is an `as const` tuple: the schema turns it
 * into a CRD `enum`, and TypeScript into a union, so a value outside the list fails both the
 * apiserver's validation and the compiler.
 */

export const GROUP = "rollbackdrill.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;
export const KIND = "RollbackDrill";
export const LIST_KIND = "RollbackDrillList";
export const PLURAL = "rollbackdrills";
export const SINGULAR = "rollbackdrill";
export const SHORT_NAMES = ["drill"] as const;
export const CRD_NAME = `${PLURAL}.${GROUP}`;

/** The finalizer that keeps a drill until its sandbox is gone. */
export const FINALIZER = "rollbackdrill.io/sandbox-cleanup";
/** Set to a new value (e.g. a timestamp) to request one run now, as `kubectl annotate` pokes. */
export const RUN_NOW_ANNOTATION = "rollbackdrill.io/run-now";
/** Labels on every object in a sandbox, naming the drill and run that own it. */
export const LABEL_MANAGED_BY = "app.kubernetes.io/managed-by";
export const MANAGED_BY = "rollback-drill";
export const LABEL_DRILL_NAMESPACE = "rollbackdrill.io/drill-namespace";
export const LABEL_DRILL_NAME = "rollbackdrill.io/drill-name";
export const LABEL_DRILL_UID = "rollbackdrill.io/drill-uid";
export const LABEL_RUN = "rollbackdrill.io/run";

export const TARGET_KINDS = ["Deployment", "StatefulSet", "DaemonSet"] as const;
export type TargetKind = (typeof TARGET_KINDS)[number];

export const VERDICTS = ["Passed", "Failed", "Error"] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Why a run ended as it did. Each failure's message says what to do about it. */
export const REASONS = [
  "Passed",
  "SameDigest",
  "DigestMismatch",
  "UnverifiedDigest",
  "ImagePullFailed",
  "CrashLoop",
  "PodsNotReady",
  "RolloutTimeout",
  "RollbackTooSlow",
  "NoRevisionHistory",
  "TargetNotFound",
  "InvalidSpec",
  "SandboxError",
  "UnpinnedImage",
  "PodsNotReplaced",
  "PartitionedRollback",
  "RolloutStuckAtOrdinal",
] as const;
export type Reason = (typeof REASONS)[number];

/** Findings reported beside the verdict; never the verdict on their own unless the spec asks. */
export const WARNING_REASONS = [
  "UnpinnedImage",
  "ExternallyManaged",
  "TargetPaused",
  "ShallowHistory",
  "EphemeralVolumes",
] as const;
export type WarningReason = (typeof WARNING_REASONS)[number];

/**
 * What the digest check made of a container of the rollback target. Verified: the rolled-back
 * pods run the digest that revision is known to have run (pinned, or recorded in the ledger).
 * Failed: they do not, or nothing shows they do (the container's verdict says which).
 * NotApplicable: both revisions pin the same digest, so the rollback changes configuration only
 * and there is no image to restore. Ignored: spec.checks.digestPolicy is Ignore.
 */
export const DIGEST_CHECKS = ["Verified", "Failed", "NotApplicable", "Ignored"] as const;
export type DigestCheck = (typeof DIGEST_CHECKS)[number];

/** What started a run. */
export const TRIGGERS = ["Created", "SpecChanged", "Schedule", "NewRevision", "RunNow"] as const;
export type Trigger = (typeof TRIGGERS)[number];

/**
 * The steps of a run, in order, then the drill's resting states. A run's state lives in
 * status.currentRun so a restarted operator resumes at the step it was in.
 */
export const RUN_PHASES = [
  "Pending",
  "Resolving",
  "Preflight",
  "CreatingSandbox",
  "DeployingPrevious",
  "DeployingCurrent",
  "RollingBack",
  "Verifying",
  "SandboxKept",
  "CleaningUp",
  "Idle",
  "Suspended",
] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export const NETWORK_ISOLATION_MODES = ["DenyEgress", "DenyAll", "None"] as const;
export type NetworkIsolation = (typeof NETWORK_ISOLATION_MODES)[number];

/**
 * What the sandbox mounts for a StatefulSet's volumeClaimTemplates. Claims: fresh claims from the
 * templates, in the sandbox (the cluster must be able to provision them). EmptyDir: an emptyDir of
 * each claim's name, the choice reported by the EphemeralVolumes warning.
 */
export const SANDBOX_VOLUME_MODES = ["Claims", "EmptyDir"] as const;
export type SandboxVolumes = (typeof SANDBOX_VOLUME_MODES)[number];

export const DIGEST_POLICIES = ["Verify", "Ignore"] as const;
export type DigestPolicy = (typeof DIGEST_POLICIES)[number];

export const PINNED_IMAGE_POLICIES = ["Ignore", "Warn", "Require"] as const;
export type PinnedImagePolicy = (typeof PINNED_IMAGE_POLICIES)[number];

export const CONDITION_STATUSES = ["True", "False", "Unknown"] as const;
export type ConditionStatus = (typeof CONDITION_STATUSES)[number];

/**
 * Condition types on a drill. Ready: the drill is healthy (its last run passed). Running: a run is
 * in progress. RollbackReady: the target's current revision has a passed rehearsal.
 */
export const CONDITION_TYPES = ["Ready", "Running", "RollbackReady"] as const;
export type ConditionType = (typeof CONDITION_TYPES)[number];
