/**
 * The operator's memory, measured honestly: `rollback-drill operator` runs in its own process
 * against a simulator in this process at time scale 1, seeded through its store; its RSS is read
 * from /proc/<pid>/status. Figures: idle, with 250 and then 1,000 drills and target Deployments
 * (each with 10 ReplicaSets and one pod) watched, and the peak while 20 drills run. Measured twice:
 * from source (node src/cli/main.ts, type stripping) and as production runs it, the compiled build
 * (tsc -p tsconfig.build.json into a temporary directory, then node with the image's flags,
 * imageNodeFlags, and <dir>/dist/cli/main.js).
 * Prints figures; asserts nothing.
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { performance } from "node:perf_hooks";
import { drillSpec, figure, type GoalFigure } from "./drill.ts";
import {
  createDrill,
  createNamespace,
  deployTargets,
  pushBuilds,
  startBenchSim,
  waitForVerdicts,
  type Target,
} from "./world.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MAIN = join(ROOT, "src/cli/main.ts");

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

/** Median of `samples` RSS readings taken `everyMs` apart (RSS moves with the GC's rhythm). */
async function settledRss(pid: number, samples = 5, everyMs = 200): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    values.push(await rssMb(pid));
    await new Promise(resolve => setTimeout(resolve, everyMs));
  }
  return values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;
}

/**
 * The Node flags the image runs the operator with: the arguments between the node binary and the
 * entry point in the Dockerfile's ENTRYPOINT, so the compiled build is measured as it ships.
 */
export async function imageNodeFlags(): Promise<string[]> {
  const dockerfile = await readFile(join(ROOT, "Dockerfile"), "utf8");
  const entrypoint = /^ENTRYPOINT\s+(\[.*\])\s*$/m.exec(dockerfile)?.[1];
  if (entrypoint === undefined) throw new Error("the Dockerfile has no ENTRYPOINT [...] line");
  const args = JSON.parse(entrypoint) as string[];
  return args.slice(1, args.indexOf("dist/cli/main.js"));
}

/** Starts the operator command; resolves once it logs that its workers started. */
function startOperatorProcess(
  main: string,
  kubeconfig: string,
  nodeFlags: readonly string[],
): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [
      ...nodeFlags,
      main,
      "operator",
      "--kubeconfig",
      kubeconfig,
      "--max-concurrent-drills",
      "20",
      "--metrics-bind-address",
      "0",
      "--health-probe-bind-address",
      "0",
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  return new Promise((resolve, reject) => {
    let buffered = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.includes("Started workers")) {
        buffered = "";
        child.stdout.resume();
        resolve(child);
      }
      if (buffered.length > 1_000_000) buffered = buffered.slice(-1000);
    });
    child.once("exit", code => {
      reject(new Error(`operator exited with ${code ?? "a signal"} before starting`));
    });
  });
}

/** Seeds `count` targets (10 revisions, one pod) in namespaces of 10, and a drill for each. */
async function seed(
  sim: Awaited<ReturnType<typeof startBenchSim>>,
  from: number,
  count: number,
  images: string[],
): Promise<string[]> {
  const targets: Target[] = [];
  for (let n = from / 10; n < (from + count) / 10; n++) {
    createNamespace(sim, `mem-${n}`);
    for (let i = 0; i < 10; i++) targets.push({ namespace: `mem-${n}`, name: `app-${i}` });
  }
  // Nine revisions without pods, then the tenth with one: 10 ReplicaSets, one pod each.
  await deployTargets(sim, targets, images.slice(0, 9), 0, 300_000);
  await deployTargets(sim, targets, images.slice(9), 1, 300_000);
  // Drills that rest after one short run: toRevision names no revision (NoRevisionHistory).
  for (const t of targets)
    createDrill(sim, t.namespace, `${t.name}-drill`, drillSpec(t, { toRevision: 99 }));
  return targets.map(t => `${t.namespace}/${t.name}-drill`);
}

/**
 * Compiles the operator as the Dockerfile does, into `dir`/dist, with a package.json (ESM) and a
 * link to this checkout's node_modules beside it; returns the entry point.
 */
export async function buildOperator(dir: string): Promise<string> {
  const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
  const outDir = join(dir, "dist");
  await promisify(execFile)(
    process.execPath,
    [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", outDir],
    { cwd: ROOT },
  );
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  return join(outDir, "cli/main.js");
}

export async function benchMemory(): Promise<GoalFigure[]> {
  if (process.platform !== "linux") {
    console.log("  (memory skipped: RSS is read from /proc, which this platform lacks)");
    return [];
  }
  const build = await mkdtemp(join(tmpdir(), "rollback-drill-build-"));
  try {
    const compiled = await buildOperator(build);
    return [
      ...(await measureOperator(MAIN, "source", [])),
      ...(await measureOperator(compiled, "compiled", await imageNodeFlags())),
    ];
  } finally {
    await rm(build, { recursive: true, force: true });
  }
}

/** The memory figures of one operator entry point (`main`), each row named with `label`. */
async function measureOperator(
  main: string,
  label: string,
  nodeFlags: readonly string[],
): Promise<GoalFigure[]> {
  const sim = await startBenchSim({ timeScale: 1, retainEvents: 200_000 });
  const dir = await mkdtemp(join(tmpdir(), "rollback-drill-bench-"));
  let child: ChildProcess | undefined;
  try {
    const kubeconfig = join(dir, "kubeconfig");
    await sim.writeKubeconfig(kubeconfig);
    const images = pushBuilds(sim, { pullMs: 50, startMs: 50 }, 10);
    child = await startOperatorProcess(main, kubeconfig, nodeFlags);
    const pid = child.pid ?? 0;
    const idle = await settledRss(pid);
    await waitForVerdicts(sim, await seed(sim, 0, 250, images), 300_000);
    const at250 = await settledRss(pid);
    await waitForVerdicts(sim, await seed(sim, 250, 750, images), 300_000);
    const at1000 = await settledRss(pid);
    // 20 drills that run: roll back from revision 10 to 9 in sandboxes.
    const running: string[] = [];
    for (let i = 0; i < 20; i++) {
      const t = { namespace: `mem-${i}`, name: `app-${i % 10}` };
      createDrill(sim, t.namespace, `run-${i}`, drillSpec(t, { checks: { stableSeconds: 1 } }));
      running.push(`${t.namespace}/run-${i}`);
    }
    let peak = 0;
    const sampler = setInterval(() => {
      void rssMb(pid).then(mb => (peak = Math.max(peak, mb)));
    }, 50);
    const start = performance.now();
    const { verdicts } = await waitForVerdicts(sim, running, 300_000);
    clearInterval(sampler);
    const perHundred = ((at1000 - at250) / 750) * 100;
    return [
      figure(
        `${label}: operator RSS, idle (no drills)`,
        "MB",
        [idle],
        "-",
        main === MAIN
          ? "node src/cli/main.ts"
          : `node ${[...nodeFlags, "dist/cli/main.js"].join(" ")} (as the image runs it; built into a temporary directory)`,
      ),
      figure(`${label}: operator RSS, 250 drills + 250 Deployments x 10 RSs`, "MB", [at250], "-"),
      figure(
        `${label}: operator RSS, 1,000 drills + 1,000 Deployments x 10 RSs`,
        "MB",
        [at1000],
        "< 150",
        `grows ${perHundred.toFixed(1)} MB per 100 drills with their targets (10 ReplicaSets, 1 pod each)`,
      ),
      figure(
        `${label}: operator RSS peak while 20 drills run (1,000 watched)`,
        "MB",
        [peak],
        "< 150",
        `verdicts: ${[...new Set(verdicts.values())].join(", ")} in ${((performance.now() - start) / 1000).toFixed(1)} s`,
      ),
    ];
  } finally {
    if (child !== undefined && child.exitCode === null) {
      const exited = new Promise(resolve => child?.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await sim.close();
    await rm(dir, { recursive: true, force: true });
  }
}
