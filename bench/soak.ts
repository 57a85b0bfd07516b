/**
 * `npm run soak`: the full reliability batches of issue 7 against the in-process simulator at a
 * time scale of 100: (1) 100 drills over the catalogue's scenarios while the simulator fails ~5%
 * of every verb (429 with Retry-After, 500, 503, 409), adds latency, drops and expires watches
 * and "restarts" every half second; (2) the same 100-drill batch while the operator is killed
 * (no drain, no lease release, all state dropped) and restarted 30 times. For each it prints:
 * drills run, verdicts correct, orphans, duplicate runs, operator restarts, API errors injected,
 * wall time. Exit code 1 when any figure is wrong.
 *
 *   npm run soak [-- --drills N] [--kills N] [--batch faults|crashes]
 */
import { parseArgs } from "node:util";
import {
  runBatch,
  setUpBatch,
  startSimWithDrills,
  type BatchReport,
  type RunBatchOptions,
} from "../test/reliability/harness.ts";

const { values } = parseArgs({
  options: {
    drills: { type: "string", default: "100" },
    kills: { type: "string", default: "30" },
    batch: { type: "string" },
  },
});
const drills = Number(values.drills);
const kills = Number(values.kills);

function print(title: string, r: BatchReport): void {
  console.log(`\n${title}`);
  const rows: [string, string | number][] = [
    ["drills run", r.drills],
    ["verdicts correct", `${r.correct}/${r.drills}`],
    ["orphans (sandboxes left)", r.orphans],
    ["duplicate runs", r.duplicateRuns],
    ["operator restarts", r.restarts],
    ["API errors injected", r.apiErrorsInjected],
    ["API requests", r.apiRequests],
    ["wall time", `${(r.wallMs / 1000).toFixed(1)} s`],
  ];
  for (const [name, value] of rows) console.log(`  ${name.padEnd(28)} ${String(value)}`);
  for (const w of r.wrong)
    console.log(`  WRONG ${w.drill}: expected ${w.expected}, got ${w.actual}`);
}

async function batch(title: string, prefix: string, options: RunBatchOptions): Promise<boolean> {
  // A time scale of 100: a batch of 100 drills shares the host, and each run's simulated
  // timeout (a day, the schema's most) must not run out while it waits for a worker.
  const sim = await startSimWithDrills({ timeScale: 100, faultSeed: 42 });
  try {
    const planned = await setUpBatch(sim, { count: drills, prefix });
    const report = await runBatch(sim, planned, { timeoutMs: 600_000, ...options });
    print(title, report);
    return report.correct === report.drills && report.orphans === 0 && report.duplicateRuns === 0;
  } finally {
    await sim.close();
  }
}

let ok = true;
if (values.batch === undefined || values.batch === "faults")
  ok =
    (await batch(`Fault batch: ${drills} drills, ~5% API errors on every verb`, "soak-f", {
      faults: true,
      kills: 0,
      maxConcurrentDrills: 8,
    })) && ok;
if (values.batch === undefined || values.batch === "crashes")
  ok =
    (await batch(`Crash batch: ${drills} drills, ${kills} operator kills`, "soak-c", {
      faults: false,
      kills,
      // Spaced so that all the kills land while the batch is still running (it settles in ~9 s).
      killEveryMs: [40, 200],
      maxConcurrentDrills: 8,
    })) && ok;
process.exitCode = ok ? 0 : 1;
