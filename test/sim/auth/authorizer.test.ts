/**
 * The RBAC authorizer over a store's Roles and bindings, request attributes from URLs, and the
 * 403 messages. Sources (kubernetes/kubernetes): plugin/pkg/auth/authorizer/rbac/rbac.go
 * (Authorize, the "allowed by" and "RBAC: ..." reasons), pkg/registry/rbac/validation/rule.go
 * (VisitRulesFor, appliesToUser, describeSubject), staging/src/k8s.io/apiserver/pkg/endpoints/
 * request/requestinfo.go (NewRequestInfo), .../handlers/responsewriters/errors.go (forbiddenMessage).
 */
import { describe, expect, it } from "vitest";
import { authorize } from "../../../src/sim/auth/rbac.ts";
import {
  forbiddenMessage,
  forbiddenRequest,
  requestAttributes,
} from "../../../src/sim/auth/requestinfo.ts";
import { resourceAttributes } from "../../../src/sim/auth/rules.ts";
import type { UserInfo } from "../../../src/sim/auth/rules.ts";
import { serviceAccountUser } from "../../../src/sim/auth/tokens.ts";
import type { ObjectMeta } from "../../../src/sim/types.ts";
import { admin, newStore, NS } from "../apiserver/helpers.ts";

const RBAC = "rbac.authorization.k8s.io";
const gvr = (resource: string) => ({ group: RBAC, version: "v1", resource });

interface Fixture {
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

function setup() {
  const store = newStore();
  for (const name of ["shop", "sandbox"]) {
    store.create(NS, { apiVersion: "v1", kind: "Namespace", metadata: { name } }, admin);
  }
  const put = (resource: string, object: Fixture) =>
    store.create(gvr(resource), { ...object, apiVersion: `${RBAC}/v1` }, admin);
  put("clusterroles", {
    kind: "ClusterRole",
    metadata: { name: "deploy-reader" },
    rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list"] }],
  });
  put("roles", {
    kind: "Role",
    metadata: { name: "cm-writer", namespace: "shop" },
    rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["create"] }],
  });
  return { store, put };
}

/** authorize() for a resource request: verb, "group/resource", "namespace[/name]". */
const can = (
  store: ReturnType<typeof setup>["store"],
  user: UserInfo,
  verb: string,
  what: string,
  where = "",
) => {
  const [apiGroup = "", resource = ""] = what.split("/");
  const [namespace = "", name = ""] = where.split("/");
  return authorize(store, resourceAttributes(user, { verb, apiGroup, resource, namespace, name }));
};

describe("bindings and subjects (rule.go appliesToUser, VisitRulesFor)", () => {
  const alice: UserInfo = { name: "alice", groups: ["system:authenticated"] };
  const devs: UserInfo = { name: "bob", groups: ["devs", "system:authenticated"] };
  const sa = serviceAccountUser("sandbox", "runner");

  it("denies everything with no binding", () => {
    const { store } = setup();
    expect(can(store, alice, "get", "apps/deployments", "shop")).toEqual({
      allowed: false,
      reason: "",
    });
  });

  it("a ClusterRoleBinding to a User grants cluster-wide and in every namespace", () => {
    const { store, put } = setup();
    put("clusterrolebindings", {
      kind: "ClusterRoleBinding",
      metadata: { name: "alice-reads" },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "deploy-reader" },
      subjects: [{ apiGroup: RBAC, kind: "User", name: "alice" }],
    });
    expect(can(store, alice, "list", "apps/deployments")).toEqual({
      allowed: true,
      reason:
        'RBAC: allowed by ClusterRoleBinding "alice-reads" of ClusterRole "deploy-reader" to User "alice"',
    });
    expect(can(store, alice, "get", "apps/deployments", "shop/web").allowed).toBe(true);
    expect(can(store, alice, "patch", "apps/deployments", "shop/web").allowed).toBe(false);
    expect(can(store, devs, "list", "apps/deployments").allowed).toBe(false);
  });

  it("a RoleBinding of a ClusterRole to a Group grants only in its namespace", () => {
    const { store, put } = setup();
    put("rolebindings", {
      kind: "RoleBinding",
      metadata: { name: "devs-read", namespace: "shop" },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "deploy-reader" },
      subjects: [{ apiGroup: RBAC, kind: "Group", name: "devs" }],
    });
    expect(can(store, devs, "list", "apps/deployments", "shop")).toEqual({
      allowed: true,
      reason:
        'RBAC: allowed by RoleBinding "devs-read/shop" of ClusterRole "deploy-reader" to Group "devs"',
    });
    expect(can(store, devs, "list", "apps/deployments", "sandbox").allowed).toBe(false);
    // All namespaces (namespace "") consults ClusterRoleBindings only.
    expect(can(store, devs, "list", "apps/deployments").allowed).toBe(false);
  });

  it("a RoleBinding of a Role uses the Role of its own namespace", () => {
    const { store, put } = setup();
    for (const namespace of ["shop", "sandbox"]) {
      put("rolebindings", {
        kind: "RoleBinding",
        metadata: { name: "cm", namespace },
        roleRef: { apiGroup: RBAC, kind: "Role", name: "cm-writer" },
        subjects: [{ kind: "ServiceAccount", name: "runner", namespace: "sandbox" }],
      });
    }
    expect(can(store, sa, "create", "/configmaps", "shop")).toEqual({
      allowed: true,
      reason:
        'RBAC: allowed by RoleBinding "cm/shop" of Role "cm-writer" to ServiceAccount "runner/sandbox"',
    });
    // No Role "cm-writer" in sandbox: denied, and the resolution error is the reason.
    expect(can(store, sa, "create", "/configmaps", "sandbox")).toEqual({
      allowed: false,
      reason: `RBAC: role.${RBAC} "cm-writer" not found`,
    });
  });

  it("a ServiceAccount subject without namespace means the binding's namespace", () => {
    const { store, put } = setup();
    put("rolebindings", {
      kind: "RoleBinding",
      metadata: { name: "local", namespace: "sandbox" },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "deploy-reader" },
      subjects: [{ kind: "ServiceAccount", name: "runner" }],
    });
    expect(can(store, sa, "get", "apps/deployments", "sandbox/x").allowed).toBe(true);
    const other = serviceAccountUser("shop", "runner");
    expect(can(store, other, "get", "apps/deployments", "sandbox/x").allowed).toBe(false);
  });

  it("ServiceAccounts are in system:serviceaccounts and system:serviceaccounts:<ns>", () => {
    const { store, put } = setup();
    put("clusterrolebindings", {
      kind: "ClusterRoleBinding",
      metadata: { name: "all-sa-in-sandbox" },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "deploy-reader" },
      subjects: [{ apiGroup: RBAC, kind: "Group", name: "system:serviceaccounts:sandbox" }],
    });
    expect(sa.name).toBe("system:serviceaccount:sandbox:runner");
    expect(can(store, sa, "list", "apps/deployments").allowed).toBe(true);
    expect(can(store, serviceAccountUser("shop", "x"), "list", "apps/deployments").allowed).toBe(
      false,
    );
  });

  it("system:masters is allowed everything without any binding", () => {
    const { store } = setup();
    const root: UserInfo = { name: "root", groups: ["system:masters"] };
    expect(can(store, root, "delete", "/nodes", "/n1").allowed).toBe(true);
  });

  it("a binding to a missing ClusterRole is reported in the deny reason", () => {
    const { store, put } = setup();
    put("clusterrolebindings", {
      kind: "ClusterRoleBinding",
      metadata: { name: "dangling" },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "gone" },
      subjects: [{ apiGroup: RBAC, kind: "User", name: "alice" }],
    });
    const decision = can(store, alice, "get", "/pods", "shop/p");
    expect(decision).toEqual({
      allowed: false,
      reason: `RBAC: clusterrole.${RBAC} "gone" not found`,
    });
    const attrs = resourceAttributes(alice, {
      verb: "get",
      resource: "pods",
      namespace: "shop",
      name: "p",
    });
    expect(forbiddenRequest(attrs, decision.reason).message).toBe(
      `pods "p" is forbidden: User "alice" cannot get resource "pods" in API group "" in the namespace "shop": RBAC: clusterrole.${RBAC} "gone" not found`,
    );
  });
});

describe("request attributes from the URL (requestinfo.go NewRequestInfo)", () => {
  const u: UserInfo = { name: "u", groups: [] };
  const at = (method: string, path: string) => {
    const a = requestAttributes(u, method, new URL(path, "http://x"));
    return a.resourceRequest
      ? [a.verb, a.apiGroup, a.resource, a.subresource, a.namespace, a.name]
      : [a.verb, a.path];
  };
  it.each([
    ["GET", "/api/v1/namespaces/shop/pods", ["list", "", "pods", "", "shop", ""]],
    ["GET", "/api/v1/pods?watch=true", ["watch", "", "pods", "", "", ""]],
    ["GET", "/api/v1/pods?watch=1", ["watch", "", "pods", "", "", ""]],
    ["GET", "/api/v1/pods?watch=false", ["list", "", "pods", "", "", ""]],
    // A list or watch of one object by field selector carries its name (resourceNames apply).
    [
      "GET",
      "/apis/apps/v1/namespaces/shop/deployments?fieldSelector=metadata.name%3Dweb&watch=true",
      ["watch", "apps", "deployments", "", "shop", "web"],
    ],
    [
      "PATCH",
      "/apis/apps/v1/namespaces/shop/deployments/web/scale",
      ["patch", "apps", "deployments", "scale", "shop", "web"],
    ],
    [
      "POST",
      "/api/v1/namespaces/x/serviceaccounts/op/token",
      ["create", "", "serviceaccounts", "token", "x", "op"],
    ],
    ["DELETE", "/api/v1/namespaces/shop/pods", ["deletecollection", "", "pods", "", "shop", ""]],
    // The namespace object itself: its name is also the request's namespace.
    ["GET", "/api/v1/namespaces/shop", ["get", "", "namespaces", "", "shop", "shop"]],
    [
      "PUT",
      "/api/v1/namespaces/shop/finalize",
      ["update", "", "namespaces", "finalize", "shop", "shop"],
    ],
    ["GET", "/apis/apps/v1", ["get", "/apis/apps/v1"]],
    ["GET", "/api/v1", ["get", "/api/v1"]],
    ["GET", "/healthz", ["get", "/healthz"]],
    ["POST", "/openapi/v3", ["post", "/openapi/v3"]],
  ])("%s %s", (method, path, expected) => {
    expect(at(method, path)).toEqual(expected);
  });
});

describe("forbiddenMessage (responsewriters/errors.go)", () => {
  const sa = serviceAccountUser("x", "y");
  it("names the namespace, the cluster scope, the subresource or the path", () => {
    const ns = resourceAttributes(sa, {
      verb: "patch",
      apiGroup: "apps",
      resource: "deployments",
      namespace: "shop",
      name: "web",
    });
    const err = forbiddenRequest(ns, "");
    expect(err.message).toBe(
      'deployments.apps "web" is forbidden: User "system:serviceaccount:x:y" cannot patch resource "deployments" in API group "apps" in the namespace "shop"',
    );
    expect(err.toStatus()).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: err.message,
      reason: "Forbidden",
      details: { name: "web", group: "apps", kind: "deployments" },
      code: 403,
    });
    const list = resourceAttributes(sa, { verb: "list", resource: "secrets" });
    expect(forbiddenRequest(list, "").message).toBe(
      'secrets is forbidden: User "system:serviceaccount:x:y" cannot list resource "secrets" in API group "" at the cluster scope',
    );
    const sub = resourceAttributes(sa, {
      verb: "get",
      resource: "pods",
      subresource: "log",
      namespace: "a",
      name: "p",
    });
    expect(forbiddenMessage(sub)).toBe(
      'User "system:serviceaccount:x:y" cannot get resource "pods/log" in API group "" in the namespace "a"',
    );
    const path = requestAttributes(sa, "GET", new URL("http://x/metrics"));
    expect(forbiddenRequest(path, "").message).toBe(
      'forbidden: User "system:serviceaccount:x:y" cannot get path "/metrics"',
    );
  });
});
