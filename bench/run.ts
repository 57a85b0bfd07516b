/**
 * `npm run bench`: prints the project's performance figures. Nothing here is asserted; the README
 * records the latest figures with the command that produced them.
 */
import { benchSim, type Figure } from "./sim.ts";

function print(title: string, figures: Figure[]): void {
  console.log(`\n${title}`);
  for (const f of figures) {
    const runs = f.runs.map(r => r.toFixed(r >= 100 ? 0 : 1)).join(", ");
    console.log(
      `  ${f.name.padEnd(58)} ${f.value.toFixed(f.value >= 100 ? 0 : 1).padStart(10)} ${f.unit.padEnd(9)} (runs: ${runs})`,
    );
  }
}

const only = process.argv[2];
if (only === undefined || only === "sim") {
  print("Simulator (median of 3 runs)", await benchSim(3));
}
