/**
 * Authentication and authorization over HTTP against a started simulator. Sources
 * (kubernetes/kubernetes): staging/src/k8s.io/apiserver/pkg/endpoints/filters/authentication.go
 * (401 "Unauthorized" via errors.NewUnauthorized), filters/authorization.go and
 * handlers/responsewriters/errors.go (403), pkg/registry/core/serviceaccount/storage/token.go
 * (TokenRequest), pkg/apis/authentication/validation (expirationSeconds >= 10 minutes),
 * pkg/registry/rbac/rolebinding/policybased/storage.go and pkg/registry/rbac/validation/rule.go
 * ConfirmNoEscalation (escalation prevention), pkg/registry/authorization/* (the reviews),
 * plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go (system:public-info-viewer).
 */
import { afterEach, describe, expect, it } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim, StartSimOptions } from "../../../src/sim/index.ts";
import { ADMIN_TOKEN } from "../../../src/sim/kubeconfig.ts";

const RBAC = "rbac.authorization.k8s.io";
const SA_USER = "system:serviceaccount:ops:runner";

let sim: Sim | undefined;
afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

async function call(
  path: string,
  init: { token?: string; method?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  if (!sim) throw new Error("no sim");
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (init.token !== undefined) headers["Authorization"] = `Bearer ${init.token}`;
  const res = await fetch(`${sim.url}${path}`, {
    method: init.method ?? "GET",
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await res.text();
  const body = text.startsWith("{") ? (JSON.parse(text) as Record<string, unknown>) : { text };
  return { status: res.status, body };
}

const admin = (path: string, method = "GET", body?: unknown) =>
  call(path, { token: ADMIN_TOKEN, method, body });

/** A sim with namespaces ops and shop, ServiceAccount ops/runner, and its token. */
async function withServiceAccount(options: StartSimOptions = {}): Promise<string> {
  sim = await startSim(options);
  for (const name of ["ops", "shop"]) {
    await admin("/api/v1/namespaces", "POST", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name },
    });
  }
  await admin("/api/v1/namespaces/ops/serviceaccounts", "POST", {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "runner" },
  });
  const res = await admin("/api/v1/namespaces/ops/serviceaccounts/runner/token", "POST", {
    apiVersion: "authentication.k8s.io/v1",
    kind: "TokenRequest",
    spec: {},
  });
  return (res.body["status"] as { token: string }).token;
}

function clusterRole(name: string, rules: unknown[]) {
  return admin(`/apis/${RBAC}/v1/clusterroles`, "POST", {
    apiVersion: `${RBAC}/v1`,
    kind: "ClusterRole",
    metadata: { name },
    rules,
  });
}

function bindInNamespace(namespace: string, name: string, role: string, token = ADMIN_TOKEN) {
  return call(`/apis/${RBAC}/v1/namespaces/${namespace}/rolebindings`, {
    token,
    method: "POST",
    body: {
      apiVersion: `${RBAC}/v1`,
      kind: "RoleBinding",
      metadata: { name },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: role },
      subjects: [{ kind: "ServiceAccount", name: "runner", namespace: "ops" }],
    },
  });
}

describe("authentication", () => {
  it("answers an unknown token with 401 Unauthorized, on every path", async () => {
    sim = await startSim();
    const expected = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: "Unauthorized",
      reason: "Unauthorized",
      code: 401,
    };
    for (const path of ["/api/v1/pods", "/healthz", "/apis"]) {
      const res = await call(path, { token: "not-a-token" });
      expect(res).toEqual({ status: 401, body: expected });
    }
    expect((await admin("/api/v1/pods")).status).toBe(200);
  });

  it("rejects a request without credentials with 401 when anonymous auth is off", async () => {
    sim = await startSim({ unauthenticated: "reject" });
    expect((await call("/api/v1/namespaces")).status).toBe(401);
  });

  it("treats a request without credentials as system:anonymous when anonymous auth is on", async () => {
    sim = await startSim({ unauthenticated: "anonymous" });
    // system:public-info-viewer is bound to system:unauthenticated; discovery is not.
    expect((await call("/healthz")).status).toBe(200);
    expect((await call("/version")).status).toBe(200);
    const api = await call("/api");
    expect(api.status).toBe(403);
    expect(api.body["message"]).toBe('forbidden: User "system:anonymous" cannot get path "/api"');
  });
});

describe("TokenRequest (serviceaccounts/token)", () => {
  it("issues a token that authenticates as the ServiceAccount", async () => {
    const token = await withServiceAccount();
    const res = await admin("/api/v1/namespaces/ops/serviceaccounts/runner/token", "POST", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: { expirationSeconds: 600 },
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      kind: "TokenRequest",
      apiVersion: "authentication.k8s.io/v1",
      metadata: { name: "runner", namespace: "ops" },
      spec: { audiences: ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: 600 },
    });
    const status = res.body["status"] as { token: string; expirationTimestamp: string };
    const created = Date.parse(
      (res.body["metadata"] as { creationTimestamp: string }).creationTimestamp,
    );
    expect(Date.parse(status.expirationTimestamp) - created).toBe(600_000);
    const who = await call("/apis/authentication.k8s.io/v1/selfsubjectreviews", {
      token,
      method: "POST",
      body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" },
    });
    expect(who.body["status"]).toEqual({
      userInfo: {
        username: SA_USER,
        groups: ["system:serviceaccounts", "system:serviceaccounts:ops", "system:authenticated"],
      },
    });
  });

  it("404s for a missing ServiceAccount and 422s for less than ten minutes", async () => {
    await withServiceAccount();
    const missing = await admin("/api/v1/namespaces/ops/serviceaccounts/nope/token", "POST", {
      spec: {},
    });
    expect(missing.status).toBe(404);
    expect(missing.body["message"]).toBe('serviceaccounts "nope" not found');
    const short = await admin("/api/v1/namespaces/ops/serviceaccounts/runner/token", "POST", {
      spec: { expirationSeconds: 60 },
    });
    expect(short.status).toBe(422);
    expect(short.body["message"]).toBe(
      'TokenRequest.authentication.k8s.io "runner" is invalid: spec.expirationSeconds: Invalid value: 60: may not specify a duration less than 10 minutes',
    );
  });

  it("stops authenticating once its ServiceAccount is deleted", async () => {
    const token = await withServiceAccount();
    expect((await call("/api", { token })).status).toBe(200);
    await admin("/api/v1/namespaces/ops/serviceaccounts/runner", "DELETE");
    expect((await call("/api", { token })).status).toBe(401);
  });
});

describe("authorization of requests", () => {
  it("403s with the apiserver's message, before looking the object up", async () => {
    const token = await withServiceAccount();
    const res = await call("/apis/apps/v1/namespaces/shop/deployments/web", {
      token,
      method: "PATCH",
    });
    expect(res).toEqual({
      status: 403,
      body: {
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        message: `deployments.apps "web" is forbidden: User "${SA_USER}" cannot patch resource "deployments" in API group "apps" in the namespace "shop"`,
        reason: "Forbidden",
        details: { name: "web", group: "apps", kind: "deployments" },
        code: 403,
      },
    });
    const list = await call("/api/v1/secrets", { token });
    expect(list.body["message"]).toBe(
      `secrets is forbidden: User "${SA_USER}" cannot list resource "secrets" in API group "" at the cluster scope`,
    );
    // Discovery is granted to every authenticated user (system:discovery).
    expect((await call("/apis/apps/v1", { token })).status).toBe(200);
  });

  it("allows what a RoleBinding grants, in its namespace only, and audits the user", async () => {
    const token = await withServiceAccount();
    await clusterRole("cm-reader", [
      { apiGroups: [""], resources: ["configmaps"], verbs: ["list"] },
    ]);
    await bindInNamespace("shop", "read", "cm-reader");
    expect((await call("/api/v1/namespaces/shop/configmaps", { token })).status).toBe(200);
    expect((await call("/api/v1/namespaces/ops/configmaps", { token })).status).toBe(403);
    const entries = sim?.audit.entries().filter(e => e.user === SA_USER) ?? [];
    expect(entries.map(e => [e.verb, e.namespace, e.code])).toContainEqual(["list", "shop", 200]);
  });

  it("answers SelfSubjectAccessReview and SubjectAccessReview from the authorizer", async () => {
    const token = await withServiceAccount();
    await clusterRole("cm-reader", [
      { apiGroups: [""], resources: ["configmaps"], verbs: ["list"] },
    ]);
    await bindInNamespace("shop", "read", "cm-reader");
    const review = (ns: string) => ({
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { namespace: ns, verb: "list", resource: "configmaps" } },
    });
    const self = async (ns: string) =>
      (
        await call("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", {
          token,
          method: "POST",
          body: review(ns),
        })
      ).body["status"];
    expect(await self("shop")).toEqual({
      allowed: true,
      reason: `RBAC: allowed by RoleBinding "read/shop" of ClusterRole "cm-reader" to ServiceAccount "runner/ops"`,
    });
    expect(await self("ops")).toEqual({ allowed: false });
    // SubjectAccessReview needs its own permission: the ServiceAccount is refused, the admin is not.
    const sar = {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: SA_USER,
        groups: ["system:serviceaccounts", "system:authenticated"],
        resourceAttributes: { namespace: "shop", verb: "list", resource: "configmaps" },
      },
    };
    const path = "/apis/authorization.k8s.io/v1/subjectaccessreviews";
    expect((await call(path, { token, method: "POST", body: sar })).status).toBe(403);
    const byAdmin = await admin(path, "POST", sar);
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body["status"]).toMatchObject({ allowed: true });
  });
});

describe("escalation prevention (rolebinding/policybased, ConfirmNoEscalation)", () => {
  async function operatorLike(): Promise<string> {
    const token = await withServiceAccount();
    await clusterRole("sandbox", [
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "patch"] },
    ]);
    await clusterRole("binder", [
      { apiGroups: [RBAC], resources: ["rolebindings"], verbs: ["create"] },
      {
        apiGroups: [RBAC],
        resources: ["clusterroles"],
        verbs: ["bind"],
        resourceNames: ["sandbox"],
      },
    ]);
    await admin(`/apis/${RBAC}/v1/clusterrolebindings`, "POST", {
      apiVersion: `${RBAC}/v1`,
      kind: "ClusterRoleBinding",
      metadata: { name: "runner-binder" },
      roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "binder" },
      subjects: [{ kind: "ServiceAccount", name: "runner", namespace: "ops" }],
    });
    return token;
  }

  it("allows binding a role the user may `bind`, refuses one it neither binds nor holds", async () => {
    const token = await operatorLike();
    expect((await bindInNamespace("shop", "ok", "sandbox", token)).status).toBe(201);
    const refused = await bindInNamespace("shop", "root", "cluster-admin", token);
    expect(refused.status).toBe(403);
    expect(refused.body["message"]).toBe(
      `rolebindings.${RBAC} "root" is forbidden: user "${SA_USER}" (groups=["system:serviceaccounts" "system:serviceaccounts:ops" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}`,
    );
    expect(refused.body["details"]).toEqual({ name: "root", group: RBAC, kind: "rolebindings" });
    // A missing role is the registry's 404.
    const missing = await bindInNamespace("shop", "none", "no-such-role", token);
    expect(missing.status).toBe(404);
    expect(missing.body["message"]).toBe(`clusterroles.${RBAC} "no-such-role" not found`);
  });

  it("allows binding a role whose every rule the user already holds there", async () => {
    const token = await operatorLike();
    await clusterRole("reader", [
      { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get"] },
    ]);
    // Not yet held: refused, naming the missing rule.
    const before = await bindInNamespace("shop", "r", "reader", token);
    expect(before.status).toBe(403);
    expect(String(before.body["message"])).toMatch(
      /not currently held:\n\{APIGroups:\["apps"\], Resources:\["deployments"\], Verbs:\["get"\]\}$/,
    );
    // Once the sandbox role (get, patch deployments) is bound in shop, it covers "reader" there.
    await bindInNamespace("shop", "sandbox", "sandbox", token);
    expect((await bindInNamespace("shop", "r", "reader", token)).status).toBe(201);
    expect((await bindInNamespace("ops", "r", "reader", token)).status).toBe(403);
  });

  it("refuses a Role with rules the user lacks unless it has `escalate`", async () => {
    const token = await operatorLike();
    await clusterRole("role-maker", [
      { apiGroups: [RBAC], resources: ["roles"], verbs: ["create"] },
    ]);
    await bindInNamespace("shop", "maker", "role-maker");
    const role = (name: string) => ({
      apiVersion: `${RBAC}/v1`,
      kind: "Role",
      metadata: { name },
      rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get"] }],
    });
    const path = `/apis/${RBAC}/v1/namespaces/shop/roles`;
    const refused = await call(path, { token, method: "POST", body: role("a") });
    expect(refused.status).toBe(403);
    expect(String(refused.body["message"])).toMatch(
      /^roles\.rbac\.authorization\.k8s\.io "a" is forbidden: user .* is attempting to grant RBAC permissions not currently held:\n\{APIGroups:\[""\], Resources:\["secrets"\], Verbs:\["get"\]\}$/,
    );
    await clusterRole("escalator", [
      { apiGroups: [RBAC], resources: ["roles"], verbs: ["escalate"] },
    ]);
    await bindInNamespace("shop", "esc", "escalator");
    expect((await call(path, { token, method: "POST", body: role("a") })).status).toBe(201);
  });
});
