import { afterEach, describe, expect, it } from "vitest";
import { waitForPass } from "../../kit/index.ts";
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
  statusOf,
  type DStatus,
  type Sim,
} from "./harness.ts";

const REPO = "registry.example.com/shop/web";

describe("deployment rollout", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // pkg/controller/deployment/sync.go (getNewReplicaSet: name, labels, ownerReferences, revision
  // annotations) and progress.go (syncRolloutStatus: NewReplicaSetAvailable message).
  it("creates <name>-<hash> ReplicaSets and completes with real status and conditions", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const d = sim.store.create(DEPLOYMENTS, deployment("web", `${REPO}:v1`), ADMIN);
    await waitForPass(sim, "deployment web rolled out", () => {
      const s = dstatus(sim);
      expect(s.availableReplicas).toBe(3);
      expect(s.conditions?.find(c => c.type === "Progressing")?.reason).toBe(
        "NewReplicaSetAvailable",
      );
    });
    const rss = listOwned(sim.store, REPLICASETS, d.metadata.uid);
    expect(rss).toHaveLength(1);
    const rs = rss[0];
    const hash = rs?.metadata.labels?.["pod-template-hash"] ?? "";
    expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    expect(rs?.metadata.name).toBe(`web-${hash}`);
    expect(rs?.metadata.ownerReferences).toEqual([
      {
        apiVersion: "apps/v1",
        kind: "Deployment",
        name: "web",
        uid: d.metadata.uid,
        controller: true,
        blockOwnerDeletion: true,
      },
    ]);
    expect(rs?.metadata.annotations).toMatchObject({
      "deployment.kubernetes.io/revision": "1",
      "deployment.kubernetes.io/desired-replicas": "3",
      "deployment.kubernetes.io/max-replicas": "4",
    });
    const final = sim.store.get(DEPLOYMENTS, "default", "web");
    expect(final?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("1");
    const s = statusOf(final) as DStatus;
    expect(s).toMatchObject({
      observedGeneration: 1,
      replicas: 3,
      updatedReplicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
    });
    expect(s.conditions?.find(c => c.type === "Available")).toMatchObject({
      status: "True",
      reason: "MinimumReplicasAvailable",
      message: "Deployment has minimum availability.",
    });
    expect(s.conditions?.find(c => c.type === "Progressing")).toMatchObject({
      status: "True",
      message: `ReplicaSet "web-${hash}" has successfully progressed.`,
    });
    const pods = listOwned(sim.store, PODS, rs?.metadata.uid);
    expect(pods).toHaveLength(3);
    for (const p of pods)
      expect(p.metadata.name).toMatch(new RegExp(`^web-${hash}-[bcdfghjklmnpqrstvwxz2456789]{5}$`));
    expect(eventsFor(sim.store, "web")).toContainEqual({
      reason: "ScalingReplicaSet",
      message: `Scaled up replica set web-${hash} from 0 to 3`,
    });
  });

  // rolling.go (reconcileNewReplicaSet / reconcileOldReplicaSets) and sync.go
  // (SetNewReplicaSetAnnotations): a rollback re-uses the old ReplicaSet and bumps its revision.
  it("re-uses the old ReplicaSet on undo and gives it revision max+1 with revision-history", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    sim.world.images.push(REPO, "v3");
    const d = sim.store.create(
      DEPLOYMENTS,
      deployment("web", `${REPO}:v1`, { replicas: 2 }),
      ADMIN,
    );
    await rolledOut(sim, 1, 2);
    setImage(sim.store, "web", `${REPO}:v2`);
    await rolledOut(sim, 2, 2);
    setImage(sim.store, "web", `${REPO}:v3`);
    await rolledOut(sim, 3, 2);
    const byRev = (): Map<string, string> =>
      new Map(
        listOwned(sim.store, REPLICASETS, d.metadata.uid).map(rs => [
          rs.metadata.annotations?.["deployment.kubernetes.io/revision"] ?? "",
          rs.metadata.name ?? "",
        ]),
      );
    const before = byRev();
    expect([...before.keys()].sort()).toEqual(["1", "2", "3"]);
    // kubectl rollout undo: replace the template with revision 2's (without its hash label).
    const rev2 = sim.store.get(REPLICASETS, "default", before.get("2") ?? "");
    const template = structuredClone(
      rev2?.["spec"] as { template: { metadata: { labels: Record<string, string> } } },
    ).template;
    delete template.metadata.labels["pod-template-hash"];
    sim.store.patch(
      DEPLOYMENTS,
      "default",
      "web",
      "json",
      [{ op: "replace", path: "/spec/template", value: template }],
      ADMIN,
    );
    await rolledOut(sim, 4, 2);
    const after = sim.store.get(REPLICASETS, "default", before.get("2") ?? "");
    expect(after?.metadata.annotations?.["deployment.kubernetes.io/revision"]).toBe("4");
    expect(after?.metadata.annotations?.["deployment.kubernetes.io/revision-history"]).toBe("2");
    expect(listOwned(sim.store, REPLICASETS, d.metadata.uid)).toHaveLength(3);
    expect(
      sim.store.get(DEPLOYMENTS, "default", "web")?.metadata.annotations?.[
        "deployment.kubernetes.io/revision"
      ],
    ).toBe("4");
    expect([...byRev().keys()].sort()).toEqual(["1", "3", "4"]);
  });
});
