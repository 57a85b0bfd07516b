/**
 * `npm run bench`: prints the project's performance figures, each with its goal where issue 8
 * sets one. Nothing here is asserted; the README records the latest figures with the command that
 * produced them. `npm run bench -- <group>` runs one group: sim, drill, scale, memory, baseline, apart.
 *
 * Drill figures run at time scale SCALE (drill.ts) unless they say otherwise: every real millisecond of
 * overhead counts SCALE simulated ones, so a ratio at scale S is the real-world ratio for pods S
 * times faster than the simulated ones (a pessimistic figure); "ms real" figures are real time.
 */
import { benchApart } from "./apart.ts";
import { benchBaseline } from "./baseline.ts";
import { benchCluster } from "./cluster.ts";
import { benchOneDrill, SCALE, type GoalFigure } from "./drill.ts";
import { benchMemory } from "./memory.ts";
import { benchConcurrent, benchReaction, benchThroughput } from "./scale.ts";
import { benchSim, type Figure } from "./sim.ts";

function print(title: string, figures: (Figure | GoalFigure)[]): void {
  console.log(`\n${title}`);
  for (const f of figures) {
    const runs = f.runs.map(r => r.toFixed(r >= 100 ? 0 : r >= 10 ? 1 : 2)).join(", ");
    const digits = f.value >= 100 ? 0 : f.value >= 10 ? 1 : 2;
    const goal = "goal" in f ? `goal ${f.goal}`.padEnd(14) : "";
    console.log(
      `  ${f.name.padEnd(66)} ${f.value.toFixed(digits).padStart(9)} ${f.unit.padEnd(9)} ${goal} (runs: ${runs})`,
    );
    if ("note" in f) console.log(`      ${f.note}`);
  }
}

const only = process.argv[2];
if (only === undefined || only === "sim") {
  print("Simulator (median of 3 runs)", await benchSim(3));
}
let drillRatio: number | undefined;
if (only === undefined || only === "drill" || only === "baseline") {
  const figures = await benchOneDrill(3);
  drillRatio = figures[0]?.value;
  print(`Drill engine: one drill (time scale ${SCALE}; median of 3 runs after a warm-up)`, figures);
}
if (only === undefined || only === "baseline") {
  print(
    "Baseline: the same rehearsal by hand with kubectl (median of 3 runs)",
    await benchBaseline(3, drillRatio),
  );
}
if (only === undefined || only === "scale") {
  print(`Drill engine at scale (time scale ${SCALE} unless stated)`, [
    ...(await benchConcurrent()),
    ...(await benchThroughput()),
    ...(await benchReaction()),
  ]);
}
if (only === undefined || only === "memory") {
  print(
    "Operator memory (its own process, time scale 1; from source, then the compiled build)",
    await benchMemory(),
  );
}
if (only === undefined || only === "apart") {
  print(
    "Apart: simulator and operator (compiled build) in their own processes, time scale 1 (median of 3 runs after a warm-up where repeated)",
    await benchApart(3),
  );
}
if (only === "cluster") {
  print(
    "Real cluster: the operator installed from config/, drills against their physical floor (median of 3 after a warm-up)",
    await benchCluster(3),
  );
}
