/**
 * Every command that talks to a cluster, run as a process the way a user runs it: an unreachable
 * cluster, a missing or broken kubeconfig and a refused credential each give one line on stderr
 * (no stack trace, no Node warning), nothing on stdout, and exit 2, as the help texts say. A bad
 * flag gives one line with a hint to --help, not the usage.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN } from "../../src/sim/kubeconfig.ts";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";

const MAIN = fileURLToPath(new URL("../../src/cli/main.ts", import.meta.url));

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string> = {}): Promise<Exit> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.once("exit", code => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const COMMANDS: Record<string, string[]> = {
  plan: ["plan", "-n", "shop", "--target", "deployment/web"],
  run: ["run", "-n", "shop", "--target", "deployment/web", "--wait", "--timeout", "30s"],
  operator: ["operator", "--metrics-bind-address", "0", "--health-probe-bind-address", "0"],
};

describe("a command that cannot reach or use the cluster", () => {
  let sim: Sim;
  let dir: string;
  const files: Record<string, string> = {};
  const said: Record<string, RegExp> = {
    unreachable: /cannot reach the cluster/,
    missing: /cannot load the kubeconfig .*missing\.kubeconfig: ENOENT/,
    broken: /cannot load the kubeconfig .*broken\.kubeconfig: /,
    refused: /the cluster rejected the credentials/,
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "rbd-cli-errors-"));
    sim = await startSimWithDrills({ timeScale: 1000 });
    const refused = sim.kubeconfig.replace(ADMIN_TOKEN, "not-a-token");
    expect(refused).not.toBe(sim.kubeconfig);
    // A port nothing listens on: the simulator's own, once closed.
    const gone = await startSimWithDrills({ timeScale: 1000 });
    const unreachable = gone.kubeconfig;
    await gone.close();
    for (const [name, text] of Object.entries({
      unreachable,
      refused,
      broken: "clusters: [\n  - name: x\n",
    })) {
      files[name] = join(dir, `${name}.kubeconfig`);
      writeFileSync(files[name], text);
    }
    files["missing"] = join(dir, "missing.kubeconfig");
  });

  afterAll(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cases = Object.keys(COMMANDS).flatMap(command =>
    ["unreachable", "missing", "broken", "refused"].map(kind => [command, kind] as const),
  );

  it.each(cases)("%s, kubeconfig %s: one line, exit 2", async (command, kind) => {
    const exit = await runCli([...(COMMANDS[command] ?? []), "--kubeconfig", files[kind] ?? ""]);
    const context = JSON.stringify(exit);
    expect(exit.code, context).toBe(2);
    expect(exit.stdout, context).toBe("");
    const lines = exit.stderr.trimEnd().split("\n");
    expect(lines, context).toHaveLength(1);
    expect(lines[0], context).toMatch(new RegExp(`^rollback-drill ${command}: `));
    expect(lines[0], context).toMatch(said[kind] as RegExp);
  });

  it("takes KUBECONFIG from the environment as well", async () => {
    const exit = await runCli(COMMANDS["plan"] ?? [], { KUBECONFIG: files["refused"] ?? "" });
    expect(exit.code).toBe(2);
    expect(exit.stderr).toMatch(/^rollback-drill plan: the cluster rejected the credentials/);
  });
});

describe("a bad flag", () => {
  it.each([
    [["run", "-n", "shop", "--target", "deployment/web", "--bogus"], "run", /bogus/],
    [["plan", "-n", "shop"], "plan", /--target is required/],
    [["operator", "--max-concurrent-drills", "0"], "operator", /--max-concurrent-drills/],
    [["sim", "--time-scale", "0"], "sim", /--time-scale: "0" must be a number greater than 0/],
    [
      ["demo", "--time-scale", "0"],
      "demo",
      /--time-scale: "0" must be a number greater than 0 and at most 1000/,
    ],
  ])("%j: one line naming it and a hint to --help, exit 2", async (argv, command, message) => {
    const exit = await runCli(argv);
    expect(exit.code).toBe(2);
    expect(exit.stdout).toBe("");
    const lines = exit.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(lines[0]).toMatch(new RegExp(`\\(see 'rollback-drill ${command} --help'\\)$`));
    expect(exit.stderr).not.toContain("Usage:");
  });

  it("an unknown command: one line and a hint to --help", async () => {
    const exit = await runCli(["rollback"]);
    expect(exit.code).toBe(2);
    expect(exit.stderr.trimEnd()).toBe(
      `rollback-drill: unknown command "rollback" (see 'rollback-drill --help')`,
    );
  });
});
