/**
 * `cluster:up`: a single-node Kubernetes from the built binaries, each component started in
 * order with a readiness check and its log under .tmp/cluster/logs/: the network namespace, the
 * forwarder, containerd, the registry (with the pause image pushed), PostgreSQL, etcd, the API
 * server, the controller manager, the scheduler, the kubelet and kube-proxy; then it waits until
 * the node is Ready and a pod reaches the `kubernetes` Service.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensureBinaries, type BinDir } from "./build.ts";
import * as C from "./configs.ts";
import { down } from "./down.ts";
import * as L from "./layout.ts";
import { createNetwork, netnsExists } from "./network.ts";
import { ensurePackages } from "./packages.ts";
import { makePki, writeAdminKubeconfig } from "./pki.ts";
import { alive, ComponentError, run, startDaemon, waitReady, type Daemon } from "./proc.ts";
import { probeInNode, pushNodeImages, startupPod } from "./node.ts";
import { readState, writeInfo, writeState, type State } from "./state.ts";
import * as T from "./topology.ts";

type Log = (line: string) => void;

export interface Prerequisites {
  ok: boolean;
  missing: string[];
}

/** What the real cluster needs of this machine: Linux, root, Go. */
export async function prerequisites(): Promise<Prerequisites> {
  const missing: string[] = [];
  if (process.platform !== "linux") missing.push(`Linux (this is ${process.platform})`);
  if (process.getuid?.() !== 0) missing.push("root (it creates network namespaces and mounts)");
  const go = await run("go", ["version"], { allowFail: true }).catch(() => undefined);
  if (go === undefined || go.code !== 0) missing.push("Go on PATH (it builds Kubernetes)");
  return { ok: missing.length === 0, missing };
}

/** Whether a cluster started by `up` is running: its state is there and its API server alive. */
export function running(): State | undefined {
  const state = readState();
  if (state === undefined) return undefined;
  const apiserver = state.daemons.find(d => d.name === "kube-apiserver");
  return apiserver !== undefined && alive(apiserver.pid) ? state : undefined;
}

const kubectl = (bin: BinDir, kubeconfig: string, args: string[]) =>
  run(bin.path("kubectl"), ["--kubeconfig", kubeconfig, ...args]);

function writeConfigs(): void {
  const dirs = [L.LOGS, L.RUN, L.DATA, L.CNI_CONF, L.CNI_STATE, L.KUBELET_ROOT, L.POD_LOGS];
  for (const dir of [...dirs, dirname(L.AUDIT_LOG)]) mkdirSync(dir, { recursive: true });
  mkdirSync(join(L.CERTS_D, T.PULL_REGISTRY), { recursive: true });
  mkdirSync(join(L.CERTS_D, T.PRIVATE_REGISTRY.pull), { recursive: true });
  const files: Record<string, string> = {
    [L.CONTAINERD_CONFIG]: C.containerdConfig(),
    [join(L.CERTS_D, T.PULL_REGISTRY, "hosts.toml")]: C.registryHostsToml(),
    [join(L.CNI_CONF, "10-rollback-drill.conflist")]: C.cniConflist(),
    [L.REGISTRY_CONFIG]: C.registryConfig(),
    [join(L.CERTS_D, T.PRIVATE_REGISTRY.pull, "hosts.toml")]: C.registryHostsToml(
      T.PRIVATE_REGISTRY.pull,
    ),
    [L.PRIVATE_REGISTRY_CONFIG]: C.registryConfig("private"),
    [join(L.DATA, "kubeadm.yaml")]: C.kubeadmConfig(),
    [join(L.DATA, "kubelet.yaml")]: C.kubeletConfig(),
    [join(L.DATA, "kube-proxy.yaml")]: C.kubeProxyConfig(),
    [L.AUDIT_POLICY]: C.auditPolicy(),
    // Pods resolve nothing (no cluster DNS, no upstream): an empty resolv.conf says so.
    [join(L.DATA, "resolv.conf")]: "# the test cluster has no DNS\n",
  };
  for (const [path, text] of Object.entries(files)) writeFileSync(path, text);
}

class Starter {
  readonly state: State;
  readonly log: Log;
  constructor(bin: BinDir, log: Log) {
    this.log = log;
    this.state = {
      checkout: L.CHECKOUT,
      bin: bin.dir,
      startedAt: new Date().toISOString(),
      daemons: [],
    };
    writeState(this.state);
  }

  start(name: string, argv: string[], options: { host?: boolean } = {}): Daemon {
    const daemon = startDaemon(name, argv, join(L.LOGS, `${name}.log`), options);
    this.state.daemons.push(daemon);
    writeState(this.state);
    return daemon;
  }

  async step(name: string, start: () => Promise<void>): Promise<void> {
    const began = Date.now();
    await start();
    this.log(`  ${name}: ready (${((Date.now() - began) / 1000).toFixed(1)} s)`);
  }
}

const https = (port: number, path = "/healthz") => `https://127.0.0.1:${String(port)}${path}`;

async function startContainerd(s: Starter): Promise<void> {
  const d = s.start("containerd", ["containerd", "--config", L.CONTAINERD_CONFIG]);
  await waitReady(
    d,
    "answering on its socket",
    async () =>
      (await run("ctr", ["--address", L.CONTAINERD_SOCKET, "version"], { allowFail: true }))
        .code === 0,
    {
      timeoutMs: 60_000,
      hint: "check that runc and the overlay filesystem work: `ctr --address ... plugins ls`",
    },
  );
}

async function startRegistry(s: Starter): Promise<void> {
  rmSync(L.REGISTRY_DATA, { recursive: true, force: true });
  mkdirSync(L.REGISTRY_DATA, { recursive: true });
  const d = s.start("registry", ["docker-registry", "serve", L.REGISTRY_CONFIG]);
  await waitReady(
    d,
    "serving /v2/",
    async () => (await fetch(`http://${T.PUSH_REGISTRY}/v2/`)).status === 200,
    { timeoutMs: 30_000, hint: `is port ${String(T.HOST_PORTS.registry)} free on 127.0.0.1?` },
  );
  await pushNodeImages(`http://${T.PUSH_REGISTRY}`);
  // The private registry: the same program behind htpasswd (bcrypt, as distribution requires).
  rmSync(L.PRIVATE_REGISTRY_DATA, { recursive: true, force: true });
  mkdirSync(L.PRIVATE_REGISTRY_DATA, { recursive: true });
  const { stdout } = await run("htpasswd", [
    "-Bbn",
    T.PRIVATE_REGISTRY.username,
    T.PRIVATE_REGISTRY.password,
  ]);
  writeFileSync(L.PRIVATE_REGISTRY_HTPASSWD, stdout, { mode: 0o600 });
  const p = s.start("registry-private", ["docker-registry", "serve", L.PRIVATE_REGISTRY_CONFIG]);
  await waitReady(
    p,
    "asking for credentials on /v2/",
    async () => (await fetch(`http://${T.PRIVATE_REGISTRY.push}/v2/`)).status === 401,
    {
      timeoutMs: 30_000,
      hint: `is port ${String(T.HOST_PORTS.privateRegistry)} free on 127.0.0.1?`,
    },
  );
}

async function postgresBin(): Promise<string> {
  const { stdout } = await run("pg_config", ["--bindir"]);
  return stdout.trim();
}

async function startPostgres(s: Starter): Promise<void> {
  const bin = await postgresBin();
  for (const dir of [L.POSTGRES_DATA, L.POSTGRES_RUN]) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
  }
  await run("chown", ["postgres:postgres", L.POSTGRES_DATA, L.POSTGRES_RUN]);
  const asPostgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups"];
  await run(asPostgres[0] ?? "", [
    ...asPostgres.slice(1),
    join(bin, "initdb"),
    "-D",
    L.POSTGRES_DATA,
    "-U",
    T.POSTGRES.superuser,
    "--auth=trust",
    "--no-sync",
  ]);
  writeFileSync(join(L.POSTGRES_DATA, "pg_hba.conf"), C.pgHba());
  const d = s.start("postgres", [
    ...asPostgres,
    join(bin, "postgres"),
    "-D",
    L.POSTGRES_DATA,
    "-c",
    `listen_addresses=${T.NODE_IP}`,
    "-c",
    `port=${String(T.NODE_PORTS.postgres)}`,
    "-c",
    `unix_socket_directories=${L.POSTGRES_RUN}`,
    "-c",
    "fsync=off",
  ]);
  const url = T.POSTGRES.hostUrl;
  await waitReady(
    d,
    "accepting connections",
    async () =>
      (await run("psql", [url, "-Atc", "select 1"], { allowFail: true })).stdout.trim() === "1",
    { timeoutMs: 60_000, hint: "see the log: initdb or the listen address may have failed" },
  );
  await run("psql", [
    url,
    "-c",
    `CREATE ROLE ${T.POSTGRES.appUser} LOGIN CREATEDB PASSWORD '${T.POSTGRES.appPassword}'`,
  ]);
}

async function startEtcd(s: Starter, bin: BinDir): Promise<void> {
  const client = `http://127.0.0.1:${String(T.NODE_PORTS.etcd)}`;
  const peer = "http://127.0.0.1:2380";
  const d = s.start("etcd", [
    bin.path("etcd"),
    "--name=default",
    `--data-dir=${L.ETCD_DATA}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=default=${peer}`,
    "--listen-metrics-urls=http://127.0.0.1:2381",
    "--unsafe-no-fsync",
  ]);
  await waitReady(d, "healthy", () => probeInNode(`${client}/health`, /"health":"true"/), {
    timeoutMs: 60_000,
    hint: "is another etcd using the data directory?",
  });
}

async function startApiserver(s: Starter, bin: BinDir): Promise<void> {
  const pki = (f: string) => join(L.PKI, f);
  const d = s.start("kube-apiserver", [
    bin.path("kube-apiserver"),
    `--advertise-address=${T.NODE_IP}`,
    "--bind-address=0.0.0.0",
    `--secure-port=${String(T.NODE_PORTS.apiserver)}`,
    `--etcd-servers=http://127.0.0.1:${String(T.NODE_PORTS.etcd)}`,
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    "--allow-privileged=true",
    `--client-ca-file=${pki("ca.crt")}`,
    `--tls-cert-file=${pki("apiserver.crt")}`,
    `--tls-private-key-file=${pki("apiserver.key")}`,
    `--kubelet-client-certificate=${pki("apiserver-kubelet-client.crt")}`,
    `--kubelet-client-key=${pki("apiserver-kubelet-client.key")}`,
    "--kubelet-preferred-address-types=InternalIP",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${pki("sa.pub")}`,
    `--service-account-signing-key-file=${pki("sa.key")}`,
    `--service-cluster-ip-range=${T.SERVICE_CIDR}`,
    `--requestheader-client-ca-file=${pki("front-proxy-ca.crt")}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-username-headers=X-Remote-User",
    `--proxy-client-cert-file=${pki("front-proxy-client.crt")}`,
    `--proxy-client-key-file=${pki("front-proxy-client.key")}`,
    "--profiling=false",
    `--audit-policy-file=${L.AUDIT_POLICY}`,
    `--audit-log-path=${L.AUDIT_LOG}`,
    "--audit-log-maxsize=200",
    "--audit-log-maxbackup=2",
  ]);
  const superAdmin = join(L.KUBECONFIGS, "super-admin.conf");
  await waitReady(
    d,
    "ready (/readyz)",
    async () =>
      (
        await run(bin.path("kubectl"), ["--kubeconfig", superAdmin, "get", "--raw", "/readyz"], {
          allowFail: true,
        })
      ).stdout.trim() === "ok",
    { timeoutMs: 120_000, hint: "see the log; etcd must be healthy first" },
  );
  // kubeadm init binds the admin kubeconfig's group; we do what it does (kubeadm:cluster-admins).
  await kubectl(bin, superAdmin, [
    "create",
    "clusterrolebinding",
    "kubeadm:cluster-admins",
    "--clusterrole=cluster-admin",
    "--group=kubeadm:cluster-admins",
  ]);
  // ... and lets the API server's kubelet client reach the kubelet API (logs, exec).
  await kubectl(bin, superAdmin, [
    "create",
    "clusterrolebinding",
    "kubeadm:apiserver-kubelet-client",
    "--clusterrole=system:kubelet-api-admin",
    "--user=kube-apiserver-kubelet-client",
  ]);
}

async function startControllerManager(s: Starter, bin: BinDir): Promise<void> {
  const conf = join(L.KUBECONFIGS, "controller-manager.conf");
  const pki = (f: string) => join(L.PKI, f);
  const d = s.start("kube-controller-manager", [
    bin.path("kube-controller-manager"),
    `--kubeconfig=${conf}`,
    `--authentication-kubeconfig=${conf}`,
    `--authorization-kubeconfig=${conf}`,
    "--bind-address=127.0.0.1",
    `--client-ca-file=${pki("ca.crt")}`,
    `--requestheader-client-ca-file=${pki("front-proxy-ca.crt")}`,
    `--cluster-signing-cert-file=${pki("ca.crt")}`,
    `--cluster-signing-key-file=${pki("ca.key")}`,
    `--root-ca-file=${pki("ca.crt")}`,
    `--service-account-private-key-file=${pki("sa.key")}`,
    `--service-cluster-ip-range=${T.SERVICE_CIDR}`,
    "--use-service-account-credentials=true",
    "--controllers=*,bootstrapsigner,tokencleaner",
    "--leader-elect=false",
  ]);
  await waitReady(d, "healthy", () => probeInNode(https(10257), /^ok$/), {
    timeoutMs: 60_000,
    hint: "see the log",
  });
  // The controllers that every pod needs: the root CA published, the default ServiceAccount made.
  await waitReady(
    d,
    "publishing kube-root-ca.crt and the default ServiceAccount",
    async () =>
      (
        await run(
          bin.path("kubectl"),
          [
            "--kubeconfig",
            L.KUBECONFIG,
            "-n",
            "default",
            "get",
            "configmap/kube-root-ca.crt",
            "serviceaccount/default",
          ],
          { allowFail: true },
        )
      ).code === 0,
    {
      timeoutMs: 60_000,
      hint: "see the log: the root-ca-cert-publisher or serviceaccount controller failed",
    },
  );
}

async function startScheduler(s: Starter, bin: BinDir): Promise<void> {
  const conf = join(L.KUBECONFIGS, "scheduler.conf");
  const d = s.start("kube-scheduler", [
    bin.path("kube-scheduler"),
    `--kubeconfig=${conf}`,
    `--authentication-kubeconfig=${conf}`,
    `--authorization-kubeconfig=${conf}`,
    "--bind-address=127.0.0.1",
    "--leader-elect=false",
  ]);
  await waitReady(d, "healthy", () => probeInNode(https(10259), /^ok$/), {
    timeoutMs: 60_000,
    hint: "see the log",
  });
}

async function startKubelet(s: Starter, bin: BinDir): Promise<void> {
  const d = s.start("kubelet", [
    bin.path("kubelet"),
    `--config=${join(L.DATA, "kubelet.yaml")}`,
    `--kubeconfig=${join(L.KUBECONFIGS, "kubelet.conf")}`,
    `--root-dir=${L.KUBELET_ROOT}`,
    `--node-ip=${T.NODE_IP}`,
    `--hostname-override=${T.NODE_NAME}`,
  ]);
  await waitReady(
    d,
    "reporting the node Ready",
    async () => {
      const { stdout } = await run(
        bin.path("kubectl"),
        [
          "--kubeconfig",
          L.KUBECONFIG,
          "get",
          "node",
          T.NODE_NAME,
          "-o",
          'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
        ],
        { allowFail: true },
      );
      return stdout.trim() === "True";
    },
    { timeoutMs: 120_000, hint: "see the log: cgroups, containerd's socket or the CNI config" },
  );
}

async function startKubeProxy(s: Starter, bin: BinDir): Promise<void> {
  const d = s.start("kube-proxy", [
    bin.path("kube-proxy"),
    `--config=${join(L.DATA, "kube-proxy.yaml")}`,
  ]);
  await waitReady(
    d,
    "healthy",
    () => probeInNode("http://127.0.0.1:10256/healthz", /lastUpdated/),
    {
      timeoutMs: 60_000,
      hint: "see the log: iptables inside the node's namespace",
    },
  );
}

export interface UpResult {
  serverVersion: string;
  seconds: number;
}

/** Brings the cluster up; a cluster that is already running is left as it is. */
export async function up(
  env: Readonly<Record<string, string | undefined>>,
  log: Log,
): Promise<UpResult> {
  const began = Date.now();
  const pre = await prerequisites();
  if (!pre.ok) throw new Error(`the real cluster needs ${pre.missing.join(", ")}`);
  await ensurePackages(log);
  const bin = await ensureBinaries(env, log);
  const current = running();
  if (current !== undefined) {
    const version = await serverVersion(bin);
    log(`cluster: already up (${version}); kubeconfig ${L.KUBECONFIG}`);
    return { serverVersion: version, seconds: 0 };
  }
  if (readState() !== undefined || (await netnsExists())) {
    log("cluster: a previous cluster's leftovers are here; tearing them down first");
    await down(log);
  }
  log("cluster: starting");
  writeConfigs();
  const s = new Starter(bin, log);
  try {
    await s.step("network namespace", () => createNetwork(log));
    await s.step("forwarder", () => startForwarder(s));
    await s.step("containerd", () => startContainerd(s));
    await s.step("registry", () => startRegistry(s));
    await s.step("postgres", () => startPostgres(s));
    await s.step("certificates", () => makePki(bin));
    writeAdminKubeconfig();
    await s.step("etcd", () => startEtcd(s, bin));
    await s.step("kube-apiserver", () => startApiserver(s, bin));
    await s.step("kube-controller-manager", () => startControllerManager(s, bin));
    await s.step("kube-scheduler", () => startScheduler(s, bin));
    await s.step("kubelet", () => startKubelet(s, bin));
    await s.step("kube-proxy", () => startKubeProxy(s, bin));
    await s.step("a pod reaching the kubernetes Service", () => startupPod(bin));
  } catch (error) {
    if (error instanceof ComponentError)
      log(`cluster: ${error.component} failed; run \`npm run cluster:down\` to clean up`);
    throw error;
  }
  const version = await serverVersion(bin);
  writeInfo({
    kubeconfig: L.KUBECONFIG,
    kubectl: bin.path("kubectl"),
    serverVersion: version,
    registry: {
      push: T.PUSH_REGISTRY,
      pull: T.PULL_REGISTRY,
      // Plain mark and sweep: blobs no manifest references go (untagged manifests stay, as a
      // retention job that deletes by digest leaves them).
      garbageCollect: ["docker-registry", "garbage-collect", L.REGISTRY_CONFIG],
      private: T.PRIVATE_REGISTRY,
    },
    postgres: T.POSTGRES,
    nodeName: T.NODE_NAME,
    auditLog: L.AUDIT_LOG,
  });
  const seconds = (Date.now() - began) / 1000;
  log(
    `cluster: up in ${seconds.toFixed(0)} s, Kubernetes ${version}; export KUBECONFIG=${L.KUBECONFIG}`,
  );
  return { serverVersion: version, seconds };
}

async function startForwarder(s: Starter): Promise<void> {
  const routes = (["apiserver", "registry", "privateRegistry", "postgres"] as const).map(
    k => `127.0.0.1:${String(T.HOST_PORTS[k])}=${T.NODE_IP}:${String(T.NODE_PORTS[k])}`,
  );
  const d = s.start(
    "forwarder",
    [process.execPath, join(import.meta.dirname, "forwarder.ts"), ...routes],
    {
      host: true,
    },
  );
  await waitReady(
    d,
    "listening",
    () => Promise.resolve(readFileSync(d.log, "utf8").includes("forwarding")),
    {
      timeoutMs: 10_000,
      hint: `ports ${Object.values(T.HOST_PORTS).join(", ")} on 127.0.0.1 must be free`,
    },
  );
}

export async function serverVersion(bin: BinDir): Promise<string> {
  const { stdout } = await run(bin.path("kubectl"), [
    "--kubeconfig",
    L.KUBECONFIG,
    "version",
    "-o",
    "json",
  ]);
  const v = JSON.parse(stdout) as { serverVersion?: { gitVersion?: string } };
  return v.serverVersion?.gitVersion ?? "unknown";
}
