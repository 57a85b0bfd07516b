/**
 * Impersonation (`kubectl --as`): the request runs as the impersonated user once the requester
 * may impersonate it, with a service account's groups; one who may not is refused naming the
 * `impersonate` verb. Found by the fidelity suite: the simulator used to ignore the headers and
 * answer as the requester.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim, type Sim } from "../../../src/sim/index.ts";
import { ADMIN_TOKEN } from "../../../src/sim/kubeconfig.ts";

let sim: Sim;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(async () => {
  await sim.close();
});

const SA = "system:serviceaccount:shop:nobody";

async function call(
  path: string,
  headers: Record<string, string>,
  init: { method?: string; body?: unknown } = {},
): Promise<{ status: number; body: { message?: string; status?: { allowed?: boolean } } }> {
  const res = await fetch(`${sim.url}${path}`, {
    method: init.method ?? "GET",
    headers: { "content-type": "application/json", ...headers },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  return { status: res.status, body: (await res.json()) as { message?: string } };
}

const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

describe("impersonation", () => {
  it("an admin acting as a service account gets that account's rights, not its own", async () => {
    const r = await call("/apis/apps/v1/namespaces/shop/deployments", {
      ...admin,
      "impersonate-user": SA,
    });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe(
      `deployments.apps is forbidden: User "${SA}" cannot list resource "deployments" in API group "apps" in the namespace "shop"`,
    );
    expect((await call("/apis/apps/v1/namespaces/shop/deployments", admin)).status).toBe(200);
  });

  it("a service account's groups come with it: a binding to system:serviceaccounts:shop applies", async () => {
    await call("/api/v1/namespaces", admin, {
      method: "POST",
      body: { apiVersion: "v1", kind: "Namespace", metadata: { name: "shop" } },
    });
    await call("/apis/rbac.authorization.k8s.io/v1/namespaces/shop/roles", admin, {
      method: "POST",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "Role",
        metadata: { name: "reader" },
        rules: [{ apiGroups: ["apps"], resources: ["deployments"], verbs: ["list"] }],
      },
    });
    await call("/apis/rbac.authorization.k8s.io/v1/namespaces/shop/rolebindings", admin, {
      method: "POST",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "RoleBinding",
        metadata: { name: "reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" },
        subjects: [{ kind: "Group", name: "system:serviceaccounts:shop" }],
      },
    });
    const r = await call("/apis/apps/v1/namespaces/shop/deployments", {
      ...admin,
      "impersonate-user": SA,
    });
    expect(r.status).toBe(200);
  });

  it("groups given replace the account's own: as a service account in system:masters, allowed", async () => {
    const r = await call("/api/v1/namespaces", {
      ...admin,
      "impersonate-user": SA,
      "impersonate-group": "system:masters",
    });
    expect(r.status).toBe(200);
  });

  it("one who may not impersonate is refused, naming the verb and the user", async () => {
    const anonymous = await startSim({ unauthenticated: "anonymous" });
    try {
      const res = await fetch(`${anonymous.url}/api/v1/namespaces`, {
        headers: { "impersonate-user": "someone" },
      });
      expect(res.status).toBe(403);
      expect(((await res.json()) as { message?: string }).message).toBe(
        'users "someone" is forbidden: User "system:anonymous" cannot impersonate resource "users" in API group "" at the cluster scope',
      );
    } finally {
      await anonymous.close();
    }
  });
});
