import { describe, expect, it } from "vitest";
import type { RollbackDrill } from "../../src/api/types.ts";
import type { Action } from "../../src/core/actions.ts";
import { isContained } from "../../src/core/decide.ts";
import type { PodTemplateSpec, PodView } from "../../src/core/observed.ts";
import {
  aDrill,
  aFailingPod,
  aPod,
  aTarget,
  aTemplate,
  DRILL_NS,
  iso,
  sha,
  type RevisionSpec,
} from "./builders.ts";
import { World } from "./world.ts";

const pinned = (seed: string): string => `registry.example.com/web@${sha(seed)}`;

/** A registry: image ref -> digest it resolves to now. */
type Registry = Record<string, string>;

function healthyKubelet(registry: Registry) {
  return (t: PodTemplateSpec, hash: string): PodView[] => {
    const digests: Record<string, string> = {};
    for (const c of [...(t.spec.initContainers ?? []), ...t.spec.containers]) {
      const at = c.image.indexOf("@");
      digests[c.name] = at >= 0 ? c.image.slice(at + 1) : (registry[c.image] ?? sha("?"));
    }
    return [aPod(`web-${hash}-0`, hash, t, digests)];
  };
}

function sandboxActions(world: World): Action[] {
  return world.actions.filter(a => a.type !== "EmitEvent");
}

export const allWorlds: World[] = [];
function track(world: World): World {
  allWorlds.push(world);
  return world;
}

describe("a whole run, step by step", () => {
  const M = aTemplate([{ name: "app", image: pinned("m") }]);
  const N = aTemplate([{ name: "app", image: pinned("n") }]);
  const history: RevisionSpec[] = [
    { revision: 1, template: M },
    { revision: 2, template: N, digests: { app: sha("n") } },
  ];

  it("passes for a pinned, healthy target, recording revisions, digests and rollback time", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    world.runToEnd();
    const status = world.drill.status!;
    expect(world.decisions.map(d => d.status.currentRun?.phase ?? d.status.phase)).toEqual([
      "Pending",
      "Resolving",
      "Preflight",
      "CreatingSandbox",
      "DeployingPrevious",
      "DeployingCurrent",
      "RollingBack",
      // Ready at the first look (t=35 s); stable for 30 s at t=65 s.
      ...Array<string>(6).fill("Verifying"),
      "CleaningUp",
      "Idle",
    ]);
    expect(status.lastRun).toMatchObject({
      verdict: "Passed",
      reason: "Passed",
      fromRevision: 2,
      toRevision: 1,
      rollbackSeconds: 5,
      // Two revisions: the undo can reach one.
      revisionsAvailable: 1,
    });
    expect(status.lastRun?.evidence).toEqual([
      {
        name: "app",
        fromImage: pinned("n"),
        fromDigest: sha("n"),
        toImage: pinned("m"),
        toDigest: sha("m"),
        expectedDigest: sha("m"),
        pinned: true,
        verdict: "Passed",
        digestCheck: "Verified",
      },
    ]);
    expect(world.events()).toEqual([
      "DrillStarted",
      "SandboxCreated",
      "RolledForward",
      "RollbackApplied",
      "DrillPassed",
      "SandboxDeleted",
    ]);
    expect(status.verdict).toBe("Passed");
    expect(status.lastSuccessTime).toBeDefined();
    expect(status.history).toHaveLength(1);
    expect(status.conditions?.map(c => [c.type, c.status, c.reason])).toEqual([
      ["Ready", "True", "Passed"],
      ["Running", "False", "Idle"],
      ["RollbackReady", "True", "Rehearsed"],
    ]);
    // One sandbox, created under the name stored in status before the create.
    const names = world.actions.flatMap(a => (a.type === "CreateNamespace" ? [a.name] : []));
    expect(new Set(names)).toEqual(new Set(["rbd-web-0f1e2d-1"]));
    const createdAt = world.decisions.findIndex(d =>
      d.actions.some(a => a.type === "CreateNamespace"),
    );
    expect(world.decisions[createdAt]?.status.currentRun?.sandboxNamespace).toBe(
      "rbd-web-0f1e2d-1",
    );
  });

  it("builds the clone as the spec says: one replica, pull Always, no token, env overrides, labels", () => {
    const withEnv = aTemplate(
      [
        { name: "init", image: pinned("i"), init: true },
        { name: "app", image: pinned("m") },
      ],
      { serviceAccountName: "web-sa" },
    );
    const target = aTarget([
      { revision: 1, template: withEnv },
      { revision: 2, template: N, digests: { app: sha("n") } },
    ]);
    const drill = aDrill({
      spec: { sandbox: { env: [{ name: "DATABASE_URL", value: "postgres://staging" }] } },
    });
    const world = track(new World(drill, target, healthyKubelet({})));
    for (let i = 0; i < 4; i++) world.step(i);
    const create = world.actions.find(a => a.type === "CreateDeployment");
    if (create?.type !== "CreateDeployment") throw new Error("no clone");
    const spec = create.manifest.spec;
    expect(spec.replicas).toBe(1);
    expect(spec.template.spec.automountServiceAccountToken).toBe(false);
    expect(spec.template.spec.serviceAccountName).toBe("web-sa");
    for (const c of [
      ...(spec.template.spec.initContainers ?? []),
      ...spec.template.spec.containers,
    ]) {
      expect(c.imagePullPolicy).toBe("Always");
      expect(c.env).toEqual([{ name: "DATABASE_URL", value: "postgres://staging" }]);
    }
    expect(spec.template.metadata?.labels).toMatchObject({
      app: "web",
      "rollbackdrill.io/run": "1",
    });
    expect(spec.template.metadata?.labels?.["pod-template-hash"]).toBeUndefined();
    const kinds = sandboxActions(world).map(a =>
      a.type === "CreateObject" ? `${a.type}:${a.manifest.kind}` : a.type,
    );
    expect(kinds).toEqual([
      "CreateNamespace",
      "CreateObject:RoleBinding",
      "CreateObject:NetworkPolicy",
      "CreateObject:ResourceQuota",
      "CreateObject:ServiceAccount",
      "CreateObject:ServiceAccount",
      "CreateDeployment",
    ]);
    // M runs as web-sa, N as the namespace's default, which the sandbox stands in for with one
    // of its own (the sandbox's "default" is the ServiceAccount controller's to make).
    const accounts = world.actions.flatMap(a =>
      a.type === "CreateObject" && a.manifest.kind === "ServiceAccount" ? [a.manifest] : [],
    );
    expect(accounts).toMatchObject([
      { metadata: { name: "rollback-drill-default" }, automountServiceAccountToken: false },
      { metadata: { name: "web-sa" }, automountServiceAccountToken: false },
    ]);
  });

  it("the war story: both revisions name app:latest, the tag moved, N differs by a restart annotation -> SameDigest", () => {
    const latest = "registry.example.com/app:latest";
    const old = aTemplate([{ name: "app", image: latest }]);
    const restarted = aTemplate(
      [{ name: "app", image: latest }],
      {},
      {
        "kubectl.kubernetes.io/restartedAt": "2025-01-01T14:00:00Z",
      },
    );
    // Production's revision 2 pods pulled the moved tag: the broken digest B.
    const target = aTarget([
      { revision: 1, template: old },
      { revision: 2, template: restarted, digests: { app: sha("B") } },
    ]);
    const world = track(new World(aDrill(), target, healthyKubelet({ [latest]: sha("B") })));
    world.runToEnd(5, 40);
    const status = world.drill.status!;
    expect(status.lastRun).toMatchObject({ verdict: "Failed", reason: "SameDigest" });
    expect(status.lastRun?.message).toContain('container "app"');
    expect(status.lastRun?.message).toContain(sha("B"));
    expect(status.lastRun?.message).toContain("Pin images by digest");
    expect(status.warnings?.map(w => w.reason)).toEqual(["UnpinnedImage"]);
    expect(status.warnings?.[0]?.message).toContain("`latest`");
    expect(status.lastRun?.evidence?.[0]).toMatchObject({
      fromDigest: sha("B"),
      toDigest: sha("B"),
      pinned: false,
      verdict: "SameDigest",
    });
  });

  it("a failed run's sandbox is kept for ttlSecondsAfterFinished, then deleted", () => {
    const latest = "registry.example.com/app:latest";
    const target = aTarget([
      { revision: 1, template: aTemplate([{ name: "app", image: latest }]) },
      {
        revision: 2,
        template: aTemplate([{ name: "app", image: latest }], {}, { a: "b" }),
        digests: { app: sha("B") },
      },
    ]);
    const drill = aDrill({ spec: { sandbox: { ttlSecondsAfterFinished: 600 } } });
    const world = track(new World(drill, target, healthyKubelet({ [latest]: sha("B") })));
    for (let i = 0; i < 30 && world.drill.status?.currentRun?.phase !== "SandboxKept"; i++)
      world.step(i * 5);
    const done = world.seconds;
    // The phase says what is true, and lastRun (what `kubectl describe` prints) says until when.
    const until = iso(done + 600);
    expect(world.drill.status?.phase).toBe("SandboxKept");
    expect(world.drill.status?.lastRun?.sandboxKeptUntil).toBe(until);
    expect(world.drill.status?.conditions?.find(c => c.type === "Running")).toMatchObject({
      status: "False",
      reason: "SandboxKept",
      message: expect.stringContaining(`kept for inspection until ${until}`) as string,
    });
    expect(world.events()).toContain("SandboxKept");
    const kept = world.step(done + 60);
    expect(kept.actions.some(a => a.type === "DeleteNamespace")).toBe(false);
    // A Failed run (a rollback result) keeps its pods running for inspection.
    expect(kept.actions.some(a => a.type === "ScaleDeployment")).toBe(false);
    expect(kept.requeueAfterMs).toBe((600 - 60) * 1000);
    expect(kept.status.phase).toBe("SandboxKept");
    const due = world.step(done + 600);
    expect(due.status.phase).toBe("CleaningUp");
    expect(due.actions).toContainEqual(
      expect.objectContaining({ type: "DeleteNamespace", name: "rbd-web-0f1e2d-1" }),
    );
    world.step(done + 605);
    expect(world.drill.status?.currentRun).toBeUndefined();
    expect(world.drill.status?.phase).toBe("Idle");
    // Gone, so no longer promised.
    expect(world.drill.status?.lastRun?.sandboxKeptUntil).toBeUndefined();
  });

  it("the ledger saw revision 1 run digest A; the tag now gives C -> DigestMismatch", () => {
    const v1 = "registry.example.com/app:v1";
    const M1 = aTemplate([{ name: "app", image: v1 }]);
    const N2 = aTemplate([{ name: "app", image: "registry.example.com/app:v2" }]);
    const drill = aDrill({
      status: {
        digestLedger: [
          {
            revision: 1,
            podTemplateHash: "h1",
            observedTime: iso(-86400),
            containers: [{ name: "app", image: v1, digest: sha("A") }],
          },
        ],
      },
    });
    const target = aTarget([
      { revision: 1, template: M1 },
      { revision: 2, template: N2, digests: { app: sha("B") } },
    ]);
    const world = track(
      new World(
        drill,
        target,
        healthyKubelet({ [v1]: sha("C"), "registry.example.com/app:v2": sha("B") }),
      ),
    );
    world.runToEnd(5, 40);
    const last = world.drill.status?.lastRun;
    expect(last).toMatchObject({ verdict: "Failed", reason: "DigestMismatch" });
    expect(last?.message).toContain(sha("C"));
    expect(last?.message).toContain(sha("A"));
    expect(last?.evidence?.[0]).toMatchObject({ expectedDigest: sha("A"), toDigest: sha("C") });
  });

  it("the rollback target's image was deleted from the registry -> ImagePullFailed, before any roll forward", () => {
    const target = aTarget(history);
    const world = track(
      new World(aDrill(), target, (t, hash) => {
        const pod = healthyKubelet({})(t, hash)[0]!;
        return [
          t.spec.containers[0]!.image === pinned("m")
            ? aFailingPod(pod, "app", "ImagePullBackOff")
            : pod,
        ];
      }),
    );
    world.runToEnd(5, 40);
    expect(world.drill.status?.lastRun).toMatchObject({
      verdict: "Failed",
      reason: "ImagePullFailed",
    });
    expect(world.drill.status?.lastRun?.message).toContain("retention");
    expect(world.actions.some(a => a.type === "ReplaceDeploymentTemplate")).toBe(false);
  });

  /**
   * The kubelet of a private registry: revision 1's pull is refused (401) while `refused` says so,
   * and the clone's rollout is complete from the look after its pod runs.
   */
  function refusingKubelet(world: World, refused: (sinceStart: number) => boolean) {
    let startedAt: number | undefined;
    world.complete = false;
    return (t: PodTemplateSpec, hash: string): PodView[] => {
      const pod = healthyKubelet({})(t, hash)[0]!;
      const isRefused =
        t.spec.containers[0]!.image === pinned("m") &&
        refused(world.seconds - (startedAt ?? world.seconds));
      world.complete = !isRefused;
      if (t.spec.containers[0]!.image !== pinned("m")) return [pod];
      startedAt ??= world.seconds;
      const started = { ...pod, status: { ...pod.status, startTime: iso(startedAt) } };
      if (!isRefused) return [started];
      return [
        aFailingPod(started, "app", "ErrImagePull", {
          state: {
            waiting: {
              reason: "ErrImagePull",
              message: `failed to pull and unpack image "${pinned("m")}": pulling from host registry.example.com failed with status code [manifests ${sha("m")}]: 401 Unauthorized`,
            },
          },
        }),
      ];
    };
  }

  it("a 401 in the first seconds of a pull is the kubelet's pull-secret race: the run waits for its retry, which pulls", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    // The kubelet's first pull went out without the secret; its retry after the back-off has it.
    world.kubelet = refusingKubelet(world, since => since < 12);
    world.runToEnd(2, 100);
    expect(world.drill.status?.lastRun, world.drill.status?.lastRun?.message).toMatchObject({
      verdict: "Passed",
    });
  });

  it("a 401 that outlasts the kubelet's retry -> ImagePullFailed naming the pull secrets, not retention", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    world.kubelet = refusingKubelet(world, () => true);
    world.runToEnd(2, 100);
    const last = world.drill.status?.lastRun;
    expect(last).toMatchObject({ verdict: "Failed", reason: "ImagePullFailed" });
    expect(last?.message).toContain("refused the pull's credentials");
    expect(last?.message).toContain("imagePullSecrets");
    expect(last?.message).not.toContain("retention");
    // Judged once the retry window closed, not at the first refusal.
    const refusedFrom = world.decisions.findIndex(
      d => d.status.currentRun?.phase === "DeployingPrevious",
    );
    const judged = world.decisions.findIndex(d => d.status.lastRun?.verdict === "Failed");
    expect((judged - refusedFrom) * 2).toBeGreaterThanOrEqual(30);
    expect(world.actions.some(a => a.type === "ReplaceDeploymentTemplate")).toBe(false);
  });

  it("waiting out a refused pull, the run asks to look again when the retry window closes", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    world.kubelet = refusingKubelet(world, () => true);
    let decision = world.step(0);
    while (decision.status.currentRun?.phase !== "DeployingPrevious")
      decision = world.step(world.seconds + 1);
    // The clone exists now: the next look sees its first pod, refused, and times its recheck.
    decision = world.step(world.seconds + 1);
    expect(decision.status.currentRun?.phase).toBe("DeployingPrevious");
    const started = Date.parse(world.observed().sandbox?.pods[0]?.status?.startTime ?? "");
    const now = Date.parse(iso(world.seconds));
    expect(decision.requeueAfterMs).toBe(started + 30_000 - now);
    decision = world.step(world.seconds + (decision.requeueAfterMs ?? 0) / 1000);
    expect(decision.status.lastRun).toMatchObject({ reason: "ImagePullFailed" });
  });

  it("the new version migrated forward and the old one crashes -> CrashLoop with its log lines", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    world.kubelet = (t, hash) => {
      const pod = healthyKubelet({})(t, hash)[0]!;
      const migrated = world.deployed.length > 1;
      if (!migrated || t.spec.containers[0]!.image !== pinned("m")) return [pod];
      return [
        aFailingPod(pod, "app", "CrashLoopBackOff", {
          restartCount: 3,
          lastState: { terminated: { exitCode: 1, reason: "Error" } },
          lastLogLines: ["starting", 'ERROR: column "email_verified" does not exist'],
        }),
      ];
    };
    world.runToEnd(5, 40);
    const last = world.drill.status?.lastRun;
    expect(last).toMatchObject({ verdict: "Failed", reason: "CrashLoop" });
    expect(last?.message).toContain(
      'column \\"email_verified\\" does not exist'.replace(/\\/g, ""),
    );
    expect(last?.message).toContain("exit code 1");
    expect(last?.message).toContain("expand-contract");
  });

  // A real kubelet: the old version goes Ready (no readiness probe), then its first crash shows
  // as a terminated container or a restart not yet running, before any CrashLoopBackOff.
  for (const [name, crashedStatus] of [
    [
      "terminated with exit code 1",
      { state: { terminated: { exitCode: 1, reason: "Error" } }, restartCount: 0 },
    ],
    [
      "restarted after exit code 1, waiting to run",
      {
        state: { waiting: { reason: "ContainerCreating" } },
        restartCount: 1,
        lastState: { terminated: { exitCode: 1, reason: "Error" } },
      },
    ],
  ] as const) {
    it(`the old version went Ready, then crashed (${name}) -> CrashLoop with its log lines`, () => {
      const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
      let crashedOnce = false;
      world.kubelet = (t, hash) => {
        const pod = healthyKubelet({})(t, hash)[0]!;
        const migrated = world.deployed.length > 1;
        if (!migrated || t.spec.containers[0]!.image !== pinned("m")) return [pod];
        // Ready the first time the drill looks, crashed from then on.
        if (!crashedOnce) {
          crashedOnce = true;
          return [pod];
        }
        return [
          aFailingPod(pod, "app", "Error", {
            ...crashedStatus,
            lastLogLines: [
              "orders 5.0.0: schema v1 ok",
              'ERROR: null value in column "customer_id"',
            ],
          }),
        ];
      };
      world.runToEnd(5, 40);
      const last = world.drill.status?.lastRun;
      expect(last).toMatchObject({ verdict: "Failed", reason: "CrashLoop" });
      expect(last?.message).toContain("orders 5.0.0: schema v1 ok");
      expect(last?.message).toContain("exit code 1");
    });
  }

  it("a container restarted after a crash and running again is not a crash loop", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    world.kubelet = (t, hash) => {
      const pod = healthyKubelet({})(t, hash)[0]!;
      const status = pod.status?.containerStatuses?.[0];
      if (status === undefined || t.spec.containers[0]!.image !== pinned("m")) return [pod];
      return [
        {
          ...pod,
          status: {
            ...pod.status,
            containerStatuses: [
              { ...status, restartCount: 1, lastState: { terminated: { exitCode: 1 } } },
            ],
          },
        },
      ];
    };
    world.runToEnd(5, 40);
    expect(world.drill.status?.lastRun?.verdict).toBe("Passed");
  });

  it("N crash-loops in the sandbox: the drill undoes at once, as in an incident", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    world.kubelet = (t, hash) => {
      const pod = healthyKubelet({})(t, hash)[0]!;
      return [
        t.spec.containers[0]!.image === pinned("n")
          ? aFailingPod(pod, "app", "CrashLoopBackOff")
          : pod,
      ];
    };
    world.runToEnd(5, 40);
    expect(world.drill.status?.lastRun?.verdict).toBe("Passed");
    const undo = world.decisions.findIndex(d => d.actions.some(a => a.type === "UndoDeployment"));
    const forward = world.decisions.findIndex(d =>
      d.actions.some(a => a.type === "ReplaceDeploymentTemplate"),
    );
    expect(undo).toBe(forward + 1);
  });

  it("a sidecar is the only container whose rollback fails: it is named", () => {
    const Ms = aTemplate([
      { name: "app", image: pinned("m") },
      { name: "proxy", image: "registry.example.com/proxy:1" },
    ]);
    const Ns = aTemplate([
      { name: "app", image: pinned("n") },
      { name: "proxy", image: "registry.example.com/proxy:1" },
    ]);
    const target = aTarget([
      { revision: 1, template: Ms },
      { revision: 2, template: Ns, digests: { app: sha("n"), proxy: sha("p") } },
    ]);
    const world = track(new World(aDrill(), target, healthyKubelet({})));
    world.kubelet = (t, hash) => {
      const pod = healthyKubelet({ "registry.example.com/proxy:1": sha("p") })(t, hash)[0]!;
      const after = world.drill.status?.currentRun?.undoTime !== undefined;
      return [after ? aFailingPod(pod, "proxy", "CrashLoopBackOff") : pod];
    };
    world.runToEnd(5, 40);
    expect(world.drill.status?.lastRun).toMatchObject({ reason: "CrashLoop" });
    expect(world.drill.status?.lastRun?.message).toContain('sidecar container "proxy"');
  });

  it("an init container is the only one whose digest did not change: SameDigest names it", () => {
    const migrate = "registry.example.com/migrate:stable";
    const Mi = aTemplate([
      { name: "migrate", image: migrate, init: true },
      { name: "app", image: pinned("m") },
    ]);
    const Ni = aTemplate([
      { name: "migrate", image: migrate, init: true },
      { name: "app", image: pinned("n") },
    ]);
    const target = aTarget([
      { revision: 1, template: Mi },
      { revision: 2, template: Ni, digests: { migrate: sha("X"), app: sha("n") } },
    ]);
    const world = track(new World(aDrill(), target, healthyKubelet({ [migrate]: sha("X") })));
    world.runToEnd(5, 40);
    const last = world.drill.status?.lastRun;
    expect(last).toMatchObject({ reason: "SameDigest" });
    expect(last?.message).toContain('init container "migrate"');
    expect(last?.evidence?.find(e => e.name === "migrate")).toMatchObject({
      init: true,
      verdict: "SameDigest",
    });
    expect(last?.evidence?.find(e => e.name === "app")).toMatchObject({ verdict: "Passed" });
  });

  it("pods that come up but go unready within stableSeconds -> PodsNotReady", () => {
    const world = track(new World(aDrill(), aTarget(history), healthyKubelet({})));
    world.kubelet = (t, hash) => {
      const pod = healthyKubelet({})(t, hash)[0]!;
      const ready = world.drill.status?.currentRun?.readyTime;
      return [
        ready !== undefined ? aPod(pod.metadata.name, hash, t, { app: sha("m") }, false) : pod,
      ];
    };
    world.runToEnd(5, 40);
    expect(world.drill.status?.lastRun).toMatchObject({ reason: "PodsNotReady" });
    expect(world.drill.status?.lastRun?.message).toContain("did not stay Ready for 30s");
  });

  it("a rollback slower than maxRollbackSeconds -> RollbackTooSlow with the measured time", () => {
    const drill = aDrill({ spec: { checks: { maxRollbackSeconds: 3 } } });
    const world = track(new World(drill, aTarget(history), healthyKubelet({})));
    world.runToEnd(5, 40);
    expect(world.drill.status?.lastRun).toMatchObject({
      reason: "RollbackTooSlow",
      rollbackSeconds: 5,
    });
    expect(world.drill.status?.lastRun?.message).toContain("took 5s");
  });

  it("a clone that never finishes rolling out -> RolloutTimeout", () => {
    const drill = aDrill({ spec: { checks: { timeoutSeconds: 60, stableSeconds: 10 } } });
    const world = track(new World(drill, aTarget(history), healthyKubelet({})));
    world.complete = false;
    world.runToEnd(5, 40);
    expect(world.drill.status?.lastRun).toMatchObject({
      verdict: "Failed",
      reason: "RolloutTimeout",
    });
    expect(world.drill.status?.lastRun?.message).toContain("timeoutSeconds (60s)");
  });

  it("a Helm-managed target passes on its merits, with the helm command as a warning", () => {
    const target = aTarget(history, {
      labels: { "app.kubernetes.io/managed-by": "Helm" },
      annotations: {
        "meta.helm.sh/release-name": "web",
        "meta.helm.sh/release-namespace": DRILL_NS,
      },
    });
    const world = track(new World(aDrill(), target, healthyKubelet({})));
    world.runToEnd();
    expect(world.drill.status?.lastRun?.verdict).toBe("Passed");
    expect(world.drill.status?.warnings).toEqual([
      expect.objectContaining({
        reason: "ExternallyManaged",
        message: expect.stringContaining("helm rollback web <release revision> -n shop") as string,
      }),
    ]);
  });

  it("a paused target is rehearsed on an unpaused clone, with the TargetPaused warning", () => {
    const target = aTarget(history, { spec: { paused: true } });
    const world = track(new World(aDrill(), target, healthyKubelet({})));
    world.runToEnd();
    expect(world.drill.status?.lastRun?.verdict).toBe("Passed");
    expect(world.drill.status?.warnings?.[0]?.message).toContain(
      "kubectl rollout resume deployment/web",
    );
  });
});

describe("runs that end before any sandbox", () => {
  const M = aTemplate([{ name: "app", image: "registry.example.com/app:1.0" }]);
  const N = aTemplate([{ name: "app", image: "registry.example.com/app:1.1" }]);

  const cases: [string, string, RollbackDrill, ReturnType<typeof aTarget> | undefined, RegExp][] = [
    [
      "the target is missing",
      "TargetNotFound",
      aDrill(),
      undefined,
      /Deployment "web" not found in namespace "shop"/,
    ],
    [
      "only one revision exists",
      "NoRevisionHistory",
      aDrill(),
      aTarget([{ revision: 1, template: M }]),
      /only revision 1 exists.*keep revisionHistoryLimit >= 2/,
    ],
    [
      "revisionHistoryLimit is 0",
      "NoRevisionHistory",
      aDrill(),
      aTarget([{ revision: 3, template: N }], { spec: { revisionHistoryLimit: 0 } }),
      /revisionHistoryLimit is 0/,
    ],
    [
      "toRevision does not exist",
      "NoRevisionHistory",
      aDrill({ spec: { toRevision: 7 } }),
      aTarget([
        { revision: 1, template: M },
        { revision: 2, template: N },
      ]),
      /unable to find specified revision 7 in history \(existing revisions: 1, 2\)/,
    ],
    [
      "toRevision is the current template",
      "NoRevisionHistory",
      aDrill({ spec: { toRevision: 2 } }),
      aTarget([
        { revision: 1, template: M },
        { revision: 2, template: N },
      ]),
      /skipped rollback \(current template already matches revision 2\)/,
    ],
    [
      "pinnedImages Require and tags",
      "UnpinnedImage",
      aDrill({ spec: { checks: { pinnedImages: "Require" } } }),
      aTarget([
        { revision: 1, template: M },
        { revision: 2, template: N },
      ]),
      /pinnedImages is Require/,
    ],
    [
      "the sandbox namespace is the drill's",
      "InvalidSpec",
      aDrill({ spec: { sandbox: { namespace: DRILL_NS } } }),
      aTarget([
        { revision: 1, template: M },
        { revision: 2, template: N },
      ]),
      /spec\.sandbox\.namespace: must differ/,
    ],
    [
      "the schedule never fires",
      "InvalidSpec",
      aDrill({ spec: { schedule: "0 0 30 2 *" } }),
      aTarget([
        { revision: 1, template: M },
        { revision: 2, template: N },
      ]),
      /spec\.schedule: "0 0 30 2 \*" never fires/,
    ],
    [
      "the time zone is unknown",
      "InvalidSpec",
      aDrill({ spec: { schedule: "@daily", timeZone: "Mars/Olympus" } }),
      aTarget([
        { revision: 1, template: M },
        { revision: 2, template: N },
      ]),
      /spec\.timeZone: unknown time zone "Mars\/Olympus"/,
    ],
    [
      "a Secret the clone needs is not copied",
      "SandboxError",
      aDrill(),
      aTarget([
        {
          revision: 1,
          template: aTemplate([{ name: "app", image: "a:1" }], {
            volumes: [{ name: "creds", secret: { secretName: "db" } }],
          }),
        },
        { revision: 2, template: N },
      ]),
      /Secret "db", referenced by volume "creds" of revision 1, is not copied.*spec\.sandbox\.copySecrets/,
    ],
  ];

  it.each(cases)("%s -> %s", (_name, reason, drill, target, message) => {
    const world = track(new World(drill, target, healthyKubelet({})));
    world.runToEnd(1, 10);
    expect(world.drill.status?.lastRun?.reason).toBe(reason);
    expect(world.drill.status?.lastRun?.message).toMatch(message);
    expect(world.drill.status?.reason).toBe(reason);
    expect(world.actions.filter(a => a.type !== "EmitEvent")).toEqual([]);
    expect(world.drill.status?.conditions?.find(c => c.type === "Ready")).toMatchObject({
      status: "False",
      reason,
    });
    expect(world.drill.status?.lastRun?.verdict).toBe(
      ["TargetNotFound", "InvalidSpec", "SandboxError"].includes(reason) ? "Error" : "Failed",
    );
  });
});

describe("containment over every run above", () => {
  it("no action writes in the drill's own namespace except the drill's status, finalizer and events", () => {
    expect(allWorlds.length).toBeGreaterThan(10);
    for (const world of allWorlds)
      for (const action of world.actions) {
        expect(isContained(action, world.drill)).toBe(true);
        if (action.type === "CopyConfigMap" || action.type === "CopySecret")
          expect(action.to.namespace).not.toBe(DRILL_NS);
      }
  });
});
