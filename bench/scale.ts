/**
 * The drill engine at scale, with the operator in this process on the simulator's clock: 200
 * drills at a concurrency of 20 (each drill's overhead ratio), throughput with pods that are
 * ready at once, and the reaction time (drill created, or target rolled out with
 * rerunOnNewRevision -> the drill's first write) with 1,000 drills watched. Prints figures;
 * asserts nothing. Reaction times are real milliseconds, taken in this process from the
 * simulator's store and audit log as they happen.
 */
import { performance } from "node:perf_hooks";
import type { Sim } from "../src/sim/index.ts";
import {
  drillSpec,
  figure,
  manyDrills,
  percentile,
  POD,
  SCALE,
  STABLE_SECONDS,
  startBed,
  unavoidableMs,
  type GoalFigure,
} from "./drill.ts";
import {
  ADMIN,
  createDrill,
  DEPLOYMENTS,
  isRolledOut,
  pushBuilds,
  tally,
  waitFor,
  waitForVerdicts,
  type Target,
} from "./world.ts";

/** 200 drills, 20 at a time, each on its own target: every drill's overhead ratio. */
export async function benchConcurrent(total = 200, concurrency = 20): Promise<GoalFigure[]> {
  const bed = await startBed({
    scale: SCALE,
    pod: POD,
    namespaces: total / 10,
    perNamespace: 10,
    workers: concurrency,
  });
  try {
    const wait = unavoidableMs(POD, STABLE_SECONDS);
    const result = await manyDrills(bed, total, concurrency, t => drillSpec(t), 300_000);
    const ratios = result.realMs.map(ms => (ms * SCALE) / wait);
    return [
      figure(
        `${total} drills, ${concurrency} at a time: ratio per drill, median`,
        "ratio",
        [percentile(ratios, 50)],
        "<= 1.25",
        `verdicts: ${result.verdicts}`,
      ),
      figure(`  p99 drill`, "ratio", [percentile(ratios, 99)], "<= 1.25"),
      figure(`  slowest drill`, "ratio", [Math.max(...ratios)], "<= 1.25"),
      figure(
        `  our overhead per drill, median (wall - ${wait / SCALE} ms of waits)`,
        "ms real",
        [percentile(result.realMs, 50) - wait / SCALE],
        "-",
      ),
      figure(`  all ${total} drills`, "s real", [result.totalMs / 1000], "-"),
    ];
  } finally {
    await bed.close();
  }
}

/**
 * Drills completed per minute by one operator (20 workers) when pods are ready at once and
 * stableSeconds is 0, at time scale 1: all `total` drills are created together.
 */
export async function benchThroughput(total = 60): Promise<GoalFigure[]> {
  const bed = await startBed({
    scale: 1,
    pod: { pullMs: 0, startMs: 0 },
    namespaces: total / 10,
    perNamespace: 10,
    workers: 20,
  });
  try {
    const keys: string[] = [];
    const start = performance.now();
    bed.targets.forEach((t, i) => {
      createDrill(
        bed.sim,
        t.namespace,
        `fast-${i}`,
        drillSpec(t, { checks: { stableSeconds: 0 } }),
      );
      keys.push(`${t.namespace}/fast-${i}`);
    });
    const { doneAt, verdicts } = await waitForVerdicts(bed.sim, keys, 300_000);
    const lastMs = Math.max(...doneAt.values()) - start;
    return [
      figure(
        `throughput: ${total} drills at once, pods ready at once (scale 1)`,
        "drills/min",
        [(total * 60_000) / lastMs],
        "(none)",
        `verdicts: ${tally(verdicts.values())}; all done in ${(lastMs / 1000).toFixed(1)} s`,
      ),
    ];
  } finally {
    await bed.close();
  }
}

/** Real time of the operator's first write (any verb) to each named drill after `from`. */
function firstWrites(sim: Sim): {
  expect(key: string, from: number): Promise<number>;
  stop(): void;
} {
  const waiting = new Map<string, { from: number; resolve: (ms: number) => void }>();
  const stop = sim.audit.subscribe(e => {
    if (e.source !== "request" || e.resource !== "rollbackdrills") return;
    if (e.verb !== "update" && e.verb !== "patch") return;
    const key = `${e.namespace ?? ""}/${e.name ?? ""}`;
    const w = waiting.get(key);
    if (w === undefined) return;
    waiting.delete(key);
    w.resolve(performance.now() - w.from);
  });
  return {
    expect: (key, from) =>
      new Promise(resolve => {
        waiting.set(key, { from, resolve });
      }),
    stop,
  };
}

/**
 * With 1,000 drills (rerunOnNewRevision, settled) on 1,000 targets watched: the reaction to a
 * burst of 1,000 creations, to single creations, and to a target's rollout completing.
 */
export async function benchReaction(drills = 1000, probes = 50): Promise<GoalFigure[]> {
  const bed = await startBed({
    scale: SCALE,
    pod: { pullMs: 0, startMs: 0 },
    namespaces: drills / 10,
    perNamespace: 10,
    workers: 20,
    revisions: 1,
  });
  const writes = firstWrites(bed.sim);
  try {
    const spec = (t: Target): Record<string, unknown> =>
      drillSpec(t, { rerunOnNewRevision: true, checks: { stableSeconds: 0 } });
    // A burst: every drill created at once (each target has one revision: NoRevisionHistory).
    const start = performance.now();
    const burst = bed.targets.map((t, i) => {
      const key = `${t.namespace}/d-${i}`;
      const reaction = writes.expect(key, start);
      createDrill(bed.sim, t.namespace, `d-${i}`, spec(t));
      return reaction;
    });
    const burstMs = await Promise.all(burst);
    await waitForVerdicts(
      bed.sim,
      bed.targets.map((t, i) => `${t.namespace}/d-${i}`),
      300_000,
    );
    // One creation at a time, with the 1,000 drills settled.
    const created: number[] = [];
    for (let i = 0; i < probes; i++) {
      const t = bed.targets[(i * 37) % bed.targets.length]!;
      const key = `${t.namespace}/probe-${i}`;
      const reaction = writes.expect(key, performance.now());
      createDrill(bed.sim, t.namespace, `probe-${i}`, spec(t));
      created.push(await reaction);
    }
    const rerun = await rolloutReactions(
      bed.sim,
      bed.targets,
      (key, from) => writes.expect(key, from),
      probes / 2,
    );
    return [
      figure(
        `reaction, drill created, ${drills} drills watched: p99`,
        "ms real",
        [percentile(created, 99)],
        "< 100",
        `median ${percentile(created, 50).toFixed(1)} ms over ${probes} creations, one at a time`,
      ),
      figure(
        `reaction, target rolled out (rerunOnNewRevision): p99`,
        "ms real",
        [percentile(rerun, 99)],
        "< 100",
        `median ${percentile(rerun, 50).toFixed(1)} ms over ${rerun.length} deploys, one at a time`,
      ),
      figure(
        `reaction, ${drills} drills created at once: p99`,
        "ms real",
        [percentile(burstMs, 99)],
        "(burst)",
        `median ${percentile(burstMs, 50).toFixed(0)} ms: the queue's back-log, 20 workers`,
      ),
    ];
  } finally {
    writes.stop();
    await bed.close();
  }
}

/**
 * Deploys a new revision of `count` targets, one at a time, and measures from the moment each
 * rollout completes (in the store) to the operator's first write to the drills on that target.
 */
async function rolloutReactions(
  sim: Sim,
  targets: Target[],
  expect: (key: string, from: number) => Promise<number>,
  count: number,
): Promise<number[]> {
  const [image] = pushBuilds(sim, { pullMs: 0, startMs: 0, logLines: ["v2"] }, 1);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const index = (i * 53) % targets.length;
    const t = targets[index]!;
    const existing = sim.store.get(DEPLOYMENTS, t.namespace, t.name)!;
    const spec = structuredClone(existing["spec"]) as {
      template: { spec: { containers: { image: string }[] } };
    };
    spec.template.spec.containers[0]!.image = image!;
    const written = sim.store.update(DEPLOYMENTS, { ...existing, spec }, ADMIN);
    const generation = written.metadata.generation ?? 0;
    const drillKey = `${t.namespace}/d-${index}`;
    let reaction: Promise<number> | undefined;
    await waitFor(
      sim,
      `rollout of ${t.namespace}/${t.name}`,
      () => {
        const d = sim.store.get(DEPLOYMENTS, t.namespace, t.name);
        if (!isRolledOut(d, generation)) return undefined;
        reaction = expect(drillKey, performance.now());
        return true;
      },
      60_000,
    );
    if (reaction !== undefined) out.push(await reaction);
  }
  return out;
}
