/**
 * A small, pure NetworkPolicy egress evaluator (networking.k8s.io/v1 semantics) for the
 * containment tests: which policies select a pod, whether they isolate its egress, and whether
 * some egress rule admits a destination (peers by podSelector, namespaceSelector, ipBlock; ports
 * by protocol and number). Named ports and endPort are not needed by our policies and are
 * treated as "no match".
 */

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export interface NetworkPolicySpec {
  podSelector: LabelSelector;
  policyTypes?: string[];
  ingress?: unknown[];
  egress?: {
    to?: { podSelector?: LabelSelector; namespaceSelector?: LabelSelector; ipBlock?: IpBlock }[];
    ports?: { protocol?: string; port?: number | string; endPort?: number }[];
  }[];
}

interface IpBlock {
  cidr: string;
  except?: string[];
}

export interface Policy {
  namespace: string;
  spec: NetworkPolicySpec;
}

export interface Source {
  namespace: string;
  labels: Record<string, string>;
}

/** A pod in the cluster (with its namespace's labels), or an address outside it. */
export type Destination =
  | {
      kind: "pod";
      namespace: string;
      namespaceLabels: Record<string, string>;
      labels: Record<string, string>;
      protocol: "TCP" | "UDP";
      port: number;
    }
  | { kind: "ip"; ip: string; protocol: "TCP" | "UDP"; port: number };

export function selects(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {}))
    if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const value = labels[e.key];
    const values = e.values ?? [];
    const ok =
      e.operator === "In"
        ? value !== undefined && values.includes(value)
        : e.operator === "NotIn"
          ? value === undefined || !values.includes(value)
          : e.operator === "Exists"
            ? value !== undefined
            : e.operator === "DoesNotExist"
              ? value === undefined
              : false;
    if (!ok) return false;
  }
  return true;
}

function ipToInt(ip: string): number {
  return ip.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function inCidr(ip: string, cidr: string): boolean {
  const [base, bits] = cidr.split("/");
  const size = Number(bits ?? "32");
  const mask = size === 0 ? 0 : (0xffffffff << (32 - size)) >>> 0;
  return (ipToInt(ip) & mask) >>> 0 === (ipToInt(base ?? "") & mask) >>> 0;
}

/** Policy types as the apiserver defaults them: Ingress, plus Egress when there are egress rules. */
function policyTypes(spec: NetworkPolicySpec): string[] {
  return spec.policyTypes ?? ["Ingress", ...(spec.egress === undefined ? [] : ["Egress"])];
}

function peerAdmits(
  peer: NonNullable<NonNullable<NetworkPolicySpec["egress"]>[number]["to"]>[number],
  policyNamespace: string,
  dest: Destination,
): boolean {
  if (peer.ipBlock !== undefined) {
    if (dest.kind !== "ip") return false;
    const { cidr, except = [] } = peer.ipBlock;
    return inCidr(dest.ip, cidr) && !except.some(e => inCidr(dest.ip, e));
  }
  if (dest.kind !== "pod") return false;
  const nsOk =
    peer.namespaceSelector === undefined
      ? dest.namespace === policyNamespace
      : selects(peer.namespaceSelector, dest.namespaceLabels);
  const podOk = peer.podSelector === undefined || selects(peer.podSelector, dest.labels);
  return nsOk && podOk;
}

/** Whether `source` may open a connection to `dest` under these policies. */
export function egressAllowed(
  policies: readonly Policy[],
  source: Source,
  dest: Destination,
): boolean {
  const isolating = policies.filter(
    p =>
      p.namespace === source.namespace &&
      selects(p.spec.podSelector, source.labels) &&
      policyTypes(p.spec).includes("Egress"),
  );
  if (isolating.length === 0) return true;
  return isolating.some(p =>
    (p.spec.egress ?? []).some(rule => {
      const portOk =
        rule.ports === undefined ||
        rule.ports.length === 0 ||
        rule.ports.some(
          q =>
            (q.protocol ?? "TCP") === dest.protocol &&
            (q.port === undefined || q.port === dest.port),
        );
      const peerOk =
        rule.to === undefined ||
        rule.to.length === 0 ||
        rule.to.some(peer => peerAdmits(peer, p.namespace, dest));
      return portOk && peerOk;
    }),
  );
}
