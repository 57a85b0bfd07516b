/**
 * When decide() asks to look again: exactly when time itself decides (the run's timeout, the
 * forward wait's end, the rollback limit, the stable window's end, a kept sandbox's TTL, the
 * schedule), otherwise the RESYNC_MS safety net; and the sandbox set-up wait, which sends the
 * set-up again only when the cache cannot be catching up with the first one.
 */
import { describe, expect, it } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import { decide } from "../../src/core/decide.ts";
import type { ObservedSandbox } from "../../src/core/observed.ts";
import { SETUP_REISSUE_MS } from "../../src/core/phases.ts";
import { RESYNC_MS } from "../../src/core/run.ts";
import {
  aDrill,
  aSandbox,
  anObserved,
  at,
  iso,
  readyPods,
  sha,
  type SandboxState,
  PINNED_M as M,
  PINNED_N as N,
  PINNED_TARGET as target,
  inPhase,
} from "./builders.ts";

function lookAt(drill: RollbackDrill, state: SandboxState | undefined, seconds: number) {
  const sandbox = state === undefined ? undefined : aSandbox(drill, "1", state);
  return decide(
    drill,
    anObserved({ target, ...(sandbox === undefined ? {} : { sandbox }) }),
    at(seconds),
  );
}

const ready = { app: sha("m") };
/** The clone at revision M, its rollout not complete (no pods Ready yet). */
const settingUp: SandboxState = { deployed: [{ template: M }], complete: false };
/** After the undo: M's ReplicaSet has ready pods, N's ran before. */
const rolledBack = (complete: boolean, pods = true): SandboxState => ({
  deployed: [{ template: M, ...(pods ? { pods: readyPods(ready) } : {}) }, { template: N }],
  current: 0,
  complete,
});
/** The clone at N's template, waiting for N to roll out. */
const forward: SandboxState = { deployed: [{ template: M }, { template: N }], complete: false };

describe("decide looks again exactly when time decides", () => {
  const rows: {
    name: string;
    drill: RollbackDrill;
    state: SandboxState | undefined;
    now: number;
    expected: number;
  }[] = [
    {
      name: "the run's timeout, when it comes before the safety net",
      drill: inPhase("DeployingPrevious", {}, { spec: { checks: { timeoutSeconds: 30 } } }),
      state: settingUp,
      now: 10,
      expected: 20_000 + 1,
    },
    {
      name: "the safety net, when the timeout is further off",
      drill: inPhase("DeployingPrevious", {}, { spec: { checks: { timeoutSeconds: 600 } } }),
      state: settingUp,
      now: 10,
      expected: RESYNC_MS,
    },
    {
      name: "the forward wait's end (a quarter of the timeout)",
      drill: inPhase(
        "DeployingCurrent",
        { phaseStartTime: iso(20) },
        { spec: { checks: { timeoutSeconds: 200 } } },
      ),
      state: forward,
      now: 25,
      expected: 50_000 - 5_000,
    },
    {
      name: "the forward wait's end, capped at two minutes",
      drill: inPhase(
        "DeployingCurrent",
        { phaseStartTime: iso(20) },
        { spec: { checks: { timeoutSeconds: 3600 } } },
      ),
      state: forward,
      now: 30,
      expected: 120_000 - 10_000,
    },
    {
      // Past the limit the run keeps measuring: nothing is decided when it passes.
      name: "no look at the rollback limit, while the rolled-back pods are not Ready",
      drill: inPhase(
        "Verifying",
        { undoTime: iso(40) },
        { spec: { checks: { maxRollbackSeconds: 20 } } },
      ),
      state: rolledBack(false, false),
      now: 45,
      expected: RESYNC_MS,
    },
    {
      name: "the safety net, while not Ready and without a rollback limit",
      drill: inPhase("Verifying", { undoTime: iso(40) }),
      state: rolledBack(false, false),
      now: 45,
      expected: RESYNC_MS,
    },
    {
      name: "the stable window's end, once the pods are Ready",
      drill: inPhase(
        "Verifying",
        { undoTime: iso(40), readyTime: iso(42), rollbackSeconds: 2 },
        { spec: { checks: { stableSeconds: 30 } } },
      ),
      state: rolledBack(true),
      now: 50,
      expected: 30_000 - 8_000,
    },
    {
      name: "the kept sandbox's TTL after a failed run",
      drill: inPhase(
        "SandboxKept",
        { verdict: "Failed", reason: "SameDigest", completionTime: iso(100) },
        { spec: { sandbox: { keepOnFailure: true, ttlSecondsAfterFinished: 3600 } } },
      ),
      state: { deployed: [{ template: M }] },
      now: 200,
      expected: 3_500_000,
    },
  ];

  it.each(rows)("$name", ({ drill, state, now, expected }) => {
    const d = lookAt(drill, state, now);
    expect(d.status.currentRun?.phase).toBe(drill.status?.currentRun?.phase);
    expect(d.actions.filter(a => a.type !== "EmitEvent")).toEqual([]);
    expect(d.requeueAfterMs).toBe(expected);
  });

  it("the schedule's next time, when no run is in progress", () => {
    // 00:05 is the next */5 after 00:01; status already knows it, so nothing fires now.
    const drill = aDrill({
      spec: { schedule: "*/5 * * * *" },
      status: { observedGeneration: 1, runCount: 1, nextRunTime: iso(300) },
    });
    const d = decide(drill, anObserved({ target }), at(60));
    expect(d.status.currentRun).toBeUndefined();
    expect(d.requeueAfterMs).toBe(240_000);
  });

  it("no timed look at rest without a schedule: watch events bring the next run", () => {
    const drill = aDrill({ status: { observedGeneration: 1, runCount: 1 } });
    const d = decide(drill, anObserved({ target }), at(60));
    expect(d.status.currentRun).toBeUndefined();
    expect(d.requeueAfterMs).toBeUndefined();
  });

  it("a run past its timeout ends RolloutTimeout instead of waiting", () => {
    const drill = inPhase("DeployingPrevious", {}, { spec: { checks: { timeoutSeconds: 30 } } });
    const d = lookAt(drill, settingUp, 31);
    expect(d.status.lastRun).toMatchObject({ verdict: "Failed", reason: "RolloutTimeout" });
  });
});

describe("the sandbox set-up wait (restart safety without duplicate writes)", () => {
  /** The run's namespace exists (labelled for this run), the clone does not yet. */
  function namespaceOnly(drill: RollbackDrill): ObservedSandbox {
    const full = aSandbox(drill, "1", { deployed: [{ template: M }] });
    return { namespace: full.namespace, replicaSets: [], pods: [] };
  }

  const rows: {
    name: string;
    enteredAt: number;
    now: number;
    namespace: boolean;
    issues: boolean;
    requeue?: number;
  }[] = [
    {
      name: "namespace seen, 3 s in: waits for the cache",
      enteredAt: 10,
      now: 13,
      namespace: true,
      issues: false,
      requeue: SETUP_REISSUE_MS - 3_000,
    },
    {
      name: "namespace seen, just before the limit: still waits",
      enteredAt: 10,
      now: 19.5,
      namespace: true,
      issues: false,
      requeue: 500,
    },
    {
      name: "namespace seen, at the limit: issues again",
      enteredAt: 10,
      now: 20,
      namespace: true,
      issues: true,
    },
    {
      name: "namespace seen, long after: issues again",
      enteredAt: 10,
      now: 300,
      namespace: true,
      issues: true,
    },
    {
      name: "namespace seen at the entering instant: issues",
      enteredAt: 10,
      now: 10,
      namespace: true,
      issues: true,
    },
    {
      name: "namespace missing, 3 s in: issues at once",
      enteredAt: 10,
      now: 13,
      namespace: false,
      issues: true,
    },
  ];

  it.each(rows)("$name", ({ enteredAt, now, namespace, issues, requeue }) => {
    const drill = inPhase("CreatingSandbox", { phaseStartTime: at(enteredAt).toISOString() });
    const sandbox = namespace ? namespaceOnly(drill) : undefined;
    const d = decide(
      drill,
      anObserved({ target, ...(sandbox === undefined ? {} : { sandbox }) }),
      at(now),
    );
    expect(d.status.currentRun?.phase).toBe("CreatingSandbox");
    const types = d.actions.map(a => a.type);
    if (issues) {
      expect(types[0]).toBe("CreateNamespace");
      expect(types.at(-1)).toBe("CreateDeployment");
      expect(d.requeueAfterMs).toBe(RESYNC_MS);
    } else {
      expect(types).toEqual([]);
      expect(d.requeueAfterMs).toBe(requeue);
    }
  });

  it("moves on once the clone shows, whenever that is", () => {
    const drill = inPhase("CreatingSandbox", { phaseStartTime: iso(10) });
    const d = lookAt(drill, { deployed: [{ template: M }], complete: false }, 12);
    expect(d.status.currentRun?.phase).toBe("DeployingPrevious");
    expect(d.actions.map(a => a.type)).toEqual(["EmitEvent"]);
  });
});
