/**
 * Setting up the benchmarks' cluster in-process, through the simulator's store: namespaces,
 * images, target Deployments with revision history, drills, and waits that watch the store (no
 * polling). The operator under test reaches the same simulator over HTTP.
 */
import { readFile } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { parse } from "yaml";
import type { RollbackDrill } from "../src/api/types.ts";
import { API_VERSION, CRD_NAME, GROUP, KIND, PLURAL, VERSION } from "../src/api/vocabulary.ts";
import { startSim, type Sim, type StartSimOptions } from "../src/sim/index.ts";
import type { ImageBehaviour } from "../src/sim/images.ts";
import type { GVR, KubeObject, StoreEvent } from "../src/sim/types.ts";

export const NAMESPACES: GVR = { group: "", version: "v1", resource: "namespaces" };
export const DEPLOYMENTS: GVR = { group: "apps", version: "v1", resource: "deployments" };
export const REPLICASETS: GVR = { group: "apps", version: "v1", resource: "replicasets" };
export const DRILLS: GVR = { group: GROUP, version: VERSION, resource: PLURAL };
export const ADMIN = { user: "bench", userAgent: "bench/v1", manager: "bench" };
export const REPO = "registry.example.com/bench/app";

const CRD_FILE = new URL(`../crds/${CRD_NAME}.yaml`, import.meta.url);

/** Starts a simulator with the RollbackDrill CRD installed and served. */
export async function startBenchSim(options: StartSimOptions): Promise<Sim> {
  const sim = await startSim(options);
  const crd = parse(await readFile(CRD_FILE, "utf8")) as KubeObject;
  sim.store.create(
    { group: "apiextensions.k8s.io", version: "v1", resource: "customresourcedefinitions" },
    crd,
    ADMIN,
  );
  await until(sim, () => sim.catalogue.byGVR(DRILLS) !== undefined, 10_000, "CRD served");
  return sim;
}

/**
 * Resolves once `done()` holds, checking it after every store change; rejects after `timeoutMs`
 * real milliseconds. `done` must be cheap: it runs on every write.
 */
export function until(
  sim: Sim,
  done: (event?: StoreEvent) => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  if (done()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`bench: timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const stop = sim.store.subscribe(event => {
      if (!done(event)) return;
      clearTimeout(timer);
      stop();
      resolve();
    });
  });
}

export function createNamespace(sim: Sim, name: string): void {
  sim.store.create(NAMESPACES, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, ADMIN);
}

/** Pushes `count` builds of the bench image with one behaviour; returns their pinned refs. */
export function pushBuilds(sim: Sim, behaviour: ImageBehaviour, count: number): string[] {
  const key = `${behaviour.pullMs ?? 0}-${behaviour.startMs ?? 0}-${behaviour.readyAfterMs ?? 0}`;
  return Array.from(
    { length: count },
    (_, i) => `${REPO}@${sim.world.images.push(REPO, `t${key}-r${i}`, behaviour)}`,
  );
}

export function deploymentObject(
  namespace: string,
  name: string,
  image: string,
  replicas: number,
): KubeObject {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas,
      revisionHistoryLimit: 10,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image }] },
      },
    },
  };
}

interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
}

/** `kubectl rollout status`'s test: observed, updated, available, no old replicas left. */
export function isRolledOut(d: KubeObject | undefined, generation: number): boolean {
  if (d === undefined) return false;
  const want = (d["spec"] as { replicas?: number }).replicas ?? 1;
  const s = (d["status"] ?? {}) as DeploymentStatus;
  return (
    (s.observedGeneration ?? 0) >= generation &&
    (s.updatedReplicas ?? 0) === want &&
    (s.replicas ?? 0) === want &&
    (s.availableReplicas ?? 0) === want
  );
}

export interface Target {
  namespace: string;
  name: string;
}

/**
 * Creates the targets and rolls each through `images` in order (one revision per image), all
 * targets in step, waiting for every rollout; a target ends at revision `images.length`.
 */
export async function deployTargets(
  sim: Sim,
  targets: Target[],
  images: string[],
  replicas: number,
  timeoutMs = 120_000,
): Promise<void> {
  for (const image of images) {
    const generations = new Map<string, number>();
    for (const t of targets) {
      const existing = sim.store.get(DEPLOYMENTS, t.namespace, t.name);
      const desired = deploymentObject(t.namespace, t.name, image, replicas);
      const written =
        existing === undefined
          ? sim.store.create(DEPLOYMENTS, desired, ADMIN)
          : sim.store.update(DEPLOYMENTS, { ...existing, spec: desired["spec"] }, ADMIN);
      generations.set(`${t.namespace}/${t.name}`, written.metadata.generation ?? 0);
    }
    const pending = new Set(generations.keys());
    const check = (key: string): void => {
      const [ns = "", name = ""] = key.split("/");
      if (isRolledOut(sim.store.get(DEPLOYMENTS, ns, name), generations.get(key) ?? 0))
        pending.delete(key);
    };
    for (const key of [...pending]) check(key);
    await until(
      sim,
      event => {
        if (event?.gvr.resource === "deployments")
          check(`${event.object.metadata.namespace ?? ""}/${event.object.metadata.name ?? ""}`);
        return pending.size === 0;
      },
      timeoutMs,
      `${pending.size} target rollouts`,
    );
  }
}

export function createDrill(
  sim: Sim,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): void {
  sim.store.create(
    DRILLS,
    { apiVersion: API_VERSION, kind: KIND, metadata: { name, namespace }, spec },
    ADMIN,
  );
}

export function getDrill(sim: Sim, namespace: string, name: string): RollbackDrill | undefined {
  return sim.store.get(DRILLS, namespace, name) as unknown as RollbackDrill | undefined;
}

function runsFinished(drill: KubeObject): number {
  const status = (drill as unknown as RollbackDrill).status;
  return status?.history?.length ?? (status?.lastRun?.verdict === undefined ? 0 : 1);
}

/**
 * Resolves with each drill's real time of verdict (performance.now()) once all `keys` have a
 * finished run; records the verdicts seen.
 */
export async function waitForVerdicts(
  sim: Sim,
  keys: string[],
  timeoutMs: number,
): Promise<{ doneAt: Map<string, number>; verdicts: Map<string, string> }> {
  const doneAt = new Map<string, number>();
  const verdicts = new Map<string, string>();
  const wanted = new Set(keys);
  const check = (obj: KubeObject | undefined): void => {
    if (obj === undefined) return;
    const key = `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
    if (!wanted.has(key) || doneAt.has(key) || runsFinished(obj) === 0) return;
    doneAt.set(key, performance.now());
    const run = (obj as unknown as RollbackDrill).status?.lastRun;
    verdicts.set(key, `${run?.verdict ?? "?"}/${run?.reason ?? "?"}`);
  };
  for (const key of keys) {
    const [ns = "", name = ""] = key.split("/");
    check(sim.store.get(DRILLS, ns, name));
  }
  await until(
    sim,
    event => {
      if (event?.gvr.resource === PLURAL) check(event.object);
      return doneAt.size === wanted.size;
    },
    timeoutMs,
    `verdicts of ${keys.length} drills`,
  );
  return { doneAt, verdicts };
}

/** Counts of each value, "a: 3, b: 1", sorted by count. */
export function tally(values: Iterable<string>): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `${k}: ${n}`)
    .join(", ");
}
