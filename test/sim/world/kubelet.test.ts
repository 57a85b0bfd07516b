import { afterEach, describe, expect, it } from "vitest";
import { waitForPass } from "../../kit/index.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import {
  ADMIN,
  CONFIGMAPS,
  eventsFor,
  PODS,
  pullSecretObject,
  recordWaiting,
  SECRETS,
  startTestWorld,
  type Sim,
} from "./harness.ts";

const REPO = "registry.example.com/shop/web";

interface CStatus {
  name: string;
  state: {
    waiting?: { reason: string; message?: string };
    running?: unknown;
    terminated?: { exitCode: number; reason: string };
  };
  lastState: { terminated?: { exitCode: number; reason: string; finishedAt: string } };
  ready: boolean;
  started: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
}

interface PStatus {
  phase?: string;
  conditions?: {
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
  }[];
  containerStatuses?: CStatus[];
  initContainerStatuses?: CStatus[];
}

function pod(
  name: string,
  containers: Record<string, unknown>[],
  extra: Record<string, unknown> = {},
): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers, ...extra },
  };
}

const pstatus = (sim: Sim, name: string): PStatus =>
  sim.store.get(PODS, "default", name)?.["status"] ?? {};
const app = (sim: Sim, name: string): CStatus | undefined =>
  pstatus(sim, name).containerStatuses?.[0];

describe("kubelet", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // pkg/kubelet/kubelet_pods.go generateAPIPodStatus / convertToAPIContainerStatuses, containerd's
  // image and imageID forms (docs/KUBE-SIM.md "Images and digests"), pkg/kubelet/status/generate.go conditions.
  it("runs a pod: Running, Ready, containerd image/imageID/containerID and the kubelet's events", async () => {
    sim = startTestWorld();
    const digest = sim.world.images.push("nginx", "1.27", { logLines: ["listening on :80"] });
    sim.store.create(PODS, pod("web", [{ name: "app", image: "nginx:1.27" }]), ADMIN);
    await waitForPass(sim, "pod web Running and Ready", () => {
      expect(pstatus(sim, "web").phase).toBe("Running");
      expect(app(sim, "web")?.ready).toBe(true);
    });
    const c = app(sim, "web");
    expect(c).toMatchObject({
      name: "app",
      image: "docker.io/library/nginx:1.27",
      imageID: `docker.io/library/nginx@${digest}`,
      started: true,
      restartCount: 0,
    });
    expect(c?.containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    expect(pstatus(sim, "web").conditions?.map(x => `${x.type}=${x.status}`)).toEqual([
      "PodReadyToStartContainers=True",
      "Initialized=True",
      "Ready=True",
      "ContainersReady=True",
      "PodScheduled=True",
    ]);
    const node = (sim.store.get(PODS, "default", "web")?.["spec"] as { nodeName?: string })
      .nodeName;
    const reasons = eventsFor(sim.store, "web");
    expect(reasons).toContainEqual({
      reason: "Scheduled",
      message: `Successfully assigned default/web to ${node ?? ""}`,
    });
    expect(reasons).toContainEqual({ reason: "Pulling", message: 'Pulling image "nginx:1.27"' });
    expect(reasons).toContainEqual({ reason: "Created", message: "Created container: app" });
    expect(reasons).toContainEqual({ reason: "Started", message: "Started container app" });
    expect(sim.world.logs("default", "web")).toBe("listening on :80\n");
  });

  // pkg/kubelet/images/image_manager.go shouldPullImage: IfNotPresent uses the node's copy even
  // after the tag moved; Always resolves the tag again.
  it("IfNotPresent keeps the cached digest of a moved tag; Always pulls the new one", async () => {
    sim = startTestWorld();
    const v1 = sim.world.images.push(REPO, "stable", { logLines: ["v1"] });
    const onNode1 = { nodeName: "node-1" };
    sim.store.create(
      PODS,
      pod(
        "a",
        [{ name: "app", image: `${REPO}:stable`, imagePullPolicy: "IfNotPresent" }],
        onNode1,
      ),
      ADMIN,
    );
    await waitForPass(sim, "pod a to run v1", () => {
      expect(app(sim, "a")?.imageID).toBe(`${REPO}@${v1}`);
    });
    const v2 = sim.world.images.push(REPO, "stable", { logLines: ["v2"] });
    expect(v2).not.toBe(v1);
    sim.store.create(
      PODS,
      pod(
        "b",
        [{ name: "app", image: `${REPO}:stable`, imagePullPolicy: "IfNotPresent" }],
        onNode1,
      ),
      ADMIN,
    );
    sim.store.create(
      PODS,
      pod("c", [{ name: "app", image: `${REPO}:stable`, imagePullPolicy: "Always" }], onNode1),
      ADMIN,
    );
    await waitForPass(sim, "pods b and c to run v1 and v2", () => {
      expect(app(sim, "b")?.imageID).toBe(`${REPO}@${v1}`);
      expect(app(sim, "c")?.imageID).toBe(`${REPO}@${v2}`);
    });
    expect(eventsFor(sim.store, "b")).toContainEqual({
      reason: "Pulled",
      message: `Container image "${REPO}:stable" already present on machine`,
    });
    // Never with the image absent from the node.
    sim.store.create(
      PODS,
      pod("d", [{ name: "app", image: `${REPO}:stable`, imagePullPolicy: "Never" }], {
        nodeName: "node-2",
      }),
      ADMIN,
    );
    await waitForPass(sim, "pod d waiting in ErrImageNeverPull", () => {
      expect(app(sim, "d")?.state.waiting).toEqual({
        reason: "ErrImageNeverPull",
        message: `Container image "${REPO}:stable" is not present with pull policy of Never`,
      });
    });
  });

  // image_manager.go: a failed pull is ErrImagePull with the runtime's message, then
  // ImagePullBackOff "Back-off pulling image" while the back-off lasts; the pod stays Pending.
  it("missing tag: ErrImagePull with containerd's message, then ImagePullBackOff", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const rec = recordWaiting(sim.store, "p");
    sim.store.create(PODS, pod("p", [{ name: "app", image: `${REPO}:nope` }]), ADMIN);
    const ref = `${REPO}:nope`;
    await waitForPass(sim, "pod p in ImagePullBackOff", () => {
      expect(app(sim, "p")?.state.waiting?.reason).toBe("ImagePullBackOff");
    });
    rec.stop();
    expect(rec.seen.slice(0, 3)).toEqual([
      { reason: "ContainerCreating" },
      {
        reason: "ErrImagePull",
        message: `rpc error: code = NotFound desc = failed to pull and unpack image "${ref}": failed to resolve reference "${ref}": ${ref}: not found`,
      },
      { reason: "ImagePullBackOff", message: `Back-off pulling image "${ref}"` },
    ]);
    expect(pstatus(sim, "p").phase).toBe("Pending");
    expect(eventsFor(sim.store, "p")).toContainEqual({
      reason: "Failed",
      message: "Error: ErrImagePull",
    });
    // Pushing the tag lets the next attempt (after the 10 s back-off) succeed.
    sim.world.images.push(REPO, "nope");
    await waitForPass(sim, "pod p Running", () => {
      expect(pstatus(sim, "p").phase).toBe("Running");
    });
  });

  // credentialprovider keyring: a private repository needs a dockerconfigjson secret for its host,
  // from the pod's imagePullSecrets or its service account's.
  it("private repository: denied without a pull secret, pulled with one", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.setPrivate(REPO, true);
    const rec = recordWaiting(sim.store, "anon");
    sim.store.create(PODS, pod("anon", [{ name: "app", image: `${REPO}:v1` }]), ADMIN);
    await waitForPass(sim, "pod anon in ImagePullBackOff", () => {
      expect(app(sim, "anon")?.state.waiting?.reason).toBe("ImagePullBackOff");
    });
    rec.stop();
    const failed = rec.seen.find(w => w.reason === "ErrImagePull");
    expect(failed?.message).toContain(
      "pull access denied, repository does not exist or may require authorization",
    );
    expect(failed?.message).toContain("authorization failed");
    sim.store.create(SECRETS, pullSecretObject("regcred", "default"), ADMIN);
    sim.store.create(
      PODS,
      pod("authed", [{ name: "app", image: `${REPO}:v1` }], {
        imagePullSecrets: [{ name: "regcred" }],
      }),
      ADMIN,
    );
    await waitForPass(sim, "pod authed Running", () => {
      expect(pstatus(sim, "authed").phase).toBe("Running");
    });
  });

  // kuberuntime_manager.go doBackOff with client-go flowcontrol.Backoff: the first restart is
  // immediate, then 10 s, 20 s, 40 s ... on the simulated clock; restartCount and lastState follow.
  it("CrashLoopBackOff doubles from 10 s with restartCount and lastState.terminated", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "crash", { crashAfterMs: 1_000, exitCode: 2, logLines: ["boom"] });
    const created = sim.store.create(
      PODS,
      pod("cl", [{ name: "app", image: `${REPO}:crash` }]),
      ADMIN,
    );
    const rec = recordWaiting(sim.store, "cl");
    const starts: number[] = [];
    const off = sim.store.subscribe(e => {
      if (e.gvr.resource !== "pods" || e.object.metadata.name !== "cl") return;
      const now = ((e.object["status"] as PStatus | undefined)?.containerStatuses ?? [])[0];
      const before = ((e.oldObject?.["status"] as PStatus | undefined)?.containerStatuses ?? [])[0];
      if (now?.state.running !== undefined && before?.state.running === undefined)
        starts.push(sim.clock.nowMs());
    });
    await waitForPass(sim, "pod cl restarted three times", () => {
      expect(app(sim, "cl")?.restartCount).toBeGreaterThanOrEqual(3);
      expect(starts.length).toBeGreaterThanOrEqual(4);
    });
    off();
    rec.stop();
    const c = app(sim, "cl");
    expect(c?.lastState.terminated).toMatchObject({ exitCode: 2, reason: "Error" });
    // Each gap between starts is 1 s of running plus start latency plus the back-off (0, 10 s, 20 s).
    const gaps = starts.slice(1, 4).map((t, i) => t - (starts[i] ?? 0));
    expect(gaps[1]).toBeGreaterThanOrEqual(11_000);
    expect(gaps[2]).toBeGreaterThanOrEqual(21_000);
    const backoffs = rec.seen.filter(w => w.reason === "CrashLoopBackOff").map(w => w.message);
    const podRef = `cl_default(${created.metadata.uid ?? ""})`;
    expect(backoffs.slice(0, 2)).toEqual([
      `back-off 10s restarting failed container=app pod=${podRef}`,
      `back-off 20s restarting failed container=app pod=${podRef}`,
    ]);
    expect(pstatus(sim, "cl").phase).toBe("Running");
    expect(sim.world.logs("default", "cl", "app", { previous: true })).toBe("boom\n");
  });

  // kubelet_pods.go makeEnvironmentVariables: a missing ConfigMap or key is CreateContainerConfigError.
  it("CreateContainerConfigError for a missing ConfigMap, then for a missing key", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    const env = [{ name: "MODE", valueFrom: { configMapKeyRef: { name: "cfg", key: "mode" } } }];
    sim.store.create(PODS, pod("cfg", [{ name: "app", image: `${REPO}:v1`, env }]), ADMIN);
    await waitForPass(sim, "pod cfg waiting for its ConfigMap", () => {
      expect(app(sim, "cfg")?.state.waiting).toEqual({
        reason: "CreateContainerConfigError",
        message: 'configmap "cfg" not found',
      });
    });
    sim.store.create(
      CONFIGMAPS,
      {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name: "cfg", namespace: "default" },
        data: { other: "x" },
      },
      ADMIN,
    );
    await waitForPass(sim, "pod cfg waiting for its ConfigMap key", () => {
      expect(app(sim, "cfg")?.state.waiting).toEqual({
        reason: "CreateContainerConfigError",
        message: "couldn't find key mode in ConfigMap default/cfg",
      });
    });
  });

  // kubelet_pods.go getPhase + status/generate.go: a failing init container blocks the app
  // (Initialized False, ContainersNotInitialized) and, with restartPolicy Never, fails the pod.
  it("init container failure keeps the pod Pending (Always) or fails it (Never)", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.world.images.push(REPO, "init-fail", { crashAfterMs: 100, exitCode: 1 });
    const inits = [{ name: "migrate", image: `${REPO}:init-fail` }];
    sim.store.create(
      PODS,
      pod("i1", [{ name: "app", image: `${REPO}:v1` }], { initContainers: inits }),
      ADMIN,
    );
    sim.store.create(
      PODS,
      pod("i2", [{ name: "app", image: `${REPO}:v1` }], {
        initContainers: inits,
        restartPolicy: "Never",
      }),
      ADMIN,
    );
    await waitForPass(sim, "init container of i1 restarted and i2 Failed", () => {
      expect(pstatus(sim, "i1").initContainerStatuses?.[0]?.restartCount).toBeGreaterThanOrEqual(1);
      expect(pstatus(sim, "i2").phase).toBe("Failed");
    });
    const s = pstatus(sim, "i1");
    expect(s.phase).toBe("Pending");
    expect(s.conditions?.find(c => c.type === "Initialized")).toMatchObject({
      status: "False",
      reason: "ContainersNotInitialized",
      message: "containers with incomplete status: [migrate]",
    });
    expect(s.containerStatuses?.[0]?.state.waiting?.reason).toBe("PodInitializing");
  });

  // The database model (docs/KUBE-SIM.md): a new build migrates the schema forward; the old build then
  // exits 1 with a FATAL line and crash-loops.
  it("schema model: new image migrates, old image then crashes with the log line", async () => {
    sim = startTestWorld();
    sim.world.images.createDatabase("shop", 3);
    sim.world.images.push(REPO, "v1", { migratesTo: 3, supportsUpTo: 3 });
    sim.world.images.push(REPO, "v2", { migratesTo: 4, supportsUpTo: 4 });
    const env = [{ name: "DATABASE_URL", value: "postgres://db:5432/shop" }];
    sim.store.create(PODS, pod("new", [{ name: "app", image: `${REPO}:v2`, env }]), ADMIN);
    await waitForPass(sim, "database shop migrated to 4", () => {
      expect(sim.world.images.databaseVersion("shop")).toBe(4);
    });
    sim.store.create(PODS, pod("old", [{ name: "app", image: `${REPO}:v1`, env }]), ADMIN);
    await waitForPass(sim, "pod old restarted", () => {
      expect(app(sim, "old")?.restartCount).toBeGreaterThanOrEqual(1);
    });
    expect(sim.world.logs("default", "old", "app", { previous: true })).toBe(
      "FATAL: database schema version 4 is newer than this build supports (max 3)\n",
    );
    expect(app(sim, "old")?.lastState.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
  });
});

describe("readiness", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // pkg/kubelet/prober: with a readiness probe the container turns ready at the first successful
  // probe, not before initialDelaySeconds; Ready's lastTransitionTime records when.
  it("waits for the readiness probe's initial delay", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "v1");
    sim.store.create(
      PODS,
      pod("slow", [
        {
          name: "app",
          image: `${REPO}:v1`,
          readinessProbe: { initialDelaySeconds: 20, periodSeconds: 5 },
        },
      ]),
      ADMIN,
    );
    await waitForPass(sim, "pod slow Ready", () => {
      expect(app(sim, "slow")?.ready).toBe(true);
    });
    // Both timestamps have second precision, and both are floored, so the 20 s survive.
    const startedAt = (app(sim, "slow")?.state.running as { startedAt: string }).startedAt;
    const ready = pstatus(sim, "slow").conditions?.find(c => c.type === "Ready");
    expect(ready?.status).toBe("True");
    expect(
      Date.parse(ready?.lastTransitionTime ?? "") - Date.parse(startedAt),
    ).toBeGreaterThanOrEqual(20_000);
  });
});

describe("pod logs", () => {
  let sim: Sim;
  afterEach(() => {
    sim.close();
  });

  // pkg/kubelet/kubelet_pods.go validateContainerLogStatus and the pod log REST's container checks.
  it("serves the current and previous instance and the kubelet's errors", async () => {
    sim = startTestWorld();
    sim.world.images.push(REPO, "crash", { crashAfterMs: 500, logLines: ["hello"] });
    sim.store.create(
      PODS,
      pod("two", [
        { name: "a", image: `${REPO}:crash` },
        { name: "b", image: `${REPO}:nope` },
      ]),
      ADMIN,
    );
    expect(() => sim.world.logs("default", "two")).toThrow(
      "a container name must be specified for pod two, choose one of: [a b]",
    );
    expect(() => sim.world.logs("default", "two", "c")).toThrow(
      "container c is not valid for pod two",
    );
    await waitForPass(sim, "pod two: b in ImagePullBackOff, a in CrashLoopBackOff", () => {
      const b = pstatus(sim, "two").containerStatuses?.find(c => c.name === "b");
      expect(b?.state.waiting?.reason).toBe("ImagePullBackOff");
      const a = pstatus(sim, "two").containerStatuses?.find(c => c.name === "a");
      expect(a?.state.waiting?.reason).toBe("CrashLoopBackOff");
    });
    expect(() => sim.world.logs("default", "two", "b")).toThrow(
      'container "b" in pod "two" is waiting to start: trying and failing to pull image',
    );
    // In CrashLoopBackOff the current log is the crashed instance's, as is --previous.
    expect(sim.world.logs("default", "two", "a")).toBe("hello\n");
    expect(sim.world.logs("default", "two", "a", { previous: true })).toBe("hello\n");
    expect(() => sim.world.logs("default", "two", "b", { previous: true })).toThrow(
      'previous terminated container "b" in pod "two" not found',
    );
  });
});
