/**
 * Continuous rehearsal on the simulator (issue 5): every trigger through the real adapter, the
 * operator on the simulator's scaled clock (1000x: a simulated minute is 60 ms).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { findCondition } from "../../src/api/conditions.ts";
import type { RollbackDrill, RunSummary } from "../../src/api/types.ts";
import { RUN_NOW_ANNOTATION } from "../../src/api/vocabulary.ts";
import { ADMIN, waitFor, waitForPass } from "../kit/index.ts";
import {
  createDrill,
  createNamespace,
  deploy,
  DEPLOYMENTS,
  deploymentObject,
  DRILLS,
  getDrill,
  startScenario,
  waitForVerdict,
  type Scenario,
} from "./scenario-helpers.ts";

const REPO = "registry.example.com/shop/web";
const NS = "shop";

function drillOf(s: Scenario, name: string): RollbackDrill {
  const drill = getDrill(s.sim, NS, name);
  if (drill === undefined) throw new Error(`drill ${name} not found`);
  return drill;
}

/** Finished runs, oldest first. */
function finished(s: Scenario, name: string): RunSummary[] {
  return [...(drillOf(s, name).status?.history ?? [])].reverse();
}

/** Waits until the drill has `count` finished runs and no run in flight; returns them, oldest first. */
async function waitForRuns(s: Scenario, name: string, count: number): Promise<RunSummary[]> {
  return waitFor(
    s.sim,
    `drill ${name} to have ${String(count)} finished runs and none in flight`,
    () => {
      const status = drillOf(s, name).status;
      const runs = finished(s, name);
      if (runs.length < count || status?.currentRun !== undefined)
        throw new Error(
          `${String(runs.length)}/${String(count)} runs: ${JSON.stringify(status?.currentRun ?? null)}`,
        );
      return runs;
    },
    15_000,
  );
}

function annotate(s: Scenario, name: string, annotations: Record<string, string>): void {
  s.sim.store.patch(DRILLS, NS, name, "merge", { metadata: { annotations } }, ADMIN);
}

function patchSpec(s: Scenario, name: string, spec: Record<string, unknown>): void {
  s.sim.store.patch(DRILLS, NS, name, "merge", { spec }, ADMIN);
}

/** Pinned images 1..n of the app, by digest. */
function pushImages(s: Scenario, n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => `${REPO}@${s.sim.world.images.push(REPO, `${String(i + 1)}.0`)}`,
  );
}

/**
 * The target at revision 2 of pinned images, with drill `name` (these spec fields, passing
 * checks) through its first run; returns the image for a third deploy.
 */
async function drilledAtRevision2(
  s: Scenario,
  name: string,
  spec: Record<string, unknown> = {},
): Promise<string> {
  const [v1, v2, v3] = pushImages(s, 3);
  await deploy(s.sim, NS, "web", v1 ?? "");
  await deploy(s.sim, NS, "web", v2 ?? "");
  createDrill(s.sim, NS, name, {
    targetRef: { kind: "Deployment", name: "web" },
    ...spec,
    checks: PASSING,
  });
  await waitForRuns(s, name, 1);
  return v3 ?? "";
}

/** Updates the target's image and waits only until the controller has seen it (a new revision). */
async function startDeploy(s: Scenario, image: string): Promise<void> {
  const existing = s.sim.store.get(DEPLOYMENTS, NS, "web");
  if (existing === undefined) throw new Error("no target");
  const desired = deploymentObject(NS, "web", image);
  const written = s.sim.store.update(DEPLOYMENTS, { ...existing, spec: desired["spec"] }, ADMIN);
  await waitForPass(s.sim, "the deployment controller to observe the new spec of web", () => {
    const status = s.sim.store.get(DEPLOYMENTS, NS, "web")?.["status"] as
      { observedGeneration?: number } | undefined;
    if ((status?.observedGeneration ?? 0) < (written.metadata.generation ?? 0))
      throw new Error("not observed yet");
  });
}

/** The target's Progressing condition (lastUpdateTime: when the rollout last moved or completed). */
function progressingOf(s: Scenario): { reason?: string; lastUpdateTime?: string } | undefined {
  const status = s.sim.store.get(DEPLOYMENTS, NS, "web")?.["status"] as
    { conditions?: { type: string; reason?: string; lastUpdateTime?: string }[] } | undefined;
  return status?.conditions?.find(c => c.type === "Progressing");
}

function revisionOf(s: Scenario): number {
  const annotations = s.sim.store.get(DEPLOYMENTS, NS, "web")?.metadata.annotations;
  return Number(annotations?.["deployment.kubernetes.io/revision"]);
}

/** Waits until the simulated clock has passed `ms` (epoch milliseconds): a timer on that clock. */
async function untilSimTime(s: Scenario, ms: number): Promise<void> {
  await new Promise<void>(resolve => {
    s.sim.clock.setTimeout(resolve, Math.max(0, ms - s.sim.clock.nowMs()));
  });
}

/** Generous timeouts: a loaded host stalls the scaled clock, and a slow run must not fail. */
const PASSING = { stableSeconds: 5, timeoutSeconds: 3600 };

describe("triggers on the simulator", () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await startScenario();
    createNamespace(s.sim, NS);
  });
  afterEach(async () => {
    await s.close();
  });

  it("runs on schedule, on time, and publishes nextRunTime", async () => {
    // At time scale 100 (not 1000) a host stall of up to 600 ms still lands within a minute of
    // the slot, so "on time" is measurable on a loaded machine.
    await s.close();
    s = await startScenario({ timeScale: 100 });
    createNamespace(s.sim, NS);
    // One revision: every run ends at once (NoRevisionHistory), so none delays the next.
    const [v1] = pushImages(s, 1);
    await deploy(s.sim, NS, "web", v1 ?? "");
    createDrill(s.sim, NS, "cron", {
      targetRef: { kind: "Deployment", name: "web" },
      schedule: "* * * * *",
    });
    // Read the next slot at a quiet moment: the creation run finished, nothing running or queued.
    // (Under a host stall at 1000x the creation run can outlast a slot; that slot then runs as a
    // queued run, which is right, and the slot published during it is the one after.)
    const { due, seen } = await waitFor(
      s.sim,
      "drill cron at rest with its next run published",
      () => {
        const status = drillOf(s, "cron").status;
        const next = Date.parse(status?.nextRunTime ?? "");
        if (status?.currentRun !== undefined || status?.queuedTrigger !== undefined)
          throw new Error("a run is in flight or queued");
        if (!Number.isFinite(next)) throw new Error("no nextRunTime yet");
        return { due: next, seen: finished(s, "cron").length };
      },
      15_000,
    );
    expect(seen).toBeGreaterThanOrEqual(1);
    expect(finished(s, "cron")[0]?.trigger).toBe("Created");
    expect(due % 60_000).toBe(0);
    expect(due).toBeGreaterThan(s.sim.clock.nowMs() - 10_000);
    const runs = await waitFor(
      s.sim,
      "drill cron to finish a scheduled run",
      () => {
        const all = finished(s, "cron");
        if (all.length <= seen) throw new Error("no scheduled run yet");
        return all;
      },
      15_000,
    );
    const scheduled = runs[seen];
    expect(scheduled?.trigger).toBe("Schedule");
    const started = Date.parse(scheduled?.startTime ?? "");
    // On time: not before the due time, and within cron's granularity (a minute) after it; at
    // 1000x a millisecond of host stall is a simulated second.
    expect(started).toBeGreaterThanOrEqual(due);
    expect(started - due).toBeLessThan(60_000);
    // The next slot is published: a later minute.
    const next = Date.parse(drillOf(s, "cron").status?.nextRunTime ?? "");
    expect(next % 60_000).toBe(0);
    expect(next).toBeGreaterThan(due);
  });

  it("re-drills once after a deploy has rolled out, and RollbackReady follows", async () => {
    const v3 = await drilledAtRevision2(s, "every", { rerunOnNewRevision: true });
    const ready = (): string | undefined =>
      findCondition(drillOf(s, "every").status?.conditions, "RollbackReady")?.status;
    expect(ready()).toBe("True");
    // The deploy: RollbackReady goes False at once, while revision 3 is still rolling out.
    await startDeploy(s, v3);
    const sawFalse = await waitFor(
      s.sim,
      "drill every to turn RollbackReady False",
      () => {
        const condition = findCondition(drillOf(s, "every").status?.conditions, "RollbackReady");
        if (condition?.status !== "False") throw new Error(JSON.stringify(condition));
        return condition;
      },
      10_000,
    );
    await deploy(s.sim, NS, "web", v3);
    const rolledOut = Date.parse(progressingOf(s)?.lastUpdateTime ?? "");
    expect(Date.parse(sawFalse.lastTransitionTime)).toBeLessThan(rolledOut);
    expect(sawFalse.reason).toBe("NotRehearsed");
    const runs = await waitForRuns(s, "every", 2);
    expect(runs.map(r => r.trigger)).toEqual(["Created", "NewRevision"]);
    const redrill = runs[1];
    expect({ from: redrill?.fromRevision, to: redrill?.toRevision }).toEqual({ from: 3, to: 2 });
    expect(redrill?.verdict, drillOf(s, "every").status?.lastRun?.message).toBe("Passed");
    // The re-drill started only once revision 3 was fully rolled out.
    expect(Date.parse(redrill?.startTime ?? "")).toBeGreaterThanOrEqual(rolledOut);
    expect(ready()).toBe("True");
    expect(drillOf(s, "every").status?.observedTargetRevision).toBe(3);
  });

  it("turns ten rapid deploys into at most two re-drills", async () => {
    const images = pushImages(s, 12);
    await deploy(s.sim, NS, "web", images[0] ?? "");
    await deploy(s.sim, NS, "web", images[1] ?? "");
    createDrill(s.sim, NS, "burst", {
      targetRef: { kind: "Deployment", name: "web" },
      rerunOnNewRevision: true,
      checks: PASSING,
    });
    await waitForRuns(s, "burst", 1);
    // Ten deploys, each started (its ReplicaSet created) before the previous one has rolled out.
    for (const image of images.slice(2, 11)) await startDeploy(s, image);
    await deploy(s.sim, NS, "web", images[11] ?? "");
    expect(revisionOf(s)).toBe(12);
    // Revision 12 is out; whatever the re-drills did, the last one rehearses it.
    const runs = await waitFor(
      s.sim,
      "drill burst at rest with revision 12 rehearsed",
      () => {
        const all = finished(s, "burst");
        const status = drillOf(s, "burst").status;
        if (status?.currentRun !== undefined || status?.queuedTrigger !== undefined)
          throw new Error("still running");
        if (all.at(-1)?.fromRevision !== 12) throw new Error(JSON.stringify(all.at(-1)));
        return all;
      },
      15_000,
    );
    const redrills = runs.filter(r => r.trigger === "NewRevision");
    expect(redrills.length).toBeGreaterThanOrEqual(1);
    expect(redrills.length).toBeLessThanOrEqual(2);
    expect(runs).toHaveLength(1 + redrills.length);
    expect(drillOf(s, "burst").status?.runCount).toBe(runs.length);
  });

  it("runs once per run-now annotation value", async () => {
    await drilledAtRevision2(s, "poke");
    annotate(s, "poke", { [RUN_NOW_ANNOTATION]: "a" });
    const runs = await waitForRuns(s, "poke", 2);
    expect(runs[1]?.trigger).toBe("RunNow");
    expect(drillOf(s, "poke").status?.lastRunNowToken).toBe("a");
    // The same value again (with another change to wake the operator): no run.
    annotate(s, "poke", { [RUN_NOW_ANNOTATION]: "a", unrelated: "1" });
    const until = s.sim.clock.nowMs() + 120_000;
    await untilSimTime(s, until);
    // A new value after that: one more run.
    annotate(s, "poke", { [RUN_NOW_ANNOTATION]: "b" });
    const after = await waitForRuns(s, "poke", 3);
    expect(after.map(r => r.trigger)).toEqual(["Created", "RunNow", "RunNow"]);
    // Each run names the value it answers (the CD gate waits on it).
    expect(after.map(r => r.runNowToken)).toEqual([undefined, "a", "b"]);
    expect(Date.parse(after[2]?.startTime ?? "")).toBeGreaterThanOrEqual(until);
    expect(drillOf(s, "poke").status?.runCount).toBe(3);
  });

  it("holds every trigger while suspended, and runs again when resumed", async () => {
    const v3 = await drilledAtRevision2(s, "held", { rerunOnNewRevision: true });
    patchSpec(s, "held", { suspend: true, schedule: "* * * * *" });
    await waitForPass(s.sim, "drill held to be Suspended", () => {
      expect(drillOf(s, "held").status?.phase).toBe("Suspended");
    });
    annotate(s, "held", { [RUN_NOW_ANNOTATION]: "now" });
    await deploy(s.sim, NS, "web", v3);
    // Three scheduled minutes pass, a deploy and a poke arrive: nothing starts.
    await untilSimTime(s, s.sim.clock.nowMs() + 180_000);
    const held = drillOf(s, "held");
    expect(held.status?.runCount).toBe(1);
    expect(held.status?.currentRun).toBeUndefined();
    expect(held.status?.observedTargetRevision).toBe(3);
    expect(findCondition(held.status?.conditions, "Running")?.reason).toBe("Suspended");
    patchSpec(s, "held", { suspend: false, schedule: null });
    const runs = await waitForRuns(s, "held", 2);
    expect(runs[1]).toMatchObject({ trigger: "RunNow", fromRevision: 3, verdict: "Passed" });
  });

  it("fails DigestMismatch when the rollback target's tag moved after the ledger saw it run", async () => {
    const first = s.sim.world.images.push(REPO, "1.0");
    s.sim.world.images.push(REPO, "2.0");
    await deploy(s.sim, NS, "web", `${REPO}:1.0`);
    // The drill watches revision 1 run (its first run has nothing to roll back to).
    createDrill(s.sim, NS, "ledger", {
      targetRef: { kind: "Deployment", name: "web" },
      checks: { ...PASSING, pinnedImages: "Ignore" },
      sandbox: { keepOnFailure: false },
    });
    const none = await waitForVerdict(s.sim, NS, "ledger");
    expect(none.status?.lastRun?.reason).toBe("NoRevisionHistory");
    await waitForPass(s.sim, "drill ledger to record the first digest", () => {
      expect(drillOf(s, "ledger").status?.digestLedger?.[0]?.containers[0]?.digest).toBe(first);
    });
    await deploy(s.sim, NS, "web", `${REPO}:2.0`);
    await waitForPass(s.sim, "drill ledger to record two digests", () => {
      expect(drillOf(s, "ledger").status?.digestLedger).toHaveLength(2);
    });
    // Someone pushes a rebuild to 1.0: the tag moved since revision 1 ran.
    const moved = s.sim.world.images.push(REPO, "1.0", { logLines: ["rebuilt"] });
    expect(moved).not.toBe(first);
    annotate(s, "ledger", { [RUN_NOW_ANNOTATION]: "after-retag" });
    const runs = await waitForRuns(s, "ledger", 2);
    const last = drillOf(s, "ledger").status?.lastRun;
    expect(runs[1]?.reason, last?.message).toBe("DigestMismatch");
    expect(last?.verdict).toBe("Failed");
    expect(last?.evidence?.[0]).toMatchObject({ expectedDigest: first });
    expect(last?.evidence?.[0]?.toDigest).toContain(moved);
  });
});
