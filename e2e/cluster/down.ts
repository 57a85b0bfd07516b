/**
 * `cluster:down`: stops everything `up` started and removes what it left: the pods' processes and
 * containerd's shims, the components, the mounts below the cluster's directories and the pods'
 * network namespaces, the node's namespace (its links and iptables chains go with it), the
 * kubelet's cgroups and the data. Safe to run twice, and on a half-started cluster: it finds
 * processes by the cluster's paths as well as by the state file.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import * as L from "./layout.ts";
import { deleteNetwork } from "./network.ts";
import { alive, run, sleep } from "./proc.ts";
import { readState } from "./state.ts";

type Log = (line: string) => void;

/** Stop order: the node's agents first (so nothing restarts pods), the data stores last. */
const ORDER = [
  "kube-proxy",
  "kubelet",
  "kube-scheduler",
  "kube-controller-manager",
  "kube-apiserver",
  "etcd",
  "containerd",
  "postgres",
  "registry",
  "registry-private",
  "forwarder",
];

function pids(): number[] {
  return readdirSync("/proc")
    .filter(e => /^\d+$/.test(e))
    .map(Number)
    .filter(p => p !== process.pid);
}

function read(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

const cmdline = (pid: number): string => read(`/proc/${String(pid)}/cmdline`).replace(/\0/g, " ");

/** Processes of ours that the state file may not know: by our paths in their command line. */
export function strayProcesses(): number[] {
  const marks = [L.DATA, L.RUN, join("e2e", "cluster", "forwarder.ts")];
  return pids().filter(p => marks.some(m => cmdline(p).includes(m)));
}

/** The pods' processes: everything in the kubelet's cgroups. */
function podProcesses(): number[] {
  return pids().filter(p => read(`/proc/${String(p)}/cgroup`).includes("/kubepods"));
}

async function stop(pid: number, graceMs: number): Promise<void> {
  if (!alive(pid)) return;
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(100);
  if (alive(pid)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone meanwhile */
    }
    while (alive(pid)) await sleep(50);
  }
}

function killAll(list: number[]): void {
  for (const p of list)
    try {
      process.kill(p, "SIGKILL");
    } catch {
      /* gone meanwhile */
    }
}

/** Mount points below our directories and the pods' network namespaces, deepest first. */
export function ourMounts(): string[] {
  const points = read("/proc/self/mountinfo")
    .split("\n")
    .map(l => l.split(" ")[4] ?? "")
    .map(p => p.replace(/\\040/g, " "));
  const ours = points.filter(
    p =>
      p.startsWith(`${L.DATA}/`) ||
      p.startsWith(`${L.RUN}/`) ||
      /^\/(var\/)?run\/netns\/cni-/.test(p),
  );
  return [...new Set(ours)].sort((a, b) => b.length - a.length);
}

/** The kubelet's cgroups (cgroupfs driver) in every v1 hierarchy, deepest first. */
function ourCgroups(): string[] {
  const root = "/sys/fs/cgroup";
  const found: string[] = [];
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true })
        .filter(e => e.isDirectory())
        .map(e => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      walk(join(dir, e));
      found.push(join(dir, e));
    }
  };
  if (!existsSync(root)) return [];
  for (const controller of readdirSync(root)) {
    const top = join(root, controller, "kubepods");
    if (existsSync(top)) {
      walk(top);
      found.push(top);
    }
  }
  return found;
}

export async function down(log: Log): Promise<void> {
  const state = readState();
  const daemons = state?.daemons ?? [];
  const byName = (name: string) => daemons.filter(d => d.name === name);
  for (const name of ORDER.slice(0, 2)) for (const d of byName(name)) await stop(d.pid, 5000);
  // With the kubelet gone nothing restarts them: the containers, then containerd's shims.
  killAll(podProcesses());
  killAll(pids().filter(p => cmdline(p).includes("containerd-shim") && cmdline(p).includes(L.RUN)));
  for (const name of ORDER.slice(2)) for (const d of byName(name)) await stop(d.pid, 10_000);
  for (const p of strayProcesses()) await stop(p, 3000);
  killAll(podProcesses());
  for (const point of ourMounts()) await run("umount", ["-l", point], { allowFail: true });
  const { stdout } = await run("ip", ["netns", "list"], { allowFail: true });
  for (const ns of stdout.split("\n").map(l => l.split(" ")[0] ?? ""))
    if (ns.startsWith("cni-")) await run("ip", ["netns", "delete", ns], { allowFail: true });
  await deleteNetwork();
  for (const dir of ourCgroups()) {
    try {
      // A cgroup directory goes with rmdir once its tasks are gone (its files cannot be removed).
      rmdirSync(dir);
    } catch {
      /* still busy or gone already: leftovers() reports it */
    }
  }
  rmSync(L.DATA, { recursive: true, force: true });
  rmSync(L.RUN, { recursive: true, force: true });
  rmSync(L.INFO, { force: true });
  const left = await leftovers();
  if (left.length > 0) throw new Error(`cluster: down left these behind:\n  ${left.join("\n  ")}`);
  log("cluster: down; no process, mount, namespace, link, cgroup or directory of ours is left");
}

/** What is left of ours on this machine (empty when `down` did its job). */
export async function leftovers(): Promise<string[]> {
  const found: string[] = [];
  for (const p of [...strayProcesses(), ...podProcesses()])
    found.push(`process ${String(p)}: ${cmdline(p).slice(0, 120)}`);
  for (const m of ourMounts()) found.push(`mount ${m}`);
  const { stdout } = await run("ip", ["netns", "list"], { allowFail: true });
  for (const ns of stdout
    .split("\n")
    .map(l => l.split(" ")[0] ?? "")
    .filter(n => n !== ""))
    if (ns.startsWith("cni-") || ns === "rbd-node") found.push(`network namespace ${ns}`);
  const link = await run("ip", ["link", "show", "rbd-host"], { allowFail: true });
  if (link.code === 0) found.push("link rbd-host");
  for (const c of ourCgroups()) found.push(`cgroup ${c}`);
  for (const d of [L.DATA, L.RUN]) if (existsSync(d)) found.push(`directory ${d}`);
  return found;
}
