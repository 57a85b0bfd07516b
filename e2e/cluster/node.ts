/**
 * Node-side checks and images: HTTP(S) probes run inside the node's network namespace (where the
 * components listen on loopback), the pause and busybox images every pod needs, pushed to the
 * local registry, and the start-up pod that proves scheduling, the kubelet, the CNI and
 * kube-proxy's Service routing at once.
 */
import { busyboxLayer, pushImage, pushPauseImage } from "../backends/oci-image.ts";
import type { BinDir } from "./build.ts";
import * as L from "./layout.ts";
import { ComponentError, run, sleep } from "./proc.ts";
import * as T from "./topology.ts";

/** GETs `url` from inside the node (TLS unverified: a health probe of a local component). */
export async function probeInNode(url: string, expect: RegExp): Promise<boolean> {
  const script = `fetch(${JSON.stringify(url)}).then(async r => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, e => { console.error(String(e)); process.exit(2); })`;
  const { code, stdout } = await run(process.execPath, ["-e", script], {
    node: true,
    allowFail: true,
    env: { NODE_TLS_REJECT_UNAUTHORIZED: "0", NODE_NO_WARNINGS: "1" },
    timeoutMs: 10_000,
  });
  return code === 0 && expect.test(stdout.trim());
}

export const BUSYBOX_IMAGE = `${T.PULL_REGISTRY}/rollback-drill/busybox:1`;

/** The pause image (a shell that sleeps and exits on TERM) and a plain busybox, from busybox-static. */
export async function pushNodeImages(registryUrl: string): Promise<void> {
  const layer = await busyboxLayer();
  const path = (image: string) => image.slice(T.PULL_REGISTRY.length + 1).split(":");
  const [pausePath = "", pauseTag = ""] = path(T.PAUSE_IMAGE);
  await pushPauseImage(registryUrl, pausePath, pauseTag);
  const [boxPath = "", boxTag = ""] = path(BUSYBOX_IMAGE);
  await pushImage(registryUrl, boxPath, boxTag, { layers: [layer], cmd: ["/bin/sh"] });
}

const STARTUP_POD = "rollback-drill-startup-check";

function startupManifest(): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: STARTUP_POD, namespace: "default" },
    spec: {
      restartPolicy: "Never",
      containers: [
        {
          name: "check",
          image: BUSYBOX_IMAGE,
          command: [
            "sh",
            "-c",
            // The token and CA are mounted (service-account signing, root CA published) and the
            // Service's ClusterIP routes to the API server (kube-proxy's rules).
            `test -s /var/run/secrets/kubernetes.io/serviceaccount/token && test -s /var/run/secrets/kubernetes.io/serviceaccount/ca.crt && echo | nc -w 5 ${T.KUBERNETES_SERVICE_IP} 443 && echo reached kubernetes`,
          ],
        },
      ],
    },
  });
}

export async function startupPod(bin: BinDir): Promise<void> {
  const kubectl = (args: string[], input?: string) =>
    run(bin.path("kubectl"), ["--kubeconfig", L.KUBECONFIG, ...args], {
      allowFail: true,
      ...(input === undefined ? {} : { input }),
    });
  await kubectl(["-n", "default", "delete", "pod", STARTUP_POD, "--ignore-not-found", "--wait"]);
  const created = await kubectl(["create", "-f", "-"], startupManifest());
  if (created.code !== 0)
    throw new ComponentError(
      "startup pod",
      `not created: ${created.stderr.trim()}`,
      undefined,
      "see kube-apiserver.log",
    );
  const deadline = Date.now() + 120_000;
  let phase = "";
  while (Date.now() < deadline) {
    phase = (
      await kubectl(["-n", "default", "get", "pod", STARTUP_POD, "-o", "jsonpath={.status.phase}"])
    ).stdout.trim();
    if (phase === "Succeeded" || phase === "Failed") break;
    await sleep(500);
  }
  if (phase !== "Succeeded") {
    const describe = (await kubectl(["-n", "default", "describe", "pod", STARTUP_POD])).stdout;
    const logs = (await kubectl(["-n", "default", "logs", STARTUP_POD])).stdout;
    throw new ComponentError(
      "startup pod",
      `ended ${phase || "unknown"} instead of Succeeded:\n${describe.split("\n").slice(-20).join("\n")}\nlogs: ${logs}`,
      `${L.LOGS}/kubelet.log`,
      "Pending: see kube-scheduler.log; ContainerCreating: containerd.log (CNI, pause image); Failed: kube-proxy.log",
    );
  }
  await kubectl(["-n", "default", "delete", "pod", STARTUP_POD, "--wait=false"]);
}

/**
 * Runs `script` under busybox's sh in a pod of the `default` namespace, waits until the pod has
 * finished, and returns its phase and log; the pod is deleted either way.
 */
export async function runPodScript(
  cluster: { kubectl: string; kubeconfig: string },
  name: string,
  script: string,
  timeoutSeconds = 90,
): Promise<{ phase: string; log: string }> {
  const kubectl = (args: string[]) =>
    run(cluster.kubectl, ["--kubeconfig", cluster.kubeconfig, "-n", "default", ...args], {
      allowFail: true,
    });
  const pod = `${name}-${String(Date.now())}`;
  const created = await kubectl([
    "run",
    pod,
    `--image=${BUSYBOX_IMAGE}`,
    "--restart=Never",
    "--command",
    "--",
    "sh",
    "-c",
    script,
  ]);
  if (created.code !== 0) throw new Error(`pod ${pod}: ${created.stderr.trim()}`);
  try {
    await kubectl([
      "wait",
      `pod/${pod}`,
      "--for=jsonpath={.status.phase}=Succeeded",
      `--timeout=${String(timeoutSeconds)}s`,
    ]);
    const phase = (
      await kubectl(["get", "pod", pod, "-o", "jsonpath={.status.phase}"])
    ).stdout.trim();
    return { phase, log: (await kubectl(["logs", pod])).stdout };
  } finally {
    await kubectl(["delete", "pod", pod, "--wait=false"]);
  }
}
