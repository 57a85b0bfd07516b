/**
 * What the real test cluster is built from: one Kubernetes release and one etcd, pinned here and
 * nowhere else. `npm run cluster:gomod` regenerates go.mod from these (and Kubernetes' own go.mod);
 * the binaries' cache is keyed by them and by go.sum.
 */
export const KUBERNETES_VERSION = "v1.36.3";
/** The staging modules (k8s.io/api, client-go, ...) are published as v0.<minor>.<patch>. */
export const STAGING_VERSION = KUBERNETES_VERSION.replace(/^v1\./, "v0.");
export const ETCD_VERSION = "v3.6.16";
export const WRAPPER_MODULE = "rollback-drill.dev/e2e/cluster";

/** The programs built, by the name each binary gets, in one `go build`. */
export const PROGRAMS = {
  "kube-apiserver": "k8s.io/kubernetes/cmd/kube-apiserver",
  "kube-controller-manager": "k8s.io/kubernetes/cmd/kube-controller-manager",
  "kube-scheduler": "k8s.io/kubernetes/cmd/kube-scheduler",
  kubelet: "k8s.io/kubernetes/cmd/kubelet",
  "kube-proxy": "k8s.io/kubernetes/cmd/kube-proxy",
  kubeadm: "k8s.io/kubernetes/cmd/kubeadm",
  kubectl: "k8s.io/kubernetes/cmd/kubectl",
  etcd: "go.etcd.io/etcd/server/v3",
} as const;

export type Program = keyof typeof PROGRAMS;
