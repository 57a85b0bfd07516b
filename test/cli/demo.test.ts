import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { demoCommand, parseDemoFlags, runDemo, type DemoOptions } from "../../src/cli/demo.ts";
import type { Io } from "../../src/cli/io.ts";
import { SCENARIOS, type Scenario } from "../../src/scenarios/catalog.ts";
import { Cluster } from "../../src/scenarios/cluster.ts";

const run = promisify(execFile);

/** An Io that keeps what the command wrote, and can wait for a line. */
function captureIo(): Io & { lines: string[]; text(): string; line(re: RegExp): Promise<string> } {
  const lines: string[] = [];
  const waiters: { re: RegExp; resolve: (line: string) => void }[] = [];
  const out = (line: string): void => {
    for (const l of line.split("\n")) {
      lines.push(l);
      for (const w of waiters.filter(x => x.re.test(l))) w.resolve(l);
    }
  };
  return {
    lines,
    out,
    err: out,
    text: () => lines.join("\n"),
    line: re =>
      new Promise(resolve => {
        const found = lines.find(l => re.test(l));
        if (found !== undefined) resolve(found);
        else waiters.push({ re, resolve });
      }),
  };
}

/** Fast settings: a high time scale and short stable windows; plain output (not a terminal). */
const FAST: DemoOptions = {
  keep: false,
  timeScale: 50,
  color: true,
  tty: false,
  stableSeconds: 5,
  timeoutMs: 25_000,
};

const scenario = (name: string): Scenario => {
  const found = SCENARIOS.find(s => s.name === name);
  if (found === undefined) throw new Error(`no scenario ${name}`);
  return found;
};

describe("rollback-drill demo", () => {
  it("drills every scenario side by side and exits 0 when each reaches its verdict", async () => {
    const io = captureIo();
    const code = await runDemo(FAST, io);
    expect(code, io.text()).toBe(0);
    for (const s of SCENARIOS) {
      const { verdict, reason } = s.expected;
      const verdictLine = new RegExp(`^${s.name}\\s+${verdict} ${reason}\\s+as expected\\s`);
      expect(
        io.lines.some(l => verdictLine.test(l)),
        `${s.name}: ${verdict} ${reason}`,
      ).toBe(true);
      // Its lesson is in the summary.
      expect(io.text().replace(/\s+/g, " ")).toContain(s.lesson);
    }
    // Plain output: no escape codes, and the final table has kubectl's columns.
    expect(io.text()).not.toContain("\u001b[");
    expect(io.lines).toContainEqual(
      expect.stringMatching(/^NAME\s+TARGET\s+PHASE\s+VERDICT\s+REASON\s+FROM\s+TO\s+RTO$/),
    );
    expect(io.lines).toContainEqual(
      expect.stringMatching(
        /^latest-api\s+latest-api\s+\S+\s+Failed\s+SameDigest\s+2\s+1\s+[\d.]+s$/,
      ),
    );
    expect(io.lines.at(-1)).toBe(
      `All ${String(SCENARIOS.length)} drills reached the verdicts their scenarios should give.`,
    );
  });

  it("exits 1 naming a drill that did not reach its scenario's verdict", async () => {
    const wrong: Scenario = {
      ...scenario("pinned-web"),
      expected: { verdict: "Failed", reason: "SameDigest" },
    };
    const io = captureIo();
    const code = await runDemo({ ...FAST, scenarios: [wrong, scenario("no-history-search")] }, io);
    expect(code).toBe(1);
    expect(io.lines).toContainEqual(
      expect.stringMatching(/^pinned-web\s+Passed Passed\s+UNEXPECTED/),
    );
    expect(io.lines.at(-1)).toMatch(
      /^1 of 2 drills did not reach their expected verdicts: pinned-web \(expected Failed SameDigest: expected Failed\/SameDigest, got Passed\/Passed\)$/,
    );
  });

  it("--keep serves the simulator and prints a kubectl line that works, until interrupted", async () => {
    const io = captureIo();
    let release = (): void => undefined;
    const interrupted = new Promise<void>(resolve => {
      release = resolve;
    });
    const demo = runDemo(
      { ...FAST, keep: true, scenarios: [scenario("latest-api")], interrupted: () => interrupted },
      io,
    );
    try {
      const line = await io.line(/KUBECONFIG=\S+ kubectl get rollbackdrills -A/);
      const kubeconfig = /KUBECONFIG=(\S+)/.exec(line)?.[1] ?? "";
      // The printed kubeconfig reaches the kept simulator with the drill and its verdict.
      const drills = await new Cluster({ kubeconfig }).listDrills("production");
      expect(drills.map(d => [d.metadata.name, d.status?.reason])).toEqual([
        ["latest-api", "SameDigest"],
      ]);
      if (existsSync("/usr/bin/kubectl") || process.env["KUBECTL"] !== undefined) {
        const { stdout } = await run(
          process.env["KUBECTL"] ?? "kubectl",
          ["get", "rollbackdrills", "-A"],
          {
            env: { ...process.env, KUBECONFIG: kubeconfig },
          },
        );
        expect(stdout).toMatch(
          /^NAMESPACE\s+NAME\s+TARGET\s+PHASE\s+VERDICT\s+REASON\s+FROM\s+TO\s+RTO/,
        );
        expect(stdout).toMatch(
          /production\s+latest-api\s+latest-api\s+\w+\s+Failed\s+SameDigest\s+2\s+1\s/,
        );
      }
    } finally {
      release();
    }
    expect(await demo).toBe(0);
  });

  it("names a bad flag and exits 2", async () => {
    expect(() => parseDemoFlags(["--time-scale", "fast"])).toThrow(/--time-scale: "fast"/);
    expect(parseDemoFlags(["--keep", "--no-color", "--time-scale", "30"])).toEqual({
      keep: true,
      timeScale: 30,
      color: false,
    });
    const io = captureIo();
    expect(await demoCommand(["--bogus"], io)).toBe(2);
    expect(io.text()).toMatch(/bogus.*\(see 'rollback-drill demo --help'\)$/);
    expect(io.text()).not.toContain("Usage:");
  });
});
