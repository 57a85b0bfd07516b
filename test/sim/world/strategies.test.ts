import { afterEach, describe, expect, it } from "vitest";
import { waitForPass } from "../../kit/index.ts";
import { computeTemplateHash } from "../../../src/sim/controllers/names.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import {
  ADMIN,
  DEPLOYMENTS,
  deployment,
  dstatus,
  eventsFor,
  listOwned,
  PODS,
  REPLICASETS,
  rolledOut,
  setImage,
  startTestWorld,
  type DStatus,
  type Sim,
} from "./harness.ts";

const REPO = "registry.example.com/shop/web";

const progressing = (
  sim: Sim,
): DStatus["conditions"] extends (infer C)[] | undefined ? C | undefined : never =>
  dstatus(sim).conditions?.find(c => c.type === "Progressing");
const rsReplicas = (rs: KubeObject): number => (rs["spec"] as { replicas?: number }).replicas ?? 0;

describe("rollout strategies", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // pkg/controller/deployment/rolling.go: with maxSurge 1 / maxUnavailable 0, total replicas never
  // exceed replicas+1 and available never drops below replicas while rolling.
  it("RollingUpdate keeps within maxSurge and maxUnavailable", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2", { readyAfterMs: 2_000 });
    const strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } };
    const d = sim.store.create(
      DEPLOYMENTS,
      deployment(
        "web",
        `${REPO}:v1`,
        { replicas: 4, strategy },
        { readinessProbe: { periodSeconds: 1 } },
      ),
      ADMIN,
    );
    await rolledOut(sim, 1, 4);
    let maxTotal = 0;
    let minAvailable = Infinity;
    const off = sim.store.subscribe(e => {
      if (e.gvr.resource !== "replicasets") return;
      const rss = listOwned(sim.store, REPLICASETS, d.metadata.uid);
      maxTotal = Math.max(
        maxTotal,
        rss.reduce((n, rs) => n + rsReplicas(rs), 0),
      );
      minAvailable = Math.min(
        minAvailable,
        rss.reduce(
          (n, rs) =>
            n +
            ((rs["status"] as { availableReplicas?: number } | undefined)?.availableReplicas ?? 0),
          0,
        ),
      );
    });
    setImage(sim.store, "web", `${REPO}:v2`);
    await rolledOut(sim, 2, 4);
    off();
    expect(maxTotal).toBe(5);
    expect(minAvailable).toBeGreaterThanOrEqual(4);
    expect(progressing(sim)?.reason).toBe("NewReplicaSetAvailable");
  });

  // pkg/controller/deployment/recreate.go: old pods are all gone before the new ReplicaSet exists.
  it("Recreate removes every old pod before creating the new ReplicaSet", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    const d = sim.store.create(
      DEPLOYMENTS,
      deployment("web", `${REPO}:v1`, { replicas: 2, strategy: { type: "Recreate" } }),
      ADMIN,
    );
    await rolledOut(sim, 1, 2);
    const oldRs = listOwned(sim.store, REPLICASETS, d.metadata.uid)[0];
    let podsWhenNewRsCreated = -1;
    const off = sim.store.subscribe(e => {
      if (e.type === "ADDED" && e.gvr.resource === "replicasets" && podsWhenNewRsCreated < 0)
        podsWhenNewRsCreated = listOwned(sim.store, PODS, oldRs?.metadata.uid).length;
    });
    setImage(sim.store, "web", `${REPO}:v2`);
    await rolledOut(sim, 2, 2);
    off();
    expect(podsWhenNewRsCreated).toBe(0);
  });

  // sync.go checkPausedConditions and sync(): a paused Deployment does not roll out, but scales.
  it("paused: no rollout, scaling still applies, condition DeploymentPaused", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    const d = sim.store.create(
      DEPLOYMENTS,
      deployment("web", `${REPO}:v1`, { replicas: 2 }),
      ADMIN,
    );
    await rolledOut(sim, 1, 2);
    sim.store.patch(DEPLOYMENTS, "default", "web", "merge", { spec: { paused: true } }, ADMIN);
    await waitForPass(sim, "deployment web Progressing Unknown (paused)", () => {
      expect(progressing(sim)).toMatchObject({
        status: "Unknown",
        reason: "DeploymentPaused",
        message: "Deployment is paused",
      });
    });
    setImage(sim.store, "web", `${REPO}:v2`);
    sim.store.patch(DEPLOYMENTS, "default", "web", "merge", { spec: { replicas: 3 } }, ADMIN);
    await waitForPass(sim, "deployment web available at generation 4", () => {
      expect(dstatus(sim).availableReplicas).toBe(3);
      expect(dstatus(sim).observedGeneration).toBe(4);
    });
    expect(listOwned(sim.store, REPLICASETS, d.metadata.uid)).toHaveLength(1);
    sim.store.patch(DEPLOYMENTS, "default", "web", "merge", { spec: { paused: false } }, ADMIN);
    await rolledOut(sim, 5, 3);
    expect(listOwned(sim.store, REPLICASETS, d.metadata.uid)).toHaveLength(2);
  });

  // progress.go DeploymentTimedOut: no progress for progressDeadlineSeconds -> ProgressDeadlineExceeded.
  it("reports ProgressDeadlineExceeded when the new pods never become ready", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "broken", { neverReady: true });
    sim.store.create(
      DEPLOYMENTS,
      deployment(
        "web",
        `${REPO}:v1`,
        { replicas: 2, progressDeadlineSeconds: 30 },
        { readinessProbe: { periodSeconds: 1 } },
      ),
      ADMIN,
    );
    await rolledOut(sim, 1, 2);
    setImage(sim.store, "web", `${REPO}:broken`);
    await waitForPass(sim, "deployment web ProgressDeadlineExceeded", () => {
      const c = progressing(sim);
      expect(c?.status).toBe("False");
      expect(c?.reason).toBe("ProgressDeadlineExceeded");
      expect(c?.message).toMatch(/^ReplicaSet "web-[a-z0-9]+" has timed out progressing\.$/);
    });
  });

  // sync.go cleanupDeployment: keeps revisionHistoryLimit old ReplicaSets, oldest revisions go first.
  it.each([
    [1, ["3", "4"]],
    [0, ["4"]],
  ])("revisionHistoryLimit %i keeps revisions %j", async (limit, revisions) => {
    sim = startTestWorld();
    for (const t of ["v1", "v2", "v3", "v4"]) sim.world.images.push(REPO, t);
    const d = sim.store.create(
      DEPLOYMENTS,
      deployment("web", `${REPO}:v1`, { replicas: 1, revisionHistoryLimit: limit }),
      ADMIN,
    );
    await rolledOut(sim, 1, 1);
    for (const [i, t] of ["v2", "v3", "v4"].entries()) {
      setImage(sim.store, "web", `${REPO}:${t}`);
      await rolledOut(sim, i + 2, 1);
    }
    await waitForPass(sim, "the revisions of web's ReplicaSets", () => {
      const revs = listOwned(sim.store, REPLICASETS, d.metadata.uid)
        .map(rs => rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "")
        .sort();
      expect(revs).toEqual(revisions);
    });
  });
});

describe("ReplicaSet availability and hash collisions", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // pkg/controller/replicaset/replica_set_utils.go calculateStatus with podutil.IsPodAvailable:
  // a ready pod counts as available only after minReadySeconds.
  it("honours minReadySeconds for availableReplicas", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const d = sim.store.create(
      DEPLOYMENTS,
      deployment("web", `${REPO}:v1`, { replicas: 1, minReadySeconds: 30 }),
      ADMIN,
    );
    // When the ReplicaSet first counts the pod available, its Ready condition is 30 s old.
    let readyForMs = -1;
    const off = sim.store.subscribe(e => {
      if (e.gvr.resource !== "replicasets" || readyForMs >= 0) return;
      const s = e.object["status"] as { availableReplicas?: number } | undefined;
      if ((s?.availableReplicas ?? 0) === 0) return;
      const p = sim.store.list(PODS, { namespace: "default" }).items[0];
      const conditions = (
        p?.["status"] as { conditions?: { type: string; lastTransitionTime: string }[] } | undefined
      )?.conditions;
      const ready = conditions?.find(c => c.type === "Ready");
      readyForMs = sim.clock.nowMs() - Date.parse(ready?.lastTransitionTime ?? "");
    });
    await rolledOut(sim, 1, 1);
    off();
    expect(readyForMs).toBeGreaterThanOrEqual(30_000);
    const rs = listOwned(sim.store, REPLICASETS, d.metadata.uid)[0];
    expect(rs?.["status"]).toMatchObject({
      replicas: 1,
      fullyLabeledReplicas: 1,
      readyReplicas: 1,
      availableReplicas: 1,
      observedGeneration: 1,
    });
    expect(eventsFor(sim.store, rs?.metadata.name ?? "").map(e => e.reason)).toContain(
      "SuccessfulCreate",
    );
  });

  // sync.go getNewReplicaSet: a name taken by a ReplicaSet with another template bumps
  // status.collisionCount, and the next hash (which includes it) gives a new name.
  it("counts a hash collision and creates the ReplicaSet under a new hash", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const d = sim.store.create(
      DEPLOYMENTS,
      deployment("web", `${REPO}:v1`, { replicas: 1, paused: true }),
      ADMIN,
    );
    const template = (d["spec"] as { template: unknown }).template;
    const taken = `web-${computeTemplateHash(template)}`;
    sim.store.create(
      REPLICASETS,
      {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: { name: taken, namespace: "default" },
        spec: {
          replicas: 0,
          selector: { matchLabels: { app: "other" } },
          template: {
            metadata: { labels: { app: "other" } },
            spec: { containers: [{ name: "x", image: "busybox" }] },
          },
        },
      },
      ADMIN,
    );
    sim.store.patch(DEPLOYMENTS, "default", "web", "merge", { spec: { paused: false } }, ADMIN);
    await rolledOut(sim, 2, 1);
    const d2 = sim.store.get(DEPLOYMENTS, "default", "web");
    expect((d2?.["status"] as { collisionCount?: number }).collisionCount).toBe(1);
    const owned = listOwned(sim.store, REPLICASETS, d.metadata.uid);
    expect(owned).toHaveLength(1);
    expect(owned[0]?.metadata.name).toBe(`web-${computeTemplateHash(template, 1)}`);
  });
});
