/**
 * The DaemonSet controller and its ControllerRevisions (pkg/controller/daemon): one pod per node
 * pinned by node affinity, rolling updates within maxUnavailable or by surging, a broken update
 * that stops, OnDelete, undo re-using a revision, history trimming, status. Every wait is on the
 * store's events; what must not happen is waited for on the simulated clock.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { KubeObject, Store } from "../../../src/sim/types.ts";
import { waitForPass } from "../../kit/index.ts";
import { admitAs, builtin, messages, rejection } from "../admission/helpers.ts";
import { ADMIN, PODS, startTestWorld, type Sim } from "./harness.ts";
import {
  REVISIONS,
  isReady,
  recordPods,
  revisions,
  simulatedWait,
  workloadKit,
} from "./workloads.ts";

const DAEMONSETS = { group: "apps", version: "v1", resource: "daemonsets" };
const REPO = "registry.example.com/shop/agent";
const NODES = ["node-1", "node-2", "node-3"];

interface DsStatus {
  observedGeneration?: number;
  desiredNumberScheduled?: number;
  currentNumberScheduled?: number;
  numberReady?: number;
  numberAvailable?: number;
  numberUnavailable?: number;
  updatedNumberScheduled?: number;
  numberMisscheduled?: number;
}

const kit = workloadKit(DAEMONSETS, "DaemonSet", "agent");
const { build: daemonSet, get: dsOf, setImage } = kit;
const statusOf = (store: Store, name?: string): DsStatus => kit.status(store, name) as DsStatus;

const nodeOf = (pod: KubeObject): string =>
  (pod["spec"] as { nodeName?: string } | undefined)?.nodeName ?? "";
const hashOf = (pod: KubeObject): string => pod.metadata.labels?.["controller-revision-hash"] ?? "";

function livePods(store: Store, name?: string): KubeObject[] {
  return kit.pods(store, name).filter(p => p.metadata.deletionTimestamp === undefined);
}

/** Node -> the controller-revision-hash of each live pod on it. */
function hashesByNode(store: Store, name = "agent"): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const pod of livePods(store, name)) (out[nodeOf(pod)] ??= []).push(hashOf(pod));
  return out;
}

/** The newest revision's hash label (the one the template matches after a roll-out). */
function currentHash(store: Store): string {
  const newest = store
    .list(REVISIONS, { namespace: "default" })
    .items.sort((a, b) => (b["revision"] as number) - (a["revision"] as number))[0];
  return newest?.metadata.labels?.["controller-revision-hash"] ?? "";
}

/** Waits until every node runs one ready pod of the newest revision, and status says so. */
async function rolledOut(sim: Sim, name = "agent"): Promise<string> {
  await waitForPass(sim, `daemonset ${name} rolled out`, () => {
    const s = statusOf(sim.store, name);
    expect(s.observedGeneration).toBe(dsOf(sim.store, name)?.metadata.generation);
    const hash = currentHash(sim.store);
    expect(hashesByNode(sim.store, name)).toEqual(Object.fromEntries(NODES.map(n => [n, [hash]])));
    expect(s).toMatchObject({ numberReady: 3, updatedNumberScheduled: 3, numberAvailable: 3 });
  });
  return currentHash(sim.store);
}

/**
 * Follows, at every pod event, how many nodes have no ready live pod and the most pods a node
 * holds at once.
 */
function watchNodes(store: Store): {
  maxDown: () => number;
  maxPerNode: () => number;
  stop: () => void;
} {
  let down = 0;
  let perNode = 0;
  const stop = store.subscribe(e => {
    if (e.gvr.resource !== "pods") return;
    const pods = livePods(store);
    const ready = new Set(pods.filter(isReady).map(nodeOf));
    down = Math.max(down, NODES.filter(n => !ready.has(n)).length);
    for (const n of NODES) perNode = Math.max(perNode, pods.filter(p => nodeOf(p) === n).length);
  });
  return { maxDown: () => down, maxPerNode: () => perNode, stop };
}

describe("daemonset controller", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  it("defaults the spec as apps/v1 does", () => {
    sim = startTestWorld();
    const created = sim.store.create(DAEMONSETS, daemonSet("agent", `${REPO}:v1`), ADMIN);
    expect(created["spec"]).toMatchObject({
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
      revisionHistoryLimit: 10,
      template: { spec: { restartPolicy: "Always", dnsPolicy: "ClusterFirst" } },
    });
    expect(created.metadata.generation).toBe(1);
    expect(created.metadata.annotations).toEqual({
      "deprecated.daemonset.template.generation": "1",
    });
    expect(created["status"]).toEqual({
      currentNumberScheduled: 0,
      numberMisscheduled: 0,
      desiredNumberScheduled: 0,
      numberReady: 0,
    });
    const onDelete = sim.store.create(
      DAEMONSETS,
      daemonSet("od", `${REPO}:v1`, { updateStrategy: { type: "OnDelete" } }),
      ADMIN,
    );
    expect((onDelete["spec"] as Record<string, unknown>)["updateStrategy"]).toEqual({
      type: "OnDelete",
    });
  });

  it("runs one pod per node, pinned by node affinity, with its revision's labels", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const ds = sim.store.create(DAEMONSETS, daemonSet("agent", `${REPO}:v1`), ADMIN);
    const hash = await rolledOut(sim);
    expect(revisions(sim.store)).toEqual(new Map([[`agent-${hash}`, 1]]));
    const revision = sim.store.get(REVISIONS, "default", `agent-${hash}`);
    expect(revision?.metadata.labels).toEqual({ app: "agent", "controller-revision-hash": hash });
    expect(revision?.metadata.ownerReferences?.[0]).toMatchObject({
      kind: "DaemonSet",
      name: "agent",
      uid: ds.metadata.uid,
      controller: true,
    });
    expect(revision?.["data"]).toMatchObject({
      spec: { template: { $patch: "replace", metadata: { labels: { app: "agent" } } } },
    });
    for (const pod of livePods(sim.store)) {
      expect(pod.metadata.name).toMatch(/^agent-[a-z0-9]{5}$/);
      expect(pod.metadata.labels).toEqual({
        app: "agent",
        "controller-revision-hash": hash,
        "pod-template-generation": "1",
      });
      expect(pod.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: "DaemonSet", name: "agent", controller: true }),
      ]);
      const spec = pod["spec"] as Record<string, unknown>;
      expect(spec["affinity"]).toEqual({
        nodeAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: {
            nodeSelectorTerms: [
              { matchFields: [{ key: "metadata.name", operator: "In", values: [nodeOf(pod)] }] },
            ],
          },
        },
      });
      expect(spec["tolerations"]).toContainEqual({
        key: "node.kubernetes.io/not-ready",
        operator: "Exists",
        effect: "NoExecute",
      });
    }
    expect(statusOf(sim.store)).toEqual({
      observedGeneration: 1,
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 3,
      numberAvailable: 3,
      numberUnavailable: 0,
      updatedNumberScheduled: 3,
      numberMisscheduled: 0,
    });
    // A deleted pod comes back on its node.
    const victim = livePods(sim.store).find(p => nodeOf(p) === "node-2");
    sim.store.delete(PODS, "default", victim?.metadata.name ?? "", ADMIN);
    await waitForPass(sim, "node-2 has a new pod", () => {
      const back = livePods(sim.store).find(p => nodeOf(p) === "node-2");
      expect(back?.metadata.name).not.toBe(victim?.metadata.name);
      expect(statusOf(sim.store).numberReady).toBe(3);
    });
  });

  it("only runs on nodes its nodeSelector matches", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(DAEMONSETS, daemonSet("agent", `${REPO}:v1`, {}, {}), ADMIN);
    sim.store.patch(
      DAEMONSETS,
      "default",
      "agent",
      "merge",
      { spec: { template: { spec: { nodeSelector: { "kubernetes.io/hostname": "node-3" } } } } },
      ADMIN,
    );
    await waitForPass(sim, "one pod on node-3", () => {
      expect(Object.keys(hashesByNode(sim.store))).toEqual(["node-3"]);
      expect(statusOf(sim.store)).toMatchObject({
        desiredNumberScheduled: 1,
        currentNumberScheduled: 1,
        numberReady: 1,
        numberMisscheduled: 0,
      });
    });
  });

  /**
   * Rolls agent out at v1 with `spec`, then updates it to v2 (ready after 2 s) while watching the
   * nodes: returns both revisions' hashes and what the watch saw.
   */
  async function watchedUpdate(
    spec: Record<string, unknown> = {},
  ): Promise<{ first: string; second: string; watch: ReturnType<typeof watchNodes> }> {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2", { readyAfterMs: 2000 });
    sim.store.create(DAEMONSETS, daemonSet("agent", `${REPO}:v1`, spec), ADMIN);
    const first = await rolledOut(sim);
    const watch = watchNodes(sim.store);
    setImage(sim.store, `${REPO}:v2`);
    const second = await rolledOut(sim);
    watch.stop();
    return { first, second, watch };
  }

  it("rolls an update out with at most maxUnavailable nodes down", async () => {
    const { first, second, watch } = await watchedUpdate();
    expect(second).not.toBe(first);
    expect(watch.maxDown()).toBe(1);
    expect(watch.maxPerNode()).toBe(1);
    expect(
      dsOf(sim.store)?.metadata.annotations?.["deprecated.daemonset.template.generation"],
    ).toBe("2");
  });

  it("takes down as many nodes at once as maxUnavailable allows", async () => {
    const { watch } = await watchedUpdate({
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "100%" } },
    });
    expect(watch.maxDown()).toBe(3);
  });

  // The stuck roll-out: the first new pod never becomes ready and holds the whole budget.
  it("stops a broken update after maxUnavailable nodes and leaves the others alone", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "broken", { neverReady: true });
    sim.store.create(
      DAEMONSETS,
      daemonSet("agent", `${REPO}:v1`, {}, { readinessProbe: { periodSeconds: 1 } }),
      ADMIN,
    );
    const good = await rolledOut(sim);
    setImage(sim.store, `${REPO}:broken`);
    let broken = "";
    await waitForPass(sim, "one node on the broken revision, running", () => {
      broken = currentHash(sim.store);
      expect(broken).not.toBe(good);
      const updated = livePods(sim.store).filter(p => hashOf(p) === broken);
      expect(updated).toHaveLength(1);
      expect((updated[0]?.["status"] as { phase?: string }).phase).toBe("Running");
    });
    await simulatedWait(sim, 120_000);
    const hashes = Object.values(hashesByNode(sim.store)).flat().sort();
    expect(hashes).toEqual([good, good, broken].sort());
    expect(statusOf(sim.store)).toMatchObject({
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      numberReady: 2,
      numberAvailable: 2,
      numberUnavailable: 1,
      updatedNumberScheduled: 1,
    });
  });

  it("surges a new pod beside the old one and deletes the old once the new is available", async () => {
    const { watch } = await watchedUpdate({
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    });
    expect(watch.maxDown()).toBe(0);
    expect(watch.maxPerNode()).toBe(2);
  });

  it("replaces nothing with OnDelete until a pod is deleted, which comes back updated", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    sim.store.create(
      DAEMONSETS,
      daemonSet("agent", `${REPO}:v1`, { updateStrategy: { type: "OnDelete" } }),
      ADMIN,
    );
    const first = await rolledOut(sim);
    const rec = recordPods(sim.store);
    setImage(sim.store, `${REPO}:v2`);
    await waitForPass(sim, "the update observed", () => {
      expect(statusOf(sim.store).observedGeneration).toBe(2);
      expect(currentHash(sim.store)).not.toBe(first);
    });
    await simulatedWait(sim, 60_000);
    rec.stop();
    expect(rec.deleted).toEqual([]);
    expect(statusOf(sim.store)).toMatchObject({ numberReady: 3, updatedNumberScheduled: 0 });
    const victim = livePods(sim.store).find(p => nodeOf(p) === "node-1");
    sim.store.delete(PODS, "default", victim?.metadata.name ?? "", ADMIN);
    const update = currentHash(sim.store);
    await waitForPass(sim, "node-1 back on the update", () => {
      expect(hashesByNode(sim.store)).toEqual({
        "node-1": [update],
        "node-2": [first],
        "node-3": [first],
      });
      expect(statusOf(sim.store)).toMatchObject({ numberReady: 3, updatedNumberScheduled: 1 });
    });
  });

  it("re-uses the old ControllerRevision on undo and gives it the next revision number", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "v2");
    sim.store.create(DAEMONSETS, daemonSet("agent", `${REPO}:v1`), ADMIN);
    const first = await rolledOut(sim);
    setImage(sim.store, `${REPO}:v2`);
    const second = await rolledOut(sim);
    // kubectl rollout undo: the old revision's data as a strategic merge patch.
    const data = sim.store.get(REVISIONS, "default", `agent-${first}`)?.["data"];
    sim.store.patch(DAEMONSETS, "default", "agent", "strategic", data, ADMIN);
    const third = await rolledOut(sim);
    expect(third).toBe(first);
    expect(revisions(sim.store)).toEqual(
      new Map([
        [`agent-${first}`, 3],
        [`agent-${second}`, 2],
      ]),
    );
    expect(dsOf(sim.store)?.metadata.generation).toBe(3);
  });

  it("trims history beyond revisionHistoryLimit, oldest first", async () => {
    sim = startTestWorld();
    for (const tag of ["v1", "v2", "v3", "v4"]) sim.world.images.push(REPO, tag);
    sim.store.create(
      DAEMONSETS,
      daemonSet("agent", `${REPO}:v1`, { revisionHistoryLimit: 1 }),
      ADMIN,
    );
    const hashes = [await rolledOut(sim)];
    for (const tag of ["v2", "v3", "v4"]) {
      setImage(sim.store, `${REPO}:${tag}`);
      hashes.push(await rolledOut(sim));
    }
    await waitForPass(sim, "history trimmed", () => {
      expect(revisions(sim.store)).toEqual(
        new Map([
          [`agent-${hashes[2] ?? ""}`, 3],
          [`agent-${hashes[3] ?? ""}`, 4],
        ]),
      );
    });
  });

  it("refuses what the apiserver refuses and bumps generation on spec changes only", () => {
    sim = startTestWorld();
    const info = builtin("apps", "daemonsets", "DaemonSet");
    const mismatched = daemonSet("agent", `${REPO}:v1`, {
      selector: { matchLabels: { app: "x" } },
    });
    expect(messages(rejection(() => admitAs(info, mismatched)))).toEqual([
      'spec.template.metadata.labels: Invalid value: map[string]string{"app":"agent"}: `selector` does not match template `labels`',
    ]);
    const both = daemonSet("agent", `${REPO}:v1`, {
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } },
    });
    expect(messages(rejection(() => admitAs(info, both)))).toEqual([
      "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: may not be set when maxUnavailable is non-zero",
    ]);
    const old = admitAs(info, daemonSet("agent", `${REPO}:v1`));
    const moved = structuredClone(old);
    const spec = moved["spec"] as Record<string, unknown>;
    spec["selector"] = { matchLabels: { app: "agent", tier: "x" } };
    (spec["template"] as { metadata: { labels: Record<string, string> } }).metadata.labels = {
      app: "agent",
      tier: "x",
    };
    expect(messages(rejection(() => admitAs(info, moved, "UPDATE", old)))).toEqual([
      expect.stringMatching(/^spec\.selector: Invalid value: .*: field is immutable$/),
    ]);
    sim.store.create(DAEMONSETS, daemonSet("agent", `${REPO}:v1`), ADMIN);
    const patched = sim.store.patch(
      DAEMONSETS,
      "default",
      "agent",
      "merge",
      { spec: { minReadySeconds: 5 } },
      ADMIN,
    );
    expect(patched.metadata.generation).toBe(2);
    expect(patched.metadata.annotations?.["deprecated.daemonset.template.generation"]).toBe("1");
    const labelled = sim.store.patch(
      DAEMONSETS,
      "default",
      "agent",
      "merge",
      { metadata: { labels: { tier: "node" } } },
      ADMIN,
    );
    expect(labelled.metadata.generation).toBe(2);
  });
});
