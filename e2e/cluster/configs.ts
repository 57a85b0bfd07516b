/**
 * The configuration files of the test cluster's components, rendered from the topology and the
 * layout. Pure: each returns text; up.ts writes them. The settings follow kubernetes'
 * hack/local-up-cluster.sh and kind, adapted to a node on cgroup v1 with containerd 1.6.
 */
import { stringify } from "yaml";
import * as L from "./layout.ts";
import * as T from "./topology.ts";
import { KUBERNETES_VERSION } from "./versions.ts";

/** containerd 1.6 (config version 2): CRI with overlayfs, runc without systemd cgroups, our CNI. */
export function containerdConfig(): string {
  return `version = 2
root = "${L.CONTAINERD_ROOT}"
state = "${L.CONTAINERD_STATE}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "${L.CONTAINERD_SOCKET}"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${T.PAUSE_IMAGE}"
  stream_server_address = "127.0.0.1"
  enable_selinux = false
  # This machine's root lacks CAP_SYS_RESOURCE, so no process may lower an oom_score_adj (the
  # kubelet asks -998 for pod sandboxes): containerd clamps requests to its own score instead.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "${L.RUN}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${L.CNI_BIN}"
    conf_dir = "${L.CNI_CONF}"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "${L.CERTS_D}"
`;
}

/** hosts.toml: a registry inside the node speaks plain HTTP on localhost. */
export function registryHostsToml(host: string = T.PULL_REGISTRY): string {
  return `server = "http://${host}"

[host."http://${host}"]
  capabilities = ["pull", "resolve"]
`;
}

/** A bridge with host-local IPAM: pods get addresses from POD_CIDR, the bridge is their gateway. */
export function cniConflist(): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "rollback-drill",
      plugins: [
        {
          type: "bridge",
          bridge: T.POD_BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: T.POD_CIDR }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: L.CNI_STATE,
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * Docker Distribution: deletes allowed (retention), no blob cache (garbage collection must be
 * seen at once), listening inside the node only. The private one asks for htpasswd credentials.
 */
export function registryConfig(kind: "public" | "private" = "public"): string {
  const isPrivate = kind === "private";
  return stringify({
    version: 0.1,
    log: { level: "info", fields: { service: isPrivate ? "registry-private" : "registry" } },
    storage: {
      filesystem: { rootdirectory: isPrivate ? L.PRIVATE_REGISTRY_DATA : L.REGISTRY_DATA },
      delete: { enabled: true },
      cache: { blobdescriptor: "" },
    },
    http: {
      addr: `0.0.0.0:${String(isPrivate ? T.NODE_PORTS.privateRegistry : T.NODE_PORTS.registry)}`,
    },
    ...(isPrivate
      ? {
          auth: {
            htpasswd: { realm: "rollback-drill-private", path: L.PRIVATE_REGISTRY_HTPASSWD },
          },
        }
      : {}),
  });
}

/** kubeadm's config for `init phase certs` and `kubeconfig`: names, addresses, an external etcd. */
export function kubeadmConfig(): string {
  const init = {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "InitConfiguration",
    localAPIEndpoint: { advertiseAddress: T.NODE_IP, bindPort: T.NODE_PORTS.apiserver },
    nodeRegistration: { name: T.NODE_NAME, criSocket: `unix://${L.CONTAINERD_SOCKET}` },
  };
  const cluster = {
    apiVersion: "kubeadm.k8s.io/v1beta4",
    kind: "ClusterConfiguration",
    kubernetesVersion: KUBERNETES_VERSION,
    clusterName: "rollback-drill",
    certificatesDir: L.PKI,
    networking: { serviceSubnet: T.SERVICE_CIDR, podSubnet: T.POD_CIDR },
    apiServer: { certSANs: ["127.0.0.1", "localhost", T.NODE_IP, T.KUBERNETES_SERVICE_IP] },
    etcd: { external: { endpoints: [`http://127.0.0.1:${String(T.NODE_PORTS.etcd)}`] } },
  };
  return `${stringify(init)}---\n${stringify(cluster)}`;
}

/**
 * The kubelet on a cgroup v1 node with containerd 1.6: cgroupfs (containerd 1.6 cannot report its
 * driver), cgroup v1 allowed (refused by default from 1.35), no image GC or disk-pressure eviction
 * on a shared disk, webhook authentication and authorization against the API server.
 */
export function kubeletConfig(): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: T.NODE_IP,
    port: 10250,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: `${L.PKI}/ca.crt` },
    },
    authorization: { mode: "Webhook" },
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    failSwapOn: false,
    containerRuntimeEndpoint: `unix://${L.CONTAINERD_SOCKET}`,
    podLogsDir: L.POD_LOGS,
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: {
      "nodefs.available": "0%",
      "nodefs.inodesFree": "0%",
      "imagefs.available": "0%",
    },
    clusterDomain: "cluster.local",
    resolvConf: `${L.DATA}/resolv.conf`,
    rotateCertificates: false,
    serializeImagePulls: false,
    maxPods: 110,
  });
}

export function kubeProxyConfig(): string {
  return stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig: `${L.KUBECONFIGS}/kube-proxy.conf` },
    hostnameOverride: T.NODE_NAME,
    mode: "iptables",
    clusterCIDR: T.POD_CIDR,
    bindAddress: T.NODE_IP,
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    conntrack: { maxPerCore: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
  });
}

/** PostgreSQL's access: the superuser from the host's end of the link, the app role from pods. */
export function pgHba(): string {
  return [
    "# TYPE DATABASE USER ADDRESS METHOD",
    "local all all trust",
    `host all ${T.POSTGRES.superuser} ${T.HOST_IP}/32 trust`,
    `host all ${T.POSTGRES.superuser} 127.0.0.1/32 trust`,
    `host all all ${T.POD_CIDR} scram-sha-256`,
    `host all all ${T.HOST_IP}/32 scram-sha-256`,
    "",
  ].join("\n");
}

/** The API server's audit policy: every request's metadata (who, verb, resource, code). */
export function auditPolicy(): string {
  return stringify({
    apiVersion: "audit.k8s.io/v1",
    kind: "Policy",
    omitStages: ["RequestReceived"],
    rules: [{ level: "Metadata" }],
  });
}
