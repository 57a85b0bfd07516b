/**
 * Where the test cluster keeps its files. Data and sockets live outside the checkout (one cluster
 * per machine: one network namespace, one set of ports); logs, the admin kubeconfig and what the
 * e2e backend reads live under the checkout's .tmp/cluster/, as a developer expects to find them.
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const CHECKOUT = fileURLToPath(new URL("../..", import.meta.url));
/** What `up` writes for users and tests. */
export const OUT = join(CHECKOUT, ".tmp", "cluster");
export const LOGS = join(OUT, "logs");
export const KUBECONFIG = join(OUT, "kubeconfig");
/** The cluster's description for the e2e backend (ClusterInfo). */
export const INFO = join(OUT, "cluster.json");

/** Persistent data of the running cluster (removed by `down`). */
export const DATA = "/var/lib/rollback-drill-cluster";
/** Sockets, pids and the state `down` reads (removed by `down`). */
export const RUN = "/run/rollback-drill-cluster";
export const STATE = join(RUN, "state.json");

export const PKI = join(DATA, "pki");
export const KUBECONFIGS = join(DATA, "kubeconfigs");
export const ETCD_DATA = join(DATA, "etcd");
export const CONTAINERD_ROOT = join(DATA, "containerd");
export const CONTAINERD_STATE = join(RUN, "containerd");
export const CONTAINERD_SOCKET = join(RUN, "containerd.sock");
export const CONTAINERD_CONFIG = join(DATA, "containerd.toml");
export const CERTS_D = join(DATA, "certs.d");
export const CNI_CONF = join(DATA, "cni", "net.d");
export const CNI_STATE = join(DATA, "cni", "networks");
export const KUBELET_ROOT = join(DATA, "kubelet");
export const POD_LOGS = join(DATA, "pod-logs");
export const REGISTRY_DATA = join(DATA, "registry");
export const REGISTRY_CONFIG = join(DATA, "registry.yaml");
export const PRIVATE_REGISTRY_DATA = join(DATA, "registry-private");
export const PRIVATE_REGISTRY_CONFIG = join(DATA, "registry-private.yaml");
export const PRIVATE_REGISTRY_HTPASSWD = join(DATA, "registry-private.htpasswd");
export const POSTGRES_DATA = join(DATA, "postgres");
export const POSTGRES_RUN = join(RUN, "postgres");
export const CNI_BIN = "/usr/lib/cni";
/** The API server's audit log (one JSON event a line): what tests read to see who did what. */
export const AUDIT_LOG = join(DATA, "audit", "audit.log");
export const AUDIT_POLICY = join(DATA, "audit-policy.yaml");
