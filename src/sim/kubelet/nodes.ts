/**
 * The simulated nodes: Node objects as a kubelet v1.32 on containerd registers them
 * (pkg/kubelet/kubelet_node_status.go: labels, capacity/allocatable, conditions with the
 * kubelet's reasons and messages, addresses, nodeInfo, daemonEndpoints).
 */
import { formatTimestamp, type KubeObject, type SimClock, type Store } from "../types.ts";
import { isAlreadyExists, kubeletActor, NODES } from "../controllers/kube.ts";

export const KUBELET_VERSION = "v1.32.4";
export const CONTAINER_RUNTIME_VERSION = "containerd://1.7.24";

function nodeCondition(
  type: string,
  status: string,
  reason: string,
  message: string,
  now: string,
): Record<string, string> {
  return { type, status, lastHeartbeatTime: now, lastTransitionTime: now, reason, message };
}

export function nodeStatus(name: string, index: number, nowMs: number): Record<string, unknown> {
  const now = formatTimestamp(nowMs);
  const capacity = {
    cpu: "4",
    "ephemeral-storage": "102334Mi",
    "hugepages-2Mi": "0",
    memory: "16384Mi",
    pods: "110",
  };
  return {
    capacity,
    allocatable: { ...capacity, "ephemeral-storage": "94345Mi", memory: "16284Mi" },
    conditions: [
      nodeCondition(
        "MemoryPressure",
        "False",
        "KubeletHasSufficientMemory",
        "kubelet has sufficient memory available",
        now,
      ),
      nodeCondition(
        "DiskPressure",
        "False",
        "KubeletHasNoDiskPressure",
        "kubelet has no disk pressure",
        now,
      ),
      nodeCondition(
        "PIDPressure",
        "False",
        "KubeletHasSufficientPID",
        "kubelet has sufficient PID available",
        now,
      ),
      nodeCondition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now),
    ],
    addresses: [
      { type: "InternalIP", address: `10.0.0.${index + 10}` },
      { type: "Hostname", address: name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: (index + 1).toString(16).padStart(32, "0"),
      systemUUID: `00000000-0000-0000-0000-${(index + 1).toString(16).padStart(12, "0")}`,
      bootID: `00000000-0000-0000-0001-${(index + 1).toString(16).padStart(12, "0")}`,
      kernelVersion: "6.8.0-51-generic",
      osImage: "Ubuntu 24.04.1 LTS",
      containerRuntimeVersion: CONTAINER_RUNTIME_VERSION,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: "",
      operatingSystem: "linux",
      architecture: "amd64",
    },
  };
}

export function podCidr(index: number): string {
  return `10.244.${index}.0/24`;
}

/** Registers the nodes (create, then status through /status as a kubelet does). */
export function registerNodes(store: Store, clock: SimClock, names: string[]): void {
  names.forEach((name, index) => {
    const actor = kubeletActor(name);
    let node: KubeObject | undefined = store.get(NODES, undefined, name);
    if (node === undefined) {
      try {
        node = store.create(
          NODES,
          {
            apiVersion: "v1",
            kind: "Node",
            metadata: {
              name,
              labels: {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
              },
              annotations: {
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
              },
            },
            spec: { podCIDR: podCidr(index), podCIDRs: [podCidr(index)] },
          },
          actor,
        );
      } catch (err) {
        if (!isAlreadyExists(err)) throw err;
        node = store.get(NODES, undefined, name);
      }
    }
    if (node === undefined) return;
    store.update(NODES, { ...node, status: nodeStatus(name, index, clock.nowMs()) }, actor, {
      subresource: "status",
    });
  });
}
