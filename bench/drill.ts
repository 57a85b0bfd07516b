/**
 * Benchmarks of the drill engine on the simulator, with the operator in this process on the
 * simulator's scaled clock: the overhead ratio (one drill, then 200 at a concurrency of 20), the
 * API cost per drill at two pod timings, the reaction time at 1,000 drills, and throughput.
 * Prints figures; asserts nothing.
 *
 * Time: the simulator runs `SCALE` simulated milliseconds per real millisecond, and the operator
 * reads the same clock, so every real millisecond the operator spends (CPU, HTTP round trips,
 * queueing) costs `SCALE` simulated milliseconds. A drill's wall time is measured in real time
 * and multiplied by SCALE; the unavoidable waits are the simulated pod pull and start times of
 * the three rollouts plus stableSeconds. The ratio at scale S equals the real-world ratio for
 * pods that take S times less time than the simulated ones: a pessimistic figure.
 */
import { performance } from "node:perf_hooks";
import { pino } from "pino";
import { Registry } from "prom-client";
import { startOperator, type RunningOperator } from "../src/cli/operator.ts";
import type { Sim } from "../src/sim/index.ts";
import type { ImageBehaviour } from "../src/sim/contract.ts";
import { median, type Figure } from "./sim.ts";
import {
  createDrill,
  createNamespace,
  deployTargets,
  getDrill,
  isRolledOut,
  pushBuilds,
  startBenchSim,
  tally,
  waitFor,
  waitForVerdicts,
  type Target,
} from "./world.ts";

/** Simulated milliseconds per real millisecond in the drill benchmarks. */
export const SCALE = 10;
/** A pod's pull and start, in simulated ms: a rollout of one replica waits their sum. */
export const POD: ImageBehaviour = { pullMs: 600, startMs: 400 };
/** Five times slower pods, for the no-polling check. */
export const SLOW_POD: ImageBehaviour = { pullMs: 3000, startMs: 2000 };
export const STABLE_SECONDS = 2;

/** The waits no drill can avoid: three one-replica rollouts and stableSeconds (simulated ms). */
export function unavoidableMs(pod: ImageBehaviour, stableSeconds: number): number {
  return 3 * ((pod.pullMs ?? 0) + (pod.startMs ?? 0)) + stableSeconds * 1000;
}

export interface Bed {
  sim: Sim;
  operator: RunningOperator;
  targets: Target[];
  close(): Promise<void>;
}

/**
 * A simulator at `scale` with `namespaces` x `perNamespace` targets, each with two revisions of
 * one replica (pods as `pod`), and the operator running on the simulator's clock.
 */
export async function startBed(options: {
  scale: number;
  pod: ImageBehaviour;
  namespaces: number;
  perNamespace: number;
  workers: number;
  revisions?: number;
}): Promise<Bed> {
  const sim = await startBenchSim({ timeScale: options.scale, retainEvents: 200_000 });
  const targets: Target[] = [];
  for (let n = 0; n < options.namespaces; n++) {
    const namespace = `team-${n}`;
    createNamespace(sim, namespace);
    for (let i = 0; i < options.perNamespace; i++) targets.push({ namespace, name: `app-${i}` });
  }
  await deployTargets(sim, targets, pushBuilds(sim, options.pod, options.revisions ?? 2), 1);
  const operator = await startOperator({
    kubeconfig: sim.kubeconfig,
    clock: sim.clock,
    logger: pino({ level: process.env["LOG_LEVEL"] ?? "silent" }),
    registry: new Registry(),
    maxConcurrentDrills: options.workers,
    instance: "bench",
  });
  return {
    sim,
    operator,
    targets,
    async close() {
      await operator.stop();
      await sim.close();
    },
  };
}

export function drillSpec(
  target: Target,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    targetRef: { kind: "Deployment", name: target.name },
    checks: { stableSeconds: STABLE_SECONDS },
    ...extra,
  };
}

export interface OneDrill {
  /** Real ms from creation to verdict. */
  realMs: number;
  verdict: string;
  /** Operator requests by verb during the run (HTTP, from the audit log). */
  requests: Map<string, number>;
  /** Where the real time went, in real ms (see timeline()). */
  parts: Map<string, number>;
}

/**
 * Splits one drill's real time into the operator's parts and the simulator's: set-up (drill
 * created -> sandbox Deployment written), each rollout (write -> rolled out, which holds the pod
 * pull and start plus the simulated control plane's own work), each reaction (rolled out -> the
 * operator's next write), and verification (last rollout -> verdict, which holds stableSeconds).
 */
function timeline(
  start: number,
  writes: number[],
  completes: number[],
  verdictAt: number,
): Map<string, number> {
  const parts = new Map<string, number>();
  const rolledOut = writes.map(w => completes.find(c => c > w) ?? NaN);
  parts.set("set-up (created -> sandbox Deployment written)", (writes[0] ?? NaN) - start);
  rolledOut.forEach((c, i) => {
    parts.set(`rollout ${i + 1} (written -> rolled out)`, c - (writes[i] ?? NaN));
    if (i + 1 < writes.length)
      parts.set(`reaction ${i + 1} (rolled out -> next write)`, (writes[i + 1] ?? NaN) - c);
  });
  parts.set("verify (last rolled out -> verdict)", verdictAt - (rolledOut.at(-1) ?? NaN));
  return parts;
}

/** Runs one drill on a fresh bed and measures it. */
export async function oneDrill(pod: ImageBehaviour, scale = SCALE): Promise<OneDrill> {
  const bed = await startBed({ scale, pod, namespaces: 1, perNamespace: 1, workers: 4 });
  try {
    const target = bed.targets[0]!;
    const seqBefore = bed.sim.audit.entries().at(-1)?.seq ?? 0;
    const writes: number[] = [];
    const completes: number[] = [];
    const stopAudit = bed.sim.audit.subscribe(e => {
      if (
        e.source === "request" &&
        e.resource === "deployments" &&
        e.namespace !== target.namespace
      )
        if (e.verb === "create" || e.verb === "patch" || e.verb === "update")
          if (e.code < 300) writes.push(performance.now());
    });
    const stopStore = bed.sim.store.subscribe(event => {
      const obj = event.object;
      if (event.gvr.resource !== "deployments" || obj.metadata.namespace === target.namespace)
        return;
      const old = event.oldObject;
      const generation = obj.metadata.generation ?? 0;
      if (isRolledOut(obj, generation) && !isRolledOut(old, generation))
        completes.push(performance.now());
    });
    const start = performance.now();
    createDrill(bed.sim, target.namespace, "drill", drillSpec(target));
    const key = `${target.namespace}/drill`;
    const { doneAt, verdicts } = await waitForVerdicts(bed.sim, [key], 120_000);
    stopAudit();
    stopStore();
    // A drill costs its clean-up too: count until the sandbox is gone and the drill rests.
    await waitFor(
      bed.sim,
      "the drill's clean-up",
      () => {
        const status = getDrill(bed.sim, target.namespace, "drill")?.status;
        return status?.phase === "Idle" && status.currentRun === undefined ? true : undefined;
      },
      120_000,
    );
    const requests = new Map<string, number>();
    for (const e of bed.sim.audit.entries({ source: "request" })) {
      if (e.seq <= seqBefore) continue;
      requests.set(e.verb, (requests.get(e.verb) ?? 0) + 1);
      if (e.code >= 400) requests.set(`(${e.code})`, (requests.get(`(${e.code})`) ?? 0) + 1);
    }
    const verdictAt = doneAt.get(key)!;
    return {
      realMs: verdictAt - start,
      verdict: verdicts.get(key) ?? "?",
      requests,
      parts: timeline(start, writes, completes, verdictAt),
    };
  } finally {
    await bed.close();
  }
}

export interface ManyDrills {
  /** Per drill, real ms from creation to verdict. */
  realMs: number[];
  verdicts: string;
  /** Real ms from the first creation to the last verdict. */
  totalMs: number;
}

/**
 * Runs `total` drills, `concurrency` at a time (a new one is created when one reaches its
 * verdict), each on its own target.
 */
export async function manyDrills(
  bed: Bed,
  total: number,
  concurrency: number,
  spec: (t: Target) => Record<string, unknown>,
  timeoutMs: number,
): Promise<ManyDrills> {
  const created = new Map<string, number>();
  const realMs: number[] = [];
  const verdicts: string[] = [];
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < total) {
      const target = bed.targets[next % bed.targets.length]!;
      const name = `drill-${next++}`;
      const key = `${target.namespace}/${name}`;
      created.set(key, performance.now());
      createDrill(bed.sim, target.namespace, name, spec(target));
      const { doneAt, verdicts: v } = await waitForVerdicts(bed.sim, [key], timeoutMs);
      realMs.push(doneAt.get(key)! - created.get(key)!);
      verdicts.push(v.get(key) ?? "?");
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return { realMs, verdicts: tally(verdicts), totalMs: performance.now() - start };
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

export type Goal = string;
export interface GoalFigure extends Figure {
  goal: Goal;
  note?: string;
}

export function figure(
  name: string,
  unit: string,
  runs: number[],
  goal: Goal,
  note?: string,
): GoalFigure {
  return { name, unit, runs, value: median(runs), goal, ...(note === undefined ? {} : { note }) };
}

function partsMedian(all: Map<string, number>[]): GoalFigure[] {
  const names = [...(all[0]?.keys() ?? [])];
  return names.map(name =>
    figure(
      `  ${name}`,
      "ms real",
      all.map(p => p.get(name) ?? NaN),
      "-",
    ),
  );
}

function requestFigures(label: string, all: Map<string, number>[]): GoalFigure[] {
  const calls = (m: Map<string, number>): number =>
    [...m.entries()]
      .filter(([verb]) => verb !== "watch" && verb !== "list" && !verb.startsWith("("))
      .reduce((sum, [, n]) => sum + n, 0);
  const verbs = [...new Set(all.flatMap(m => [...m.keys()]))].sort();
  return [
    figure(`requests per drill, ${label}`, "requests", all.map(calls), "<= 40"),
    ...verbs.map(verb =>
      figure(
        `  ${verb.startsWith("(") ? `answered ${verb}` : verb}`,
        "requests",
        all.map(m => m.get(verb) ?? 0),
        "-",
      ),
    ),
  ];
}

/** One drill, several times: its overhead ratio, where the time goes, and its API cost. */
export async function benchOneDrill(runs: number): Promise<GoalFigure[]> {
  const wait = unavoidableMs(POD, STABLE_SECONDS);
  const slowWait = unavoidableMs(SLOW_POD, STABLE_SECONDS);
  await oneDrill(POD); // warm-up: the first drill in a process pays for JIT compilation
  const fast: OneDrill[] = [];
  const slow: OneDrill[] = [];
  for (let i = 0; i < runs; i++) {
    fast.push(await oneDrill(POD));
    slow.push(await oneDrill(SLOW_POD));
  }
  const realTime = await oneDrill(POD, 1);
  const ratio = (d: OneDrill, w: number, scale: number): number => (d.realMs * scale) / w;
  return [
    figure(
      `one drill: wall time / unavoidable waits (${wait / 1000} s sim, scale ${SCALE})`,
      "ratio",
      fast.map(d => ratio(d, wait, SCALE)),
      "<= 1.10",
      `verdicts: ${tally(fast.map(d => d.verdict))}`,
    ),
    figure(
      `  our overhead in real time (wall - ${wait / SCALE} ms of waits)`,
      "ms real",
      fast.map(d => d.realMs - wait / SCALE),
      "-",
    ),
    ...partsMedian(fast.map(d => d.parts)),
    figure(
      `one drill at time scale 1 (real time, ${wait / 1000} s of waits)`,
      "ratio",
      [ratio(realTime, wait, 1)],
      "<= 1.10",
    ),
    figure(
      `one drill, pods 5x slower (${slowWait / 1000} s sim, scale ${SCALE})`,
      "ratio",
      slow.map(d => ratio(d, slowWait, SCALE)),
      "<= 1.10",
    ),
    ...requestFigures(
      `pods start in ${(POD.pullMs ?? 0) + (POD.startMs ?? 0)} ms`,
      fast.map(d => d.requests),
    ),
    ...requestFigures(
      `pods start in ${(SLOW_POD.pullMs ?? 0) + (SLOW_POD.startMs ?? 0)} ms`,
      slow.map(d => d.requests),
    ),
  ];
}
