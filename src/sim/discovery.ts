/**
 * Discovery documents: the legacy APIVersions / APIGroupList / APIResourceList and the aggregated
 * apidiscovery.k8s.io/v2 APIGroupDiscoveryList (client-go discovery/aggregated_discovery.go).
 */
import type { ResourceCatalogue, ResourceInfo } from "./types.ts";

export const AGGREGATED_CONTENT_TYPE =
  "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/** True when the Accept header asks for aggregated discovery v2. */
export function wantsAggregated(accept: string | undefined): boolean {
  if (!accept) return false;
  return accept.split(",").some(part => {
    const params = part.split(";").map(p => p.trim());
    return (
      params[0] === "application/json" &&
      params.includes("g=apidiscovery.k8s.io") &&
      params.includes("v=v2") &&
      params.includes("as=APIGroupDiscoveryList")
    );
  });
}

/** Group name -> versions in preference order (v1 before betas). */
function groups(catalogue: ResourceCatalogue): Map<string, Map<string, ResourceInfo[]>> {
  const out = new Map<string, Map<string, ResourceInfo[]>>();
  for (const info of catalogue.all()) {
    let versions = out.get(info.group);
    if (!versions) {
      versions = new Map();
      out.set(info.group, versions);
    }
    versions.set(info.version, [...(versions.get(info.version) ?? []), info]);
  }
  return out;
}

/** Kubernetes version priority: GA > beta > alpha, higher numbers first (version.CompareKubeAwareVersionStrings). */
function versionRank(v: string): number[] {
  const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
  if (!m) return [0, 0, 0];
  const stage = m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1;
  return [stage, Number(m[1]), Number(m[3] ?? 0)];
}

function sortVersions(versions: string[]): string[] {
  return [...versions].sort((a, b) => {
    const ra = versionRank(a);
    const rb = versionRank(b);
    for (let i = 0; i < 3; i++)
      if ((ra[i] ?? 0) !== (rb[i] ?? 0)) return (rb[i] ?? 0) - (ra[i] ?? 0);
    return 0;
  });
}

const SUBRESOURCE_VERBS: Record<string, string[]> = {
  status: ["get", "patch", "update"],
  scale: ["get", "patch", "update"],
  finalize: ["update"],
  log: ["get"],
};

function groupVersion(group: string, version: string): string {
  return group === "" ? version : `${group}/${version}`;
}

/** GET /api/v1 or /apis/<g>/<v>. */
export function apiResourceList(
  catalogue: ResourceCatalogue,
  group: string,
  version: string,
): Record<string, unknown> | undefined {
  const infos = groups(catalogue).get(group)?.get(version);
  if (!infos) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const i of infos) {
    const r: Record<string, unknown> = {
      name: i.resource,
      singularName: i.singular,
      namespaced: i.namespaced,
      kind: i.kind,
      verbs: i.verbs,
    };
    if (i.shortNames) r["shortNames"] = i.shortNames;
    if (i.categories) r["categories"] = i.categories;
    resources.push(r);
    for (const sub of i.subresources) {
      const s: Record<string, unknown> = {
        name: `${i.resource}/${sub}`,
        singularName: "",
        namespaced: i.namespaced,
        kind: sub === "scale" && i.scale ? i.scale.kind : i.kind,
        verbs: SUBRESOURCE_VERBS[sub] ?? ["get"],
      };
      if (sub === "scale" && i.scale) {
        s["group"] = i.scale.group;
        s["version"] = i.scale.version;
      }
      if (sub === "log") s["kind"] = "Pod";
      if (sub === "finalize") s["kind"] = "Namespace";
      resources.push(s);
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: groupVersion(group, version),
    resources,
  };
}

/** GET /api (legacy). */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

/** GET /apis (legacy). */
export function apiGroupList(catalogue: ResourceCatalogue): Record<string, unknown> {
  const list: Record<string, unknown>[] = [];
  for (const [group, versions] of groups(catalogue)) {
    if (group === "") continue;
    const sorted = sortVersions([...versions.keys()]);
    const entries = sorted.map(v => ({ groupVersion: `${group}/${v}`, version: v }));
    list.push({ name: group, versions: entries, preferredVersion: entries[0] });
  }
  return { kind: "APIGroupList", apiVersion: "v1", groups: list };
}

function discoveryResource(i: ResourceInfo): Record<string, unknown> {
  const r: Record<string, unknown> = {
    resource: i.resource,
    responseKind: { group: i.group, version: i.version, kind: i.kind },
    scope: i.namespaced ? "Namespaced" : "Cluster",
    singularResource: i.singular,
    verbs: i.verbs,
  };
  if (i.shortNames) r["shortNames"] = i.shortNames;
  if (i.categories) r["categories"] = i.categories;
  if (i.subresources.length > 0) {
    r["subresources"] = i.subresources.map(sub => {
      let kind = { group: i.group, version: i.version, kind: i.kind };
      if (sub === "scale" && i.scale) kind = { ...i.scale };
      if (sub === "log") kind = { group: "", version: "v1", kind: "Pod" };
      return { subresource: sub, responseKind: kind, verbs: SUBRESOURCE_VERBS[sub] ?? ["get"] };
    });
  }
  return r;
}

/** GET /api or /apis with aggregated discovery: core only for /api, every group for /apis. */
export function aggregatedDiscovery(
  catalogue: ResourceCatalogue,
  legacy: boolean,
): Record<string, unknown> {
  const items: Record<string, unknown>[] = [];
  for (const [group, versions] of groups(catalogue)) {
    if ((group === "") !== legacy) continue;
    items.push({
      metadata: { name: group, creationTimestamp: null },
      versions: sortVersions([...versions.keys()]).map(v => ({
        version: v,
        resources: (versions.get(v) ?? []).map(discoveryResource),
        freshness: "Current",
      })),
    });
  }
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items,
  };
}
