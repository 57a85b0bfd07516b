/**
 * The RollbackDrill API (rollbackdrill.io/v1alpha1): the one source of truth. The CRD's
 * openAPIV3Schema in crds/ is generated from these schemas (`npm run gen`), and the TypeScript
 * types in types.ts are derived from them with TypeBox's Static, so the two cannot disagree; the
 * test command regenerates the CRD and fails on any difference.
 *
 * Kubernetes structural-schema rules apply: every node has a type, no $ref, no anyOf of consts
 * (enums are plain `enum`), maps use additionalProperties. Defaults live here, so the apiserver
 * fills them in and the operator reads a complete spec.
 */
import { Type, type TString, type TUnsafe } from "@sinclair/typebox";
import {
  CONDITION_STATUSES,
  DIGEST_CHECKS,
  DIGEST_POLICIES,
  NETWORK_ISOLATION_MODES,
  PINNED_IMAGE_POLICIES,
  REASONS,
  RUN_PHASES,
  SANDBOX_VOLUME_MODES,
  TARGET_KINDS,
  TRIGGERS,
  VERDICTS,
  WARNING_REASONS,
} from "./vocabulary.ts";

/** A string restricted to a closed list, as a structural `enum` (not TypeBox's anyOf of consts). */
function StringEnum<const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...options });
}

/** An RFC 3339 timestamp, as metav1.Time serialises. */
const Timestamp = (description: string): TString =>
  Type.String({ format: "date-time", description });

/** DNS-1123 label: what a namespace name must be. */
export const DNS1123_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/** DNS-1123 subdomain: what a Deployment, ConfigMap or Secret name must be. */
export const DNS1123_SUBDOMAIN =
  "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
/** A C identifier, as an environment variable name should be. */
const ENV_VAR_NAME = "^[-._a-zA-Z][-._a-zA-Z0-9]*$";
/**
 * Five-field cron ("*\/15 * * * *"), or a predefined schedule (@hourly, @daily, ...). Fields allow
 * numbers, names (JAN, MON), ranges, steps, lists, `*` and `?`. croner parses it for real in
 * validate(); the pattern catches what the apiserver can reject by itself.
 */
export const CRON_PATTERN =
  "^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|([0-9A-Za-z*?,/\\-#LW]+\\s+){4}[0-9A-Za-z*?,/\\-#LW]+)$";
/** An IANA time zone name such as "Europe/Berlin", "UTC" or "America/Argentina/Buenos_Aires". */
export const TIME_ZONE_PATTERN = "^[A-Za-z][A-Za-z0-9_+\\-]*(/[A-Za-z0-9_+\\-]+)*$";

export const TargetRefSchema = Type.Object(
  {
    apiVersion: Type.Optional(
      StringEnum(["apps/v1"] as const, {
        default: "apps/v1",
        description: "API version of the target. Only apps/v1 is supported.",
      }),
    ),
    kind: StringEnum(TARGET_KINDS, {
      description:
        "Kind of the target: Deployment, StatefulSet or DaemonSet (the last two with their history read from ControllerRevisions).",
    }),
    name: Type.String({
      minLength: 1,
      maxLength: 253,
      pattern: DNS1123_SUBDOMAIN,
      description: "Name of the target, in the drill's own namespace.",
    }),
  },
  { description: "The workload whose rollback is rehearsed; it lives in the drill's namespace." },
);

export const EnvOverrideSchema = Type.Object(
  {
    container: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        description: "Container to set it on; all containers (init included) when empty.",
      }),
    ),
    name: Type.String({ minLength: 1, maxLength: 256, pattern: ENV_VAR_NAME }),
    value: Type.String({ maxLength: 4096 }),
  },
  { description: "An environment variable set on the clone, e.g. to point it at staging." },
);

export const SandboxSchema = Type.Object(
  {
    namespace: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 63,
        pattern: DNS1123_LABEL,
        description:
          "Sandbox namespace name. Default: generated per run (rbd-<drill>-<run>). Never the target's namespace or a system namespace.",
        "x-kubernetes-validations": [
          {
            rule: "!(self in ['default', 'kube-system', 'kube-public', 'kube-node-lease']) && !self.startsWith('kube-')",
            message: "must not be a system namespace (default, kube-*)",
          },
        ],
      }),
    ),
    replicas: Type.Integer({
      minimum: 1,
      maximum: 10,
      default: 1,
      description: "Replicas of the clone. Default 1.",
    }),
    networkIsolation: StringEnum(NETWORK_ISOLATION_MODES, {
      default: "DenyEgress",
      description:
        "DenyEgress (default): a NetworkPolicy denies all egress but DNS. DenyAll: no ingress, no egress but DNS. None: no policy.",
    }),
    volumes: StringEnum(SANDBOX_VOLUME_MODES, {
      default: "Claims",
      description:
        "A StatefulSet's volumeClaimTemplates in the sandbox. Claims (default): fresh claims from the templates, so the cluster must provision them. EmptyDir: an emptyDir per claim, which does not outlive its pod; the run warns EphemeralVolumes.",
    }),
    copyReferencedConfigMaps: Type.Boolean({
      default: true,
      description: "Copy the ConfigMaps the pod template references. Default true.",
    }),
    copySecrets: Type.Array(
      Type.String({ minLength: 1, maxLength: 253, pattern: DNS1123_SUBDOMAIN }),
      {
        maxItems: 32,
        default: [],
        "x-kubernetes-list-type": "set",
        description:
          "Secrets copied into the sandbox. Default none: image pull secrets are always copied, any other Secret the clone references fails the run with SandboxError naming it.",
      },
    ),
    env: Type.Array(EnvOverrideSchema, {
      maxItems: 64,
      default: [],
      description: "Environment overrides for the clone (point it at staging dependencies).",
    }),
    ttlSecondsAfterFinished: Type.Integer({
      minimum: 0,
      maximum: 604800,
      default: 3600,
      description:
        "How long a failed run's sandbox is kept for debugging when keepOnFailure. Default 3600.",
    }),
    keepOnFailure: Type.Boolean({
      default: true,
      description: "Keep a failed run's sandbox for ttlSecondsAfterFinished. Default true.",
    }),
  },
  { default: {}, description: "Where and how the clone runs." },
);

export const ChecksSchema = Type.Object(
  {
    digestPolicy: StringEnum(DIGEST_POLICIES, {
      default: "Verify",
      description:
        "Verify (default): the rolled-back digests must differ from the broken ones (or equal the known ones). Ignore: skip.",
    }),
    pinnedImages: StringEnum(PINNED_IMAGE_POLICIES, {
      default: "Warn",
      description:
        "Unpinned (tag-only) images in the rollback target: Ignore, Warn (default), or Require (fail the run).",
    }),
    stableSeconds: Type.Integer({
      minimum: 0,
      maximum: 3600,
      default: 30,
      description: "Seconds the rolled-back pods must stay Ready. Default 30.",
    }),
    timeoutSeconds: Type.Integer({
      minimum: 10,
      maximum: 86400,
      default: 600,
      description: "Limit for the whole run. Default 600.",
    }),
    maxRollbackSeconds: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 86400,
        description:
          "Fail with RollbackTooSlow when undo -> all pods Ready takes longer. Unset: no limit.",
      }),
    ),
  },
  {
    default: {},
    description: "What a passing rollback must show.",
    "x-kubernetes-validations": [
      {
        // The API server also checks the `default: {}` above against this rule, before nested
        // defaults fill it in: a rule that reads both fields unguarded makes the CRD invalid.
        rule: "!has(self.stableSeconds) || !has(self.timeoutSeconds) || self.stableSeconds < self.timeoutSeconds",
        message: "stableSeconds must be less than timeoutSeconds",
        fieldPath: ".stableSeconds",
      },
      {
        rule: "!has(self.maxRollbackSeconds) || self.maxRollbackSeconds <= self.timeoutSeconds",
        message: "maxRollbackSeconds must not exceed timeoutSeconds",
        fieldPath: ".maxRollbackSeconds",
      },
    ],
  },
);

export const SpecSchema = Type.Object(
  {
    targetRef: TargetRefSchema,
    toRevision: Type.Integer({
      minimum: 0,
      maximum: 2147483647,
      default: 0,
      description:
        "Revision to roll back to, as `kubectl rollout undo --to-revision`. 0 (default): the previous one.",
    }),
    schedule: Type.Optional(
      Type.String({
        maxLength: 128,
        pattern: CRON_PATTERN,
        description: "Cron schedule for recurring runs (five fields, or @daily etc.).",
      }),
    ),
    timeZone: Type.Optional(
      Type.String({
        maxLength: 64,
        pattern: TIME_ZONE_PATTERN,
        description: "IANA time zone for schedule. Default UTC.",
      }),
    ),
    rerunOnNewRevision: Type.Boolean({
      default: false,
      description: "Run again after every new revision of the target has rolled out.",
    }),
    suspend: Type.Boolean({ default: false, description: "Start no new runs." }),
    sandbox: SandboxSchema,
    checks: ChecksSchema,
    historyLimit: Type.Integer({
      minimum: 1,
      maximum: 50,
      default: 10,
      description: "Runs kept in status.history. Default 10.",
    }),
  },
  {
    description: "What to rehearse, when, and what passing means.",
    "x-kubernetes-validations": [
      {
        rule: "!has(self.timeZone) || has(self.schedule)",
        message: "timeZone requires schedule",
        fieldPath: ".timeZone",
      },
    ],
  },
);

export const ConditionSchema = Type.Object({
  type: Type.String({ minLength: 1, maxLength: 316 }),
  status: StringEnum(CONDITION_STATUSES),
  reason: Type.String({ minLength: 1, maxLength: 1024 }),
  message: Type.String({ maxLength: 32768 }),
  lastTransitionTime: Timestamp("When status last changed."),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
});

const Digest = (description: string): TString => Type.String({ maxLength: 512, description });

export const ContainerEvidenceSchema = Type.Object({
  name: Type.String({ description: "Container name." }),
  init: Type.Optional(Type.Boolean({ description: "An init container." })),
  fromImage: Type.String({ description: "Image ref of the broken (current) revision." }),
  fromDigest: Type.Optional(Digest("imageID the broken revision's pods ran.")),
  toImage: Type.String({ description: "Image ref of the revision rolled back to." }),
  toDigest: Type.Optional(Digest("imageID the rolled-back pods ran.")),
  expectedDigest: Type.Optional(
    Digest("The digest the rollback had to restore, when known (pinned or seen earlier)."),
  ),
  pinned: Type.Boolean({ description: "toImage is pinned by digest (@sha256:)." }),
  verdict: Type.Optional(StringEnum(REASONS, { description: "This container's finding." })),
  digestCheck: Type.Optional(
    StringEnum(DIGEST_CHECKS, {
      description:
        "Verified, Failed, NotApplicable (both revisions pin the same digest: a configuration-only rollback) or Ignored (digestPolicy Ignore).",
    }),
  ),
});

export const RunRecordSchema = Type.Object({
  id: Type.String({ description: "Run id, unique within the drill." }),
  trigger: StringEnum(TRIGGERS),
  startTime: Timestamp("When the run started."),
  completionTime: Type.Optional(Timestamp("When the run finished.")),
  verdict: Type.Optional(StringEnum(VERDICTS)),
  reason: Type.Optional(StringEnum(REASONS)),
  message: Type.Optional(Type.String({ maxLength: 4096 })),
  fromRevision: Type.Optional(Type.Integer({ description: "The current (broken) revision." })),
  toRevision: Type.Optional(Type.Integer({ description: "The revision rolled back to." })),
  rollbackSeconds: Type.Optional(
    Type.Number({ description: "Undo -> all pods Ready, in seconds (the measured RTO)." }),
  ),
  sandboxNamespace: Type.Optional(Type.String()),
  sandboxKeptUntil: Type.Optional(
    Timestamp(
      "When the kept sandbox of this failed run is deleted (keepOnFailure, ttlSecondsAfterFinished); unset once it is gone.",
    ),
  ),
  revisionsAvailable: Type.Optional(
    Type.Integer({
      minimum: 0,
      description:
        "How many revisions of the target a rollback could reach when the run resolved its history.",
    }),
  ),
  evidence: Type.Optional(Type.Array(ContainerEvidenceSchema, { maxItems: 64 })),
  runNowToken: Type.Optional(
    Type.String({ description: "The run-now annotation value this run answers, if any." }),
  ),
});

export const RunSummarySchema = Type.Object({
  id: Type.String(),
  trigger: StringEnum(TRIGGERS),
  startTime: Timestamp("When the run started."),
  completionTime: Type.Optional(Timestamp("When the run finished.")),
  verdict: Type.Optional(StringEnum(VERDICTS)),
  reason: Type.Optional(StringEnum(REASONS)),
  fromRevision: Type.Optional(Type.Integer()),
  toRevision: Type.Optional(Type.Integer()),
  rollbackSeconds: Type.Optional(Type.Number()),
  runNowToken: Type.Optional(
    Type.String({ description: "The run-now annotation value this run answers, if any." }),
  ),
});

export const WarningSchema = Type.Object({
  reason: StringEnum(WARNING_REASONS),
  message: Type.String({ maxLength: 4096 }),
});

export const LedgerEntrySchema = Type.Object({
  revision: Type.Integer({ minimum: 1 }),
  podTemplateHash: Type.Optional(Type.String()),
  observedTime: Timestamp("When pods of this revision were seen running."),
  containers: Type.Array(
    Type.Object({ name: Type.String(), image: Type.String(), digest: Type.String() }),
    { maxItems: 64 },
  ),
});

/**
 * The state of the run in progress: where the state machine is. Everything a restarted operator
 * needs to resume is here, so every step can be repeated safely.
 */
export const CurrentRunSchema = Type.Object({
  id: Type.String(),
  trigger: StringEnum(TRIGGERS),
  phase: StringEnum(RUN_PHASES),
  startTime: Timestamp("When the run started."),
  phaseStartTime: Timestamp("When the current phase started."),
  sandboxNamespace: Type.Optional(Type.String()),
  fromRevision: Type.Optional(Type.Integer()),
  toRevision: Type.Optional(Type.Integer()),
  targetUID: Type.Optional(Type.String()),
  fromTemplateHash: Type.Optional(
    Type.String({
      description:
        "pod-template-hash of the broken revision's ReplicaSet: stable while revision numbers move.",
    }),
  ),
  toTemplateHash: Type.Optional(
    Type.String({ description: "pod-template-hash of the rollback target's ReplicaSet." }),
  ),
  revisionsAvailable: Type.Optional(
    Type.Integer({ minimum: 0, description: "Revisions a rollback could reach." }),
  ),
  completionTime: Type.Optional(Timestamp("When the verdict was reached (sandbox TTL start).")),
  undoTime: Type.Optional(Timestamp("When the undo was applied in the sandbox.")),
  readyTime: Type.Optional(Timestamp("When all rolled-back pods were first Ready.")),
  brokenDigests: Type.Optional(
    Type.Array(Type.Object({ name: Type.String(), digest: Type.String() }), { maxItems: 64 }),
  ),
  verdict: Type.Optional(StringEnum(VERDICTS)),
  reason: Type.Optional(StringEnum(REASONS)),
  message: Type.Optional(Type.String({ maxLength: 4096 })),
  evidence: Type.Optional(Type.Array(ContainerEvidenceSchema, { maxItems: 64 })),
  rollbackSeconds: Type.Optional(Type.Number()),
  runNowToken: Type.Optional(
    Type.String({ description: "The run-now annotation value this run answers, if any." }),
  ),
});

export const StatusSchema = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0 })),
  phase: Type.Optional(StringEnum(RUN_PHASES)),
  verdict: Type.Optional(StringEnum(VERDICTS)),
  reason: Type.Optional(StringEnum(REASONS)),
  message: Type.Optional(Type.String({ maxLength: 4096 })),
  conditions: Type.Optional(
    Type.Array(ConditionSchema, {
      maxItems: 16,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
    }),
  ),
  currentRun: Type.Optional(CurrentRunSchema),
  lastRun: Type.Optional(RunRecordSchema),
  lastSuccessTime: Type.Optional(Timestamp("When a run last passed.")),
  nextRunTime: Type.Optional(Timestamp("When the schedule fires next.")),
  history: Type.Optional(Type.Array(RunSummarySchema, { maxItems: 50 })),
  warnings: Type.Optional(Type.Array(WarningSchema, { maxItems: 32 })),
  digestLedger: Type.Optional(Type.Array(LedgerEntrySchema, { maxItems: 20 })),
  runCount: Type.Optional(Type.Integer({ minimum: 0, description: "Runs started so far." })),
  queuedTrigger: Type.Optional(StringEnum(TRIGGERS, { description: "One more run, queued." })),
  lastRunNowToken: Type.Optional(
    Type.String({ description: "The run-now annotation value last acted on." }),
  ),
  queuedRunNowToken: Type.Optional(
    Type.String({
      description: "The run-now value the queued run answers (it arrived during a run).",
    }),
  ),
  observedTargetRevision: Type.Optional(
    Type.Integer({ description: "The target's revision last seen fully rolled out." }),
  ),
});

export const RollbackDrillSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Object({})),
  spec: SpecSchema,
  status: Type.Optional(StatusSchema),
});
