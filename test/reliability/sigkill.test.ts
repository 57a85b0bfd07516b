/**
 * Issue 7 (b) with a real process: `rollback-drill operator` runs as a child process against a
 * simulator served from this test, is SIGKILLed in the middle of a run, and a new process
 * finishes that run, once, with one sandbox and none left. The child runs on real time, so the
 * simulator does too (time scale 1) and the drill's stable window is short.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { RUN_PHASES } from "../../src/api/vocabulary.ts";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";
import {
  createDrill,
  getDrill,
  phaseIndex,
  runsOf,
  sandboxNamespaces,
  setUpBatch,
  trackSandboxes,
  waitFor,
  waitSettled,
} from "./harness.ts";
import { operatorArgs } from "../../e2e/cli-process.ts";

const MAIN = new URL("../../src/cli/main.ts", import.meta.url).pathname;

function startChild(kubeconfig: string, stderr: string[]): ChildProcess {
  const child = spawn(process.execPath, [MAIN, ...operatorArgs(kubeconfig)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk.toString()));
  return child;
}

function exited(child: ChildProcess): Promise<NodeJS.Signals | number | null> {
  if (child.exitCode !== null || child.signalCode !== null)
    return Promise.resolve(child.signalCode ?? child.exitCode);
  return new Promise(resolve => {
    child.once("exit", (code, signal) => {
      resolve(signal ?? code);
    });
  });
}

describe("the operator process SIGKILLed mid-run", () => {
  let sim: Sim | undefined;
  let dir: string | undefined;
  const children: ChildProcess[] = [];
  afterEach(async () => {
    for (const child of children) {
      child.kill("SIGKILL");
      await exited(child);
    }
    children.length = 0;
    await sim?.close();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("is restarted and finishes the run once, with one sandbox, none left", async () => {
    sim = await startSimWithDrills({ timeScale: 1 });
    const s = sim;
    dir = await mkdtemp(join(tmpdir(), "rbd-sigkill-"));
    const kubeconfig = join(dir, "kubeconfig");
    await s.writeKubeconfig(kubeconfig);
    const [planned] = await setUpBatch(s, { count: 1, prefix: "sigkill", stableSeconds: 1 });
    if (planned === undefined) throw new Error("no scenario");
    const { namespace, name } = planned.manifest.metadata;
    const tracker = trackSandboxes(s);
    const stderr: string[] = [];

    const first = startChild(kubeconfig, stderr);
    children.push(first);
    createDrill(s, planned.manifest);
    const killedIn = await waitFor(
      s,
      "the run to reach DeployingPrevious",
      () => {
        const drill = getDrill(s, namespace, name);
        if (phaseIndex(drill) < RUN_PHASES.indexOf("DeployingPrevious")) return undefined;
        first.kill("SIGKILL");
        return drill?.status?.currentRun?.phase ?? "finished";
      },
      20_000,
    );
    expect(await exited(first)).toBe("SIGKILL");
    expect(killedIn).not.toBe("finished");

    const second = startChild(kubeconfig, stderr);
    children.push(second);
    const drill = await waitSettled(s, namespace, name, 25_000);
    await waitFor(s, "no sandbox left", () =>
      sandboxNamespaces(s).length === 0 ? true : undefined,
    );
    tracker.stop();
    const run = drill.status?.lastRun;
    expect({ verdict: run?.verdict, reason: run?.reason }, stderr.join("")).toEqual({
      verdict: "Passed",
      reason: "Passed",
    });
    expect(runsOf(s, drill)).toBe(1);
    expect(tracker.byDrill.get(drill.metadata.uid)?.size).toBe(1);
    second.kill("SIGTERM");
    expect(await exited(second)).not.toBe("SIGKILL");
  }, 60_000);
});
