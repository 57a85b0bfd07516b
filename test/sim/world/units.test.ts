import { afterEach, describe, expect, it } from "vitest";
import { comparePodsForDeletion } from "../../../src/sim/controllers/replicaset.ts";
import { formatDuration, isInBackoffSince, nextBackoff } from "../../../src/sim/kubelet/backoff.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import { startTestWorld, type Sim } from "./harness.ts";

describe("kubelet back-off", () => {
  // client-go/util/flowcontrol/backoff.go Next/IsInBackOffSince with the kubelet's 10 s initial and
  // 300 s cap (pkg/kubelet/kubelet.go MaxContainerBackOff); an entry older than twice the cap resets.
  it("doubles from 10 s to 5 min and resets after 10 minutes", () => {
    let e = nextBackoff(undefined, 0);
    const seen = [e.ms];
    for (let i = 1; i < 7; i++) {
      e = nextBackoff(e, i * 1000);
      seen.push(e.ms);
    }
    expect(seen).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
    expect(nextBackoff(e, 6_000 + 600_001).ms).toBe(10_000);
    expect(isInBackoffSince(e, 7_000, 7_000 + 299_999)).toBe(true);
    expect(isInBackoffSince(e, 7_000, 7_000 + 300_000)).toBe(false);
    expect(isInBackoffSince(undefined, 0, 0)).toBe(false);
    expect([10_000, 80_000, 300_000].map(formatDuration)).toEqual(["10s", "1m20s", "5m0s"]);
  });
});

function pod(
  name: string,
  opts: { node?: string; phase?: string; ready?: string; created: string; restarts?: number },
): KubeObject {
  const conditions =
    opts.ready === undefined
      ? []
      : [{ type: "Ready", status: "True", lastTransitionTime: opts.ready }];
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, creationTimestamp: opts.created },
    spec: opts.node === undefined ? {} : { nodeName: opts.node },
    status: {
      phase: opts.phase ?? "Pending",
      conditions,
      containerStatuses: [{ restartCount: opts.restarts ?? 0 }],
    },
  };
}

describe("ReplicaSet scale-down order", () => {
  // pkg/controller/controller_utils.go ActivePods.Less: unassigned, then Pending < Unknown < Running,
  // not ready, ready for less time, more restarts, newer.
  it("deletes the least valuable pods first", () => {
    const pods = [
      pod("ready-old", {
        node: "n",
        phase: "Running",
        ready: "2026-01-01T00:00:00Z",
        created: "2026-01-01T00:00:00Z",
      }),
      pod("ready-new", {
        node: "n",
        phase: "Running",
        ready: "2026-01-01T00:05:00Z",
        created: "2026-01-01T00:00:00Z",
      }),
      pod("running-unready", { node: "n", phase: "Running", created: "2026-01-01T00:00:00Z" }),
      pod("pending", { node: "n", created: "2026-01-01T00:00:00Z" }),
      pod("unscheduled", { created: "2026-01-01T00:00:00Z" }),
      pod("crashy", { node: "n", phase: "Running", created: "2026-01-01T00:00:00Z", restarts: 4 }),
    ];
    expect([...pods].sort(comparePodsForDeletion).map(p => p.metadata.name)).toEqual([
      "unscheduled",
      "pending",
      "crashy",
      "running-unready",
      "ready-new",
      "ready-old",
    ]);
  });
});

describe("nodes", () => {
  let sim: Sim | undefined;
  afterEach(() => {
    sim?.close();
  });

  // pkg/kubelet/kubelet_node_status.go: a registered node reports Ready with the kubelet's reason,
  // its versions and addresses.
  it("registers node-1..3 as a v1.32.4 kubelet on containerd", () => {
    sim = startTestWorld();
    const nodes = sim.store.list({ group: "", version: "v1", resource: "nodes" }).items;
    expect(nodes.map(n => n.metadata.name)).toEqual(["node-1", "node-2", "node-3"]);
    const status = nodes[0]?.["status"] as {
      conditions: { type: string; status: string; reason: string; message: string }[];
      nodeInfo: { kubeletVersion: string; containerRuntimeVersion: string };
      addresses: { type: string; address: string }[];
      allocatable: Record<string, string>;
    };
    expect(status.conditions.find(c => c.type === "Ready")).toMatchObject({
      status: "True",
      reason: "KubeletReady",
      message: "kubelet is posting ready status",
    });
    expect(status.nodeInfo.kubeletVersion).toBe("v1.32.4");
    expect(status.nodeInfo.containerRuntimeVersion).toMatch(/^containerd:\/\/1\.7\./);
    expect(status.addresses).toContainEqual({ type: "Hostname", address: "node-1" });
    expect(status.allocatable["pods"]).toBe("110");
  });
});
