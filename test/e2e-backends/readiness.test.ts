/**
 * Readiness on a real registry's images: the program writes its ready file when the behaviour
 * says (at once, after readyAfterMs, or never), and READINESS_PROBE is what a pod probes. The
 * scripts run here under busybox's sh, as in the container, with the ready file in a temp dir.
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { READINESS_PROBE, scriptFor } from "../../e2e/backends/oci-registry.ts";
import type { ImageBehaviour } from "../../src/scenarios/cluster.ts";
import { skipReason, start } from "./servers.ts";

const BUSYBOX = "/bin/busybox";
const skip = skipReason([BUSYBOX]);

describe.skipIf(skip !== "")(`ready files${skip ? ` (skipped: ${skip})` : ""}`, () => {
  let dir = "";
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "rbd-ready-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const runFor = async (name: string, behaviour: ImageBehaviour, waitMs: number) => {
    const file = join(dir, name);
    const env = { PATH: "/bin:/usr/bin", READY_FILE: file };
    const proc = start(BUSYBOX, ["sh", "-c", scriptFor(behaviour, name)], env);
    const states: boolean[] = [];
    const began = Date.now();
    while (Date.now() - began < waitMs) {
      states.push(existsSync(file));
      await new Promise(r => setTimeout(r, 100));
    }
    // The probe's own command, as the kubelet would exec it in the container.
    const probe = start(BUSYBOX, [...READINESS_PROBE.exec.command], env);
    const probed = await probe.finished;
    proc.child.kill("SIGTERM");
    await proc.finished;
    return { states, probeCode: probed.code };
  };

  it("a plain program is ready at once", async () => {
    const { states, probeCode } = await runFor("plain", { logLines: ["up"] }, 300);
    expect(states.at(-1)).toBe(true);
    expect(probeCode).toBe(0);
  });

  it("readyAfterMs: not ready first, ready after", async () => {
    const { states, probeCode } = await runFor("slow", { readyAfterMs: 600 }, 1200);
    expect(states[0]).toBe(false);
    expect(states.at(-1)).toBe(true);
    expect(probeCode).toBe(0);
  });

  it("neverReady: runs, and the probe fails", async () => {
    const { states, probeCode } = await runFor(
      "never",
      { neverReady: true, logLines: ["up"] },
      600,
    );
    expect(states.every(s => !s)).toBe(true);
    expect(probeCode).not.toBe(0);
  });
});
