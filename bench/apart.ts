/**
 * `npm run bench -- apart`: the operator as users run it. The simulator runs in one child process
 * (`rollback-drill sim`), the operator in another (`rollback-drill operator`, the compiled build,
 * with the Node flags of the Docker image's ENTRYPOINT, as the image runs it), both on loopback;
 * this process only creates targets and drills over HTTP (client-node) and waits for verdicts on
 * watches. Each figure says whose cost it is:
 * the operator's CPU seconds (user + sys) and peak RSS are read from /proc/<pid>/stat and
 * /proc/<pid>/status of its process, the simulator's CPU from its own, so neither is charged
 * for the other.
 *
 * Time: the operator process reads the system clock (it has no time-scale flag), so the
 * simulator runs at time scale 1 too. The drill group's ratio at time scale 10 is
 * 1 + (real overhead) / (500 ms of real waits); here the pods are made fast enough that the
 * unavoidable waits are the same 500 real ms (three one-replica rollouts of 167 ms, and
 * stableSeconds 0, as stableSeconds is whole seconds), so the ratio is the same function of the
 * real overhead. Prints figures; asserts nothing.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { Watch, type V1Deployment } from "@kubernetes/client-node";
import { buildCrd } from "../src/api/crd.ts";
import type { RollbackDrill } from "../src/api/types.ts";
import { GROUP, PLURAL, VERSION } from "../src/api/vocabulary.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import type { ImageBehaviour } from "../src/scenarios/registry.ts";
import { waitUntil } from "../src/scenarios/wait.ts";
import { figure, percentile, type GoalFigure } from "./drill.ts";
import { buildOperator, imageNodeFlags } from "./memory.ts";
import { deploymentObject, isRolledOut, REPO, tally, type Target } from "./world.ts";
import type { KubeObject } from "../src/sim/types.ts";

/** Pods whose three rollouts take 500 ms of real time: the drill group's waits at scale 10. */
const POD: ImageBehaviour = { pullMs: 100, startMs: 67 };
const WAIT_MS = 3 * ((POD.pullMs ?? 0) + (POD.startMs ?? 0));
const TIMEOUT_MS = 300_000;

// ---- the two processes, and what /proc says of them ----

const TICKS = ((): number => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** User + system CPU seconds of a process, all its threads, from /proc/<pid>/stat. */
async function cpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // After "pid (comm) ": state is field 3, utime field 14, stime field 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / TICKS;
}

/** A memory line of /proc/<pid>/status (VmRSS now, VmHWM the peak so far), in MB. */
async function memoryMb(pid: number, line: "VmRSS" | "VmHWM"): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = new RegExp(`${line}:\\s+(\\d+) kB`).exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

interface Proc {
  child: ChildProcess;
  pid: number;
}

/** Spawns `node [nodeFlags] main args`; resolves once its stdout has printed `ready`. */
function startProcess(
  main: string,
  args: string[],
  ready: string,
  what: string,
  nodeFlags: readonly string[] = [],
): Promise<Proc> {
  const child = spawn(process.execPath, [...nodeFlags, main, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buffered = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${what} printed no "${ready}" within 60 s`));
    }, 60_000);
    child.stdout.setEncoding("utf8");
    const onData = (chunk: string): void => {
      buffered = (buffered + chunk).slice(-10_000);
      if (!buffered.includes(ready)) return;
      clearTimeout(timer);
      child.stdout.off("data", onData);
      child.stdout.resume(); // the operator logs at info, as users run it: drain it
      resolve({ child, pid: child.pid ?? 0 });
    };
    child.stdout.on("data", onData);
    child.once("exit", code => {
      clearTimeout(timer);
      reject(new Error(`${what} exited with ${code ?? "a signal"} before it was ready`));
    });
  });
}

async function stopProcess(proc: Proc | undefined): Promise<void> {
  if (proc === undefined || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  const exited = new Promise(resolve => proc.child.once("exit", resolve));
  proc.child.kill("SIGTERM");
  const timer = setTimeout(() => proc.child.kill("SIGKILL"), 10_000);
  await exited;
  clearTimeout(timer);
}

// ---- the user's side: one watch per collection, and waits on it ----

/** Keeps the latest object of every key of one collection, from a watch that restarts if it ends. */
class Follower<T extends KubeObject> {
  readonly latest = new Map<string, T>();
  private readonly listeners = new Set<(object: T) => void>();
  private stopped = false;
  private abort: () => void = () => undefined;

  private readonly cluster: Cluster;
  private readonly path: string;

  constructor(cluster: Cluster, path: string) {
    this.cluster = cluster;
    this.path = path;
    this.follow();
  }

  private follow(): void {
    if (this.stopped) return;
    // No resourceVersion: the stream starts with every existing object (ADDED), then changes.
    const request = new Watch(this.cluster.kc).watch(
      this.path,
      {},
      (type: string, object: T) => {
        if (type !== "ADDED" && type !== "MODIFIED") return;
        const key = `${object.metadata.namespace ?? ""}/${object.metadata.name ?? ""}`;
        this.latest.set(key, object);
        for (const listener of this.listeners) listener(object);
      },
      () =>
        setTimeout(() => {
          this.follow();
        }, 100),
    );
    this.abort = () =>
      void request.then(
        r => {
          r.abort();
        },
        () => undefined,
      );
  }

  /** Resolves with `probe`'s first defined value, checked now and after every event. */
  until<V>(what: string, probe: () => V | undefined): Promise<V> {
    return waitUntil({
      what,
      timeoutMs: TIMEOUT_MS,
      probe,
      subscribe: changed => {
        this.listeners.add(changed);
        return () => this.listeners.delete(changed);
      },
    });
  }

  onEvent(listener: (object: T) => void): void {
    this.listeners.add(listener);
  }

  stop(): void {
    this.stopped = true;
    this.abort();
  }
}

type Drill = RollbackDrill & KubeObject;

function finished(drill: Drill | undefined): boolean {
  const status = drill?.status;
  return (status?.history?.length ?? (status?.lastRun?.verdict === undefined ? 0 : 1)) > 0;
}

function cleanedUp(drill: Drill | undefined): boolean {
  return (
    finished(drill) && drill?.status?.phase === "Idle" && drill.status.currentRun === undefined
  );
}

interface World {
  sim: Proc;
  operator: Proc;
  cluster: Cluster;
  drills: Follower<Drill>;
  deployments: Follower<KubeObject>;
  targets: Target[];
  /** performance.now() at which each drill key was first seen with a finished run. */
  doneAt: Map<string, number>;
}

/** Creates `count` targets (namespaces of 10), each with two revisions of one replica. */
async function seed(world: Omit<World, "targets">, count: number): Promise<Target[]> {
  const { cluster } = world;
  const images: string[] = [];
  for (let i = 0; i < 2; i++)
    images.push(`${REPO}@${await cluster.pushImage(REPO, `apart-r${i}`, POD)}`);
  const targets: Target[] = [];
  for (let n = 0; n < count / 10; n++) {
    await cluster.ensureNamespace(`team-${n}`);
    for (let i = 0; i < 10; i++) targets.push({ namespace: `team-${n}`, name: `app-${i}` });
  }
  for (const [revision, image] of images.entries()) {
    await Promise.all(
      targets.map(t => {
        if (revision > 0) return cluster.setImage(t.namespace, t.name, "app", image);
        const body = deploymentObject(t.namespace, t.name, image, 1) as unknown as V1Deployment;
        return cluster.createDeployment(body);
      }),
    );
    await world.deployments.until(`${targets.length} targets at revision ${revision + 1}`, () =>
      targets.every(t => {
        const d = world.deployments.latest.get(`${t.namespace}/${t.name}`);
        const image = (d?.["spec"] as V1Deployment["spec"])?.template.spec?.containers[0]?.image;
        return image === images[revision] && isRolledOut(d, d?.metadata.generation ?? 0);
      })
        ? true
        : undefined,
    );
  }
  return targets;
}

/** Starts the simulator, then the operator, and seeds `count` targets; `use` runs on them. */
async function withWorld<R>(
  main: string,
  dir: string,
  count: number,
  workers: number,
  use: (world: World) => Promise<R>,
): Promise<R> {
  const kubeconfig = join(dir, `kubeconfig-${workers}-${count}`);
  let sim: Proc | undefined;
  let operator: Proc | undefined;
  let drills: Follower<Drill> | undefined;
  let deployments: Follower<KubeObject> | undefined;
  try {
    sim = await startProcess(
      main,
      ["sim", "--port", "0", "--kubeconfig", kubeconfig, "--time-scale", "1"],
      "Simulator ready",
      "rollback-drill sim",
    );
    const cluster = new Cluster({ kubeconfig, timeoutMs: TIMEOUT_MS });
    await cluster.applyCrd(buildCrd());
    drills = new Follower<Drill>(cluster, `/apis/${GROUP}/${VERSION}/${PLURAL}`);
    deployments = new Follower<KubeObject>(cluster, "/apis/apps/v1/deployments");
    const doneAt = new Map<string, number>();
    drills.onEvent(d => {
      const key = `${d.metadata.namespace}/${d.metadata.name}`;
      if (!doneAt.has(key) && finished(d)) doneAt.set(key, performance.now());
    });
    const partial = { sim, operator: sim, cluster, drills, deployments, doneAt };
    const targets = await seed(partial, count);
    operator = await startProcess(
      main,
      [
        "operator",
        "--kubeconfig",
        kubeconfig,
        "--max-concurrent-drills",
        String(workers),
        "--metrics-bind-address",
        "0",
        "--health-probe-bind-address",
        "0",
      ],
      "Started workers",
      "rollback-drill operator",
      await imageNodeFlags(),
    );
    return await use({ ...partial, operator, targets });
  } finally {
    drills?.stop();
    deployments?.stop();
    await stopProcess(operator);
    await stopProcess(sim);
  }
}

async function createDrill(world: World, target: Target, name: string): Promise<string> {
  await world.cluster.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    namespace: target.namespace,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "RollbackDrill",
      metadata: { name, namespace: target.namespace },
      spec: { targetRef: { kind: "Deployment", name: target.name }, checks: { stableSeconds: 0 } },
    },
  });
  return `${target.namespace}/${name}`;
}

interface Cost {
  operatorCpu: number;
  simCpu: number;
  benchCpu: number;
}

/** CPU seconds each process spends while `work` runs. */
async function costOf<R>(world: World, work: () => Promise<R>): Promise<[R, Cost]> {
  const [op0, sim0, bench0] = [
    await cpuSeconds(world.operator.pid),
    await cpuSeconds(world.sim.pid),
    process.cpuUsage(),
  ];
  const result = await work();
  const bench = process.cpuUsage(bench0);
  return [
    result,
    {
      operatorCpu: (await cpuSeconds(world.operator.pid)) - op0,
      simCpu: (await cpuSeconds(world.sim.pid)) - sim0,
      benchCpu: (bench.user + bench.system) / 1e6,
    },
  ];
}

/**
 * Runs `total` drills, `concurrency` at a time (a new one when one has its verdict), then waits
 * until every one has cleaned up; returns each drill's real ms from creation to verdict.
 */
async function manyDrills(
  world: World,
  prefix: string,
  total: number,
  concurrency: number,
): Promise<{ realMs: number[]; verdicts: string; keys: string[] }> {
  const realMs: number[] = [];
  const keys: string[] = [];
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const target = world.targets[next % world.targets.length]!;
      const name = `${prefix}-${next++}`;
      const created = performance.now();
      const key = await createDrill(world, target, name);
      keys.push(key);
      const doneAt = await world.drills.until(`verdict of ${key}`, () => world.doneAt.get(key));
      realMs.push(doneAt - created);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  await world.drills.until(`clean-up of ${total} drills`, () =>
    keys.every(k => cleanedUp(world.drills.latest.get(k))) ? true : undefined,
  );
  const verdicts = keys.map(k => {
    const run = world.drills.latest.get(k)?.status?.lastRun;
    return `${run?.verdict ?? "?"}/${run?.reason ?? "?"}`;
  });
  return { realMs, verdicts: tally(verdicts), keys };
}

const ratio = (ms: number): number => ms / WAIT_MS;
const perDrillMs = (seconds: number, drills: number): number => (seconds * 1000) / drills;

/** One drill at a time, `runs` times after a warm-up, on one simulator and one operator. */
async function oneDrill(main: string, dir: string, runs: number): Promise<GoalFigure[]> {
  return withWorld(main, dir, 10, 4, async world => {
    await manyDrills(world, "warm-up", 1, 1); // the first drill in a process pays for JIT
    const ratios: number[] = [];
    const costs: Cost[] = [];
    const verdicts: string[] = [];
    for (let i = 0; i < runs; i++) {
      const [result, cost] = await costOf(world, () => manyDrills(world, `one-${i}`, 1, 1));
      ratios.push(ratio(result.realMs[0] ?? NaN));
      costs.push(cost);
      verdicts.push(result.verdicts);
    }
    return [
      figure(
        `one drill: wall time / unavoidable waits (${WAIT_MS} ms real)`,
        "ratio",
        ratios,
        "<= 1.10",
        `verdicts: ${verdicts.join("; ")}; same formula as scale 10 in the drill group`,
      ),
      figure(
        "  operator CPU per drill (user+sys, created -> cleaned up)",
        "ms",
        costs.map(c => perDrillMs(c.operatorCpu, 1)),
        "-",
      ),
      figure(
        "  simulator CPU per drill (its own process)",
        "ms",
        costs.map(c => perDrillMs(c.simCpu, 1)),
        "-",
      ),
      figure(
        "  bench client CPU per drill (creates, watches)",
        "ms",
        costs.map(c => perDrillMs(c.benchCpu, 1)),
        "-",
      ),
      figure(
        "  operator RSS peak (VmHWM, 10 targets)",
        "MB",
        [await memoryMb(world.operator.pid, "VmHWM")],
        "-",
      ),
    ];
  });
}

/** `batches` of drills (total, concurrency) on one simulator and operator with `targets`. */
async function concurrent(
  main: string,
  dir: string,
  targets: number,
  workers: number,
  batches: [number, number][],
): Promise<GoalFigure[]> {
  return withWorld(main, dir, targets, workers, async world => {
    const idleRss = await memoryMb(world.operator.pid, "VmRSS");
    const figures: GoalFigure[] = [];
    for (const [total, concurrency] of batches) {
      const start = performance.now();
      const [result, cost] = await costOf(world, () =>
        manyDrills(world, `c${total}x${concurrency}`, total, concurrency),
      );
      const wallS = (performance.now() - start) / 1000;
      const ratios = result.realMs.map(ratio);
      const goal = total === 200 && concurrency === 20 ? "<= 1.25" : "-";
      const label =
        total === concurrency
          ? `${total} drills at once`
          : `${total} drills, ${concurrency} at a time`;
      figures.push(
        figure(
          `${label}: ratio per drill, median`,
          "ratio",
          [percentile(ratios, 50)],
          goal,
          `verdicts: ${result.verdicts}; ${wallS.toFixed(1)} s to the last clean-up`,
        ),
        figure("  p99 drill", "ratio", [percentile(ratios, 99)], goal),
        figure(
          "  operator CPU per drill (user+sys)",
          "ms",
          [perDrillMs(cost.operatorCpu, total)],
          "-",
          `${cost.operatorCpu.toFixed(2)} s in all, ${((cost.operatorCpu / wallS) * 100).toFixed(0)}% of one core`,
        ),
        figure(
          "  simulator CPU per drill (its own process)",
          "ms",
          [perDrillMs(cost.simCpu, total)],
          "-",
          `${cost.simCpu.toFixed(2)} s in all, ${((cost.simCpu / wallS) * 100).toFixed(0)}% of one core`,
        ),
        figure("  bench client CPU per drill", "ms", [perDrillMs(cost.benchCpu, total)], "-"),
        figure(
          `  operator RSS peak so far (VmHWM, ${targets} targets watched)`,
          "MB",
          [await memoryMb(world.operator.pid, "VmHWM")],
          "< 150 @1,000",
          `idle before the drills ${idleRss.toFixed(0)} MB; now ${(await memoryMb(world.operator.pid, "VmRSS")).toFixed(0)} MB`,
        ),
      );
    }
    return figures;
  });
}

export async function benchApart(runs = 3): Promise<GoalFigure[]> {
  if (process.platform !== "linux") {
    console.log("  (apart skipped: CPU and RSS are read from /proc, which this platform lacks)");
    return [];
  }
  const dir = await mkdtemp(join(tmpdir(), "rollback-drill-apart-"));
  try {
    const main = await buildOperator(dir);
    return [
      ...(await oneDrill(main, dir, runs)),
      ...(await concurrent(main, dir, 200, 20, [
        [20, 20],
        [200, 20],
      ])),
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
