/**
 * kubectl against the simulated kubelet and registry: logs of a crashing pod (and --previous),
 * CrashLoopBackOff back-off, pull policies against a moved tag, the forward-only database
 * migration that breaks a rollback, delete namespace, and auth can-i. One node, so every pod
 * shares one image cache. Sources are cited per check (kubernetes/kubernetes).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { waitForPass, PODS, DEPLOYMENTS } from "../../kit/index.ts";
import type { KubeObject } from "../../../src/sim/types.ts";
import {
  HAS_KUBECTL,
  NEEDS_KUBECTL,
  WAIT,
  columns,
  createDeployment,
  lines,
  startKubectlSim,
  type KubectlSim,
} from "./harness.ts";

const REPO = "registry.example.com/shop/app";

interface ContainerStatus {
  restartCount: number;
  imageID?: string;
  state: { running?: { startedAt: string }; waiting?: { reason: string } };
  lastState: { terminated?: { exitCode: number; reason: string; finishedAt: string } };
}

function statusOf(pod: KubeObject): ContainerStatus | undefined {
  return (pod.status as { containerStatuses?: ContainerStatus[] } | undefined)
    ?.containerStatuses?.[0];
}

function deploymentYaml(
  ns: string,
  name: string,
  image: string,
  extra: { pullPolicy?: string; env?: Record<string, string> } = {},
): string {
  const env = Object.entries(extra.env ?? {}).map(
    ([n, v]) => `            - { name: ${n}, value: "${v}" }`,
  );
  return [
    "apiVersion: apps/v1",
    "kind: Deployment",
    `metadata: { name: ${name}, namespace: ${ns} }`,
    "spec:",
    "  replicas: 1",
    `  selector: { matchLabels: { app: ${name} } }`,
    "  template:",
    `    metadata: { labels: { app: ${name} } }`,
    "    spec:",
    "      containers:",
    "        - name: app",
    `          image: ${image}`,
    ...(extra.pullPolicy ? [`          imagePullPolicy: ${extra.pullPolicy}`] : []),
    ...(env.length > 0 ? ["          env:", ...env] : []),
    "",
  ].join("\n");
}

describe.skipIf(!HAS_KUBECTL)(
  `kubectl, kubelet and registry ${HAS_KUBECTL ? "" : NEEDS_KUBECTL}`,
  () => {
    let k: KubectlSim;
    const podsOf = (ns: string, app: string): KubeObject[] =>
      k.sim.store.list(PODS, { namespace: ns, labelSelector: `app=${app}` }).items;
    const onePod = (ns: string, app: string): KubeObject => {
      const running = podsOf(ns, app).filter(p => p.metadata.deletionTimestamp === undefined);
      expect(running).toHaveLength(1);
      const [pod] = running;
      if (!pod) throw new Error("no pod");
      return pod;
    };
    /** Applies deploymentYaml's Deployment `name` in shop from <name>.yaml and waits for its rollout. */
    const applyDeployment = async (
      name: string,
      image: string,
      extra: Parameters<typeof deploymentYaml>[3],
    ): Promise<void> => {
      await k.kubectl(
        "apply",
        "-f",
        await k.file(`${name}.yaml`, deploymentYaml("shop", name, image, extra)),
      );
      await k.kubectl("rollout", "status", `deployment/${name}`, "-n", "shop");
    };

    beforeAll(async () => {
      k = await startKubectlSim({ nodes: ["node-1"] });
      await k.kubectl("create", "namespace", "shop");
    });
    afterAll(async () => {
      await k.close();
    });

    it("CrashLoopBackOff: back-off doubling from 10 s, the RESTARTS column and logs --previous", async () => {
      k.sim.world.images.push(REPO, "crash", {
        crashAfterMs: 1000,
        exitCode: 2,
        logLines: ["starting", "panic: no config"],
      });
      // Record every restart as the kubelet writes it (when the last instance finished, when the
      // next one started) and every waiting message it gives while backing off.
      const restarts = new Map<number, { finished: string; started: string }>();
      const backoffs: string[] = [];
      const stop = k.sim.store.subscribe(e => {
        if (e.gvr.resource !== "pods" || e.object.metadata.labels?.app !== "crash") return;
        const s = statusOf(e.object);
        if (s?.state.running && s.lastState.terminated && !restarts.has(s.restartCount)) {
          restarts.set(s.restartCount, {
            finished: s.lastState.terminated.finishedAt,
            started: s.state.running.startedAt,
          });
        }
        const waiting = s?.state.waiting as { reason: string; message?: string } | undefined;
        if (waiting?.reason === "CrashLoopBackOff" && backoffs.at(-1) !== waiting.message) {
          backoffs.push(waiting.message ?? "");
        }
      });
      try {
        await k.kubectl("create", "deployment", "crash", `--image=${REPO}:crash`, "-n", "shop");
        await waitForPass(k.sim, "four restarts of the crashing container", () => {
          expect(restarts.size).toBeGreaterThanOrEqual(4);
        });
      } finally {
        stop();
      }
      const pod = onePod("shop", "crash");
      const name = pod.metadata.name ?? "";
      // pkg/kubelet/kuberuntime/kuberuntime_manager.go doBackOff with client-go
      // flowcontrol.Backoff (pkg/kubelet/kubelet.go backOffPeriod 10 s, MaxContainerBackOff 300 s):
      // the first restart is immediate, then the back-off doubles from 10 s, counted from the
      // exit. The sim clock runs 1000x, so a real millisecond of scheduling adds a simulated
      // second: only the lower bounds are exact.
      expect(backoffs.slice(0, 3)).toEqual(
        ["10s", "20s", "40s"].map(
          d =>
            `back-off ${d} restarting failed container=app pod=${name}_shop(${pod.metadata.uid ?? ""})`,
        ),
      );
      [2, 3, 4].forEach((n, i) => {
        const r = restarts.get(n);
        if (!r) throw new Error(`restart ${String(n)} not seen`);
        const gap = (Date.parse(r.started) - Date.parse(r.finished)) / 1000;
        expect(gap).toBeGreaterThanOrEqual([10, 20, 40][i] ?? 0);
      });

      // printers.go printPod: STATUS CrashLoopBackOff while waiting; RESTARTS "N (AGE ago)".
      await vi.waitFor(async () => {
        const row = columns(lines(await k.kubectl("get", "pod", name, "-n", "shop"))[1] ?? "");
        expect(row[2]).toBe("CrashLoopBackOff");
        expect(row[3]).toMatch(/^\d+ \(\d+[smh]\d*[smh]? ago\)$/);
      }, WAIT);
      // The last terminated state: kubelet's reason Error with the exit code.
      const described = await k.kubectl("describe", "pod", name, "-n", "shop");
      expect(described).toMatch(
        /Last State:\s+Terminated\n\s+Reason:\s+Error\n\s+Exit Code:\s+2\n/,
      );
      // kuberuntime_container.go: the BackOff event of a crash-looping container.
      expect(described).toMatch(
        new RegExp(
          `Warning\\s+BackOff\\s+.*kubelet\\s+Back-off restarting failed container app in pod ${name}_shop\\(${pod.metadata.uid ?? ""}\\)`,
        ),
      );
      // kubectl logs: the container's output; --previous: the instance before (kubelet
      // GetContainerLogs with previous=true).
      expect(await k.kubectl("logs", name, "-n", "shop")).toBe("starting\npanic: no config\n");
      expect(await k.kubectl("logs", name, "-n", "shop", "--previous")).toBe(
        "starting\npanic: no config\n",
      );
    });

    it("logs --previous of a container that never restarted is a BadRequest", async () => {
      k.sim.world.images.push(REPO, "ok", { logLines: ["listening on :8080"] });
      await k.kubectl("create", "deployment", "calm", `--image=${REPO}:ok`, "-n", "shop");
      await k.kubectl("rollout", "status", "deployment/calm", "-n", "shop");
      const name = onePod("shop", "calm").metadata.name ?? "";
      expect(await k.kubectl("logs", `pod/${name}`, "-n", "shop")).toBe("listening on :8080\n");
      // pkg/kubelet/kuberuntime/kuberuntime_container.go (via kubelet.go GetContainerLogs): the
      // message for a missing previous instance, served as 400.
      const previous = await k.run("logs", name, "-n", "shop", "--previous");
      expect(previous.code).toBe(1);
      expect(previous.stderr).toBe(
        `Error from server (BadRequest): previous terminated container "app" in pod "${name}" not found\n`,
      );
    });

    it("a moved tag: IfNotPresent keeps the node's cached digest, Always pulls the new one", async () => {
      const first = k.sim.world.images.push(REPO, "stable", { logLines: ["build 1"] });
      await applyDeployment("ifnp", `${REPO}:stable`, { pullPolicy: "IfNotPresent" });
      // containerd reports imageID as <repo>@<digest> (pkg/kubelet/kuberuntime: ImageRef).
      expect(statusOf(onePod("shop", "ifnp"))?.imageID).toBe(`${REPO}@${first}`);

      const second = k.sim.world.images.push(REPO, "stable", { logLines: ["build 2"] });
      expect(second).not.toBe(first);
      const old = onePod("shop", "ifnp").metadata.name ?? "";
      expect(await k.kubectl("delete", "pod", old, "-n", "shop")).toBe(`pod "${old}" deleted\n`);
      await waitForPass(k.sim, "the ifnp pod replaced and running", () => {
        const p = onePod("shop", "ifnp");
        expect(p.metadata.name).not.toBe(old);
        expect(statusOf(p)?.state.running).toBeDefined();
      });
      // pkg/kubelet/images/image_manager.go EnsureImageExists / shouldPullImage: IfNotPresent
      // uses the image present on the node, so the replacement runs the old digest.
      const replacement = onePod("shop", "ifnp");
      expect(statusOf(replacement)?.imageID).toBe(`${REPO}@${first}`);
      const described = await k.kubectl(
        "describe",
        "pod",
        replacement.metadata.name ?? "",
        "-n",
        "shop",
      );
      expect(described).toMatch(
        new RegExp(
          `Normal\\s+Pulled\\s+.*kubelet\\s+Container image "${REPO}:stable" already present on machine`,
        ),
      );
      expect(await k.kubectl("logs", "deployment/ifnp", "-n", "shop")).toBe("build 1\n");

      // PullAlways resolves the tag again at pull time.
      await applyDeployment("always", `${REPO}:stable`, { pullPolicy: "Always" });
      const always = onePod("shop", "always");
      expect(statusOf(always)?.imageID).toBe(`${REPO}@${second}`);
      expect(await k.kubectl("describe", "pod", always.metadata.name ?? "", "-n", "shop")).toMatch(
        new RegExp(`Normal\\s+Pulling\\s+.*kubelet\\s+Pulling image "${REPO}:stable"`),
      );
      expect(await k.kubectl("logs", "deployment/always", "-n", "shop")).toBe("build 2\n");
    });

    it("schema model: after a forward-only migration the rolled-back version crashes with the log line", async () => {
      k.sim.world.images.createDatabase("orders", 1);
      k.sim.world.images.push(REPO, "orders-v1", { supportsUpTo: 1, logLines: ["orders v1"] });
      k.sim.world.images.push(REPO, "orders-v2", {
        migratesTo: 2,
        supportsUpTo: 2,
        logLines: ["orders v2"],
      });
      const env = { DATABASE_URL: "postgres://db.internal:5432/orders" };
      await applyDeployment("orders", `${REPO}:orders-v1`, { env });
      await k.kubectl("set", "image", "deployment/orders", `app=${REPO}:orders-v2`, "-n", "shop");
      await k.kubectl("rollout", "status", "deployment/orders", "-n", "shop");
      expect(k.sim.world.images.databaseVersion("orders")).toBe(2);

      expect(await k.kubectl("rollout", "undo", "deployment/orders", "-n", "shop")).toBe(
        "deployment.apps/orders rolled back\n",
      );
      // The old build refuses the newer schema and exits 1: the rollback never becomes ready.
      await waitForPass(k.sim, "the rolled-back orders pod crashing", () => {
        const crashing = podsOf("shop", "orders").find(p =>
          (p.spec as { containers: { image: string }[] }).containers[0]?.image.endsWith(
            ":orders-v1",
          ),
        );
        const s = crashing ? statusOf(crashing) : undefined;
        expect(s?.lastState.terminated?.exitCode).toBe(1);
      });
      const crashing = podsOf("shop", "orders").find(p =>
        (p.spec as { containers: { image: string }[] }).containers[0]?.image.endsWith(":orders-v1"),
      );
      const logs = await k.kubectl(
        "logs",
        crashing?.metadata.name ?? "",
        "-n",
        "shop",
        "--previous",
      );
      expect(logs).toContain(
        "FATAL: database schema version 2 is newer than this build supports (max 1)",
      );
      // rollout_status.go: the undo's new pods are not available, so it keeps waiting. Once the
      // controller has settled (surge pod up, old pod kept for availability):
      await waitForPass(k.sim, "deployment orders settled with the surge pod up", () => {
        const d = k.sim.store.get(DEPLOYMENTS, "shop", "orders");
        expect(d?.status).toMatchObject({
          observedGeneration: d?.metadata.generation,
          replicas: 2,
          updatedReplicas: 1,
        });
      });
      const status = await k.kubectl(
        "rollout",
        "status",
        "deployment/orders",
        "-n",
        "shop",
        "--watch=false",
      );
      expect(status).toBe(
        'Waiting for deployment "orders" rollout to finish: 1 old replicas are pending termination...\n',
      );
    });

    it("auth can-i answers yes for the admin", async () => {
      // cmd/auth/cani.go: "yes" from a SelfSubjectAccessReview that is allowed.
      expect(await k.kubectl("auth", "can-i", "create", "deployments", "-n", "shop")).toBe("yes\n");
      expect(await k.kubectl("auth", "can-i", "patch", "deployments.apps/web", "-n", "shop")).toBe(
        "yes\n",
      );
      expect(
        await k.kubectl("auth", "can-i", "get", "--subresource=log", "pods", "-n", "shop"),
      ).toBe("yes\n");
      // --list: a SelfSubjectRulesReview printed as cani.go printRules' table.
      const list = lines(await k.kubectl("auth", "can-i", "--list", "-n", "shop"));
      expect(columns(list[0] ?? "")).toEqual([
        "Resources",
        "Non-Resource URLs",
        "Resource Names",
        "Verbs",
      ]);
    });

    it("delete namespace waits until the namespace and everything in it are gone", async () => {
      await k.kubectl("create", "namespace", "gone");
      await createDeployment(k, "gone", "web", `${REPO}:ok`, 2);
      await k.kubectl("create", "configmap", "settings", "--from-literal=a=1", "-n", "gone");
      await k.kubectl("rollout", "status", "deployment/web", "-n", "gone");
      const phases: string[] = [];
      const stop = k.sim.store.subscribe(e => {
        if (e.gvr.resource === "namespaces" && e.object.metadata.name === "gone") {
          phases.push(
            e.type === "DELETED"
              ? "DELETED"
              : ((e.object.status as { phase?: string }).phase ?? ""),
          );
        }
      });
      try {
        // cmd/delete/delete.go: `<kind> "<name>" deleted`, then --wait (default true) blocks
        // until the object is gone (the namespace controller's finalize).
        expect(await k.kubectl("delete", "namespace", "gone")).toBe('namespace "gone" deleted\n');
      } finally {
        stop();
      }
      // pkg/controller/namespace/deletion: Terminating, emptied, finalized, removed.
      expect(phases).toContain("Terminating");
      expect(phases.at(-1)).toBe("DELETED");
      for (const info of k.sim.catalogue.all().filter(r => r.namespaced)) {
        const left = k.sim.store.list(
          { group: info.group, version: info.version, resource: info.resource },
          { namespace: "gone" },
        ).items;
        expect(left, info.resource).toEqual([]);
      }
      const get = await k.run("get", "namespace", "gone");
      expect(get.stderr).toBe('Error from server (NotFound): namespaces "gone" not found\n');
      expect((await k.run("get", "all", "-n", "gone")).stderr).toBe(
        "No resources found in gone namespace.\n",
      );
    });
  },
);
