import { describe, expect, it } from "vitest";
import {
  maxSurge,
  maxUnavailable,
  newRSNewReplicas,
  resolveFenceposts,
  setNewReplicaSetAnnotations,
} from "../../../src/sim/controllers/deployment-util.ts";
import type { DeploymentView, ReplicaSetView } from "../../../src/sim/controllers/kube.ts";
import {
  computeTemplateHash,
  safeEncodeString,
  templatesEqualIgnoreHash,
} from "../../../src/sim/controllers/names.ts";

function d(
  replicas: number,
  strategy: DeploymentView["spec"]["strategy"],
  annotations: Record<string, string> = {},
): DeploymentView {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", annotations },
    spec: {
      replicas,
      selector: { matchLabels: { app: "web" } },
      template: {},
      ...(strategy ? { strategy } : {}),
    },
  };
}

function rs(replicas: number): ReplicaSetView {
  return {
    apiVersion: "apps/v1",
    kind: "ReplicaSet",
    metadata: {},
    spec: { replicas, selector: {}, template: {} },
  };
}

describe("rollout arithmetic", () => {
  // pkg/controller/deployment/util/deployment_util.go, ResolveFenceposts: surge rounds up,
  // unavailable rounds down, and both zero means one unavailable.
  it.each([
    ["25%", "25%", 10, 3, 2],
    ["25%", "25%", 3, 1, 0],
    [0, 0, 3, 0, 1],
    ["50%", 1, 5, 3, 1],
    [2, "0%", 4, 2, 0],
  ] as const)(
    "maxSurge %s maxUnavailable %s of %i -> surge %i unavailable %i",
    (s, u, n, surge, unavailable) => {
      expect(resolveFenceposts(s, u, n)).toEqual({ surge, unavailable });
    },
  );

  // MaxUnavailable / MaxSurge: Recreate allows neither; zero replicas allow no unavailability.
  it("gives Recreate no surge and no unavailability", () => {
    expect(maxSurge(d(4, { type: "Recreate" }))).toBe(0);
    expect(maxUnavailable(d(4, { type: "Recreate" }))).toBe(0);
    expect(maxUnavailable(d(0, undefined))).toBe(0);
    expect(
      maxUnavailable(d(4, { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 10 } })),
    ).toBe(4);
  });

  // NewRSNewReplicas: the new ReplicaSet grows up to replicas + maxSurge in total.
  it("scales the new ReplicaSet within the surge", () => {
    const dep = d(4, { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    expect(newRSNewReplicas(dep, [rs(4), rs(0)], 0)).toBe(1);
    expect(newRSNewReplicas(dep, [rs(3), rs(1)], 1)).toBe(2);
    expect(newRSNewReplicas(dep, [rs(4), rs(1)], 1)).toBe(1);
    expect(newRSNewReplicas(d(4, { type: "Recreate" }), [rs(0)], 0)).toBe(4);
  });
});

describe("revision annotations", () => {
  // SetNewReplicaSetAnnotations: copies annotations except the skipped ones, sets revision and,
  // on re-use, appends the replaced revision to revision-history.
  it("copies change-cause, skips last-applied and records history on re-use", () => {
    const dep = d(2, undefined, {
      "kubernetes.io/change-cause": "kubectl set image",
      "kubectl.kubernetes.io/last-applied-configuration": "{}",
      "deployment.kubernetes.io/revision": "3",
    });
    const fresh: Record<string, string> = {};
    expect(setNewReplicaSetAnnotations(dep, fresh, 4, false)).toBe(true);
    expect(fresh).toEqual({
      "kubernetes.io/change-cause": "kubectl set image",
      "deployment.kubernetes.io/revision": "4",
      "deployment.kubernetes.io/desired-replicas": "2",
      "deployment.kubernetes.io/max-replicas": "3",
    });
    const reused: Record<string, string> = {
      "deployment.kubernetes.io/revision": "2",
      "deployment.kubernetes.io/revision-history": "1",
    };
    setNewReplicaSetAnnotations(dep, reused, 5, true);
    expect(reused["deployment.kubernetes.io/revision"]).toBe("5");
    expect(reused["deployment.kubernetes.io/revision-history"]).toBe("1,2");
    // A revision already at least as high is left alone.
    const high: Record<string, string> = { "deployment.kubernetes.io/revision": "9" };
    setNewReplicaSetAnnotations(dep, high, 5, true);
    expect(high["deployment.kubernetes.io/revision"]).toBe("9");
    expect(high["deployment.kubernetes.io/revision-history"]).toBeUndefined();
  });
});

describe("pod-template-hash", () => {
  // apimachinery pkg/util/rand/rand.go SafeEncodeString maps each character through the alphabet.
  // Decimal digits land on "456789bcdf", which is why real hashes look like "7f8897b78c".
  it("encodes decimal digits through the safe alphabet", () => {
    expect(safeEncodeString("0123456789")).toBe("456789bcdf");
  });

  // controller_utils.go ComputeHash: equal templates hash alike; collisionCount changes the hash.
  it("is stable, ignores the hash label and changes with collisionCount", () => {
    const t = {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "a", image: "x:1" }] },
    };
    const h = computeTemplateHash(t);
    expect(h).toMatch(/^[456789bcdf]{1,10}$/);
    expect(computeTemplateHash(structuredClone(t))).toBe(h);
    const labelled = { ...t, metadata: { labels: { app: "web", "pod-template-hash": h } } };
    expect(computeTemplateHash(labelled)).toBe(h);
    expect(
      templatesEqualIgnoreHash(labelled, {
        ...t,
        metadata: { labels: { app: "web" }, creationTimestamp: null },
      }),
    ).toBe(true);
    expect(computeTemplateHash(t, 1)).not.toBe(h);
    expect(computeTemplateHash(t, 0)).not.toBe(h);
  });
});
