/**
 * The kubeconfig backend end to end, as a user would run it: `rollback-drill sim` in one process
 * writes a kubeconfig, `rollback-drill operator` in another drills against it, and the e2e
 * scenarios run here through that kubeconfig alone (E2E_OPERATOR=deployed: the operator is not
 * ours to start).
 *
 * The simulator runs at time scale 1, the operator on the real clock: the honest pairing, since a
 * separately started operator has no way to share a scaled clock. Drills use stableSeconds 3 so
 * the suite stays fast in real time.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect } from "vitest";
import { buildCrd } from "../src/api/crd.ts";
import { Cluster } from "../src/scenarios/cluster.ts";
import { kubeconfigBackend } from "./backends/kubeconfig.ts";
import { scenarioSuite } from "./suite.ts";

const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));

interface Cli {
  readonly child: ChildProcess;
  /** Everything it wrote, for a failure's message. */
  output(): string;
  /** Resolves with the first line matching `re` (rejects if the process exits first). */
  line(re: RegExp): Promise<string>;
  /** SIGTERM, then resolves with the exit code. */
  stop(): Promise<number | null>;
}

function startCli(args: string[]): Cli {
  const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const waiters: { re: RegExp; resolve: (l: string) => void; reject: (e: Error) => void }[] = [];
  const onData = (chunk: Buffer): void => {
    output += chunk.toString();
    for (const w of [...waiters]) {
      const found = output.split("\n").find(l => w.re.test(l));
      if (found !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(found);
      }
    }
  };
  child.stdout.on("data", onData);
  child.stderr.on("data", onData);
  const exited = new Promise<number | null>(resolve => {
    child.once("exit", code => {
      for (const w of waiters.splice(0))
        w.reject(new Error(`${args[0] ?? ""} exited ${String(code)} first:\n${output}`));
      resolve(code);
    });
  });
  return {
    child,
    output: () => output,
    line: re =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        onData(Buffer.alloc(0));
      }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

describe("kubeconfig backend against `rollback-drill sim` and `rollback-drill operator` processes", () => {
  const dir = mkdtempSync(join(tmpdir(), "rollback-drill-e2e-"));
  const kubeconfig = join(dir, "kubeconfig");
  const processes: Cli[] = [];

  beforeAll(async () => {
    const sim = startCli(["sim", "--port", "0", "--kubeconfig", kubeconfig, "--time-scale", "1"]);
    processes.push(sim);
    await sim.line(/^Simulator ready at http/);
    // What `kubectl apply -f crds/` does before an operator is deployed.
    await new Cluster({ kubeconfig }).applyCrd(buildCrd());
    processes.push(
      startCli([
        "operator",
        "--kubeconfig",
        kubeconfig,
        "--metrics-bind-address",
        "0",
        "--health-probe-bind-address",
        "0",
        "--log-level",
        "warn",
      ]),
    );
  }, 30_000);

  afterAll(async () => {
    // The operator first (the suite has deleted its drills by now), then the simulator.
    const codes: (number | null)[] = [];
    for (const p of processes.reverse()) codes.push(await p.stop());
    rmSync(dir, { recursive: true, force: true });
    // Both shut down cleanly on SIGTERM.
    expect(codes, processes.map(p => p.output()).join("\n")).toEqual([0, 0]);
  }, 30_000);

  scenarioSuite(
    kubeconfigBackend({ kubeconfig, operator: "deployed", stableSeconds: 3 }),
    { ok: true },
    60_000,
  );
});
