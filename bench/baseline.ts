/**
 * The baseline a user has today: a careful SRE rehearsing the rollback by hand with kubectl
 * against the same simulator, pods and time scale as the drill benchmarks. The script creates a
 * sandbox namespace, applies revision M then N (waiting on `rollout status` after each), runs
 * `rollout undo`, waits on `rollout status`, keeps watching for stableSeconds, then reads the
 * pods' imageIDs with -o jsonpath. It is given both revisions' manifests (the best case: by hand
 * they come from `rollout history`). Timed like a drill: wall time / unavoidable waits.
 */
import { execFile } from "node:child_process";
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { stringify } from "yaml";
import { figure, POD, SCALE, STABLE_SECONDS, unavoidableMs, type GoalFigure } from "./drill.ts";
import { deploymentObject, pushBuilds, startBenchSim } from "./world.ts";

const KUBECTL = "/usr/bin/kubectl";
const run = promisify(execFile);

async function kubectlPresent(): Promise<boolean> {
  try {
    await access(KUBECTL);
    await run(KUBECTL, ["version", "--client"]);
    return true;
  } catch {
    return false;
  }
}

export interface ByHandOptions {
  /** The kubectl binary; default /usr/bin/kubectl. */
  readonly kubectl?: string;
  /** The namespace it makes; default sre-sandbox. */
  readonly namespace?: string;
  /** How long it watches the rolled-back pods, real ms; default the drill group's stableSeconds at SCALE. */
  readonly stableMs?: number;
}

/** One rehearsal by hand; returns real ms and the imageIDs it read. */
export async function byHand(
  kubeconfig: string,
  dir: string,
  images: string[],
  options: ByHandOptions = {},
): Promise<{ realMs: number; imageIds: string }> {
  const ns = options.namespace ?? "sre-sandbox";
  const kubectl = options.kubectl ?? KUBECTL;
  const k = (...args: string[]): Promise<{ stdout: string }> =>
    run(kubectl, ["--kubeconfig", kubeconfig, ...args]);
  const manifests = await Promise.all(
    images.map(async (image, i) => {
      const file = join(dir, `revision-${i + 1}.yaml`);
      await writeFile(file, stringify(deploymentObject(ns, "app", image, 1)));
      return file;
    }),
  );
  const start = performance.now();
  await k("create", "namespace", ns);
  for (const file of manifests) {
    await k("apply", "-f", file);
    await k("rollout", "status", "deployment/app", "-n", ns, "--timeout=120s");
  }
  await k("rollout", "undo", "deployment/app", "-n", ns);
  await k("rollout", "status", "deployment/app", "-n", ns, "--timeout=120s");
  // The careful part: watch the rolled-back pods stay up for stableSeconds.
  await new Promise(resolve =>
    setTimeout(resolve, options.stableMs ?? (STABLE_SECONDS * 1000) / SCALE),
  );
  const { stdout } = await k(
    "get",
    "pods",
    "-n",
    ns,
    "-l",
    "app=app",
    "-o",
    "jsonpath={range .items[*]}{.status.containerStatuses[*].imageID}{'\\n'}{end}",
  );
  return { realMs: performance.now() - start, imageIds: stdout.trim() };
}

/** The by-hand rehearsal, `runs` times on fresh simulators; ratio to the same waits. */
export async function benchBaseline(
  runs: number,
  drillRatio: number | undefined,
): Promise<GoalFigure[]> {
  if (!(await kubectlPresent())) {
    console.log(`  (baseline skipped: ${KUBECTL} is absent or does not run)`);
    return [];
  }
  const wait = unavoidableMs(POD, STABLE_SECONDS);
  const ratios: number[] = [];
  let read = "";
  for (let i = 0; i < runs; i++) {
    const sim = await startBenchSim({ timeScale: SCALE });
    const dir = await mkdtemp(join(tmpdir(), "rollback-drill-baseline-"));
    try {
      const kubeconfig = join(dir, "kubeconfig");
      await sim.writeKubeconfig(kubeconfig);
      const result = await byHand(kubeconfig, dir, pushBuilds(sim, POD, 2));
      ratios.push((result.realMs * SCALE) / wait);
      read = result.imageIds;
    } finally {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    }
  }
  const value = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)] ?? NaN;
  return [
    figure(
      `by hand with kubectl: wall time / unavoidable waits (scale ${SCALE})`,
      "ratio",
      ratios,
      "-",
      `read imageIDs: ${read.split("\n").length} pod(s), e.g. ${read.split("\n")[0]?.slice(0, 60) ?? ""}...`,
    ),
    ...(drillRatio === undefined
      ? []
      : [
          figure(
            "  by hand / drill (same waits, same scale)",
            "x",
            ratios.map(r => r / drillRatio),
            "-",
            value > drillRatio
              ? "the drill is faster than the careful SRE"
              : "the careful SRE is faster",
          ),
        ]),
  ];
}
