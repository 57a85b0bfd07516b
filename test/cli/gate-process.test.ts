/**
 * The CD gate as a pipeline runs it: `rollback-drill run` as a separate process, 50 times in a
 * row over passing, failing, erroring, not-waiting, standalone and timing-out drills. Each must
 * exit on its own, within its --timeout, with the documented code (0 Passed or started, 1 Failed,
 * 2 could not run), and without the entry point's last resort (ending a process that outlived its
 * answer): what kept it alive was a watch opened after its informer had been stopped.
 *
 * The simulators and the operator run in this process at time scale 1000; the gate on the real
 * clock.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXIT_GRACE_MS } from "../../src/cli/main.ts";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";
import {
  createDrill,
  createNamespace,
  deploy,
  getDrill,
  startScenario,
  type Scenario,
} from "../controller/scenario-helpers.ts";
import { NS, REPO, pinnedTwoRevisions } from "./gate-helpers.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));
const RUNS = 50;
const LANES = 2;

interface Exit {
  code: number | null;
  /** True when the harness had to kill it: it did not exit by itself in time. */
  killed: boolean;
  output: string;
}

/** Runs the CLI; kills it only if it is still there `deadlineMs` after it started. */
function runCli(args: string[], deadlineMs: number): Promise<Exit> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let killed = false;
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      child.kill("SIGKILL");
    }, deadlineMs);
    child.once("exit", code => {
      clearTimeout(timer);
      resolve({ code, killed, output });
    });
  });
}

interface Kind {
  name: string;
  /** The documented exit code. */
  code: number;
  /** What stdout or stderr must say. */
  says: RegExp;
  args: (lane: number) => string[];
  /** The gate's --timeout, in seconds. */
  timeoutS: number;
  before?: (lane: number) => void;
}

describe("rollback-drill run as a separate process", () => {
  let withOperator: Scenario;
  let noOperator: Sim;
  let dir: string;
  let kinds: Kind[];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rbd-gate-"));
    withOperator = await startScenario();
    noOperator = await startSimWithDrills({ timeScale: 1000 });
    const operatorKc = join(dir, "operator.kubeconfig");
    const aloneKc = join(dir, "alone.kubeconfig");
    writeFileSync(operatorKc, withOperator.sim.kubeconfig);
    writeFileSync(aloneKc, noOperator.kubeconfig);
    for (const sim of [withOperator.sim, noOperator]) {
      createNamespace(sim, NS);
      await pinnedTwoRevisions(sim, "web");
    }
    const flat = withOperator.sim.world.images.push(REPO, "flat-1.0");
    await deploy(withOperator.sim, NS, "flat", `${REPO}@${flat}`, { revisionHistoryLimit: 0 });
    // The passing drills beforehand, with the stable window short and the run's limit generous.
    for (let lane = 0; lane < LANES; lane++)
      createDrill(withOperator.sim, NS, `passed-${String(lane)}`, {
        targetRef: { kind: "Deployment", name: "web" },
        checks: { stableSeconds: 5 },
      });
    const gate = (kubeconfig: string, target: string, name: string, ...more: string[]) => [
      "run",
      "-n",
      NS,
      "--target",
      `deployment/${target}`,
      "--name",
      name,
      "--kubeconfig",
      kubeconfig,
      ...more,
    ];
    kinds = [
      {
        name: "passed",
        code: 0,
        says: /^Verdict: +Passed \(Passed\)$/m,
        timeoutS: 30,
        args: lane =>
          gate(operatorKc, "web", `passed-${String(lane)}`, "--wait", "--timeout", "30s"),
      },
      {
        name: "failed (no history)",
        code: 1,
        says: /^Verdict: +Failed \(NoRevisionHistory\)$/m,
        timeoutS: 30,
        args: lane =>
          gate(operatorKc, "flat", `flat-${String(lane)}`, "--wait", "--timeout", "30s"),
      },
      {
        name: "error (missing target)",
        code: 2,
        says: /^Verdict: +Error \(TargetNotFound\)$/m,
        timeoutS: 30,
        args: lane =>
          gate(operatorKc, "ghost", `ghost-${String(lane)}`, "--wait", "--timeout", "30s"),
      },
      {
        name: "started (no --wait)",
        code: 0,
        says: /^Phase: +\w+$/m,
        timeoutS: 30,
        args: lane => gate(operatorKc, "web", `nowait-${String(lane)}`, "--timeout", "30s"),
      },
      {
        name: "timed out (no operator)",
        code: 2,
        says: /^rollback-drill run: timed out after 1s waiting for the run/m,
        timeoutS: 1,
        args: lane => gate(aloneKc, "web", `late-${String(lane)}`, "--wait", "--timeout", "1s"),
      },
      {
        name: "standalone",
        code: 0,
        says: /^Verdict: +Passed \(Passed\)$/m,
        timeoutS: 30,
        // The engine runs on the gate's real clock: a short stable window, made beforehand
        // (the gate deletes its drill when done).
        before: lane => {
          createDrill(noOperator, NS, `alone-${String(lane)}`, {
            targetRef: { kind: "Deployment", name: "web" },
            checks: { stableSeconds: 1 },
          });
        },
        args: lane =>
          gate(aloneKc, "web", `alone-${String(lane)}`, "--standalone", "--timeout", "30s"),
      },
    ];
  });

  afterAll(async () => {
    await withOperator.close();
    await noOperator.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`exits with the documented code within its timeout, ${String(RUNS)} times in a row`, async () => {
    const results: { kind: string; exit: Exit }[] = [];
    const lane = async (n: number): Promise<void> => {
      for (let i = n; i < RUNS; i += LANES) {
        const kind = kinds[i % kinds.length] as Kind;
        kind.before?.(n);
        // Its own timeout, the entry point's grace, and Node's start-up on a loaded host.
        const exit = await runCli(kind.args(n), kind.timeoutS * 1000 + EXIT_GRACE_MS + 10_000);
        results.push({ kind: kind.name, exit });
      }
    };
    await Promise.all(Array.from({ length: LANES }, (_, n) => lane(n)));
    expect(results).toHaveLength(RUNS);
    for (const { kind, exit } of results) {
      const spec = kinds.find(k => k.name === kind) as Kind;
      const context = `${kind}:\n${exit.output}`;
      expect(exit.killed, context).toBe(false);
      expect(exit.code, context).toBe(spec.code);
      expect(exit.output, context).toMatch(spec.says);
      expect(exit.output, context).not.toMatch(/still running .* after the answer/);
    }
    // Every kind ran several times.
    for (const k of kinds) expect(results.filter(r => r.kind === k.name).length).toBeGreaterThan(5);
    // The standalone gates left nothing behind.
    for (let n = 0; n < LANES; n++)
      expect(getDrill(noOperator, NS, `alone-${String(n)}`)).toBeUndefined();
  }, 180_000);
});
