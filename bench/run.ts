/**
 * `npm run bench`: prints the project's performance figures, each with its goal where issue 8
 * sets one. Nothing here is asserted; the README records the latest figures with the command that
 * produced them. `npm run bench -- <group>` runs one group: sim, drill.
 */
import { benchOneDrill, type GoalFigure } from "./drill.ts";
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
if (only === undefined || only === "drill") {
  print("Drill engine: one drill (median of 3 runs after a warm-up)", await benchOneDrill(3));
}
