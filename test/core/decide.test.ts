import { describe, expect, it } from "vitest";
import { setCondition } from "../../src/api/conditions.ts";
import type { RollbackDrill } from "../../src/api/types.ts";
import { RUN_NOW_ANNOTATION } from "../../src/api/vocabulary.ts";
import { decide } from "../../src/core/decide.ts";
import type { Observed } from "../../src/core/observed.ts";
import {
  aDrill,
  aDrillInRun,
  aSandbox,
  anObserved,
  aTarget,
  aTemplate,
  at,
  iso,
  readyPods,
  T0,
  PINNED_M as M,
  PINNED_N as N,
  PINNED_TARGET as target,
} from "./builders.ts";
import { World } from "./world.ts";

const observed = anObserved({ target });

describe("finalizer and deletion", () => {
  it("adds the finalizer first when missing", () => {
    const d = decide(aDrill({ metadata: { finalizers: [] } }), observed, T0);
    expect(d.actions[0]).toEqual({ type: "EnsureFinalizer" });
  });

  it("deletes the sandbox of a drill being deleted, then removes the finalizer once it is gone", () => {
    const drill = aDrillInRun(
      { phase: "Verifying", sandboxNamespace: "rbd-web-0f1e2d-1" },
      { metadata: { deletionTimestamp: iso(10) } },
    );
    const sandbox = aSandbox(drill, "1", { deployed: [{ template: M }] });
    const first = decide(drill, anObserved({ target, sandbox }), at(20));
    expect(first.actions).toEqual([
      {
        type: "DeleteNamespace",
        name: "rbd-web-0f1e2d-1",
        expectLabels: {
          "app.kubernetes.io/managed-by": "rollback-drill",
          "rollbackdrill.io/drill-uid": drill.metadata.uid,
        },
      },
    ]);
    expect(first.requeueAfterMs).toBeGreaterThan(0);
    const terminating = decide(
      drill,
      anObserved({
        target,
        sandbox: { ...sandbox, namespace: { ...sandbox.namespace, phase: "Terminating" } },
      }),
      at(22),
    );
    expect(terminating.actions).toEqual([]);
    const gone = decide(drill, anObserved({ target }), at(30));
    expect(gone.actions.map(a => a.type)).toEqual(["EmitEvent", "RemoveFinalizer"]);
    expect(gone.status.currentRun).toBeUndefined();
  });

  it("never deletes a namespace it does not own, even on deletion", () => {
    const drill = aDrill({
      metadata: { deletionTimestamp: iso(1) },
      spec: { sandbox: { namespace: "team-ns" } },
    });
    const d = decide(
      drill,
      anObserved({
        sandbox: { namespace: { name: "team-ns", phase: "Active" }, replicaSets: [], pods: [] },
      }),
      at(2),
    );
    expect(d.actions).toEqual([{ type: "RemoveFinalizer" }]);
  });
});

describe("triggers", () => {
  it("starts the first run on creation, and records the target's settled revision without a second trigger", () => {
    const d = decide(aDrill({ spec: { rerunOnNewRevision: true } }), observed, T0);
    expect(d.status.currentRun).toMatchObject({ id: "1", trigger: "Created", phase: "Pending" });
    expect(d.status).toMatchObject({
      runCount: 1,
      observedGeneration: 1,
      observedTargetRevision: 2,
    });
    expect(d.actions).toContainEqual(expect.objectContaining({ reason: "DrillStarted" }));
  });

  it("rests when nothing fired, and wakes for the schedule", () => {
    const drill = aDrill({
      spec: { schedule: "0 * * * *" },
      status: {
        observedGeneration: 1,
        runCount: 1,
        nextRunTime: iso(3600),
        observedTargetRevision: 2,
      },
    });
    const idle = decide(drill, observed, at(600));
    expect(idle.status.currentRun).toBeUndefined();
    expect(idle.status.phase).toBe("Idle");
    expect(idle.requeueAfterMs).toBe(3000 * 1000);
    const due = decide(drill, observed, at(3600));
    expect(due.status.currentRun?.trigger).toBe("Schedule");
    expect(due.status.nextRunTime).toBe(iso(7200));
  });

  it("computes nextRunTime in the drill's time zone", () => {
    const drill = aDrill({ spec: { schedule: "0 9 * * *", timeZone: "Europe/Berlin" } });
    expect(decide(drill, observed, T0).status.nextRunTime).toBe("2025-01-01T08:00:00Z");
  });

  it("runs once per run-now annotation value", () => {
    const rest = { observedGeneration: 1, runCount: 1, observedTargetRevision: 2 };
    const drill = aDrill({
      metadata: { annotations: { [RUN_NOW_ANNOTATION]: "a" } },
      status: rest,
    });
    const d = decide(drill, observed, T0);
    expect(d.status.currentRun?.trigger).toBe("RunNow");
    expect(d.status.lastRunNowToken).toBe("a");
    const again = aDrill({
      metadata: { annotations: { [RUN_NOW_ANNOTATION]: "a" } },
      status: { ...rest, lastRunNowToken: "a" },
    });
    expect(decide(again, observed, T0).status.currentRun).toBeUndefined();
  });

  it("re-drills after a new revision has rolled out, when asked", () => {
    const rest = { observedGeneration: 1, runCount: 1, observedTargetRevision: 1 };
    const on = decide(aDrill({ spec: { rerunOnNewRevision: true }, status: rest }), observed, T0);
    expect(on.status.currentRun?.trigger).toBe("NewRevision");
    expect(on.status.observedTargetRevision).toBe(2);
    const off = decide(aDrill({ status: rest }), observed, T0);
    expect(off.status.currentRun).toBeUndefined();
    expect(off.status.observedTargetRevision).toBe(2);
    const rolling = aTarget([
      { revision: 1, template: M },
      { revision: 2, template: N },
    ]);
    rolling.deployment.status = { ...rolling.deployment.status, updatedReplicas: 1 };
    const notYet = decide(
      aDrill({ spec: { rerunOnNewRevision: true }, status: rest }),
      anObserved({ target: rolling }),
      T0,
    );
    expect(notYet.status.currentRun).toBeUndefined();
  });

  it("queues one run, not many, while a run is in progress; the queued run starts after clean-up", () => {
    const base = aDrillInRun({ phase: "Resolving" }, { spec: { rerunOnNewRevision: true } });
    const poked = {
      ...base,
      metadata: { ...base.metadata, generation: 2, annotations: { [RUN_NOW_ANNOTATION]: "x" } },
    };
    const d = decide(poked, observed, at(1));
    expect(d.status.queuedTrigger).toBe("RunNow");
    expect(d.actions.filter(a => a.type === "EmitEvent" && a.reason === "RunQueued")).toHaveLength(
      1,
    );
    const later: RollbackDrill = {
      ...poked,
      metadata: { ...poked.metadata, generation: 3, annotations: { [RUN_NOW_ANNOTATION]: "y" } },
      status: d.status,
    };
    const d2 = decide(later, observed, at(2));
    expect(d2.status.queuedTrigger).toBe("RunNow");
    expect(d2.actions.some(a => a.type === "EmitEvent" && a.reason === "RunQueued")).toBe(false);
    expect(d2.status.runCount).toBe(1);
    // The run ends without a sandbox (no target): the queued run starts next.
    const fresh = {
      ...d2.status,
      currentRun: {
        id: "1",
        trigger: "Created" as const,
        phase: "Resolving" as const,
        startTime: iso(0),
        phaseStartTime: iso(0),
      },
    };
    const ended = decide({ ...later, status: fresh }, anObserved(), at(3));
    expect(ended.status.currentRun).toBeUndefined();
    const next = decide({ ...later, status: ended.status }, observed, at(4));
    expect(next.status.currentRun).toMatchObject({ id: "2", trigger: "RunNow" });
    expect(next.status.queuedTrigger).toBeUndefined();
  });

  it("ten rapid deploys during a run cause one queued run", () => {
    let drill = aDrillInRun(
      {
        phase: "DeployingPrevious",
        sandboxNamespace: "rbd-web-0f1e2d-1",
        fromTemplateHash: "h2",
        toTemplateHash: "h1",
        fromRevision: 2,
        toRevision: 1,
      },
      { spec: { rerunOnNewRevision: true } },
    );
    let queued = 0;
    for (let rev = 3; rev <= 12; rev++) {
      const t = aTarget([
        { revision: 1, template: M },
        { revision: 2, template: N },
        {
          revision: rev,
          template: aTemplate([{ name: "app", image: `r.example.com/web:${String(rev)}` }]),
        },
      ]);
      const d = decide(drill, anObserved({ target: t }), at(rev));
      queued += d.actions.filter(a => a.type === "EmitEvent" && a.reason === "RunQueued").length;
      drill = { ...drill, status: d.status };
    }
    expect(queued).toBe(1);
    expect(drill.status?.queuedTrigger).toBe("NewRevision");
    expect(drill.status?.observedTargetRevision).toBe(12);
  });

  it("suspend holds: no run starts, the run-now token is not consumed", () => {
    const drill = aDrill({
      spec: { suspend: true },
      metadata: { annotations: { [RUN_NOW_ANNOTATION]: "a" } },
    });
    const d = decide(drill, observed, T0);
    expect(d.status.currentRun).toBeUndefined();
    expect(d.status.phase).toBe("Suspended");
    expect(d.status.lastRunNowToken).toBeUndefined();
    expect(d.status.conditions?.find(c => c.type === "Running")?.reason).toBe("Suspended");
  });

  it("a trigger cuts a kept failed sandbox short", () => {
    const drill = aDrillInRun({
      phase: "CleaningUp",
      verdict: "Failed",
      reason: "SameDigest",
      completionTime: iso(0),
      sandboxNamespace: "rbd-web-0f1e2d-1",
    });
    const sandbox = aSandbox(drill, "1", { deployed: [{ template: M }] });
    const kept = decide(drill, anObserved({ target, sandbox }), at(60));
    expect(kept.actions).toEqual([]);
    const poked = {
      ...drill,
      metadata: { ...drill.metadata, annotations: { [RUN_NOW_ANNOTATION]: "now" } },
    };
    const cut = decide(poked, anObserved({ target, sandbox }), at(61));
    expect(cut.status.queuedTrigger).toBe("RunNow");
    expect(cut.actions.map(a => a.type)).toContain("DeleteNamespace");
  });
});

describe("resuming and idempotence", () => {
  it("deciding twice on the same observed state gives the same status and actions, in every phase of a run", () => {
    const world = new World(aDrill(), target, (t, hash) =>
      readyPods({ app: t.spec.containers[0]!.image.split("@")[1]! })(hash, t),
    );
    for (let i = 0; i < 30 && !(i > 0 && world.drill.status?.currentRun === undefined); i++) {
      const before = world.drill;
      const obs: Observed = world.observed();
      const a = decide(before, obs, at(i * 5));
      const b = decide(before, obs, at(i * 5));
      expect(b).toEqual(a);
      expect(before).toEqual(world.drill); // the input is not mutated
      world.step(i * 5);
    }
    expect(world.drill.status?.lastRun?.verdict).toBe("Passed");
  });

  it("an operator restarted after the status write but before the actions re-issues the same creates, never a second sandbox", () => {
    const world = new World(aDrill(), target, (t, hash) =>
      readyPods({ app: t.spec.containers[0]!.image.split("@")[1]! })(hash, t),
    );
    world.step(0);
    world.step(1);
    world.step(2);
    const creating = decide(world.drill, world.observed(), at(3)); // Preflight -> CreatingSandbox
    // Crash: actions never ran. The next operator sees the stored status and the old world.
    const resumed = decide({ ...world.drill, status: creating.status }, world.observed(), at(10));
    const created = (d: typeof creating): string[] =>
      d.actions.flatMap(a => (a.type === "CreateNamespace" ? [a.name] : []));
    expect(created(resumed)).toEqual(created(creating));
    expect(resumed.actions.filter(a => a.type !== "EmitEvent")).toEqual(
      creating.actions.filter(a => a.type !== "EmitEvent"),
    );
  });
});

describe("conditions", () => {
  const c0 = setCondition(
    undefined,
    { type: "Ready", status: "True", reason: "Passed", message: "ok" },
    1,
    iso(0),
  );

  it("keeps lastTransitionTime while status is unchanged, even if reason or message change", () => {
    const c1 = setCondition(
      c0,
      { type: "Ready", status: "True", reason: "Passed", message: "still ok" },
      2,
      iso(10),
    );
    expect(c1).toEqual([
      {
        type: "Ready",
        status: "True",
        reason: "Passed",
        message: "still ok",
        observedGeneration: 2,
        lastTransitionTime: iso(0),
      },
    ]);
  });

  it("moves lastTransitionTime when status flips, and keeps the order of types", () => {
    const two = setCondition(
      c0,
      { type: "Running", status: "False", reason: "Idle", message: "" },
      1,
      iso(0),
    );
    const flipped = setCondition(
      two,
      { type: "Ready", status: "False", reason: "SameDigest", message: "x" },
      1,
      iso(20),
    );
    expect(flipped.map(c => [c.type, c.lastTransitionTime])).toEqual([
      ["Ready", iso(20)],
      ["Running", iso(0)],
    ]);
  });

  it("RollbackReady is False after a deploy until a drill of the new revision passes", () => {
    const passedOn2 = {
      history: [
        {
          id: "1",
          trigger: "Created" as const,
          startTime: iso(0),
          verdict: "Passed" as const,
          reason: "Passed" as const,
          fromRevision: 2,
          toRevision: 1,
        },
      ],
      observedGeneration: 1,
      runCount: 1,
      observedTargetRevision: 2,
    };
    const ready = decide(aDrill({ status: passedOn2 }), observed, T0);
    expect(ready.status.conditions?.find(c => c.type === "RollbackReady")).toMatchObject({
      status: "True",
      reason: "Rehearsed",
    });
    const deployed = aTarget([
      { revision: 1, template: M },
      { revision: 2, template: N },
      { revision: 3, template: aTemplate([{ name: "app", image: "r.example.com/web:3" }]) },
    ]);
    const after = decide(
      aDrill({ status: { ...passedOn2, conditions: ready.status.conditions ?? [] } }),
      anObserved({ target: deployed }),
      at(100),
    );
    expect(after.status.conditions?.find(c => c.type === "RollbackReady")).toMatchObject({
      status: "False",
      reason: "NotRehearsed",
      lastTransitionTime: iso(100),
    });
  });
});
