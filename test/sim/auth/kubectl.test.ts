/**
 * The real kubectl v1.32 as a ServiceAccount. Facts: `kubectl create token` POSTs a TokenRequest
 * (protobuf) to serviceaccounts/NAME/token and prints status.token (staging/src/k8s.io/kubectl/
 * pkg/cmd/create/create_token.go); `kubectl auth can-i` sends a SelfSubjectAccessReview and
 * prints yes/no (pkg/cmd/auth/cani.go); client-go sends bearer tokens only over TLS
 * (clientcmd getUserIdentificationPartialConfig), hence kubeconfigFor points at https.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSim } from "../../../src/sim/index.ts";
import type { Sim } from "../../../src/sim/index.ts";
import { ADMIN_TOKEN } from "../../../src/sim/kubeconfig.ts";

const KUBECTL = "/usr/bin/kubectl";
const RBAC = "rbac.authorization.k8s.io";

function kubectl(
  dir: string,
  config: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = {
    ...process.env,
    KUBECONFIG: join(dir, config),
    KUBECACHEDIR: join(dir, `cache-${config}`),
  };
  return new Promise(resolve => {
    execFile(KUBECTL, args, { env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? 1 : 0, stdout, stderr });
    });
  });
}

describe.skipIf(!existsSync(KUBECTL))(
  "kubectl as a ServiceAccount (skipped: needs the real kubectl at /usr/bin/kubectl)",
  () => {
    let sim: Sim;
    let dir: string;
    const post = (path: string, body: unknown) =>
      fetch(`${sim.url}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });

    beforeAll(async () => {
      sim = await startSim();
      dir = await mkdtemp(join(tmpdir(), "sim-auth-kubectl-"));
      await sim.writeKubeconfig(join(dir, "admin"));
      for (const name of ["ops", "shop"]) {
        await post("/api/v1/namespaces", {
          apiVersion: "v1",
          kind: "Namespace",
          metadata: { name },
        });
      }
      await post("/api/v1/namespaces/ops/serviceaccounts", {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "runner" },
      });
      await post(`/apis/${RBAC}/v1/clusterroles`, {
        apiVersion: `${RBAC}/v1`,
        kind: "ClusterRole",
        metadata: { name: "deploy-reader" },
        rules: [
          { apiGroups: ["apps"], resources: ["deployments"], verbs: ["get", "list", "watch"] },
        ],
      });
      await post(`/apis/${RBAC}/v1/namespaces/shop/rolebindings`, {
        apiVersion: `${RBAC}/v1`,
        kind: "RoleBinding",
        metadata: { name: "read" },
        roleRef: { apiGroup: RBAC, kind: "ClusterRole", name: "deploy-reader" },
        subjects: [{ kind: "ServiceAccount", name: "runner", namespace: "ops" }],
      });
      await writeFile(join(dir, "sa"), await sim.kubeconfigFor("ops", "runner"));
    });
    afterAll(async () => {
      await sim.close();
      await rm(dir, { recursive: true, force: true });
    });

    it("create token prints a token that authenticates as the ServiceAccount", async () => {
      const made = await kubectl(dir, "admin", "create", "token", "runner", "-n", "ops");
      expect(made.code).toBe(0);
      const token = made.stdout.trim();
      const res = await fetch(`${sim.url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: "{}",
      });
      const body = (await res.json()) as { status: { userInfo: { username: string } } };
      expect(body.status.userInfo.username).toBe("system:serviceaccount:ops:runner");
      const missing = await kubectl(dir, "admin", "create", "token", "nobody", "-n", "ops");
      expect(missing.stderr).toContain('serviceaccounts "nobody" not found');
    });

    it("auth can-i answers from RBAC for the ServiceAccount kubeconfig", async () => {
      const ask = async (...args: string[]) =>
        (await kubectl(dir, "sa", "auth", "can-i", ...args)).stdout;
      expect(await ask("list", "deployments", "-n", "shop")).toBe("yes\n");
      expect(await ask("patch", "deployments", "-n", "shop")).toBe("no\n");
      expect(await ask("list", "deployments", "-n", "ops")).toBe("no\n");
      expect(await ask("get", "secrets", "-n", "shop")).toBe("no\n");
      const whoami = await kubectl(
        dir,
        "sa",
        "auth",
        "whoami",
        "-o",
        "jsonpath={.status.userInfo.username}",
      );
      expect(whoami.stdout).toBe("system:serviceaccount:ops:runner");
    });

    it("prints the apiserver's Forbidden error for a denied request", async () => {
      const denied = await kubectl(dir, "sa", "get", "secrets", "-n", "shop");
      expect(denied.code).toBe(1);
      expect(denied.stderr).toBe(
        'Error from server (Forbidden): secrets is forbidden: User "system:serviceaccount:ops:runner" cannot list resource "secrets" in API group "" in the namespace "shop"\n',
      );
      expect((await kubectl(dir, "sa", "get", "deployments", "-n", "shop")).stderr).toBe(
        "No resources found in shop namespace.\n",
      );
    });
  },
);
