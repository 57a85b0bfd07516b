/**
 * This repository's config/rbac, applied to a store, judged by the RBAC authorizer
 * (plugin/pkg/auth/authorizer/rbac/rbac.go) and the binding escalation check
 * (pkg/registry/rbac/rolebinding/policybased/storage.go: BindingAuthorized, then
 * ConfirmNoEscalation) for the operator's ServiceAccount.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { guardStore } from "../../../src/sim/auth/escalation.ts";
import { createBootstrapPolicy } from "../../../src/sim/auth/policy.ts";
import { authorize } from "../../../src/sim/auth/rbac.ts";
import { resourceAttributes } from "../../../src/sim/auth/rules.ts";
import { serviceAccountUser } from "../../../src/sim/auth/tokens.ts";
import type { Actor, KubeObject } from "../../../src/sim/types.ts";
import { admin, newStore, NS } from "../apiserver/helpers.ts";

const CONFIG = join(import.meta.dirname, "../../../config/rbac");
/** kustomization.yaml's namespace for the operator's objects. */
const SYSTEM_NS = "rollback-drill-system";
const RBAC = "rbac.authorization.k8s.io";

const RESOURCES: Record<string, string> = {
  ServiceAccount: "serviceaccounts",
  Role: "roles",
  RoleBinding: "rolebindings",
  ClusterRole: "clusterroles",
  ClusterRoleBinding: "clusterrolebindings",
};

function configObjects(): KubeObject[] {
  return readdirSync(CONFIG)
    .filter(f => f.endsWith(".yaml") && f !== "kustomization.yaml")
    .flatMap(f => parseAllDocuments(readFileSync(join(CONFIG, f), "utf8")))
    .map(doc => doc.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => o !== null);
}

function setup() {
  const store = newStore();
  for (const name of [SYSTEM_NS, "shop", "drill-sandbox-1"]) {
    store.create(NS, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, admin);
  }
  createBootstrapPolicy(store, { ...admin, groups: ["system:masters"] });
  for (const object of configObjects()) {
    const resource = RESOURCES[object.kind];
    if (resource === undefined) throw new Error(`unexpected kind ${object.kind}`);
    const group = resource === "serviceaccounts" ? "" : RBAC;
    if (resource === "roles" || resource === "rolebindings" || resource === "serviceaccounts") {
      object.metadata.namespace ??= SYSTEM_NS;
    }
    store.create({ group, version: "v1", resource }, object, admin);
  }
  return store;
}

const operator = serviceAccountUser(SYSTEM_NS, "rollback-drill-operator");
const operatorActor: Actor = { user: operator.name, groups: operator.groups };

function can(
  store: ReturnType<typeof setup>,
  verb: string,
  what: string,
  where: { namespace?: string; name?: string } = {},
): boolean {
  const [apiGroup = "", resource = "", subresource = ""] = what.split("/");
  const attrs = resourceAttributes(operator, { verb, apiGroup, resource, subresource, ...where });
  return authorize(store, attrs).allowed;
}

function bindSandboxRole(store: ReturnType<typeof setup>, namespace: string, role: string) {
  return guardStore(store, operatorActor).create(
    { group: RBAC, version: "v1", resource: "rolebindings" },
    {
      apiVersion: `${RBAC}/v1`,
      kind: "RoleBinding",
      metadata: { name: `rollback-drill-${role}`, namespace },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: role },
      subjects: [{ kind: "ServiceAccount", name: "rollback-drill-operator", namespace: SYSTEM_NS }],
    },
    operatorActor,
  );
}

describe("config/rbac for the operator's ServiceAccount", () => {
  it("reads Deployments cluster-wide but writes none, and reads no Secrets", () => {
    const store = setup();
    expect(can(store, "list", "apps/deployments")).toBe(true);
    expect(can(store, "watch", "apps/replicasets")).toBe(true);
    expect(can(store, "patch", "apps/deployments", { namespace: "shop", name: "web" })).toBe(false);
    expect(can(store, "create", "apps/deployments", { namespace: "shop" })).toBe(false);
    expect(can(store, "get", "/secrets", { namespace: "shop", name: "db" })).toBe(false);
    expect(can(store, "list", "/secrets")).toBe(false);
    expect(
      can(store, "update", "rollbackdrill.io/rollbackdrills/status", {
        namespace: "shop",
        name: "d",
      }),
    ).toBe(true);
    // Leases only in its own namespace (leader election).
    expect(
      can(store, "update", "coordination.k8s.io/leases", { namespace: SYSTEM_NS, name: "l" }),
    ).toBe(true);
    expect(
      can(store, "update", "coordination.k8s.io/leases", { namespace: "shop", name: "l" }),
    ).toBe(false);
  });

  it("may bind rollback-drill-sandbox in a namespace, gaining its rights only there", () => {
    const store = setup();
    const sandbox = "drill-sandbox-1";
    expect(can(store, "patch", "apps/deployments", { namespace: sandbox, name: "web" })).toBe(
      false,
    );
    expect(bindSandboxRole(store, sandbox, "rollback-drill-sandbox").metadata.uid).toBeDefined();
    expect(can(store, "patch", "apps/deployments", { namespace: sandbox, name: "web" })).toBe(true);
    expect(can(store, "get", "/pods/log", { namespace: sandbox, name: "p" })).toBe(true);
    expect(can(store, "patch", "apps/deployments", { namespace: "shop", name: "web" })).toBe(false);
  });

  it("may not bind cluster-admin or the secret reader anywhere", () => {
    const store = setup();
    expect(() => bindSandboxRole(store, "shop", "cluster-admin")).toThrow(
      /rolebindings\.rbac\.authorization\.k8s\.io "rollback-drill-cluster-admin" is forbidden: user "system:serviceaccount:rollback-drill-system:rollback-drill-operator" .* is attempting to grant RBAC permissions not currently held/,
    );
    expect(() => bindSandboxRole(store, "shop", "rollback-drill-secret-reader")).toThrow(
      /not currently held:\n\{APIGroups:\[""\], Resources:\["secrets"\], Verbs:\["get"\]\}$/,
    );
  });

  it("reads a namespace's Secrets only where the secret reader is bound for it", () => {
    const store = setup();
    store.create(
      { group: RBAC, version: "v1", resource: "rolebindings" },
      {
        apiVersion: `${RBAC}/v1`,
        kind: "RoleBinding",
        metadata: { name: "rollback-drill-secrets", namespace: "shop" },
        roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "rollback-drill-secret-reader" },
        subjects: [
          { kind: "ServiceAccount", name: "rollback-drill-operator", namespace: SYSTEM_NS },
        ],
      },
      admin,
    );
    expect(can(store, "get", "/secrets", { namespace: "shop", name: "db" })).toBe(true);
    expect(can(store, "list", "/secrets", { namespace: "shop" })).toBe(false);
    expect(can(store, "get", "/secrets", { namespace: "drill-sandbox-1", name: "db" })).toBe(false);
  });
});
