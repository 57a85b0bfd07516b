/**
 * Setting up the benchmarks' cluster in-process, through the simulator's store: images, target
 * Deployments with revision history, and waits for many rollouts and verdicts at once. The
 * builders, the drill helpers and the one wait (on the store's events, no polling) are the test
 * kit's (test/kit). The operator under test reaches the same simulator over HTTP.
 */
import { performance } from "node:perf_hooks";
import type { RollbackDrill } from "../src/api/types.ts";
import { PLURAL } from "../src/api/vocabulary.ts";
import type { Sim, StartSimOptions } from "../src/sim/index.ts";
import type { ImageBehaviour } from "../src/sim/contract.ts";
import type { KubeObject, StoreEvent } from "../src/sim/types.ts";
import {
  createDrill as create,
  deploymentObject as kitDeployment,
  DEPLOYMENTS,
  DRILLS,
  startSimWithDrills,
  waitFor,
} from "../test/kit/index.ts";

export {
  createNamespace,
  DEPLOYMENTS,
  DRILLS,
  getDrill,
  NAMESPACES,
  REPLICASETS,
  waitFor,
} from "../test/kit/index.ts";
export const ADMIN = { user: "bench", userAgent: "bench/v1", manager: "bench" };
export const REPO = "registry.example.com/bench/app";

/** Starts a simulator with the RollbackDrill CRD installed and served. */
export function startBenchSim(options: StartSimOptions): Promise<Sim> {
  return startSimWithDrills(options);
}

/**
 * Feeds every store change to `onEvent` (which keeps its own count, cheaply: it runs on every
 * write) until `done()` holds, with the kit's one wait; rejects after `timeoutMs`.
 */
async function following(
  sim: Sim,
  onEvent: (event: StoreEvent) => void,
  done: () => boolean,
  timeoutMs: number,
  what: () => string,
): Promise<void> {
  const stop = sim.store.subscribe(onEvent);
  try {
    await waitFor(sim, what(), () => (done() ? true : undefined), {
      timeoutMs,
      lastSeen: what,
    });
  } finally {
    stop();
  }
}

/** Pushes `count` builds of the bench image with one behaviour; returns their pinned refs. */
export function pushBuilds(sim: Sim, behaviour: ImageBehaviour, count: number): string[] {
  const key = `${behaviour.pullMs ?? 0}-${behaviour.startMs ?? 0}-${behaviour.readyAfterMs ?? 0}`;
  return Array.from(
    { length: count },
    (_, i) => `${REPO}@${sim.world.images.push(REPO, `t${key}-r${i}`, behaviour)}`,
  );
}

/** The kit's Deployment, with the history a drill needs. */
export function deploymentObject(
  namespace: string,
  name: string,
  image: string,
  replicas: number,
): KubeObject {
  return kitDeployment(namespace, name, image, { replicas, revisionHistoryLimit: 10 });
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
    await following(
      sim,
      event => {
        if (event.gvr.resource === "deployments")
          check(`${event.object.metadata.namespace ?? ""}/${event.object.metadata.name ?? ""}`);
      },
      () => pending.size === 0,
      timeoutMs,
      () => `${String(pending.size)} target rollouts`,
    );
  }
}

export function createDrill(
  sim: Sim,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): void {
  create(sim, { metadata: { name, namespace }, spec });
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
  await following(
    sim,
    event => {
      if (event.gvr.resource === PLURAL) check(event.object);
    },
    () => doneAt.size === wanted.size,
    timeoutMs,
    () => `verdicts of ${String(wanted.size - doneAt.size)} of ${String(keys.length)} drills`,
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
