/**
 * `npm run bench -- cluster`: the drill on the real cluster of e2e/cluster/ (it must be up:
 * `npm run cluster:up`), with the operator installed from config/ as users install it, against
 * its physical floor measured in the same run: the three one-replica roll-outs a drill cannot
 * avoid (the clone at the previous revision, the roll forward, the undo) of the pod the sandbox
 * runs, each timed until the Deployment controller reports the real kubelet's pod available and
 * the old one gone (the drill's own test of a complete roll-out), plus stableSeconds. Printed:
 *
 * - one drill's wall time / that floor (median of 3 after a warm-up), each run's floor measured
 *   just before its drill with the same images, already on the node as the target's are;
 * - 20 drills at once / 20 floors at once (the same node's contention on both sides);
 * - the same rehearsal by hand with kubectl (bench/baseline.ts's script) / the floor;
 * - the operator pods' CPU per drill and RSS, as the kubelet reports them (stats/summary).
 *
 * Every namespace it makes is deleted, and the operator uninstalled, whatever happens.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import type { RollbackDrill } from "../src/api/types.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import { deploymentManifest } from "../src/scenarios/deployment.ts";
import { isSettled } from "../src/scenarios/outcome.ts";
import { OciRegistry } from "../e2e/backends/oci-registry.ts";
import { install, OPERATOR_NAMESPACE, uninstall } from "../e2e/cluster/install.ts";
import { readInfo, type ClusterInfo } from "../e2e/cluster/state.ts";
import { byHand } from "./baseline.ts";
import { figure, percentile, type GoalFigure } from "./drill.ts";

const exec = promisify(execFile);
const STABLE_SECONDS = 5;
const CONCURRENT = 20;
const PREFIX = "bench-cluster";

// ---- the operator pods, as the kubelet sees them ----

interface PodStats {
  podRef: { name: string; namespace: string };
  cpu?: { usageCoreNanoSeconds?: number };
  memory?: { rssBytes?: number; workingSetBytes?: number };
}

/** The operator pods' CPU seconds so far (summed) and RSS (the largest pod's), from stats/summary. */
async function operatorStats(info: ClusterInfo): Promise<{ cpuSeconds: number; rssMb: number }> {
  const { stdout } = await exec(info.kubectl, [
    "--kubeconfig",
    info.kubeconfig,
    "get",
    "--raw",
    `/api/v1/nodes/${info.nodeName}/proxy/stats/summary`,
  ]);
  const pods = ((JSON.parse(stdout) as { pods?: PodStats[] }).pods ?? []).filter(
    p => p.podRef.namespace === OPERATOR_NAMESPACE,
  );
  if (pods.length === 0) throw new Error(`the kubelet reports no pod in ${OPERATOR_NAMESPACE}`);
  return {
    cpuSeconds: pods.reduce((sum, p) => sum + (p.cpu?.usageCoreNanoSeconds ?? 0), 0) / 1e9,
    rssMb: Math.max(...pods.map(p => (p.memory?.rssBytes ?? 0) / 2 ** 20)),
  };
}

/** CPU the operator pods spend while `work` runs, and the largest RSS seen (sampled each second). */
async function operatorCost<R>(
  info: ClusterInfo,
  work: () => Promise<R>,
): Promise<[R, { cpuSeconds: number; rssMb: number }]> {
  const before = await operatorStats(info);
  let peak = before.rssMb;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      await new Promise(resolve => setTimeout(resolve, 1000));
      peak = Math.max(peak, (await operatorStats(info)).rssMb);
    }
  })();
  try {
    const result = await work();
    const after = await operatorStats(info);
    return [
      result,
      { cpuSeconds: after.cpuSeconds - before.cpuSeconds, rssMb: Math.max(peak, after.rssMb) },
    ];
  } finally {
    sampling = false;
    await sampler;
  }
}

// ---- targets, floors and drills ----

interface Target {
  namespace: string;
  /** The two revisions' images, pinned by digest, both on the node. */
  images: [string, string];
}

/** Production: Deployment web rolled out at two pinned builds (so both are on the node). */
async function target(cluster: Cluster, info: ClusterInfo, name: string): Promise<Target> {
  const namespace = `${PREFIX}-${name}`;
  await cluster.ensureNamespace(namespace);
  const repository = `${info.registry.pull}/shop/bench-${name}`;
  const v1 = `${repository}@${await cluster.pushImage(repository, "1.0", { logLines: ["v1"] })}`;
  const v2 = `${repository}@${await cluster.pushImage(repository, "2.0", { logLines: ["v2"] })}`;
  await cluster.createDeployment(deploymentManifest(namespace, "web", v1));
  await cluster.waitRolledOut(namespace, "web");
  await cluster.setImage(namespace, "web", "app", v2);
  await cluster.waitRolledOut(namespace, "web");
  return { namespace, images: [v1, v2] };
}

/**
 * The floor: the three one-replica roll-outs of a drill, with these images and the pod the
 * sandbox runs (no service account token to mount, imagePullPolicy Always), and stableSeconds (ms).
 */
async function floorMs(cluster: Cluster, t: Target): Promise<number> {
  const namespace = `${t.namespace}-floor`;
  await cluster.ensureNamespace(namespace);
  const [v1, v2] = t.images;
  const asSandbox = {
    pod: { automountServiceAccountToken: false },
    container: { imagePullPolicy: "Always" },
  };
  const start = performance.now();
  await cluster.createDeployment(deploymentManifest(namespace, "web", v1, asSandbox));
  await cluster.waitRolledOut(namespace, "web");
  await cluster.setImage(namespace, "web", "app", v2);
  await cluster.waitRolledOut(namespace, "web");
  await cluster.setImage(namespace, "web", "app", v1);
  await cluster.waitRolledOut(namespace, "web");
  return performance.now() - start + STABLE_SECONDS * 1000;
}

interface DrillTiming {
  /** Real ms from the apply to the verdict in status (what the CD gate waits for). */
  verdictMs: number;
  /** Real ms from the verdict until the passed run's sandbox is gone. */
  cleanupMs: number;
  /** Each run phase the watch showed, with real ms from the apply when it was first seen. */
  phases: { phase: string; atMs: number }[];
}

/** Applies the target's drill and waits for its verdict, then for its clean-up. */
async function drillTiming(cluster: Cluster, t: Target): Promise<DrillTiming> {
  const start = performance.now();
  const phases: DrillTiming["phases"] = [];
  const seen = (d: RollbackDrill): void => {
    const phase = d.status?.currentRun?.phase ?? d.status?.phase ?? "";
    if (phase !== "" && phases.at(-1)?.phase !== phase)
      phases.push({ phase, atMs: performance.now() - start });
  };
  await cluster.applyDrill({
    apiVersion: "rollbackdrill.io/v1alpha1",
    kind: "RollbackDrill",
    metadata: { name: "web", namespace: t.namespace },
    spec: {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { stableSeconds: STABLE_SECONDS },
      sandbox: { keepOnFailure: false },
    } as RollbackDrill["spec"],
  });
  const judged = await cluster.waitForDrill(t.namespace, "web", d => {
    seen(d);
    return d.status?.lastRun?.verdict !== undefined;
  });
  const verdictMs = performance.now() - start;
  const run = judged.status?.lastRun;
  if (run?.verdict !== "Passed")
    throw new Error(
      `drill ${t.namespace}/web ended ${run?.verdict ?? "?"} (${run?.reason ?? "?"}): ${run?.message ?? ""}`,
    );
  await cluster.waitForDrill(t.namespace, "web", d => {
    seen(d);
    return isSettled(d);
  });
  return { verdictMs, cleanupMs: performance.now() - start - verdictMs, phases };
}

const timeline = (phases: DrillTiming["phases"]): string =>
  phases.map(p => `${p.phase} ${(p.atMs / 1000).toFixed(1)}`).join(", ");

/** Deletes the drills (their finalizer removes the sandboxes) and every namespace of the bench. */
async function cleanUp(cluster: Cluster, info: ClusterInfo): Promise<void> {
  const k = (...args: string[]) =>
    exec(info.kubectl, ["--kubeconfig", info.kubeconfig, ...args], { timeout: 600_000 });
  const { stdout } = await k("get", "namespaces", "-o", "name");
  const ours = stdout
    .split("\n")
    .map(l => l.replace("namespace/", "").trim())
    .filter(n => n.startsWith(`${PREFIX}-`));
  // Before the install (a previous bench interrupted) there may be no CRD: nothing to delete then.
  for (const ns of ours)
    await k("-n", ns, "delete", "rollbackdrills", "--all", "--wait=true").catch(() => undefined);
  await Promise.all(ours.map(ns => cluster.deleteNamespace(ns)));
  if (ours.length > 0)
    await k("wait", "--for=delete", "--timeout=300s", ...ours.map(n => `namespace/${n}`)).catch(
      () => undefined,
    );
}

export async function benchCluster(runs = 3): Promise<GoalFigure[]> {
  const info = readInfo();
  if (info === undefined)
    throw new Error(
      "`npm run bench -- cluster` needs the real test cluster up: run `npm run cluster:up` first (root, Linux, Go on PATH)",
    );
  const log = (line: string): void => {
    console.log(`  ${line}`);
  };
  const oci = new OciRegistry(`http://${info.registry.push}`, {
    garbageCollect: async () => {
      const [gc = "", ...args] = info.registry.garbageCollect;
      await exec(gc, args);
    },
  });
  const cluster = new Cluster({
    kubeconfig: info.kubeconfig,
    timeoutMs: 600_000,
    registry: () => oci,
  });
  const figures: GoalFigure[] = [];
  await cleanUp(cluster, info);
  const installed = await install(line => {
    log(`install: ${line}`);
  });
  log(`operator ${installed.image} installed in ${installed.seconds.toFixed(0)} s`);
  const dir = await mkdtemp(join(tmpdir(), "rollback-drill-bench-cluster-"));
  try {
    // One drill: a warm-up (the operator's first run pays for JIT), then `runs` measured ones.
    const ratios: number[] = [];
    const floors: number[] = [];
    const walls: number[] = [];
    const cleanups: number[] = [];
    const handRatios: number[] = [];
    let oneCpu = 0;
    for (let i = 0; i <= runs; i++) {
      const t = await target(cluster, info, `one-${String(i)}`);
      const floor = await floorMs(cluster, t);
      const [timing, cost] = await operatorCost(info, () => drillTiming(cluster, t));
      const wall = timing.verdictMs;
      const hand = await byHand(info.kubeconfig, dir, t.images, {
        kubectl: info.kubectl,
        namespace: `${t.namespace}-sre`,
        stableMs: STABLE_SECONDS * 1000,
      });
      log(
        `${i === 0 ? "warm-up" : `run ${String(i)}`}: floor ${(floor / 1000).toFixed(1)} s, drill ${(wall / 1000).toFixed(1)} s to its verdict (+${(timing.cleanupMs / 1000).toFixed(1)} s clean-up), by hand ${(hand.realMs / 1000).toFixed(1)} s, operator CPU ${cost.cpuSeconds.toFixed(2)} s`,
      );
      log(`  phases first seen at (s): ${timeline(timing.phases)}`);
      if (i === 0) continue;
      floors.push(floor / 1000);
      walls.push(wall / 1000);
      cleanups.push(timing.cleanupMs / 1000);
      ratios.push(wall / floor);
      handRatios.push(hand.realMs / floor);
      oneCpu += cost.cpuSeconds / runs;
    }
    figures.push(
      figure("one drill: wall / physical floor", "ratio", ratios, "<= 1.10"),
      figure("  physical floor (3 roll-outs + stableSeconds 5)", "s", floors, "-"),
      figure("  drill: apply to verdict", "s", walls, "-"),
      figure("  then the sandbox's clean-up (namespace deleted)", "s", cleanups, "-"),
      figure("by hand with kubectl: wall / physical floor", "ratio", handRatios, "-"),
      figure(
        "  by hand / drill",
        "x",
        handRatios.map((r, i) => r / (ratios[i] ?? NaN)),
        "-",
      ),
      figure(
        "operator pods: CPU while one drill runs, verdict and clean-up",
        "ms",
        [oneCpu * 1000],
        "-",
        "both replicas, over the drill's whole time: with no drill they spend the last figure each second",
      ),
    );
    await cleanUp(cluster, info);

    // 20 at once: 20 floors at once, then 20 drills at once, on 20 fresh targets.
    log(`setting up ${String(CONCURRENT)} targets...`);
    const targets: Target[] = [];
    for (let i = 0; i < CONCURRENT; i += 5)
      targets.push(
        ...(await Promise.all(
          Array.from({ length: Math.min(5, CONCURRENT - i) }, (_, j) =>
            target(cluster, info, `many-${String(i + j)}`),
          ),
        )),
      );
    const manyFloors = await Promise.all(targets.map(t => floorMs(cluster, t)));
    const [manyTimings, manyCost] = await operatorCost(info, () =>
      Promise.all(targets.map(t => drillTiming(cluster, t))),
    );
    const manyWalls = manyTimings.map(t => t.verdictMs);
    const floorMedian = percentile(manyFloors, 50);
    log(
      `${String(CONCURRENT)} at once: floors median ${(floorMedian / 1000).toFixed(1)} s, drills median ${(percentile(manyWalls, 50) / 1000).toFixed(1)} s, max ${(Math.max(...manyWalls) / 1000).toFixed(1)} s`,
    );
    const manyRatios = manyWalls.map(w => w / floorMedian);
    figures.push(
      figure(
        `${String(CONCURRENT)} drills at once: wall / floor at once (median)`,
        "ratio",
        manyRatios,
        "<= 1.25",
      ),
      figure(
        `  p99 (the slowest of ${String(CONCURRENT)})`,
        "ratio",
        [percentile(manyRatios, 99)],
        "-",
      ),
      figure(
        `operator pods: CPU per drill, ${String(CONCURRENT)} at once (both replicas, to clean-up)`,
        "ms",
        [(manyCost.cpuSeconds * 1000) / CONCURRENT],
        "-",
      ),
      figure(
        `operator pods: largest RSS (${String(CONCURRENT)} drills running)`,
        "MB",
        [manyCost.rssMb],
        "< 150",
        "the kubelet's rssBytes of the pod's cgroup: anonymous memory, without the mapped node binary",
      ),
    );
    // The operator with no drill, over 10 s once every drill above is cleaned up: what a drill's
    // CPU reads against (measured last, so the pods' start-up is not in it).
    await cleanUp(cluster, info);
    const [, rest] = await operatorCost(
      info,
      () => new Promise(resolve => setTimeout(resolve, 10_000)),
    );
    figures.push(
      figure(
        "operator pods, no drill (after the drills above): CPU per second",
        "ms",
        [rest.cpuSeconds * 100],
        "-",
      ),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
    await cleanUp(cluster, info);
    await uninstall(line => {
      log(`uninstall: ${line}`);
    });
  }
  return figures;
}
