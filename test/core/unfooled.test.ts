/**
 * Verdicts that cannot be fooled: an old version that runs but never becomes Ready (found from
 * the deployment controller's progress deadline and from the pods), a rollback slower than its
 * RTO measured to the end, a configuration-only rollback whose digest check does not apply, an
 * Error run whose sandbox keeps no running pods, and the depth of the revision history.
 */
import { describe, expect, it } from "vitest";
import type { CurrentRun, RollbackDrill } from "../../src/api/types.ts";
import { decide } from "../../src/core/decide.ts";
import type {
  Container,
  ObservedSandbox,
  ObservedTarget,
  PodTemplateSpec,
  PodView,
  Probe,
} from "../../src/core/observed.ts";
import { SAVED_LOGS_CONFIGMAP } from "../../src/core/run.ts";
import { cloneManifest, sandboxProgressDeadlineSeconds } from "../../src/core/sandbox.ts";
import {
  aDrill,
  aPod,
  aSandbox,
  aTarget,
  aTemplate,
  anObserved,
  at,
  iso,
  sha,
  type SandboxState,
  RUN1_SANDBOX as SANDBOX,
  inPhase,
} from "./builders.ts";

const PROBE: Probe = {
  exec: { command: ["sh", "-c", "test -e /tmp/ready"] },
  periodSeconds: 1,
  failureThreshold: 1,
};

function withProbe(template: PodTemplateSpec, probe: Probe = PROBE): PodTemplateSpec {
  return {
    ...template,
    spec: {
      ...template.spec,
      containers: template.spec.containers.map((c): Container => ({ ...c, readinessProbe: probe })),
    },
  };
}

const M = withProbe(aTemplate([{ name: "app", image: `r.example.com/web@${sha("m")}` }]));
const N = withProbe(aTemplate([{ name: "app", image: `r.example.com/web@${sha("n")}` }]));
const target = aTarget([
  { revision: 1, template: M },
  { revision: 2, template: N, digests: { app: sha("n") } },
]);

/** Pods that run (since `startedAt` seconds) and are not Ready, with these last log lines. */
function runningUnready(startedAt: number, lines: string[] = []) {
  return (hash: string, t: PodTemplateSpec): PodView[] => {
    const pod = aPod(`web-${hash}-0`, hash, t, { app: sha(hash === "s1" ? "m" : "n") }, false);
    return [
      {
        ...pod,
        status: {
          ...pod.status,
          containerStatuses: (pod.status?.containerStatuses ?? []).map(s => ({
            ...s,
            ready: false,
            state: { running: { startedAt: iso(startedAt) } },
            ...(lines.length === 0 ? {} : { lastLogLines: lines }),
          })),
        },
      },
    ];
  };
}

interface CloneState {
  deadlineSeconds?: number;
  /** The ReplicaSet the controller's ProgressDeadlineExceeded condition names, e.g. "web-s1". */
  exceeded?: string;
}

function sandboxOf(drill: RollbackDrill, state: SandboxState, clone: CloneState): ObservedSandbox {
  const sandbox = aSandbox(drill, "1", state);
  const deployment = sandbox.deployment;
  if (deployment === undefined) throw new Error("no clone");
  return {
    ...sandbox,
    deployment: {
      ...deployment,
      spec: { ...deployment.spec, progressDeadlineSeconds: clone.deadlineSeconds ?? 20 },
      status: {
        ...deployment.status,
        ...(clone.exceeded === undefined
          ? {}
          : {
              conditions: [
                {
                  type: "Progressing",
                  status: "False",
                  reason: "ProgressDeadlineExceeded",
                  message: `ReplicaSet "${clone.exceeded}" has timed out progressing.`,
                },
              ],
            }),
      },
    },
  };
}

function lookAt(
  drill: RollbackDrill,
  state: SandboxState,
  seconds: number,
  clone: CloneState = {},
  /** null: the target does not exist (deleted). */
  observedTarget: ObservedTarget | null = target,
) {
  return decide(
    drill,
    anObserved({
      ...(observedTarget === null ? {} : { target: observedTarget }),
      sandbox: sandboxOf(drill, state, clone),
    }),
    at(seconds),
  );
}

describe("an old version that runs but never becomes Ready", () => {
  const settingUp = (pods = runningUnready(5, ["reports 3.0.0: waiting for the cache"])) => ({
    deployed: [{ template: M, pods }],
    complete: false,
  });

  it("ends PodsNotReady when the deployment controller reports ProgressDeadlineExceeded", () => {
    const d = lookAt(inPhase("DeployingPrevious"), settingUp(), 12, { exceeded: "web-s1" });
    expect(d.status.lastRun).toMatchObject({ verdict: "Failed", reason: "PodsNotReady" });
    const message = d.status.lastRun?.message ?? "";
    for (const words of [
      'container "app" of revision 1 runs but never became Ready',
      "before the roll forward",
      "progressDeadlineSeconds (20s: Progressing is False, ProgressDeadlineExceeded)",
      "readiness probe exec [sh -c test -e /tmp/ready] (initialDelaySeconds 0, periodSeconds 1, failureThreshold 1)",
      "last log lines: reports 3.0.0: waiting for the cache",
    ])
      expect(message).toContain(words);
  });

  it("ends PodsNotReady from the pods alone once a container is unready past its budget", () => {
    const drill = inPhase("DeployingPrevious");
    // Started at 5 s, deadline 20 s: at 20 s it still has time, and the run looks again at 25 s.
    const waiting = lookAt(drill, settingUp(), 20);
    expect(waiting.status.lastRun).toBeUndefined();
    expect(waiting.requeueAfterMs).toBe(5_000 + 1);
    const late = lookAt(drill, settingUp(), 26);
    expect(late.status.lastRun?.reason).toBe("PodsNotReady");
    expect(late.status.lastRun?.message).toContain("it has run for 21s without becoming Ready");
  });

  it("allows a readiness probe more time than the deadline when the probe itself asks for it", () => {
    const slow: Probe = { httpGet: { path: "/ready", port: 8080 }, periodSeconds: 30 };
    const M2 = withProbe(M, slow);
    const t2 = aTarget([
      { revision: 1, template: M2 },
      { revision: 2, template: N, digests: { app: sha("n") } },
    ]);
    const state = { deployed: [{ template: M2, pods: runningUnready(0) }], complete: false };
    // 30 s x 3 failures = 90 s > the 20 s deadline.
    expect(lookAt(inPhase("DeployingPrevious"), state, 60, {}, t2).status.lastRun).toBeUndefined();
    const late = lookAt(inPhase("DeployingPrevious"), state, 91, {}, t2);
    expect(late.status.lastRun?.message).toContain(
      "readiness probe httpGet http://:8080/ready (initialDelaySeconds 0, periodSeconds 30, failureThreshold 3)",
    );
  });

  it("out of time while running again after a crash: CrashLoop, not a readiness problem", () => {
    const restarted = (hash: string, t: PodTemplateSpec): PodView[] =>
      runningUnready(5, ["orders 5.0.0: schema v1 ok", "FATAL: schema too new"])(hash, t).map(
        p => ({
          ...p,
          status: {
            ...p.status,
            containerStatuses: (p.status?.containerStatuses ?? []).map(c => ({
              ...c,
              restartCount: 3,
              lastState: { terminated: { exitCode: 1, reason: "Error" } },
            })),
          },
        }),
      );
    const d = lookAt(inPhase("DeployingPrevious"), settingUp(restarted), 30, {
      exceeded: "web-s1",
    });
    expect(d.status.lastRun?.reason).toBe("CrashLoop");
    expect(d.status.lastRun?.message).toContain("FATAL: schema too new");
  });

  it("a deadline with no container running says what each pod waits for", () => {
    const pending = (hash: string, t: PodTemplateSpec): PodView[] => {
      const pod = aPod(`web-${hash}-0`, hash, t, {}, false);
      return [{ ...pod, status: { phase: "Pending", conditions: pod.status?.conditions ?? [] } }];
    };
    const d = lookAt(inPhase("DeployingPrevious"), settingUp(pending), 30, { exceeded: "web-s1" });
    expect(d.status.lastRun?.reason).toBe("PodsNotReady");
    expect(d.status.lastRun?.message).toContain("pod web-s1-0: Pending");
  });

  it("after the undo, a deadline condition left from revision N's rollout does not count", () => {
    const drill = inPhase("Verifying", { undoTime: iso(40) });
    const state: SandboxState = {
      deployed: [{ template: M, pods: runningUnready(41) }, { template: N }],
      current: 0,
      complete: false,
    };
    // The condition names N's ReplicaSet (web-s2): stale, so the run waits.
    expect(lookAt(drill, state, 45, { exceeded: "web-s2" }).status.lastRun).toBeUndefined();
    const d = lookAt(drill, state, 45, { exceeded: "web-s1" });
    expect(d.status.lastRun?.reason).toBe("PodsNotReady");
    expect(d.status.lastRun?.message).toContain("after the rollback");
  });

  it("revision N never Ready before the undo: the drill undoes at once, as in an incident", () => {
    const drill = inPhase("DeployingCurrent", { phaseStartTime: iso(10) });
    const state: SandboxState = {
      deployed: [{ template: M }, { template: N, pods: runningUnready(10) }],
      complete: false,
    };
    const d = lookAt(drill, state, 12, { exceeded: "web-s2" });
    expect(d.status.currentRun?.phase).toBe("RollingBack");
    expect(d.actions.map(a => a.type)).toContain("UndoDeployment");
    expect(d.actions).toContainEqual(
      expect.objectContaining({
        type: "EmitEvent",
        reason: "RollbackApplied",
        message: expect.stringContaining(
          'revision 2 container "app" never became Ready, as in an incident',
        ) as string,
      }),
    );
  });

  it.each([
    ["the target's own deadline when it is shorter", { progressDeadlineSeconds: 60 }, 600, 30, 60],
    ["a third of what the timeout leaves after the stable window", {}, 600, 30, 190],
    ["never under 10 s", {}, 20, 10, 10],
    ["a short run", { progressDeadlineSeconds: 600 }, 60, 5, 18],
  ])(
    "the clone's progressDeadlineSeconds: %s",
    (_name, spec, timeoutSeconds, stableSeconds, want) => {
      const drill = aDrill({ spec: { checks: { timeoutSeconds, stableSeconds } } });
      const t = aTarget([{ revision: 1, template: M }], { spec });
      expect(sandboxProgressDeadlineSeconds(drill, t.deployment)).toBe(want);
      expect(cloneManifest(drill, "1", SANDBOX, t.deployment, M).spec.progressDeadlineSeconds).toBe(
        want,
      );
    },
  );
});

describe("RollbackTooSlow keeps measuring", () => {
  const drill = (run: Partial<CurrentRun> = {}) =>
    inPhase(
      "Verifying",
      { undoTime: iso(40), ...run },
      { spec: { checks: { maxRollbackSeconds: 3 } } },
    );
  /** Ready pods whose Ready condition flipped at `readyAt` seconds. */
  const readyAt = (readyAt: number) => (hash: string, t: PodTemplateSpec) => {
    const pod = aPod(`web-${hash}-0`, hash, t, { app: sha("m") });
    return [
      {
        ...pod,
        status: {
          ...pod.status,
          conditions: [{ type: "Ready", status: "True", lastTransitionTime: iso(readyAt) }],
        },
      },
    ];
  };

  it("past the limit and not Ready yet, no verdict: the measurement goes on", () => {
    const state: SandboxState = {
      deployed: [{ template: M, pods: runningUnready(41) }, { template: N }],
      current: 0,
      complete: false,
    };
    const d = lookAt(drill(), state, 50, { deadlineSeconds: 600 });
    expect(d.status.lastRun).toBeUndefined();
    expect(d.status.currentRun?.phase).toBe("Verifying");
  });

  it("once Ready, reports the real rollback time in rollbackSeconds and the message", () => {
    const state: SandboxState = {
      deployed: [{ template: M, pods: readyAt(52) }, { template: N }],
      current: 0,
    };
    const d = lookAt(drill(), state, 53);
    expect(d.status.lastRun).toMatchObject({ reason: "RollbackTooSlow", rollbackSeconds: 12 });
    expect(d.status.lastRun?.message).toContain("took 12s from undo to all pods Ready, over");
    expect(d.status.lastRun?.message).toContain("maxRollbackSeconds (3s)");
  });

  it("never Ready by the run's timeout: 'more than N s', not a generic timeout", () => {
    const state: SandboxState = {
      deployed: [{ template: M, pods: runningUnready(41) }, { template: N }],
      current: 0,
      complete: false,
    };
    const d = lookAt(drill(), state, 601, { deadlineSeconds: 600 });
    expect(d.status.lastRun?.reason).toBe("RollbackTooSlow");
    expect(d.status.lastRun?.rollbackSeconds).toBeUndefined();
    expect(d.status.lastRun?.message).toContain("has taken more than 561s from undo");
    expect(d.status.lastRun?.message).toContain("timeoutSeconds (600s) ended the measurement");
  });

  it("a generic timeout names what the clone's pods wait for", () => {
    const d = lookAt(
      inPhase("DeployingPrevious"),
      { deployed: [{ template: M, pods: runningUnready(599) }], complete: false },
      601,
      { deadlineSeconds: 600 },
    );
    expect(d.status.lastRun?.reason).toBe("RolloutTimeout");
    expect(d.status.lastRun?.message).toContain(
      'the clone\'s pods: pod web-s1-0: container "app" running, not ready',
    );
  });
});

describe("a configuration-only rollback", () => {
  const image = `r.example.com/web@${sha("a")}`;
  const M1 = aTemplate([{ name: "app", image }]);
  const N1 = aTemplate([{ name: "app", image }], {}, { "example.com/config": "v2" });
  const t = aTarget([
    { revision: 1, template: M1 },
    { revision: 2, template: N1, digests: { app: sha("a") } },
  ]);
  const stable = (spec: NonNullable<Parameters<typeof aDrill>[0]>["spec"] = {}) =>
    inPhase(
      "Verifying",
      {
        undoTime: iso(40),
        readyTime: iso(41),
        rollbackSeconds: 1,
        brokenDigests: [{ name: "app", digest: sha("a") }],
      },
      { spec },
    );
  const state = (): SandboxState => ({
    deployed: [
      {
        template: M1,
        pods: (h: string, p: PodTemplateSpec) => [aPod(`web-${h}-0`, h, p, { app: sha("a") })],
      },
      { template: N1 },
    ],
    current: 0,
  });

  it("passes with the digest check marked not applicable, and says why", () => {
    const d = lookAt(stable(), state(), 80, {}, t);
    expect(d.status.lastRun?.reason).toBe("Passed");
    expect(d.status.lastRun?.evidence?.[0]).toMatchObject({
      fromDigest: sha("a"),
      toDigest: sha("a"),
      digestCheck: "NotApplicable",
    });
    expect(d.status.lastRun?.message).toContain(
      `The digest check does not apply to "app" (${sha("a").slice(0, 19)}): both revisions pin the same digest, so this rollback restores configuration only`,
    );
  });

  it("with digestPolicy Ignore, every container's check is Ignored and the message says so", () => {
    const d = lookAt(stable({ checks: { digestPolicy: "Ignore" } }), state(), 80, {}, t);
    expect(d.status.lastRun?.evidence?.map(e => e.digestCheck)).toEqual(["Ignored"]);
    expect(d.status.lastRun?.message).toContain("The digests were not checked");
  });
});

describe("an Error that is no rollback failure keeps no running pods", () => {
  const running = (hash: string, t: PodTemplateSpec) => [
    aPod(`web-${hash}-0`, hash, t, { app: sha("n") }),
  ];
  const state: SandboxState = {
    deployed: [{ template: M }, { template: N, pods: running }],
    complete: false,
  };

  it("the target deleted mid-run: logs saved, clone scaled to 0, objects and Events kept", () => {
    const drill = inPhase("DeployingCurrent", { phaseStartTime: iso(10) });
    const d = lookAt(drill, state, 12, {}, null);
    expect(d.status.lastRun).toMatchObject({ verdict: "Error", reason: "TargetNotFound" });
    expect(d.status.currentRun?.phase).toBe("SandboxKept");
    const types = d.actions.map(a => a.type);
    expect(types).not.toContain("DeleteNamespace");
    expect(d.actions).toContainEqual({
      type: "SaveLogs",
      configMap: { namespace: SANDBOX, name: SAVED_LOGS_CONFIGMAP },
      labels: expect.objectContaining({ "rollbackdrill.io/run": "1" }) as Record<string, string>,
      containers: [{ pod: "web-s2-0", container: "app" }],
    });
    expect(d.actions).toContainEqual({
      type: "ScaleDeployment",
      target: { namespace: SANDBOX, name: "web" },
      replicas: 0,
    });
    // Logs first, then the pods stop.
    expect(types.indexOf("SaveLogs")).toBeLessThan(types.indexOf("ScaleDeployment"));
    expect(d.status.conditions?.find(c => c.type === "Running")?.message).toContain(
      "its pods stopped: an Error is no rollback result",
    );
  });

  it("a target being deleted (deletionTimestamp set) is TargetNotFound, not lost history", () => {
    const deleting = {
      ...target,
      deployment: {
        ...target.deployment,
        metadata: { ...target.deployment.metadata, deletionTimestamp: iso(11) },
      },
    };
    const d = lookAt(inPhase("Verifying", { phaseStartTime: iso(10) }), state, 12, {}, deleting);
    expect(d.status.lastRun).toMatchObject({ verdict: "Error", reason: "TargetNotFound" });
    expect(d.status.lastRun?.message).toContain("deleted during the run");
  });

  it("waits, without a verdict, while the Deployment is seen without its current ReplicaSet", () => {
    // The garbage collector's deletions of the ReplicaSets can reach the cache before the
    // Deployment's own: a view no live Deployment has (its current revision always has one).
    const drill = inPhase("Verifying", { phaseStartTime: iso(10) });
    for (const replicaSets of [
      [],
      target.replicaSets.filter(rs => rs.metadata.name !== "web-h2"),
    ]) {
      const d = lookAt(drill, state, 12, {}, { ...target, replicaSets });
      expect(d.status.lastRun).toBeUndefined();
      expect(d.status.currentRun?.phase).toBe("Verifying");
      expect(d.requeueAfterMs).toBe(1_000);
    }
    // Once the Deployment is gone too, the run ends as the target's deletion.
    const gone = lookAt(drill, state, 13, {}, null);
    expect(gone.status.lastRun).toMatchObject({ verdict: "Error", reason: "TargetNotFound" });
  });

  it("still ends NoRevisionHistory when only the old revision's ReplicaSet is gone", () => {
    const drill = inPhase("Verifying", { phaseStartTime: iso(10) });
    const pruned = {
      ...target,
      replicaSets: target.replicaSets.filter(rs => rs.metadata.name !== "web-h1"),
    };
    const d = lookAt(drill, state, 12, {}, pruned);
    expect(d.status.lastRun).toMatchObject({ verdict: "Failed", reason: "NoRevisionHistory" });
  });

  it("stops them again if a restart lost the first stop, and not once the clone is at 0", () => {
    const kept = inPhase("SandboxKept", {
      verdict: "Error",
      reason: "TargetNotFound",
      completionTime: iso(12),
    });
    const again = lookAt(kept, state, 20, {}, null);
    expect(again.actions.map(a => a.type)).toContain("ScaleDeployment");
    const sandbox = sandboxOf(kept, state, {});
    const stopped: ObservedSandbox = {
      ...sandbox,
      pods: [],
      ...(sandbox.deployment === undefined
        ? {}
        : {
            deployment: {
              ...sandbox.deployment,
              spec: { ...sandbox.deployment.spec, replicas: 0 },
            },
          }),
    };
    const quiet = decide(kept, anObserved({ sandbox: stopped }), at(30));
    expect(quiet.actions.filter(a => a.type !== "EmitEvent")).toEqual([]);
  });
});

describe("the depth of the revision history", () => {
  const three = (limit?: number) =>
    aTarget(
      [
        { revision: 1, template: M },
        { revision: 2, template: N, digests: { app: sha("n") } },
      ],
      limit === undefined ? {} : { spec: { revisionHistoryLimit: limit } },
    );
  const resolved = (t: ObservedTarget) =>
    decide(inPhase("Resolving"), anObserved({ target: t }), at(1)).status.currentRun;

  it("is recorded when the run resolves its history", () => {
    expect(resolved(three())?.revisionsAvailable).toBe(1);
    const deeper = aTarget([
      { revision: 1, template: aTemplate([{ name: "app", image: "r.example.com/web:1" }]) },
      { revision: 2, template: M },
      { revision: 3, template: N, digests: { app: sha("n") } },
    ]);
    expect(resolved(deeper)?.revisionsAvailable).toBe(2);
  });

  it("warns ShallowHistory when revisionHistoryLimit keeps only one revision to go back to", () => {
    const preflight = (t: ObservedTarget) =>
      decide(inPhase("Preflight", { revisionsAvailable: 1 }), anObserved({ target: t }), at(2));
    expect(preflight(three(1)).status.warnings).toEqual([
      expect.objectContaining({
        reason: "ShallowHistory",
        message: expect.stringContaining("revisionHistoryLimit is 1") as string,
      }),
    ]);
    // A young Deployment with the default limit has one revision to go back to, and nothing to fix.
    expect(preflight(three()).status.warnings).toEqual([]);
  });
});
