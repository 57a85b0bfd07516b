/**
 * The failure modes this product exists for, side by side, each as a small "production" set-up
 * and the drill that rehearses its rollback, with the verdict the drill must reach. The demo shows
 * them, the e2e suite runs them on every backend, the soak repeats them under faults.
 */
import type { V1Deployment } from "@kubernetes/client-node";
import type { DrillSpec } from "../api/types.ts";
import type { Reason, Verdict, WarningReason } from "../api/vocabulary.ts";
import type { Cluster, ImageBehaviour } from "./cluster.ts";

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
}

const FAST: ImageBehaviour = { pullMs: 300, startMs: 200, readyAfterMs: 500 };

function deployment(
  namespace: string,
  name: string,
  image: string,
  extra: {
    env?: { name: string; value: string }[];
    revisionHistoryLimit?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  } = {},
): V1Deployment {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      labels: { app: name, ...(extra.labels ?? {}) },
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      replicas: 2,
      ...(extra.revisionHistoryLimit === undefined
        ? {}
        : { revisionHistoryLimit: extra.revisionHistoryLimit }),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [{ name: "app", image, ...(extra.env ? { env: extra.env } : {}) }],
        },
      },
    },
  };
}

function drillFor(
  name: string,
  options: ScenarioOptions,
  spec: Partial<DrillManifest["spec"]> = {},
): DrillManifest {
  return {
    apiVersion: "rollbackdrill.io/v1alpha1",
    kind: "RollbackDrill",
    metadata: { name, namespace: options.namespace },
    spec: {
      targetRef: { kind: "Deployment", name },
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
    await cluster.createDeployment(deployment(options.namespace, this.name, `${r}:5.0.0`, { env }));
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
      annotations: {
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

export const SCENARIOS: readonly Scenario[] = [
  pinnedHealthy,
  latestTag,
  deletedImage,
  forwardMigration,
  noHistory,
  helmManaged,
];
