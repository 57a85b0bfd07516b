/**
 * The reliability harness, shared by the restart, leader, fault and crash tests and by
 * `npm run soak`: an in-process operator that can be killed (no drain, no lease release, every
 * later API call fails, all its state dropped), the six catalogue scenarios set up side by side
 * on one simulator, and the checks: verdicts, runs per drill, sandboxes created and left over.
 * It uses no vitest API, so the soak runs it under plain node; waiting is the kit's (test/kit),
 * driven by the store's change events, never by sleeps.
 */
import { readdir, readFile } from "node:fs/promises";
import { pino, type Logger } from "pino";
import { parseAllDocuments } from "yaml";
import { Registry } from "prom-client";
import type { RollbackDrill } from "../../src/api/types.ts";
import { LABEL_DRILL_UID } from "../../src/api/vocabulary.ts";
import { sleep } from "../../src/controller/clock.ts";
import type { LeaderElectionConfig } from "../../src/controller/leader.ts";
import { createManager } from "../../src/controller/manager.ts";
import { createMetrics } from "../../src/controller/metrics.ts";
import { createKubeClient, loadKubeConfig, type KubeClient } from "../../src/kube/client.ts";
import { SCENARIOS, type DrillManifest, type Scenario } from "../../src/scenarios/catalog.ts";
import { Cluster } from "../../src/scenarios/cluster.ts";
import { seededRandom } from "../../src/sim/faults.ts";
import type { Sim } from "../../src/sim/index.ts";
import type { GVR, KubeObject } from "../../src/sim/types.ts";
import {
  ADMIN,
  EVENTS,
  deploy,
  NAMESPACES,
  createDrill,
  getDrill,
  sandboxNamespaces,
  waitFor,
} from "../kit/index.ts";

/** What the reliability tests and the soak take from the kit, re-exported for them. */
export {
  ADMIN,
  DRILLS,
  EVENTS,
  NAMESPACES,
  RUN_STEPS,
  createDrill,
  getDrill,
  phaseIndex,
  sandboxNamespaces,
  startSimWithDrills,
  waitFor,
  waitSettled,
} from "../kit/index.ts";

/** KubeClient methods that only read, or campaign for the lease (both candidates do). */
const NOT_ACTING = new Set([
  "getDrill",
  "getNamespace",
  "getConfigMap",
  "getSecret",
  "getServiceAccount",
  "readPodLog",
]);
const LEASE = new Set(["getLease", "createLease", "replaceLease"]);

export class OperatorKilled extends Error {
  override name = "OperatorKilled";
}

export interface OperatorHandle {
  readonly id: string;
  readonly registry: Registry;
  /** Writes this operator made for drills (status, finalizers, sandboxes, Events). */
  actions(): number;
  isLeader(): boolean;
  /**
   * A crash: from now on every API call fails, nothing is drained or released; the watches and
   * timers go. Resolves once the process would be gone (no call of it can start any more).
   */
  kill(): Promise<void>;
  /** A graceful stop (SIGTERM): drain, release the lease. */
  stop(): Promise<void>;
}

export interface OperatorOptions {
  readonly id: string;
  readonly leaderElection?: Omit<LeaderElectionConfig, "identity">;
  readonly maxConcurrentDrills?: number;
  readonly logger?: Logger;
  readonly kubeconfig?: string;
  /**
   * Real milliseconds to wait for the caches to sync; past it the manager is stopped and the start
   * rejects (an account that may not list something never syncs). Default: wait for ever.
   */
  readonly startTimeoutMs?: number;
}

/** Wraps every KubeClient call: after kill() it throws, and acting calls are counted. */
interface Killable {
  kube: KubeClient;
  kill: () => void;
  actions: () => number;
}

function killable(kube: KubeClient): Killable {
  let dead = false;
  let actions = 0;
  const proxy = new Proxy(kube, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || property === "informer") return value;
      const name = String(property);
      return (...args: unknown[]): unknown => {
        if (dead) return Promise.reject(new OperatorKilled(`${name} after the operator died`));
        if (!NOT_ACTING.has(name) && !LEASE.has(name)) actions++;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return {
    kube: proxy,
    kill: () => {
      dead = true;
    },
    actions: () => actions,
  };
}

/** Starts an operator in this process on the simulator's (scaled) clock. */
export async function startOperatorOn(sim: Sim, options: OperatorOptions): Promise<OperatorHandle> {
  const clock = sim.clock;
  const log = options.logger ?? pino({ level: process.env["LOG_LEVEL"] ?? "silent" });
  const registry = new Registry();
  const real = createKubeClient({
    kubeConfig: loadKubeConfig(options.kubeconfig ?? sim.kubeconfig),
    sleep: ms => sleep(clock, ms),
    schedule: (fn, ms) => {
      const handle = clock.setTimeout(fn, ms);
      return () => {
        clock.clearTimeout(handle);
      };
    },
  });
  const { kube, kill, actions } = killable(real);
  const manager = createManager({
    kube,
    clock,
    log: log.child({ operator: options.id }),
    metrics: createMetrics(registry),
    maxConcurrentDrills: options.maxConcurrentDrills ?? 4,
    ...(options.leaderElection === undefined
      ? {}
      : { leaderElection: { ...options.leaderElection, identity: options.id } }),
    operator: { serviceAccountName: "rollback-drill-operator", namespace: "rollback-drill-system" },
    instance: options.id,
  });
  if (options.startTimeoutMs === undefined) await manager.start();
  else await startWithin(manager, options.startTimeoutMs);
  let gone: Promise<void> | undefined;
  return {
    id: options.id,
    registry,
    actions,
    isLeader: () => manager.isLeader(),
    kill() {
      kill();
      // With every call failing, stop() cannot drain or release anything: it only ends the
      // watches, timers and workers, which is what a dead process leaves behind.
      gone ??= manager.stop();
      return gone;
    },
    stop() {
      gone ??= manager.stop();
      return gone;
    },
  };
}

async function startWithin(
  manager: { start(): Promise<void>; stop(): Promise<void> },
  timeoutMs: number,
): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">(resolve => {
    timer = setTimeout(() => {
      resolve("late");
    }, timeoutMs);
  });
  try {
    const outcome = await Promise.race([manager.start().then(() => "started" as const), late]);
    if (outcome === "late") {
      await manager.stop();
      throw new Error(`the operator's caches did not sync within ${String(timeoutMs)} ms`);
    }
  } finally {
    clearTimeout(timer);
  }
}

// ---- what the operator left behind ----

/** Records, per drill uid, every sandbox namespace ever created for it. */
export function trackSandboxes(sim: Sim): { byDrill: Map<string, Set<string>>; stop(): void } {
  const byDrill = new Map<string, Set<string>>();
  const stop = sim.store.subscribe(event => {
    if (event.type !== "ADDED" || event.gvr.resource !== "namespaces") return;
    const uid = event.object.metadata.labels?.[LABEL_DRILL_UID];
    if (uid === undefined) return;
    const names = byDrill.get(uid) ?? new Set<string>();
    names.add(event.object.metadata.name ?? "");
    byDrill.set(uid, names);
  });
  return { byDrill, stop };
}

/** Events on a drill with this reason (DrillStarted counts runs). */
export function eventsFor(sim: Sim, drill: RollbackDrill, reason: string): number {
  return sim.store.list(EVENTS, { namespace: drill.metadata.namespace }).items.filter(e => {
    const involved = e["involvedObject"] as { uid?: string; name?: string } | undefined;
    return involved?.name === drill.metadata.name && e["reason"] === reason;
  }).length;
}

/** How many runs a drill shows: the most of its status counter, its history and its Events. */
export function runsOf(sim: Sim, drill: RollbackDrill): number {
  return Math.max(
    drill.status?.runCount ?? 0,
    drill.status?.history?.length ?? 0,
    eventsFor(sim, drill, "DrillStarted"),
  );
}

// ---- the scenarios, side by side ----

export interface PlannedDrill {
  scenario: Scenario;
  manifest: DrillManifest;
}

export interface SetUpOptions {
  /** How many drills: the six scenarios repeated in order. */
  count: number;
  /** Prefix of the namespaces standing for production, one per drill. */
  prefix: string;
  stableSeconds?: number;
  /** Scenarios set up at once; default 6. */
  parallel?: number;
  /** Index in SCENARIOS of the first drill's scenario; default 0. */
  first?: number;
}

/**
 * The scenarios a batch cycles through: those that need nothing done in production while they
 * run (a batch only creates the drills and waits).
 */
export const BATCH_SCENARIOS: readonly Scenario[] = SCENARIOS.filter(
  s => s.duringRun === undefined,
);

/**
 * Sets up `count` scenarios (each in its own namespace, with its own images and databases) through
 * the Kubernetes API, and returns the drills to create; nothing is drilled yet.
 */
export async function setUpBatch(sim: Sim, options: SetUpOptions): Promise<PlannedDrill[]> {
  const cluster = new Cluster({ kubeconfig: sim.kubeconfig });
  const planned: PlannedDrill[] = [];
  const parallel = options.parallel ?? 6;
  for (let start = 0; start < options.count; start += parallel) {
    const chunk = Array.from(
      { length: Math.min(parallel, options.count - start) },
      (_, k) => start + k,
    );
    planned.push(
      ...(await Promise.all(
        chunk.map(async i => {
          const scenario = BATCH_SCENARIOS[
            ((options.first ?? 0) + i) % BATCH_SCENARIOS.length
          ] as Scenario;
          const namespace = `${options.prefix}-${i}`;
          await cluster.ensureNamespace(namespace);
          const manifest = await scenario.setup(cluster, {
            namespace,
            stableSeconds: options.stableSeconds ?? 5,
            suffix: `-${options.prefix}-${i}`,
          });
          return { scenario, manifest: hardened(manifest) };
        }),
      )),
    );
  }
  return planned;
}

/**
 * The scenario's drill with room for a loaded host (at a time scale of 1000 a stalled event loop
 * costs simulated minutes) and without keeping failed sandboxes, so "none left over" can be
 * checked as soon as every run is over.
 */
function hardened(manifest: DrillManifest): DrillManifest {
  return {
    ...manifest,
    spec: {
      ...manifest.spec,
      checks: { ...manifest.spec.checks, timeoutSeconds: 86_400 },
      sandbox: { ...manifest.spec.sandbox, keepOnFailure: false },
    },
  };
}

export interface DrillOutcome {
  drill: string;
  expected: string;
  actual: string;
  correct: boolean;
  runs: number;
  sandboxes: number;
}

/** Compares each settled drill with its scenario's expectation. */
export function outcomes(
  sim: Sim,
  planned: readonly PlannedDrill[],
  sandboxes: Map<string, Set<string>>,
): DrillOutcome[] {
  return planned.map(({ scenario, manifest }) => {
    const drill = getDrill(sim, manifest.metadata.namespace, manifest.metadata.name);
    const run = drill?.status?.lastRun;
    const warnings = (drill?.status?.warnings ?? []).map(w => w.reason);
    const { verdict, reason } = scenario.expected;
    const wanted = scenario.expected.warnings ?? [];
    const correct =
      run?.verdict === verdict && run.reason === reason && wanted.every(w => warnings.includes(w));
    return {
      drill: `${manifest.metadata.namespace}/${manifest.metadata.name}`,
      expected: `${verdict}/${reason}${wanted.length > 0 ? ` +${wanted.join(",")}` : ""}`,
      actual: `${run?.verdict ?? "?"}/${run?.reason ?? "?"} [${warnings.join(",")}] ${run?.message ?? ""}`,
      correct,
      runs: drill === undefined ? 0 : runsOf(sim, drill),
      sandboxes: sandboxes.get(drill?.metadata.uid ?? "")?.size ?? 0,
    };
  });
}

// ---- batches under faults and crashes (the tests run a few, the soak runs the full ones) ----

export interface RunBatchOptions {
  /** Inject API faults: ~5% errors on every verb, latency, dropped and expired watches, restarts. */
  faults: boolean;
  /** Operator crashes during the batch, each followed by a restart. */
  kills: number;
  /** Real milliseconds between crashes: uniformly random in this range. Default [50, 400]. */
  killEveryMs?: readonly [number, number];
  /** Real milliseconds between simulated apiserver restarts under faults. Default 500. */
  restartEveryMs?: number;
  /** Seed of the crash schedule. Default 7. */
  seed?: number;
  /** Real milliseconds to wait for every drill to settle. Default 120,000. */
  timeoutMs?: number;
  maxConcurrentDrills?: number;
  logger?: Logger;
}

export interface BatchReport {
  drills: number;
  correct: number;
  orphans: number;
  duplicateRuns: number;
  restarts: number;
  apiErrorsInjected: number;
  apiRequests: number;
  wallMs: number;
  wrong: DrillOutcome[];
}

/** ~5% of every request fails (429 with Retry-After, 500, 503, 409); and the other faults. */
export function injectFaults(sim: Sim): string[] {
  return [
    sim.faults.add({ code: 429, probability: 0.0125 }),
    sim.faults.add({ code: 500, probability: 0.0125 }),
    sim.faults.add({ code: 503, probability: 0.0125 }),
    sim.faults.add({ code: 409, probability: 0.0125 }),
    sim.faults.add({ latencyMs: 3, probability: 0.2 }),
    sim.faults.add({ verb: "watch", dropWatchAfterEvents: 25, probability: 0.3 }),
    sim.faults.add({ verb: "watch", expireNextWatch: true, probability: 0.2 }),
  ];
}

export function injectedErrors(sim: Sim): number {
  return sim.faults
    .rules()
    .filter(r => r.rule.code !== undefined)
    .reduce((n, r) => n + r.fired, 0);
}

function allSettled(sim: Sim, planned: readonly PlannedDrill[]): boolean {
  return planned.every(({ manifest }) => {
    const d = getDrill(sim, manifest.metadata.namespace, manifest.metadata.name);
    return d?.status?.lastRun?.verdict !== undefined && d.status.currentRun === undefined;
  });
}

/**
 * Drills every planned scenario with one operator at a time, under faults and crashes as asked,
 * and reports what a soak prints: verdicts right, sandboxes left, runs beyond one per drill,
 * restarts, errors injected, wall time.
 */
export async function runBatch(
  sim: Sim,
  planned: readonly PlannedDrill[],
  options: RunBatchOptions,
): Promise<BatchReport> {
  const started = performance.now();
  const tracker = trackSandboxes(sim);
  let apiRequests = 0;
  const stopCounting = sim.audit.subscribe(e => {
    if (e.source === "request") apiRequests++;
  });
  const rules = options.faults ? injectFaults(sim) : [];
  const restarter = options.faults
    ? setInterval(() => {
        sim.faults.restart({ compact: true });
      }, options.restartEveryMs ?? 500)
    : undefined;
  const random = seededRandom(options.seed ?? 7);
  const start = (n: number): Promise<OperatorHandle> =>
    startOperatorOn(sim, {
      id: `operator-${n}`,
      ...(options.maxConcurrentDrills === undefined
        ? {}
        : { maxConcurrentDrills: options.maxConcurrentDrills }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  let restarts = 0;
  let operator = await start(0);
  try {
    for (const { manifest } of planned) createDrill(sim, manifest);
    const [low, high] = options.killEveryMs ?? [50, 400];
    while (restarts < options.kills && !allSettled(sim, planned)) {
      const waitMs = low + (high - low) * random();
      await new Promise(resolve => setTimeout(resolve, waitMs));
      await operator.kill();
      restarts++;
      operator = await start(restarts);
    }
    await waitFor(
      sim,
      "every drill to finish its run",
      () => (allSettled(sim, planned) ? true : undefined),
      options.timeoutMs ?? 120_000,
    );
  } finally {
    if (restarter !== undefined) clearInterval(restarter);
  }
  const apiErrorsInjected = injectedErrors(sim);
  for (const id of rules) sim.faults.remove(id);
  const orphans = await waitFor(sim, "no sandbox left", () =>
    sandboxNamespaces(sim).length === 0 ? 0 : undefined,
  ).catch(() => sandboxNamespaces(sim).length);
  await operator.kill();
  tracker.stop();
  stopCounting();
  const results = outcomes(sim, planned, tracker.byDrill);
  return {
    drills: results.length,
    correct: results.filter(r => r.correct).length,
    orphans,
    duplicateRuns: results.reduce(
      (n, r) => n + Math.max(0, r.runs - 1) + Math.max(0, r.sandboxes - 1),
      0,
    ),
    restarts,
    apiErrorsInjected,
    apiRequests,
    wallMs: Math.round(performance.now() - started),
    wrong: results.filter(r => !r.correct),
  };
}

// ---- RBAC: the roles of config/rbac, and a target whose pods reference other objects ----

const RBAC_DIR = new URL("../../config/rbac/", import.meta.url);
export const SYSTEM_NS = "rollback-drill-system";
export const SA = "rollback-drill-operator";
export const USER = `system:serviceaccount:${SYSTEM_NS}:${SA}`;

export interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  resourceNames?: string[];
}

export const KINDS: Record<string, GVR> = {
  ServiceAccount: { group: "", version: "v1", resource: "serviceaccounts" },
  ClusterRole: { group: "rbac.authorization.k8s.io", version: "v1", resource: "clusterroles" },
  ClusterRoleBinding: {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterrolebindings",
  },
  Role: { group: "rbac.authorization.k8s.io", version: "v1", resource: "roles" },
  RoleBinding: { group: "rbac.authorization.k8s.io", version: "v1", resource: "rolebindings" },
};

export async function rbacObjects(): Promise<KubeObject[]> {
  const files = (await readdir(RBAC_DIR)).filter(
    f => f.endsWith(".yaml") && f !== "kustomization.yaml",
  );
  const objects: KubeObject[] = [];
  for (const file of files.sort()) {
    const text = await readFile(new URL(file, RBAC_DIR), "utf8");
    for (const doc of parseAllDocuments(text)) {
      const obj = doc.toJSON() as KubeObject | null;
      if (obj !== null) objects.push(obj);
    }
  }
  return objects;
}

export function applyObjects(sim: Sim, objects: readonly KubeObject[]): void {
  for (const obj of objects) {
    const gvr = KINDS[obj.kind];
    if (gvr === undefined) throw new Error(`config/rbac: unexpected kind ${obj.kind}`);
    sim.store.create(gvr, obj, ADMIN);
  }
}

/**
 * A target whose pods reference a ConfigMap, an image pull secret and a service account, in a
 * namespace whose team bound the opt-in secret reader role: the copies the six scenarios do not
 * make.
 */
export async function setUpReferencingTarget(sim: Sim): Promise<PlannedDrill> {
  const ns = "rbac-refs";
  const core = (resource: string): GVR => ({ group: "", version: "v1", resource });
  sim.store.create(
    NAMESPACES,
    { apiVersion: "v1", kind: "Namespace", metadata: { name: ns } },
    ADMIN,
  );
  const make = (
    resource: string,
    kind: string,
    name: string,
    extra: Record<string, unknown> = {},
  ) =>
    sim.store.create(
      core(resource),
      { apiVersion: "v1", kind, metadata: { name, namespace: ns }, ...extra },
      ADMIN,
    );
  make("configmaps", "ConfigMap", "web-config", { data: { MODE: "prod" } });
  make("secrets", "Secret", "regcred", { type: "Opaque", data: { token: "eA==" } });
  make("serviceaccounts", "ServiceAccount", "web");
  sim.store.create(
    KINDS["RoleBinding"] as GVR,
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "RoleBinding",
      metadata: { name: "rollback-drill-secrets", namespace: ns },
      roleRef: {
        apiGroup: "rbac.authorization.k8s.io",
        kind: "ClusterRole",
        name: "rollback-drill-secret-reader",
      },
      subjects: [{ kind: "ServiceAccount", name: SA, namespace: SYSTEM_NS }],
    },
    ADMIN,
  );
  const repo = "registry.example.com/shop/refs";
  const digests = [sim.world.images.push(repo, "1.0"), sim.world.images.push(repo, "2.0")];
  for (const digest of digests)
    await deploy(sim, ns, "refs", `${repo}@${digest}`, {
      pod: { serviceAccountName: "web", imagePullSecrets: [{ name: "regcred" }] },
      container: { envFrom: [{ configMapRef: { name: "web-config" } }] },
    });
  const scenario = planned0();
  return {
    scenario,
    manifest: {
      apiVersion: "rollbackdrill.io/v1alpha1",
      kind: "RollbackDrill",
      metadata: { name: "refs", namespace: ns },
      spec: {
        targetRef: { kind: "Deployment", name: "refs" },
        checks: { stableSeconds: 5, timeoutSeconds: 86_400 },
        sandbox: { keepOnFailure: false },
      },
    },
  };
}

/** The catalogue's pinned scenario: its expectation (Passed) is the referencing target's too. */
function planned0(): PlannedDrill["scenario"] {
  const pinned = SCENARIOS.find(s => s.name === "pinned-web");
  if (pinned === undefined) throw new Error("no pinned scenario");
  return pinned;
}
