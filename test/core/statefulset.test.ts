/**
 * A StatefulSet's history, undo, rollout status and rollback traps, as kubectl and the
 * StatefulSet controller behave (src/core/statefulset.ts), on built values.
 */
import { describe, expect, it } from "vitest";
import type {
  ControllerRevisionView,
  PodTemplateSpec,
  PodView,
  StatefulSetView,
} from "../../src/core/objects.ts";
import {
  CONTROLLER_REVISION_HASH,
  describeSetTrap,
  ordinalOf,
  podsOfRevision,
  podsOfSet,
  resolveSetRevisions,
  revisionTemplate,
  setRevisions,
  setCloneManifest,
  setCloneReplicas,
  setRolloutStatus,
  setTrap,
  setUndoPatch,
  type SetRevision,
} from "../../src/core/statefulset.ts";
import { sandboxTemplate } from "../../src/core/sandbox.ts";
import { aDrill, aFailingPod, aPod, aTemplate } from "./builders.ts";

const UID = "5e7a0000-1111-2222-3333-444455556666";
const v1 = aTemplate([{ name: "app", image: "registry.local/db:1.0" }]);
const v2 = aTemplate([{ name: "app", image: "registry.local/db:2.0" }]);
const v3 = aTemplate([{ name: "app", image: "registry.local/db:3.0" }]);

function aSet(
  template: PodTemplateSpec,
  over: Partial<StatefulSetView["spec"]> = {},
): StatefulSetView {
  return {
    metadata: { name: "db", namespace: "shop", uid: UID, generation: 4 },
    spec: { replicas: 3, selector: { matchLabels: { app: "web" } }, template, ...over },
    status: { observedGeneration: 4, replicas: 3, readyReplicas: 3, updatedReplicas: 3 },
  };
}

function aRevision(
  revision: number,
  template: PodTemplateSpec,
  name = `db-${String(revision)}abc`,
  owner = UID,
): ControllerRevisionView {
  return {
    metadata: {
      name,
      namespace: "shop",
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: owner, controller: true },
      ],
    },
    revision,
    data: { spec: { template: { ...template, $patch: "replace" } } },
  };
}

function podAt(
  ordinal: number,
  revisionName: string,
  template: PodTemplateSpec,
  ready = true,
): PodView {
  const pod = aPod(`db-${String(ordinal)}`, "unused", template, {}, ready);
  return {
    ...pod,
    metadata: { ...pod.metadata, labels: { app: "web", [CONTROLLER_REVISION_HASH]: revisionName } },
  };
}

function fail(): never {
  throw new Error("missing");
}

describe("a ControllerRevision's template", () => {
  it("is data.spec.template without the $patch directive", () => {
    expect(revisionTemplate(aRevision(1, v1))).toEqual(v1);
  });

  it.each([
    ["no data", undefined],
    ["data not an object", "x"],
    ["no spec", { template: {} }],
    ["a template without containers", { spec: { template: { spec: {} } } }],
    ["a template that is a list", { spec: { template: [] } }],
  ])("is undefined for %s", (_, data) => {
    expect(revisionTemplate({ ...aRevision(1, v1), data })).toBeUndefined();
  });
});

describe("the set's history, as kubectl reads it", () => {
  it("keeps only revisions the set controls, highest first", () => {
    const other = aRevision(9, v3, "other-9", "another-uid");
    const notController: ControllerRevisionView = {
      ...aRevision(8, v3, "loose-8"),
      metadata: {
        name: "loose-8",
        ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "db", uid: UID }],
      },
    };
    const got = setRevisions(aSet(v2), [aRevision(1, v1), other, notController, aRevision(2, v2)]);
    expect(got.map(r => r.revision)).toEqual([2, 1]);
    expect(got.map(r => r.name)).toEqual(["db-2abc", "db-1abc"]);
  });

  it("is empty for a set without a uid", () => {
    const set = aSet(v2);
    const withoutUid = { ...set, metadata: { name: "db" } };
    expect(setRevisions(withoutUid, [aRevision(1, v1)])).toEqual([]);
  });
});

describe("resolving N and M as `kubectl rollout undo statefulset` does", () => {
  it("rolls back to the second highest revision by default", () => {
    const r = resolveSetRevisions(
      aSet(v3),
      [aRevision(1, v1), aRevision(2, v2), aRevision(3, v3)],
      0,
    );
    expect(r.ok && [r.current.revision, r.target.revision]).toEqual([3, 2]);
  });

  it("picks the second highest number even when the current template is not the highest", () => {
    // The set's template is revision 1's (an edit the controller has not yet recorded): kubectl
    // still picks revision 2, the second highest, not "the one below the current".
    const r = resolveSetRevisions(
      aSet(v1),
      [aRevision(1, v1), aRevision(2, v2), aRevision(3, v3)],
      0,
    );
    expect(r.ok && [r.current.revision, r.target.revision]).toEqual([1, 2]);
  });

  it("finds an explicit --to-revision", () => {
    const r = resolveSetRevisions(
      aSet(v3),
      [aRevision(1, v1), aRevision(2, v2), aRevision(3, v3)],
      1,
    );
    expect(r.ok && r.target.name).toBe("db-1abc");
  });

  it("takes the current from status.updateRevision when no revision has the set's template", () => {
    const set = { ...aSet(v3), status: { updateRevision: "db-1abc" } };
    const r = resolveSetRevisions(set, [aRevision(1, v1), aRevision(2, v2)], 2);
    expect(r.ok && r.current.name).toBe("db-1abc");
  });

  it("has no last revision with one ControllerRevision", () => {
    const r = resolveSetRevisions(aSet(v1), [aRevision(1, v1)], 0);
    expect(r).toMatchObject({ ok: false, kind: "NoHistory", revisions: [1] });
    expect(!r.ok && r.message).toContain('no last revision to roll back to for statefulset "db"');
  });

  it("says revisionHistoryLimit 0 is why there is no history", () => {
    const r = resolveSetRevisions(aSet(v1, { revisionHistoryLimit: 0 }), [aRevision(1, v1)], 0);
    expect(!r.ok && r.message).toContain("revisionHistoryLimit is 0");
  });

  it("has no history without any ControllerRevision, even for an explicit revision", () => {
    expect(resolveSetRevisions(aSet(v1), [], 3)).toMatchObject({ ok: false, kind: "NoHistory" });
  });

  it("does not find a revision that is not there, and lists those that are", () => {
    const r = resolveSetRevisions(aSet(v2), [aRevision(1, v1), aRevision(2, v2)], 7);
    expect(r).toMatchObject({ ok: false, kind: "NotFound" });
    expect(!r.ok && r.message).toContain(
      "unable to find specified revision 7 in history (existing revisions: 1, 2)",
    );
  });

  it("refuses a negative revision as kubectl does", () => {
    const r = resolveSetRevisions(aSet(v2), [aRevision(1, v1), aRevision(2, v2)], -1);
    expect(r).toMatchObject({ ok: false, kind: "NotFound" });
  });

  it("refuses a target whose data holds no template", () => {
    const broken = { ...aRevision(1, v1), data: { spec: {} } };
    const r = resolveSetRevisions(aSet(v2), [broken, aRevision(2, v2)], 0);
    expect(r).toMatchObject({ ok: false, kind: "NotFound" });
    expect(!r.ok && r.message).toContain("holds no pod template");
  });

  it("skips a target that already is the current template", () => {
    const r = resolveSetRevisions(aSet(v2), [aRevision(1, v1), aRevision(2, v2)], 2);
    expect(r).toMatchObject({ ok: false, kind: "SameTemplate" });
    expect(!r.ok && r.message).toContain(
      "skipped rollback (current template already matches revision 2)",
    );
  });

  it("skips a different revision whose template equals the current one", () => {
    const r = resolveSetRevisions(aSet(v2), [aRevision(1, v2), aRevision(2, v2, "db-2x")], 1);
    expect(r).toMatchObject({ ok: false, kind: "SameTemplate" });
  });
});

describe("the undo", () => {
  it("sends the ControllerRevision's data as stored", () => {
    const revision = aRevision(1, v1);
    const resolved = resolveSetRevisions(aSet(v2), [revision, aRevision(2, v2)], 0);
    expect(resolved.ok && setUndoPatch(resolved.target)).toBe(revision.data);
  });
});

describe("`kubectl rollout status statefulset`", () => {
  it("is complete when every replica is ready and updated", () => {
    expect(setRolloutStatus(aSet(v1))).toEqual({
      done: true,
      message: "partitioned roll out complete: 3 new pods have been updated...",
    });
  });

  it("refuses OnDelete", () => {
    expect(
      setRolloutStatus(aSet(v1, { updateStrategy: { type: "OnDelete" } })).done,
    ).toBeUndefined();
  });

  it.each([
    [
      "the spec is not observed yet",
      { observedGeneration: 3, readyReplicas: 3, updatedReplicas: 3 },
      "Waiting for statefulset spec update to be observed...",
    ],
    [
      "nothing was observed",
      { readyReplicas: 3, updatedReplicas: 3 },
      "Waiting for statefulset spec update to be observed...",
    ],
    [
      "a replica is not ready",
      { observedGeneration: 4, readyReplicas: 1, updatedReplicas: 3 },
      "Waiting for 2 pods to be ready...",
    ],
    [
      "a replica is not updated",
      { observedGeneration: 4, readyReplicas: 3, updatedReplicas: 2 },
      "Waiting for partitioned roll out to finish: 2 out of 3 new pods have been updated...",
    ],
  ])("waits while %s", (_, status, message) => {
    expect(setRolloutStatus({ ...aSet(v1), status })).toEqual({ done: false, message });
  });

  it("counts only the ordinals at or above the partition", () => {
    const set = {
      ...aSet(v1, { updateStrategy: { rollingUpdate: { partition: 2 } } }),
      status: { observedGeneration: 4, readyReplicas: 3, updatedReplicas: 1 },
    };
    expect(setRolloutStatus(set).done).toBe(true);
    expect(setRolloutStatus({ ...set, status: { ...set.status, updatedReplicas: 0 } }).done).toBe(
      false,
    );
  });

  it("defaults replicas to 1", () => {
    const set = aSet(v1);
    const one = {
      ...set,
      spec: { selector: set.spec.selector, template: v1 },
      status: { observedGeneration: 4, readyReplicas: 1, updatedReplicas: 1 },
    };
    expect(setRolloutStatus(one).done).toBe(true);
  });
});

describe("the set's pods", () => {
  it("reads ordinals only from the set's own names", () => {
    const pod = (name: string): PodView => ({ metadata: { name } });
    expect(ordinalOf(pod("db-0"), "db")).toBe(0);
    expect(ordinalOf(pod("db-12"), "db")).toBe(12);
    expect(ordinalOf(pod("db-01"), "db")).toBe(1);
    expect(ordinalOf(pod("db-x"), "db")).toBeUndefined();
    expect(ordinalOf(pod("dba-1"), "db")).toBeUndefined();
    expect(ordinalOf(pod("db-"), "db")).toBeUndefined();
  });

  it("orders them by ordinal and leaves out those being deleted", () => {
    const gone = {
      ...podAt(1, "r", v1),
      metadata: { ...podAt(1, "r", v1).metadata, deletionTimestamp: "2025-01-01T00:00:00Z" },
    };
    const got = podsOfSet(aSet(v1), [
      podAt(10, "r", v1),
      gone,
      podAt(2, "r", v1),
      podAt(0, "r", v1),
    ]);
    expect(got.map(p => p.metadata.name)).toEqual(["db-0", "db-2", "db-10"]);
  });

  it("groups them by controller-revision-hash: a StatefulSet's pods name the ControllerRevision", () => {
    const pods = [podAt(0, "db-1abc", v1), podAt(1, "db-2abc", v2)];
    const [rev] = setRevisions(aSet(v2), [aRevision(2, v2, "db-2abc")]);
    expect(rev?.podLabel).toBe("db-2abc");
    expect(podsOfRevision(pods, rev ?? fail()).map(p => p.metadata.name)).toEqual(["db-1"]);
  });

  it("a DaemonSet's pods carry the hash its ControllerRevision is labelled and named by", () => {
    const labelled = aRevision(2, v2, "db-2abc");
    labelled.metadata.labels = { [CONTROLLER_REVISION_HASH]: "2abc" };
    const unlabelled = aRevision(1, v1, "db-1abc");
    const got = setRevisions(aSet(v2), [labelled, unlabelled], "DaemonSet");
    expect(got.map(r => [r.name, r.podLabel])).toEqual([
      ["db-2abc", "2abc"],
      ["db-1abc", "1abc"],
    ]);
    const pods = [podAt(0, "1abc", v1), podAt(1, "2abc", v2)];
    expect(podsOfRevision(pods, got[0] ?? fail()).map(p => p.metadata.name)).toEqual(["db-1"]);
  });
});

describe("the traps of a StatefulSet's rollback", () => {
  const to: SetRevision = {
    revision: 4,
    name: "db-1abc",
    podLabel: "db-1abc",
    template: v1,
    controllerRevision: aRevision(4, v1, "db-1abc"),
  };
  const rolledBack = [podAt(0, "db-1abc", v1), podAt(1, "db-1abc", v1), podAt(2, "db-1abc", v1)];
  const broken = (ordinal: number): PodView =>
    aFailingPod(podAt(ordinal, "db-2abc", v2, false), "app", "CrashLoopBackOff");

  it("finds none once every pod runs the rollback's revision", () => {
    expect(setTrap(aSet(v1), rolledBack, to)).toBeUndefined();
  });

  it("finds OnDelete: no pod is replaced", () => {
    const pods = [podAt(0, "db-2abc", v2), podAt(1, "db-2abc", v2), podAt(2, "db-2abc", v2)];
    const set = aSet(v1, { updateStrategy: { type: "OnDelete" } });
    const trap = setTrap(set, pods, to);
    expect(trap).toEqual({ kind: "OnDelete", pods: ["db-0", "db-1", "db-2"] });
    expect(trap && describeSetTrap(set, trap, to)).toContain(
      "kubectl delete pod -n shop db-0 db-1 db-2",
    );
  });

  it("finds a partition that leaves the ordinals below it on their revision", () => {
    const set = aSet(v1, {
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 2 } },
    });
    const pods = [podAt(0, "db-2abc", v2), podAt(1, "db-2abc", v2), podAt(2, "db-1abc", v1)];
    const trap = setTrap(set, pods, to);
    expect(trap).toEqual({ kind: "Partition", partition: 2, pods: ["db-0", "db-1"] });
    expect(trap && describeSetTrap(set, trap, to)).toContain('"partition":0');
  });

  it("does not blame the partition while ordinals above it are still to be replaced", () => {
    const set = aSet(v1, { updateStrategy: { rollingUpdate: { partition: 1 } } });
    const pods = [podAt(0, "db-2abc", v2), podAt(1, "db-2abc", v2), podAt(2, "db-1abc", v1)];
    expect(setTrap(set, pods, to)).toBeUndefined();
  });

  it("finds the broken pod that OrderedReady waits for", () => {
    const pods = [podAt(0, "db-1abc", v1), podAt(1, "db-1abc", v1), broken(2)];
    const set = aSet(v1);
    const trap = setTrap(set, pods, to);
    expect(trap).toEqual({ kind: "BlockedByUnreadyPod", pod: "db-2", ordinal: 2, pods: ["db-2"] });
    expect(trap && describeSetTrap(set, trap, to)).toContain("forced rollback");
  });

  it("finds no block with the Parallel policy, which replaces unready pods too", () => {
    const pods = [podAt(0, "db-1abc", v1), podAt(1, "db-1abc", v1), broken(2)];
    expect(setTrap(aSet(v1, { podManagementPolicy: "Parallel" }), pods, to)).toBeUndefined();
  });

  it("finds no block while the first unready pod is already on the rollback's revision", () => {
    const starting = podAt(1, "db-1abc", v1, false);
    const pods = [podAt(0, "db-1abc", v1), starting, podAt(2, "db-2abc", v2)];
    expect(setTrap(aSet(v1), pods, to)).toBeUndefined();
  });

  it("finds no block while the pods behind are ready: the controller replaces them", () => {
    const pods = [podAt(0, "db-1abc", v1), podAt(1, "db-2abc", v2), podAt(2, "db-2abc", v2)];
    expect(setTrap(aSet(v1), pods, to)).toBeUndefined();
  });

  it("ignores pods of another set", () => {
    const stranger = { ...broken(0), metadata: { ...broken(0).metadata, name: "cache-0" } };
    expect(setTrap(aSet(v1), [...rolledBack, stranger], to)).toBeUndefined();
  });
});

describe("the StatefulSet's clone in the sandbox", () => {
  const drill = aDrill();
  const claims = [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"] } }];

  it("keeps what the rollback's behaviour depends on and runs revision M's prepared template", () => {
    const target = aSet(v2, {
      serviceName: "db",
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "OnDelete" },
      minReadySeconds: 5,
      ordinals: { start: 1 },
      revisionHistoryLimit: 0,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Delete" },
    });
    const { manifest, emptyDirClaims } = setCloneManifest(drill, "3", "sbx", target, v1);
    expect(manifest).toEqual({
      apiVersion: "apps/v1",
      kind: "StatefulSet",
      metadata: { name: "db", namespace: "sbx", labels: expect.any(Object) as unknown },
      spec: {
        replicas: 1,
        selector: target.spec.selector,
        template: sandboxTemplate(v1, drill, "3"),
        revisionHistoryLimit: 10,
        serviceName: "db",
        ordinals: { start: 1 },
        podManagementPolicy: "Parallel",
        updateStrategy: { type: "OnDelete" },
        minReadySeconds: 5,
      },
    });
    expect(emptyDirClaims).toEqual([]);
  });

  it("keeps the volumeClaimTemplates (fresh claims in the sandbox) under sandbox.volumes Claims", () => {
    const template = aTemplate([{ name: "app", image: "registry.local/db:1.0" }]);
    const target = aSet(v2, { volumeClaimTemplates: claims });
    const { manifest, emptyDirClaims } = setCloneManifest(drill, "3", "sbx", target, template);
    expect(manifest.spec.volumeClaimTemplates).toEqual(claims);
    expect(manifest.spec.template.spec.volumes).toBeUndefined();
    expect(emptyDirClaims).toEqual([]);
  });

  it("with sandbox.volumes EmptyDir, mounts each volumeClaimTemplate as an emptyDir of its name, replacing a template volume so named", () => {
    const drill = aDrill({ spec: { sandbox: { volumes: "EmptyDir" } } });
    const template = aTemplate([{ name: "app", image: "registry.local/db:1.0" }], {
      volumes: [
        { name: "data", configMap: { name: "ignored" } },
        { name: "conf", configMap: { name: "conf" } },
      ],
    });
    const target = aSet(v2, { volumeClaimTemplates: [...claims, { metadata: { name: "logs" } }] });
    const { manifest, emptyDirClaims } = setCloneManifest(drill, "3", "sbx", target, template);
    expect(manifest.spec.template.spec.volumes).toEqual([
      { name: "conf", configMap: { name: "conf" } },
      { name: "data", emptyDir: {} },
      { name: "logs", emptyDir: {} },
    ]);
    expect(manifest.spec.volumeClaimTemplates).toBeUndefined();
    expect(emptyDirClaims).toEqual(["data", "logs"]);
  });

  it.each([
    [1, undefined, 1],
    [3, undefined, 3],
    [1, 2, 3],
    [4, 2, 4],
  ])(
    "runs spec.sandbox.replicas %i, at least one ordinal at or above partition %s: %i",
    (replicas, partition, want) => {
      const target = aSet(
        v2,
        partition === undefined ? {} : { updateStrategy: { rollingUpdate: { partition } } },
      );
      const d = aDrill({ spec: { sandbox: { replicas } } });
      expect(setCloneReplicas(d, target)).toBe(want);
      expect(setCloneManifest(d, "1", "sbx", target, v1).manifest.spec.replicas).toBe(want);
    },
  );
});
