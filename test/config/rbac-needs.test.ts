/**
 * The operator's RBAC, checked against its code: the requests the Kubernetes adapter sends
 * (derived from src/kube/client.ts by e2e/rbac-needs.ts) are exactly what the operator's roles in
 * config/rbac grant, no verb more and none missing. The real cluster's suite checks the same
 * against the real authorizer and the audit log.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { adapterNeeds, needKey, needOf, parseCanIList, type Need } from "../../e2e/rbac-needs.ts";

interface Rule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

function rulesOf(file: string, name: string): Need[] {
  const docs = parseAllDocuments(readFileSync(file, "utf8")).map(
    d => d.toJS() as { kind: string; metadata: { name: string }; rules?: Rule[] },
  );
  const role = docs.find(
    d => (d.kind === "ClusterRole" || d.kind === "Role") && d.metadata.name === name,
  );
  if (role === undefined) throw new Error(`${file} has no role ${name}`);
  return (role.rules ?? []).flatMap(r =>
    r.apiGroups.flatMap(group =>
      r.resources.flatMap(resource => r.verbs.map(verb => ({ group, resource, verb }))),
    ),
  );
}

const keys = (needs: Need[]): string[] => [...new Set(needs.map(needKey))].sort();

describe("the operator's RBAC is what its code needs", () => {
  const source = readFileSync(new URL("../../src/kube/client.ts", import.meta.url), "utf8");

  it("every role rule is a request the adapter sends, and every request is granted", () => {
    const granted = [
      ...rulesOf("config/rbac/role.yaml", "rollback-drill-operator"),
      ...rulesOf("config/rbac/sandbox_role.yaml", "rollback-drill-sandbox"),
      ...rulesOf("config/rbac/leader_election_role.yaml", "rollback-drill-leader-election"),
      // Opt-in per namespace: a team binds it where the clone needs that namespace's Secrets.
      ...rulesOf("config/rbac/secret_reader_role.yaml", "rollback-drill-secret-reader"),
    ];
    expect(keys(granted)).toEqual(keys(adapterNeeds(source)));
  });

  it("reads verbs and resources from client-node's method names", () => {
    expect(needOf("core", "readNamespacedPodLog")).toEqual({
      group: "",
      resource: "pods/log",
      verb: "get",
    });
    expect(needOf("custom", "replaceNamespacedCustomObjectStatus")).toEqual({
      group: "rollbackdrill.io",
      resource: "rollbackdrills/status",
      verb: "update",
    });
    expect(needOf("net", "createNamespacedNetworkPolicy")).toEqual({
      group: "networking.k8s.io",
      resource: "networkpolicies",
      verb: "create",
    });
    expect(needOf("apps", "listReplicaSetForAllNamespaces")).toEqual({
      group: "apps",
      resource: "replicasets",
      verb: "list",
    });
    expect(() => needOf("core", "connectGetNamespacedPodExec")).toThrow(/cannot tell/);
  });

  it("parses kubectl auth can-i --list", () => {
    const table = [
      "Resources                                       Non-Resource URLs   Resource Names             Verbs",
      "selfsubjectreviews.authentication.k8s.io        []                  []                         [create]",
      "rollbackdrills.rollbackdrill.io                 []                  []                         [get list watch patch]",
      "pods/log                                        []                  []                         [get]",
      "rollbackdrills.rollbackdrill.io/status          []                  []                         [update]",
      "clusterroles.rbac.authorization.k8s.io          []                  [rollback-drill-sandbox]   [bind]",
      "                                                [/api/*]            []                         [get]",
    ].join("\n");
    expect(keys(parseCanIList(table))).toEqual([
      "bind clusterroles.rbac.authorization.k8s.io",
      "create selfsubjectreviews.authentication.k8s.io",
      "get pods/log",
      "get rollbackdrills.rollbackdrill.io",
      "list rollbackdrills.rollbackdrill.io",
      "patch rollbackdrills.rollbackdrill.io",
      "update rollbackdrills/status.rollbackdrill.io",
      "watch rollbackdrills.rollbackdrill.io",
    ]);
  });
});
