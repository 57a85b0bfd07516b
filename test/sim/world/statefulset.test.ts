/**
 * The StatefulSet controller and its ControllerRevisions (pkg/controller/statefulset,
 * pkg/controller/history): ordered creation, rolling updates highest ordinal first, a broken
 * update that blocks, partition, OnDelete, undo re-using a revision, history trimming, status and
 * garbage collection. Every wait is on the store's events.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { KubeObject, Store } from "../../../src/sim/types.ts";
import { waitForPass } from "../../kit/index.ts";
import { admitAs, builtin, messages, rejection } from "../admission/helpers.ts";
import { ADMIN, EVENTS, PODS, startTestWorld, type Sim } from "./harness.ts";
import {
  REVISIONS,
  isReady,
  recordPods,
  revisions,
  simulatedWait,
  workloadKit,
} from "./workloads.ts";

const STATEFULSETS = { group: "apps", version: "v1", resource: "statefulsets" };
const REPO = "registry.example.com/shop/db";

interface SetStatus {
  observedGeneration?: number;
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  currentReplicas?: number;
  updatedReplicas?: number;
  currentRevision?: string;
  updateRevision?: string;
  collisionCount?: number;
}

const kit = workloadKit(STATEFULSETS, "StatefulSet", "db", name => ({
  replicas: 3,
  serviceName: name,
}));
const { build: statefulSet, get: setOf, pods: podsOf, setImage } = kit;
const statusOf = (store: Store, name?: string): SetStatus => kit.status(store, name) as SetStatus;

/** Pod name -> its controller-revision-hash, for the live (not terminating) pods. */
function podRevisions(store: Store, name = "db"): Record<string, string> {
  return Object.fromEntries(
    podsOf(store, name)
      .filter(p => p.metadata.deletionTimestamp === undefined)
      .map((p): [string, string] => [
        p.metadata.name ?? "",
        p.metadata.labels?.["controller-revision-hash"] ?? "",
      ])
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
}

/** Waits until every one of `replicas` pods runs the update revision and the roll-out completed. */
async function rolledOut(sim: Sim, replicas: number, name = "db"): Promise<SetStatus> {
  await waitForPass(sim, `statefulset ${name} rolled out`, () => {
    const s = statusOf(sim.store, name);
    expect(s.observedGeneration).toBe(setOf(sim.store, name)?.metadata.generation);
    expect(s.readyReplicas).toBe(replicas);
    expect(s.updatedReplicas).toBe(replicas);
    expect(s.currentRevision).toBe(s.updateRevision);
  });
  return statusOf(sim.store, name);
}

/** The ownerReferences of what set db controls. */
function controlledBy(set: KubeObject): unknown[] {
  return [
    {
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      name: "db",
      uid: set.metadata.uid,
      controller: true,
      blockOwnerDeletion: true,
    },
  ];
}

describe("statefulset controller", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  it("defaults the spec as apps/v1 does", () => {
    sim = startTestWorld();
    const created = sim.store.create(STATEFULSETS, statefulSet("db", `${REPO}:v1`), ADMIN);
    expect(created["spec"]).toMatchObject({
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
    expect(created.metadata.generation).toBe(1);
    expect(created["status"]).toEqual({ replicas: 0, availableReplicas: 0 });
  });

  // stateful_set_control.go: processReplica blocks on the first pod not Running and Ready.
  it("creates ordinals in order, each after the one before is ready, with their identity", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1", { readyAfterMs: 2000 });
    const rec = recordPods(sim.store);
    const set = sim.store.create(STATEFULSETS, statefulSet("db", `${REPO}:v1`), ADMIN);
    const creations: { pod: string; readyBefore: string[] }[] = [];
    const stop = sim.store.subscribe(e => {
      if (e.gvr.resource === "pods" && e.type === "ADDED")
        creations.push({
          pod: e.object.metadata.name ?? "",
          readyBefore: podsOf(sim.store)
            .filter(isReady)
            .map(p => p.metadata.name ?? ""),
        });
    });
    const status = await rolledOut(sim, 3);
    stop();
    rec.stop();
    expect(rec.created).toEqual(["db-0", "db-1", "db-2"]);
    expect(creations).toEqual([
      { pod: "db-0", readyBefore: [] },
      { pod: "db-1", readyBefore: ["db-0"] },
      { pod: "db-2", readyBefore: ["db-0", "db-1"] },
    ]);
    const revision = status.updateRevision ?? "";
    expect(revision).toMatch(/^db-[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
    const pod = sim.store.get(PODS, "default", "db-1");
    expect(pod?.metadata.labels).toEqual({
      app: "db",
      "controller-revision-hash": revision,
      "statefulset.kubernetes.io/pod-name": "db-1",
      "apps.kubernetes.io/pod-index": "1",
    });
    expect(pod?.["spec"]).toMatchObject({ hostname: "db-1", subdomain: "db" });
    expect(pod?.metadata.ownerReferences).toEqual(controlledBy(set));
    expect(status).toEqual({
      observedGeneration: 1,
      replicas: 3,
      readyReplicas: 3,
      availableReplicas: 3,
      currentReplicas: 3,
      updatedReplicas: 3,
      currentRevision: revision,
      updateRevision: revision,
      collisionCount: 0,
    });
    const events = sim.store
      .list(EVENTS, { namespace: "default" })
      .items.filter(e => (e["involvedObject"] as { kind?: string }).kind === "StatefulSet")
      .map(e => `${String(e["reason"])}: ${String(e["message"])}`);
    expect(events).toContain("SuccessfulCreate: Create Pod db-0 in StatefulSet db successful");
  });

  it("stores each template as a ControllerRevision owned by the set", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const set = sim.store.create(
      STATEFULSETS,
      {
        ...statefulSet("db", `${REPO}:v1`),
        metadata: { name: "db", namespace: "default", annotations: { note: "n" } },
      },
      ADMIN,
    );
    const status = await rolledOut(sim, 3);
    const cr = sim.store.get(REVISIONS, "default", status.updateRevision ?? "");
    const template = (setOf(sim.store)?.["spec"] as { template: Record<string, unknown> }).template;
    expect(cr?.["revision"]).toBe(1);
    expect(cr?.["data"]).toEqual({ spec: { template: { ...template, $patch: "replace" } } });
    const hash = (status.updateRevision ?? "").slice("db-".length);
    expect(cr?.metadata.labels).toEqual({ app: "db", "controller.kubernetes.io/hash": hash });
    expect(cr?.metadata.annotations).toEqual({ note: "n" });
    expect(cr?.metadata.ownerReferences).toEqual(controlledBy(set));
  });

  // updateStatefulSet: the largest ordinal not at the update revision goes first, one at a time.
  it("rolls an update out from the highest ordinal down, one pod at a time", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2", { readyAfterMs: 1000 });
    sim.store.create(STATEFULSETS, statefulSet("db", `${REPO}:v1`), ADMIN);
    const first = await rolledOut(sim, 3);
    const rec = recordPods(sim.store);
    let maxDown = 0;
    const stop = sim.store.subscribe(() => {
      const live = podsOf(sim.store).filter(
        p => p.metadata.deletionTimestamp === undefined && isReady(p),
      );
      maxDown = Math.max(maxDown, 3 - live.length);
    });
    setImage(sim.store, `${REPO}:v2`);
    await waitForPass(sim, "update revision recorded", () => {
      expect(statusOf(sim.store).updateRevision).not.toBe(first.updateRevision);
    });
    expect(statusOf(sim.store).currentRevision).toBe(first.currentRevision);
    const second = await rolledOut(sim, 3);
    stop();
    rec.stop();
    expect(rec.deleted).toEqual(["db-2", "db-1", "db-0"]);
    expect(rec.created).toEqual(["db-2", "db-1", "db-0"]);
    expect(maxDown).toBe(1);
    expect(second.currentRevision).toBe(second.updateRevision);
    expect(podRevisions(sim.store)).toEqual({
      "db-0": second.updateRevision,
      "db-1": second.updateRevision,
      "db-2": second.updateRevision,
    });
    expect(revisions(sim.store)).toEqual(
      new Map([
        [first.updateRevision ?? "", 1],
        [second.updateRevision ?? "", 2],
      ]),
    );
  });

  // The well-known stuck roll-out: the new pod at the highest ordinal never becomes ready.
  /**
   * A set of three rolled out at v1, then updated to an image that runs but is never ready:
   * returns once db-2 runs the broken revision, with both revision names.
   */
  async function brokenUpdate(): Promise<{ good: string; broken: string }> {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "broken", { neverReady: true });
    sim.store.create(
      STATEFULSETS,
      statefulSet("db", `${REPO}:v1`, {}, { readinessProbe: { periodSeconds: 1 } }),
      ADMIN,
    );
    const good = (await rolledOut(sim, 3)).updateRevision ?? "";
    setImage(sim.store, `${REPO}:broken`);
    let broken = "";
    await waitForPass(sim, "db-2 replaced by the broken revision and running", () => {
      broken = statusOf(sim.store).updateRevision ?? "";
      expect(broken).not.toBe(good);
      const pod = sim.store.get(PODS, "default", "db-2");
      expect(pod?.metadata.labels?.["controller-revision-hash"]).toBe(broken);
      expect((pod?.["status"] as { phase?: string }).phase).toBe("Running");
    });
    return { good, broken };
  }

  it("blocks a broken update at the highest ordinal and leaves the others alone", async () => {
    const { good, broken } = await brokenUpdate();
    await waitForPass(sim, "the status counts the blocked pod", () => {
      const s = statusOf(sim.store);
      expect(s).toMatchObject({ replicas: 3, readyReplicas: 2, currentReplicas: 2 });
      expect(s.updatedReplicas).toBe(1);
    });
    // Two simulated minutes (0.12 s at this scale) pass without progress.
    await simulatedWait(sim, 120_000);
    expect(podRevisions(sim.store)).toEqual({ "db-0": good, "db-1": good, "db-2": broken });
    expect(statusOf(sim.store).currentRevision).toBe(good);
  });

  it("after an undo, waits for the broken pod to become ready, so only deleting it rolls back", async () => {
    // As the real cluster does (docs/ARCHITECTURE.md, the forced rollback): the undo restores the
    // template and the update revision, but OrderedReady stops at the first pod that is not
    // Running and Ready before it replaces any.
    const { good, broken } = await brokenUpdate();
    const data = sim.store.get(REVISIONS, "default", good)?.["data"];
    sim.store.patch(STATEFULSETS, "default", "db", "strategic", data, ADMIN);
    await waitForPass(sim, "the undo observed", () => {
      const s = statusOf(sim.store);
      expect(s.observedGeneration).toBe(setOf(sim.store)?.metadata.generation);
      expect(s.updateRevision).toBe(good);
    });
    await simulatedWait(sim, 120_000);
    expect(podRevisions(sim.store)).toEqual({ "db-0": good, "db-1": good, "db-2": broken });
    sim.store.delete(PODS, "default", "db-2", ADMIN);
    await rolledOut(sim, 3);
    expect(podRevisions(sim.store)).toEqual({ "db-0": good, "db-1": good, "db-2": good });
  });

  it("keeps ordinals below the partition at the current revision", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    sim.store.create(
      STATEFULSETS,
      statefulSet("db", `${REPO}:v1`, {
        updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } },
      }),
      ADMIN,
    );
    const first = await rolledOut(sim, 3);
    setImage(sim.store, `${REPO}:v2`);
    let update = "";
    await waitForPass(sim, "db-2 updated, db-0 and db-1 kept", () => {
      const s = statusOf(sim.store);
      update = s.updateRevision ?? "";
      expect(update).not.toBe(first.updateRevision);
      expect(s).toMatchObject({ readyReplicas: 3, updatedReplicas: 1, currentReplicas: 2 });
      expect(podRevisions(sim.store)).toEqual({
        "db-0": first.updateRevision,
        "db-1": first.updateRevision,
        "db-2": update,
      });
    });
    expect(statusOf(sim.store).currentRevision).toBe(first.updateRevision);
    // A pod below the partition that is deleted comes back at the current revision.
    sim.store.delete(PODS, "default", "db-0", ADMIN);
    await waitForPass(sim, "db-0 back at the current revision", () => {
      const pod = sim.store.get(PODS, "default", "db-0");
      expect(pod?.metadata.deletionTimestamp).toBeUndefined();
      expect(pod?.metadata.labels?.["controller-revision-hash"]).toBe(first.updateRevision);
      expect(statusOf(sim.store).readyReplicas).toBe(3);
    });
    // Lowering the partition to 0 finishes the roll-out.
    sim.store.patch(
      STATEFULSETS,
      "default",
      "db",
      "merge",
      { spec: { updateStrategy: { rollingUpdate: { partition: 0 } } } },
      ADMIN,
    );
    const done = await rolledOut(sim, 3);
    expect(done.currentRevision).toBe(update);
  });

  it("replaces nothing with OnDelete until a pod is deleted, which comes back updated", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    sim.store.create(
      STATEFULSETS,
      statefulSet("db", `${REPO}:v1`, { updateStrategy: { type: "OnDelete" } }),
      ADMIN,
    );
    await waitForPass(sim, "three ready", () => {
      expect(statusOf(sim.store).readyReplicas).toBe(3);
    });
    const first = statusOf(sim.store);
    expect(first.currentRevision).toBe(first.updateRevision);
    const rec = recordPods(sim.store);
    setImage(sim.store, `${REPO}:v2`);
    await waitForPass(sim, "update revision recorded", () => {
      const s = statusOf(sim.store);
      expect(s.observedGeneration).toBe(2);
      expect(s.updateRevision).not.toBe(first.updateRevision);
    });
    await simulatedWait(sim, 60_000);
    expect(rec.deleted).toEqual([]);
    const update = statusOf(sim.store).updateRevision ?? "";
    expect(statusOf(sim.store)).toMatchObject({
      currentRevision: first.currentRevision,
      currentReplicas: 3,
      updatedReplicas: 0,
    });
    sim.store.delete(PODS, "default", "db-1", ADMIN);
    await waitForPass(sim, "db-1 back at the update revision", () => {
      expect(podRevisions(sim.store)).toEqual({
        "db-0": first.currentRevision,
        "db-1": update,
        "db-2": first.currentRevision,
      });
      expect(statusOf(sim.store)).toMatchObject({
        readyReplicas: 3,
        updatedReplicas: 1,
        currentReplicas: 2,
      });
    });
    rec.stop();
    expect(rec.deleted).toEqual(["db-1"]);
    // OnDelete never completes a rolling update: the current revision stays.
    expect(statusOf(sim.store).currentRevision).toBe(first.currentRevision);
  });

  // getStatefulSetRevisions: an equal earlier revision is renumbered instead of a new one made.
  it("re-uses the old ControllerRevision on undo and gives it the next revision number", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    sim.store.create(STATEFULSETS, statefulSet("db", `${REPO}:v1`), ADMIN);
    const first = await rolledOut(sim, 3);
    setImage(sim.store, `${REPO}:v2`);
    const second = await rolledOut(sim, 3);
    const r1 = first.updateRevision ?? "";
    // kubectl rollout undo: the old revision's data as a strategic merge patch.
    const data = sim.store.get(REVISIONS, "default", r1)?.["data"];
    sim.store.patch(STATEFULSETS, "default", "db", "strategic", data, ADMIN);
    const third = await rolledOut(sim, 3);
    expect(third.updateRevision).toBe(r1);
    expect(revisions(sim.store)).toEqual(
      new Map([
        [r1, 3],
        [second.updateRevision ?? "", 2],
      ]),
    );
    expect(setOf(sim.store)?.metadata.generation).toBe(3);
  });

  it("trims history beyond revisionHistoryLimit, oldest first, keeping live revisions", async () => {
    sim = startTestWorld();
    for (const tag of ["v1", "v2", "v3", "v4"]) sim.world.images.push(REPO, tag);
    sim.store.create(
      STATEFULSETS,
      statefulSet("db", `${REPO}:v1`, { replicas: 1, revisionHistoryLimit: 1 }),
      ADMIN,
    );
    const names: string[] = [];
    names.push((await rolledOut(sim, 1)).updateRevision ?? "");
    for (const tag of ["v2", "v3", "v4"]) {
      setImage(sim.store, `${REPO}:${tag}`);
      await waitForPass(sim, `rolled out ${tag}`, () => {
        const s = statusOf(sim.store);
        expect(s.updateRevision).not.toBe(names[names.length - 1]);
        expect(s.currentRevision).toBe(s.updateRevision);
        expect(s.readyReplicas).toBe(1);
      });
      names.push(statusOf(sim.store).updateRevision ?? "");
    }
    // The next sync after the last roll-out trims to one revision besides the live one.
    await waitForPass(sim, "history trimmed", () => {
      expect(revisions(sim.store)).toEqual(
        new Map([
          [names[2] ?? "", 3],
          [names[3] ?? "", 4],
        ]),
      );
    });
  });

  /** Scales db to one replica and waits until only db-0 is left and the status says one. */
  async function scaleToOne(): Promise<void> {
    sim.store.patch(STATEFULSETS, "default", "db", "merge", { spec: { replicas: 1 } }, ADMIN);
    await waitForPass(sim, "scaled to one", () => {
      expect(Object.keys(podRevisions(sim.store))).toEqual(["db-0"]);
      expect(statusOf(sim.store).replicas).toBe(1);
    });
  }

  it("creates all pods at once with Parallel and scales down from the highest ordinal", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1", { readyAfterMs: 2000 });
    const rec = recordPods(sim.store);
    sim.store.create(
      STATEFULSETS,
      statefulSet("db", `${REPO}:v1`, { podManagementPolicy: "Parallel" }),
      ADMIN,
    );
    await waitForPass(sim, "three pods before any is ready", () => {
      expect(rec.created).toEqual(["db-0", "db-1", "db-2"]);
      expect(statusOf(sim.store).readyReplicas ?? 0).toBe(0);
    });
    await rolledOut(sim, 3);
    rec.stop();
    const down = recordPods(sim.store);
    await scaleToOne();
    down.stop();
    expect(down.deleted.sort()).toEqual(["db-1", "db-2"]);
  });

  it("scales an OrderedReady set down from the highest ordinal, one at a time", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(STATEFULSETS, statefulSet("db", `${REPO}:v1`), ADMIN);
    await rolledOut(sim, 3);
    const rec = recordPods(sim.store);
    await scaleToOne();
    rec.stop();
    expect(rec.deleted).toEqual(["db-2", "db-1"]);
  });

  it("leaves pods and revisions to the garbage collector when the set is deleted", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(STATEFULSETS, statefulSet("db", `${REPO}:v1`), ADMIN);
    await rolledOut(sim, 3);
    expect(revisions(sim.store).size).toBe(1);
    sim.store.delete(STATEFULSETS, "default", "db", ADMIN, { propagationPolicy: "Background" });
    await waitForPass(sim, "pods and revisions gone", () => {
      expect(podsOf(sim.store)).toEqual([]);
      expect(revisions(sim.store).size).toBe(0);
    });
  });

  it("refuses what the apiserver refuses and bumps generation on spec changes only", () => {
    sim = startTestWorld();
    const info = builtin("apps", "statefulsets", "StatefulSet");
    const mismatched = statefulSet("db", `${REPO}:v1`, { selector: { matchLabels: { app: "x" } } });
    expect(messages(rejection(() => admitAs(info, mismatched)))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"db"}: `selector` does not match template `labels`',
    ]);
    const old = admitAs(info, statefulSet("db", `${REPO}:v1`));
    const moved = structuredClone(old);
    (moved["spec"] as Record<string, unknown>)["serviceName"] = "other";
    expect(messages(rejection(() => admitAs(info, moved, "UPDATE", old)))).toEqual([
      "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
    ]);
    const scaled = structuredClone(old);
    (scaled["spec"] as Record<string, unknown>)["replicas"] = 5;
    expect(() => admitAs(info, scaled, "UPDATE", old)).not.toThrow();
    sim.store.create(STATEFULSETS, statefulSet("db", `${REPO}:v1`), ADMIN);
    const patched = sim.store.patch(
      STATEFULSETS,
      "default",
      "db",
      "merge",
      { spec: { replicas: 2 } },
      ADMIN,
    );
    expect(patched.metadata.generation).toBe(2);
    const labelled = sim.store.patch(
      STATEFULSETS,
      "default",
      "db",
      "merge",
      { metadata: { labels: { tier: "data" } } },
      ADMIN,
    );
    expect(labelled.metadata.generation).toBe(2);
  });
});
