/**
 * The node's network: a namespace of our own joined to the host by a veth pair, with a default
 * route through the host's end (the API server refuses to start without one, and the kubelet
 * rejects a loopback node IP). A guard chain drops whatever would leave the node through that
 * link except the node's own traffic to the host's end, so no pod and no component reaches past
 * the node (the host does not forward either: its ip_forward is checked, never changed).
 */
import { existsSync, readFileSync } from "node:fs";
import { NETNS_PATH, run } from "./proc.ts";
import * as T from "./topology.ts";

const GUARD = "RBD-NO-EGRESS";

export async function netnsExists(): Promise<boolean> {
  const { stdout } = await run("ip", ["netns", "list"], { allowFail: true });
  return stdout.split("\n").some(l => l.split(" ")[0] === T.NETNS);
}

const ip = (args: string[]) => run("ip", args);
const inNode = (command: string, args: string[]) => run(command, args, { node: true });

export async function createNetwork(log: (line: string) => void): Promise<void> {
  if (readFileSync("/proc/sys/net/ipv4/ip_forward", "utf8").trim() !== "0")
    log(
      "  note: this host forwards IPv4 (net.ipv4.ip_forward=1); the node's guard chain still drops all egress",
    );
  await ip(["netns", "add", T.NETNS]);
  await ip([
    "link",
    "add",
    T.HOST_LINK,
    "type",
    "veth",
    "peer",
    "name",
    T.NODE_LINK,
    "netns",
    T.NETNS,
  ]);
  await ip(["addr", "add", `${T.HOST_IP}/${String(T.LINK_PREFIX)}`, "dev", T.HOST_LINK]);
  await ip(["link", "set", T.HOST_LINK, "up"]);
  await inNode("ip", ["link", "set", "lo", "up"]);
  await inNode("ip", ["addr", "add", `${T.NODE_IP}/${String(T.LINK_PREFIX)}`, "dev", T.NODE_LINK]);
  await inNode("ip", ["link", "set", T.NODE_LINK, "up"]);
  await inNode("ip", ["route", "add", "default", "via", T.HOST_IP]);
  // Pods are bridged to each other and kube-proxy's rules must see that traffic.
  await inNode("sysctl", ["-q", "-w", "net.ipv4.ip_forward=1"]);
  await inNode("sysctl", ["-q", "-w", "net.bridge.bridge-nf-call-iptables=1"]);
  // Only the node's own traffic to the host's end (the forwarder's connections) may use the link;
  // pods' traffic never: the host has no route back to the pod network, so even a reply to a pod
  // would take the host's default route out. The guard sits in mangle POSTROUTING, after routing
  // for forwarded and local packets alike, where kube-proxy's rules (filter, nat) cannot precede it.
  const mangle = (args: string[]) => inNode("iptables", ["-t", "mangle", ...args]);
  await mangle(["-N", GUARD]);
  await mangle(["-A", GUARD, "-s", `${T.NODE_IP}/32`, "-d", `${T.HOST_IP}/32`, "-j", "RETURN"]);
  await mangle(["-A", GUARD, "-j", "DROP"]);
  await mangle(["-I", "POSTROUTING", "1", "-o", T.NODE_LINK, "-j", GUARD]);
}

/** Whether the guard is in place (status shows it). */
export async function guardInPlace(): Promise<boolean> {
  if (!existsSync(NETNS_PATH)) return false;
  const { code } = await run(
    "iptables",
    ["-t", "mangle", "-C", "POSTROUTING", "-o", T.NODE_LINK, "-j", GUARD],
    {
      node: true,
      allowFail: true,
    },
  );
  return code === 0;
}

/** Deletes the namespace (its links, routes and iptables go with it) and the host's veth end. */
export async function deleteNetwork(): Promise<void> {
  if (await netnsExists()) await ip(["netns", "delete", T.NETNS]);
  await run("ip", ["link", "delete", T.HOST_LINK], { allowFail: true });
}
