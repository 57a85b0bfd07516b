/**
 * Where the real test cluster lives: one network namespace of our own (the node), joined to the
 * host by a veth pair, and the addresses and ports inside it. Everything the cluster serves is
 * bound inside that namespace; the host reaches the API server, the registry and PostgreSQL on
 * 127.0.0.1 through a forwarder. Nothing routes or masquerades out of the machine.
 */

/** The node's network namespace (`ip netns` name). */
export const NETNS = "rbd-node";
/** The veth pair: the host's end and the node's end. */
export const HOST_LINK = "rbd-host";
export const NODE_LINK = "rbd-node0";
/** A /30 link between them: the host's address is the node's default gateway. */
export const HOST_IP = "10.241.0.1";
export const NODE_IP = "10.241.0.2";
export const LINK_PREFIX = 30;
/** The pods' bridge inside the node, its address the pods' gateway. */
export const POD_BRIDGE = "rbd-cni0";
export const POD_CIDR = "10.242.0.0/16";
export const SERVICE_CIDR = "10.243.0.0/24";
/** The `kubernetes` Service's ClusterIP: the first address of SERVICE_CIDR. */
export const KUBERNETES_SERVICE_IP = "10.243.0.1";
export const NODE_NAME = "rbd-node";

/** Ports inside the node. */
export const NODE_PORTS = {
  apiserver: 6443,
  registry: 5000,
  privateRegistry: 5001,
  postgres: 5432,
  etcd: 2379,
} as const;
/** Ports on the host's 127.0.0.1 that the forwarder relays to the node. */
export const HOST_PORTS = {
  apiserver: 6443,
  registry: 5000,
  privateRegistry: 5001,
  postgres: 55432,
} as const;

/** How the node's containerd names the registry (it resolves to the registry in the node). */
export const PULL_REGISTRY = `localhost:${String(NODE_PORTS.registry)}`;
/** Where this machine pushes: the forwarder to the same registry. */
export const PUSH_REGISTRY = `127.0.0.1:${String(HOST_PORTS.registry)}`;
/** A second registry behind htpasswd: pulled with an imagePullSecret, as a private one is. */
export const PRIVATE_REGISTRY = {
  pull: `localhost:${String(NODE_PORTS.privateRegistry)}`,
  push: `127.0.0.1:${String(HOST_PORTS.privateRegistry)}`,
  username: "puller",
  password: "pull-secret-password",
} as const;

/** The pause image every pod sandbox starts from, built locally and pushed at `up`. */
export const PAUSE_IMAGE = `${PULL_REGISTRY}/rollback-drill/pause:1`;

/** PostgreSQL: the superuser the test bed connects as from the host, and the role pods use. */
export const POSTGRES = {
  superuser: "postgres",
  /** From the host (through the forwarder): trusted, it is the test bed's own admin access. */
  hostUrl: `postgres://postgres@127.0.0.1:${String(HOST_PORTS.postgres)}`,
  /** From a pod: the node's address; the app role authenticates with a password. */
  podHost: `${NODE_IP}:${String(NODE_PORTS.postgres)}`,
  appUser: "app",
  appPassword: "app-password",
} as const;
