/**
 * Issue 7 (a) and (b), a reduced batch (`npm run soak` runs the full one): the catalogue's
 * scenarios drilled while the simulator fails ~5% of every verb (429 with Retry-After, 500, 503,
 * 409), adds latency, drops and expires watches and "restarts"; then while the operator is killed
 * at random points and restarted. Every drill reaches its scenario's verdict, once, with at most
 * one sandbox, and none is left over.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Sim } from "../../src/sim/index.ts";
import { startSimWithDrills } from "../kit/index.ts";
import { runBatch, setUpBatch } from "./harness.ts";

describe("drills under API faults and crashes", () => {
  let sim: Sim | undefined;
  afterEach(async () => {
    await sim?.close();
    sim = undefined;
  });

  it("reach the right verdicts, once each, with no sandbox left, under API faults", async () => {
    sim = await startSimWithDrills({ timeScale: 1000, faultSeed: 11 });
    const planned = await setUpBatch(sim, { count: 12, prefix: "faults" });
    const report = await runBatch(sim, planned, { faults: true, kills: 0 });
    expect(report.wrong).toEqual([]);
    expect(report).toMatchObject({ drills: 12, correct: 12, orphans: 0, duplicateRuns: 0 });
    // The faults really happened: dozens of failed requests the operator rode out.
    expect(report.apiErrorsInjected).toBeGreaterThan(10);
  }, 60_000);

  it("reach the right verdicts, once each, when the operator is killed again and again", async () => {
    sim = await startSimWithDrills({ timeScale: 1000 });
    const planned = await setUpBatch(sim, { count: 12, prefix: "crash" });
    const report = await runBatch(sim, planned, {
      faults: false,
      kills: 6,
      killEveryMs: [20, 150],
    });
    expect(report.wrong).toEqual([]);
    expect(report).toMatchObject({ drills: 12, correct: 12, orphans: 0, duplicateRuns: 0 });
    expect(report.restarts).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it("survive faults and crashes together", async () => {
    sim = await startSimWithDrills({ timeScale: 1000, faultSeed: 5 });
    const planned = await setUpBatch(sim, { count: 6, prefix: "both", first: 3 });
    const report = await runBatch(sim, planned, {
      faults: true,
      kills: 4,
      killEveryMs: [30, 200],
      seed: 3,
    });
    expect(report.wrong).toEqual([]);
    expect(report).toMatchObject({ drills: 6, correct: 6, orphans: 0, duplicateRuns: 0 });
  }, 60_000);
});
