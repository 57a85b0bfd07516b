/**
 * The failure modes this product exists for, side by side, each as a small "production" set-up
 * and the drill that rehearses its rollback, with the verdict the drill must reach. The demo shows
 * them, the e2e suite runs them on every backend, the soak repeats them under faults.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import type { DrillSpec } from "../api/types.ts";
import type { DigestCheck, Reason, Verdict, WarningReason } from "../api/vocabulary.ts";
import { PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import type { Cluster } from "./cluster.ts";
import { deploymentManifest, type DeploymentOptions } from "./deployment.ts";
import type { ImageBehaviour } from "./registry.ts";
import { daemonSetManifest, statefulSetManifest } from "./statefulset.ts";

export const REGISTRY = "registry.example.com/shop";

/** A drill as a user writes it: only the fields they set; the apiserver fills the defaults. */
export interface DrillManifest {
  apiVersion: "rollbackdrill.io/v1alpha1";
  kind: "RollbackDrill";
  metadata: { name: string; namespace: string; annotations?: Record<string, string> };
  spec: Partial<Omit<DrillSpec, "sandbox" | "checks">> & {
    targetRef: DrillSpec["targetRef"];
    sandbox?: Partial<DrillSpec["sandbox"]>;
    checks?: Partial<DrillSpec["checks"]>;
  };
}

/**
 * The digests the drill's evidence must show for a container, named by the tags of the scenario's
 * repository as they point after setup (so a moved tag names what it points at now).
 */
export interface ExpectedEvidence {
  container: string;
  /** The repository's app name, as repositoryFor() builds it. */
  app: string;
  /** The tag whose digest the broken (current) revision ran. */
  fromTag: string;
  /** The tag whose digest the rolled-back pods ran. */
  toTag: string;
  /** What the digest check must have made of the container; unchecked when undefined. */
  digestCheck?: DigestCheck;
}

export interface Expectation {
  verdict: Verdict;
  reason: Reason;
  /** Warnings the drill must report beside the verdict (exactly these). */
  warnings?: WarningReason[];
  /** Per-container evidence; undefined: the run ends before the rolled-back pods run. */
  evidence?: ExpectedEvidence;
  /** Words the run's message must contain (the evidence a failure without digests gives). */
  messageIncludes?: string[];
  /** Whether the run creates a sandbox (false when it ends before one). Default true. */
  sandbox?: boolean;
  /** A kept sandbox whose pods were stopped (an Error run): no pod left, the logs saved. */
  sandboxStopped?: boolean;
  /** lastRun.revisionsAvailable, when the scenario is about the history's depth. */
  revisionsAvailable?: number;
  /** The measured rollback time must be recorded and exceed this many seconds. */
  rollbackSecondsOver?: number;
}

/** What a backend must offer for a scenario to run on it. */
export type Capability = "databases";

export interface ScenarioOptions {
  /** The namespace standing for production. */
  namespace: string;
  /** checks.stableSeconds for the drill (simulated seconds). */
  stableSeconds: number;
  /** A suffix that keeps repositories and databases of parallel runs apart; default "". */
  suffix?: string;
  /** Where the images live; default REGISTRY. */
  registry?: string;
}

export interface Scenario {
  /** The drill's and target's name, e.g. "pinned-web". */
  name: string;
  /** One line for the demo: what the set-up is. */
  title: string;
  expected: Expectation;
  /** What the backend must offer beyond a registry; default nothing. */
  requires?: readonly Capability[];
  /** What a team does about it, in one sentence (the demo's summary). */
  lesson: string;
  /** Builds production: the target's history, images and databases. Returns the drill to apply. */
  setup(cluster: Cluster, options: ScenarioOptions): Promise<DrillManifest>;
  /**
   * What happens in production while the drill runs (e.g. the target is deleted), started once
   * the drills are applied; a scenario without it is left alone.
   */
  duringRun?(cluster: Cluster, drill: DrillManifest): Promise<void>;
}

const FAST: ImageBehaviour = { pullMs: 300, startMs: 200, readyAfterMs: 500 };

/** A catalogue app: two replicas, the Deployment labelled app=<name> like its pods. */
function deployment(
  namespace: string,
  name: string,
  image: string,
  options: DeploymentOptions = {},
): V1Deployment {
  return deploymentManifest(namespace, name, image, {
    replicas: 2,
    ...options,
    labels: { app: name, ...options.labels },
  });
}

function drillFor(
  name: string,
  options: ScenarioOptions,
  spec: Partial<DrillManifest["spec"]> = {},
  kind: DrillManifest["spec"]["targetRef"]["kind"] = "Deployment",
): DrillManifest {
  return {
    apiVersion: "rollbackdrill.io/v1alpha1",
    kind: "RollbackDrill",
    metadata: { name, namespace: options.namespace },
    spec: {
      targetRef: { kind, name },
      ...spec,
      checks: { stableSeconds: options.stableSeconds, ...(spec.checks ?? {}) },
    },
  };
}

/** The repository of a scenario's app: registry, app name and the run's suffix. */
export const repositoryFor = (app: string, options: ScenarioOptions): string =>
  `${options.registry ?? REGISTRY}/${app}${options.suffix ?? ""}`;
const repo = repositoryFor;

/** Two releases, each pinned by digest: the rollback restores exactly the previous build. */
const pinnedHealthy: Scenario = {
  name: "pinned-web",
  title: "healthy app, images pinned by digest",
  expected: {
    verdict: "Passed",
    reason: "Passed",
    evidence: { container: "app", app: "web", fromTag: "1.5.0", toTag: "1.4.0" },
  },
  lesson:
    "Pinned digests and a kept revision history make `kubectl rollout undo` restore exactly the previous build.",
  async setup(cluster, options) {
    const r = repo("web", options);
    const v1 = await cluster.pushImage(r, "1.4.0", {
      ...FAST,
      logLines: ["web 1.4.0 listening on :8080"],
    });
    const v2 = await cluster.pushImage(r, "1.5.0", {
      ...FAST,
      logLines: ["web 1.5.0 listening on :8080"],
    });
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}@${v1}`));
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/**
 * The war story: every release is `:latest`. The broken build was pushed to `latest`, then the
 * Deployment restarted; `rollout undo` goes back to a template that names the same tag, which now
 * pulls the broken digest.
 */
const latestTag: Scenario = {
  name: "latest-api",
  title: "`:latest` everywhere; the tag moved during the deploy",
  expected: {
    verdict: "Failed",
    reason: "SameDigest",
    warnings: ["UnpinnedImage"],
    // Both revisions run what `latest` points at now: the broken build.
    evidence: { container: "app", app: "api", fromTag: "latest", toTag: "latest" },
  },
  lesson:
    "Pin images by digest (image@sha256:...) so an undo cannot pull whatever the tag points at now.",
  async setup(cluster, options) {
    const r = repo("api", options);
    await cluster.pushImage(r, "latest", { ...FAST, logLines: ["api build 1041 ok"] });
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}:latest`));
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.pushImage(r, "latest", {
      ...FAST,
      logLines: ["api build 1042 (the broken one)"],
    });
    await cluster.restart(options.namespace, this.name, "2026-11-26T14:00:00Z");
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/** Registry retention deleted the previous release's image: the undo cannot pull it. */
const deletedImage: Scenario = {
  name: "retention-cart",
  title: "previous image deleted by registry retention",
  expected: {
    verdict: "Failed",
    reason: "ImagePullFailed",
    warnings: ["UnpinnedImage"],
    messageIncludes: ["cart", ":2.0.0"],
  },
  lesson:
    "Keep at least as many images in the registry as revisions you may roll back to (extend retention).",
  async setup(cluster, options) {
    const r = repo("cart", options);
    const v1 = await cluster.pushImage(r, "2.0.0", FAST);
    await cluster.pushImage(r, "2.1.0", FAST);
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}:2.0.0`));
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}:2.1.0`);
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.deleteImage(r, v1);
    return drillFor(this.name, options);
  },
};

/** The orders releases: 5.1.0 migrates the schema to version 2 on start; 5.0.0 knows only version 1. */
export const ORDERS_RELEASES: Readonly<Record<"5.0.0" | "5.1.0", ImageBehaviour>> = {
  "5.0.0": {
    ...FAST,
    databaseEnv: "DATABASE_URL",
    supportsUpTo: 1,
    logLines: ["orders 5.0.0: schema v1 ok"],
  },
  "5.1.0": {
    ...FAST,
    databaseEnv: "DATABASE_URL",
    migratesTo: 2,
    supportsUpTo: 2,
    logLines: ["orders 5.1.0: migrated schema to v2"],
  },
};

/**
 * A forward-only migration: release 2 migrates the schema to version 2 on start, and release 1
 * refuses a schema newer than 1. The drill points the clone at a staging database.
 */
const forwardMigration: Scenario = {
  name: "orders-migration",
  title: "forward-only migration ran with the deploy",
  expected: {
    verdict: "Failed",
    reason: "CrashLoop",
    warnings: ["UnpinnedImage"],
    // The old version's own log lines.
    messageIncludes: ["orders 5.0.0: schema v1 ok"],
  },
  requires: ["databases"],
  lesson: "Make migrations expand-contract, so the previous release still runs on the new schema.",
  async setup(cluster, options) {
    const r = repo("orders", options);
    const prod = `orders${options.suffix ?? ""}`;
    const staging = `orders-staging${options.suffix ?? ""}`;
    await cluster.createDatabase(prod, 1);
    await cluster.createDatabase(staging, 1);
    await cluster.pushImage(r, "5.0.0", ORDERS_RELEASES["5.0.0"]);
    await cluster.pushImage(r, "5.1.0", ORDERS_RELEASES["5.1.0"]);
    const env = [{ name: "DATABASE_URL", value: cluster.databaseUrl(prod, "db.shop.svc") }];
    // Ready only once the schema check passed, as a real service reports: without a probe a
    // container is Ready the moment it starts, and on a loaded node 5.0.0's failing write can
    // take longer than stableSeconds, so the drill saw a stable pod and judged the digest.
    const readinessProbe = cluster.readinessProbe();
    await cluster.createDeployment(
      deployment(options.namespace, this.name, `${r}:5.0.0`, {
        env,
        container: { readinessProbe },
      }),
    );
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}:5.1.0`);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options, {
      sandbox: {
        env: [{ name: "DATABASE_URL", value: cluster.databaseUrl(staging, "staging.db") }],
      },
    });
  },
};

/** `revisionHistoryLimit: 0`: the old ReplicaSet is gone, nothing to undo to. */
const noHistory: Scenario = {
  name: "no-history-search",
  title: "revisionHistoryLimit: 0",
  expected: { verdict: "Failed", reason: "NoRevisionHistory", sandbox: false },
  lesson:
    "Keep revisionHistoryLimit at 2 or more (the default is 10): with 0 there is nothing to roll back to.",
  async setup(cluster, options) {
    const r = repo("search", options);
    const v1 = await cluster.pushImage(r, "7.0.0", FAST);
    const v2 = await cluster.pushImage(r, "7.1.0", FAST);
    await cluster.createDeployment(
      deployment(options.namespace, this.name, `${r}@${v1}`, { revisionHistoryLimit: 0 }),
    );
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/** Helm owns the Deployment: the undo works, but the real way back is `helm rollback`. */
const helmManaged: Scenario = {
  name: "helm-billing",
  title: "Helm-managed app (the real rollback is `helm rollback`)",
  expected: {
    verdict: "Passed",
    reason: "Passed",
    warnings: ["ExternallyManaged"],
    evidence: { container: "app", app: "billing", fromTag: "3.3.0", toTag: "3.2.0" },
  },
  lesson:
    "Roll back with `helm rollback`, not `kubectl rollout undo`, or Helm's next upgrade reverts you.",
  async setup(cluster, options) {
    const r = repo("billing", options);
    const v1 = await cluster.pushImage(r, "3.2.0", FAST);
    const v2 = await cluster.pushImage(r, "3.3.0", FAST);
    const helm = {
      labels: { "app.kubernetes.io/managed-by": "Helm", "app.kubernetes.io/instance": "billing" },
      deploymentAnnotations: {
        "meta.helm.sh/release-name": "billing",
        "meta.helm.sh/release-namespace": options.namespace,
      },
    };
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}@${v1}`, helm));
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/** `kubectl set env`-like: a strategic merge patch of one container's env (a config-only deploy). */
async function setEnv(
  cluster: Cluster,
  namespace: string,
  name: string,
  env: { name: string; value: string }[],
): Promise<void> {
  await cluster.apps.patchNamespacedDeployment(
    {
      namespace,
      name,
      body: { spec: { template: { spec: { containers: [{ name: "app", env }] } } } },
    },
    setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
  );
}

/**
 * The node cache: production pulled `worker:stable` with IfNotPresent, the tag moved to a new
 * build, and the next deploy (a configuration change) kept running the cached old build. The
 * sandbox pulls with Always and gets the new build: a digest different from production's, which
 * is not a rollback that restores anything (both revisions name the same mutable tag).
 */
const cachedTag: Scenario = {
  name: "cached-worker",
  title: "mutable tag, old build served from the node's image cache",
  expected: {
    verdict: "Failed",
    reason: "SameDigest",
    warnings: ["UnpinnedImage"],
    messageIncludes: [":stable", "imagePullPolicy IfNotPresent", "is not known to have run"],
  },
  lesson:
    "Pin images by digest: with a tag in both revisions, an undo changes no image, and a node's cache decides which build runs.",
  async setup(cluster, options) {
    const r = repo("worker", options);
    // One node for every pod, as a one-node pool: its cache is the production cache.
    const [node] = await cluster.nodeNames();
    const pin = {
      container: { imagePullPolicy: "IfNotPresent" },
      pod: node === undefined ? {} : { nodeName: node },
    };
    await cluster.pushImage(r, "stable", { ...FAST, logLines: ["worker build 88"] });
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}:stable`, pin));
    await cluster.waitRolledOut(options.namespace, this.name);
    // CI pushes the next build under the same tag; the deploy after it changes configuration only.
    await cluster.pushImage(r, "stable", { ...FAST, logLines: ["worker build 89"] });
    await setEnv(cluster, options.namespace, this.name, [{ name: "QUEUE_BATCH", value: "50" }]);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/** Distinct tags, but nothing saw revision 1 run: the sandbox's pull proves only today's tag. */
const unverifiedTag: Scenario = {
  name: "tagged-notes",
  title: "images by tag, the previous one never seen running",
  expected: {
    verdict: "Failed",
    reason: "UnverifiedDigest",
    warnings: ["UnpinnedImage"],
    evidence: {
      container: "app",
      app: "notes",
      fromTag: "1.1.0",
      toTag: "1.0.0",
      digestCheck: "Failed",
    },
  },
  lesson:
    "Pin images by digest, or let a drill watch every deploy (rerunOnNewRevision): then it knows what each revision ran.",
  async setup(cluster, options) {
    const r = repo("notes", options);
    await cluster.pushImage(r, "1.0.0", FAST);
    await cluster.pushImage(r, "1.1.0", FAST);
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}:1.0.0`));
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}:1.1.0`);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/**
 * The previous release never became Ready (its readiness probe fails; a hotfix rolled forward
 * past it): the undo goes back to pods that run and never serve.
 */
const neverReady: Scenario = {
  name: "stuck-reports",
  title: "previous release runs but never becomes Ready",
  expected: {
    verdict: "Failed",
    reason: "PodsNotReady",
    messageIncludes: [
      'container "app" of revision 1 runs but never became Ready',
      "readiness probe",
      "reports 4.0.0 waiting for the cache warm-up",
    ],
  },
  lesson:
    "Roll back only to a release that was healthy: one whose readiness probe never passed cannot be a way back.",
  async setup(cluster, options) {
    const r = repo("reports", options);
    const probe = cluster.readinessProbe();
    const v1 = await cluster.pushImage(r, "4.0.0", {
      ...FAST,
      neverReady: true,
      logLines: ["reports 4.0.0 waiting for the cache warm-up"],
    });
    const v2 = await cluster.pushImage(r, "4.0.1", FAST);
    await cluster.createDeployment(
      deployment(options.namespace, this.name, `${r}@${v1}`, {
        container: { readinessProbe: probe },
      }),
    );
    // Revision 1 never rolls out (its ReplicaSet exists, its pods never get Ready); the hotfix
    // replaces it.
    await cluster.waitObserved(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitRolledOut(options.namespace, this.name);
    // A short run, so the clone's progress deadline (a third of what it leaves) is short too; not
    // shorter, since at the demo's time scale (50) a minute of margin is one real second, which a
    // loaded machine's reconcile latency can eat (the run then timed out before the verdict).
    return drillFor(this.name, options, {
      checks: { timeoutSeconds: options.stableSeconds + 120 },
    });
  },
};

/** A configuration-only deploy: both revisions pin the same image; only the env differs. */
const configOnly: Scenario = {
  name: "config-flags",
  title: "configuration-only deploy (same pinned image, new env)",
  expected: {
    verdict: "Passed",
    reason: "Passed",
    evidence: {
      container: "app",
      app: "flags",
      fromTag: "2.2.0",
      toTag: "2.2.0",
      digestCheck: "NotApplicable",
    },
    messageIncludes: ["The digest check does not apply"],
  },
  lesson:
    "A rollback of configuration restores configuration: the drill checks it runs, and says the digest check does not apply.",
  async setup(cluster, options) {
    const r = repo("flags", options);
    const v = await cluster.pushImage(r, "2.2.0", FAST);
    await cluster.createDeployment(
      deployment(options.namespace, this.name, `${r}@${v}`, {
        env: [{ name: "NEW_CHECKOUT", value: "off" }],
      }),
    );
    await cluster.waitRolledOut(options.namespace, this.name);
    await setEnv(cluster, options.namespace, this.name, [{ name: "NEW_CHECKOUT", value: "on" }]);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/** The old release takes seconds to become Ready: the undo works, slower than the RTO. */
const slowStart: Scenario = {
  name: "slow-ledger",
  title: "previous release slow to become Ready (RTO 3 s)",
  expected: {
    verdict: "Failed",
    reason: "RollbackTooSlow",
    messageIncludes: ["from undo to all pods Ready, over spec.checks.maxRollbackSeconds (3s)"],
    rollbackSecondsOver: 3,
  },
  lesson:
    "Measure the rollback to the end: make the old release ready sooner (pre-pulled images, lighter start) or accept a longer RTO.",
  async setup(cluster, options) {
    const r = repo("ledger", options);
    const probe = cluster.readinessProbe();
    const v1 = await cluster.pushImage(r, "9.0.0", { ...FAST, readyAfterMs: 8_000 });
    const v2 = await cluster.pushImage(r, "9.1.0", FAST);
    await cluster.createDeployment(
      deployment(options.namespace, this.name, `${r}@${v1}`, {
        container: { readinessProbe: probe },
      }),
    );
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options, { checks: { maxRollbackSeconds: 3 } });
  },
};

/** The target is deleted while the drill runs: an Error, and a sandbox that keeps no pods running. */
const vanishingTarget: Scenario = {
  name: "gone-mailer",
  title: "target deleted while the drill runs",
  expected: {
    verdict: "Error",
    reason: "TargetNotFound",
    messageIncludes: ["deleted during the run"],
    sandboxStopped: true,
  },
  lesson:
    "A drill that cannot conclude keeps its sandbox's objects, Events and logs, but stops its pods.",
  async setup(cluster, options) {
    const r = repo("mailer", options);
    const v1 = await cluster.pushImage(r, "1.0.0", FAST);
    const v2 = await cluster.pushImage(r, "1.1.0", FAST);
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}@${v1}`));
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitRolledOut(options.namespace, this.name);
    // A long stable window keeps the run in Verifying while production changes under it.
    const stableSeconds = Math.max(options.stableSeconds, 120);
    return drillFor(this.name, options, {
      checks: { stableSeconds, timeoutSeconds: stableSeconds + 600 },
    });
  },
  async duringRun(cluster, manifest) {
    const { namespace, name } = manifest.metadata;
    const drill = await cluster.waitForDrill(
      namespace,
      name,
      d => d.status?.currentRun?.phase === "Verifying" || d.status?.lastRun !== undefined,
    );
    if (drill.status?.lastRun === undefined)
      await cluster.deleteDeployment(namespace, manifest.spec.targetRef.name);
  },
};

/** revisionHistoryLimit: 1: one revision to go back to, and no further. */
const shallowHistory: Scenario = {
  name: "shallow-pay",
  title: "revisionHistoryLimit: 1 (one way back, no further)",
  expected: {
    verdict: "Passed",
    reason: "Passed",
    warnings: ["ShallowHistory"],
    revisionsAvailable: 1,
    evidence: {
      container: "app",
      app: "pay",
      fromTag: "6.1.0",
      toTag: "6.0.0",
      digestCheck: "Verified",
    },
  },
  lesson:
    "Keep revisionHistoryLimit at 2 or more, so a bad previous release still leaves a way back.",
  async setup(cluster, options) {
    const r = repo("pay", options);
    const v1 = await cluster.pushImage(r, "6.0.0", FAST);
    const v2 = await cluster.pushImage(r, "6.1.0", FAST);
    await cluster.createDeployment(
      deployment(options.namespace, this.name, `${r}@${v1}`, { revisionHistoryLimit: 1 }),
    );
    await cluster.waitRolledOut(options.namespace, this.name);
    await cluster.setImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitRolledOut(options.namespace, this.name);
    return drillFor(this.name, options);
  },
};

/** A StatefulSet's two releases, pinned by digest, rolled one ordinal at a time: the undo restores them. */
const pinnedSet: Scenario = {
  name: "pinned-queue",
  title: "StatefulSet, images pinned by digest",
  expected: {
    verdict: "Passed",
    reason: "Passed",
    evidence: { container: "app", app: "queue", fromTag: "3.1.0", toTag: "3.0.0" },
  },
  lesson:
    "A StatefulSet's undo comes from its ControllerRevisions: pinned digests and a kept history make it restore the previous build, one ordinal at a time.",
  async setup(cluster, options) {
    const r = repo("queue", options);
    const v1 = await cluster.pushImage(r, "3.0.0", { ...FAST, logLines: ["queue 3.0.0 up"] });
    const v2 = await cluster.pushImage(r, "3.1.0", { ...FAST, logLines: ["queue 3.1.0 up"] });
    await cluster.createStatefulSet(
      statefulSetManifest(options.namespace, this.name, `${r}@${v1}`),
    );
    await cluster.waitStatefulSetRolledOut(options.namespace, this.name);
    await cluster.setStatefulSetImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitStatefulSetRolledOut(options.namespace, this.name);
    return drillFor(this.name, options, {}, "StatefulSet");
  },
};

/**
 * updateStrategy OnDelete: the team rolled the release out by deleting pods, and the undo restores
 * the template while every pod keeps running the broken release.
 */
const onDeleteSet: Scenario = {
  name: "ondelete-cache",
  title: "StatefulSet with updateStrategy OnDelete",
  expected: {
    verdict: "Failed",
    reason: "PodsNotReplaced",
    messageIncludes: ["updateStrategy OnDelete", "kubectl delete pod"],
  },
  lesson:
    "With OnDelete, an undo replaces no pod: write the pod deletion into the runbook, or use RollingUpdate.",
  async setup(cluster, options) {
    const r = repo("cache", options);
    const v1 = await cluster.pushImage(r, "2.0.0", FAST);
    const v2 = await cluster.pushImage(r, "2.1.0", FAST);
    await cluster.createStatefulSet(
      statefulSetManifest(options.namespace, this.name, `${r}@${v1}`, {
        spec: { updateStrategy: { type: "OnDelete" } },
      }),
    );
    await cluster.waitStatefulSetRolledOut(options.namespace, this.name);
    await cluster.setStatefulSetImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.rollOnDelete(options.namespace, this.name);
    return drillFor(this.name, options, {}, "StatefulSet");
  },
};

/**
 * A stateful service's forward-only migration: 8.1.0 migrates the data to schema version 2 on
 * start, and 8.0.0 refuses it. The undo rolls the highest ordinal back first, and that pod
 * crashes on what the new release wrote.
 */
const setMigration: Scenario = {
  name: "inventory-migration",
  title: "StatefulSet whose old release crashes on the data the new one wrote",
  expected: {
    verdict: "Failed",
    reason: "CrashLoop",
    warnings: ["UnpinnedImage"],
    messageIncludes: ["inventory 8.0.0: schema v1 ok"],
  },
  requires: ["databases"],
  lesson:
    "Stateful services meet their data on the way back: make migrations expand-contract, so the previous release still reads what the new one wrote.",
  async setup(cluster, options) {
    const r = repo("inventory", options);
    const prod = `inventory${options.suffix ?? ""}`;
    const staging = `inventory-staging${options.suffix ?? ""}`;
    await cluster.createDatabase(prod, 1);
    await cluster.createDatabase(staging, 1);
    await cluster.pushImage(r, "8.0.0", {
      ...ORDERS_RELEASES["5.0.0"],
      logLines: ["inventory 8.0.0: schema v1 ok"],
    });
    await cluster.pushImage(r, "8.1.0", {
      ...ORDERS_RELEASES["5.1.0"],
      logLines: ["inventory 8.1.0: migrated schema to v2"],
    });
    const env = [{ name: "DATABASE_URL", value: cluster.databaseUrl(prod, "db.shop.svc") }];
    // Ready once the schema check passed, as orders-migration's pods are.
    const readinessProbe = cluster.readinessProbe();
    await cluster.createStatefulSet(
      statefulSetManifest(options.namespace, this.name, `${r}:8.0.0`, {
        env,
        container: { readinessProbe },
      }),
    );
    await cluster.waitStatefulSetRolledOut(options.namespace, this.name);
    await cluster.setStatefulSetImage(options.namespace, this.name, "app", `${r}:8.1.0`);
    await cluster.waitStatefulSetRolledOut(options.namespace, this.name);
    return drillFor(
      this.name,
      options,
      {
        sandbox: {
          env: [{ name: "DATABASE_URL", value: cluster.databaseUrl(staging, "staging.db") }],
        },
      },
      "StatefulSet",
    );
  },
};

/** A node agent pinned by digest: the DaemonSet's undo restores the previous build on every node. */
const pinnedDaemon: Scenario = {
  name: "pinned-logship",
  title: "DaemonSet, images pinned by digest",
  expected: {
    verdict: "Passed",
    reason: "Passed",
    evidence: { container: "app", app: "logship", fromTag: "2.1.0", toTag: "2.0.0" },
  },
  lesson:
    "A DaemonSet's undo comes from its ControllerRevisions, node by node: pinned digests make it restore the previous build everywhere.",
  async setup(cluster, options) {
    const r = repo("logship", options);
    const v1 = await cluster.pushImage(r, "2.0.0", FAST);
    const v2 = await cluster.pushImage(r, "2.1.0", FAST);
    await cluster.createDaemonSet(daemonSetManifest(options.namespace, this.name, `${r}@${v1}`));
    await cluster.waitDaemonSetRolledOut(options.namespace, this.name);
    await cluster.setDaemonSetImage(options.namespace, this.name, "app", `${r}@${v2}`);
    await cluster.waitDaemonSetRolledOut(options.namespace, this.name);
    return drillFor(this.name, options, {}, "DaemonSet");
  },
};

/** A node agent's previous image was deleted by registry retention: the undo cannot pull it on any node. */
const deletedDaemonImage: Scenario = {
  name: "retention-agent",
  title: "DaemonSet whose previous image was deleted by registry retention",
  expected: {
    verdict: "Failed",
    reason: "ImagePullFailed",
    warnings: ["UnpinnedImage"],
    messageIncludes: ["agent", ":4.0.0"],
  },
  lesson:
    "A DaemonSet rolls back on every node at once: keep its previous images in the registry as long as its revisions.",
  async setup(cluster, options) {
    const r = repo("agent", options);
    const v1 = await cluster.pushImage(r, "4.0.0", FAST);
    await cluster.pushImage(r, "4.1.0", FAST);
    await cluster.createDaemonSet(daemonSetManifest(options.namespace, this.name, `${r}:4.0.0`));
    await cluster.waitDaemonSetRolledOut(options.namespace, this.name);
    await cluster.setDaemonSetImage(options.namespace, this.name, "app", `${r}:4.1.0`);
    await cluster.waitDaemonSetRolledOut(options.namespace, this.name);
    await cluster.deleteImage(r, v1);
    return drillFor(this.name, options, {}, "DaemonSet");
  },
};

export const SCENARIOS: readonly Scenario[] = [
  pinnedHealthy,
  latestTag,
  deletedImage,
  forwardMigration,
  noHistory,
  helmManaged,
  cachedTag,
  unverifiedTag,
  neverReady,
  configOnly,
  slowStart,
  vanishingTarget,
  shallowHistory,
  pinnedSet,
  onDeleteSet,
  setMigration,
  pinnedDaemon,
  deletedDaemonImage,
];
