/**
 * The kubeconfig a client uses to reach the simulator: cluster and context "rollback-drill-sim",
 * user "admin" with a static bearer token, plain http on 127.0.0.1.
 */
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";

export const SIM_CONTEXT = "rollback-drill-sim";
/** Any token is accepted until RBAC is enforced; this one is what the kubeconfig carries. */
export const ADMIN_TOKEN = "rollback-drill-sim-admin-token";

export function kubeconfigYaml(url: string, namespace = "default"): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    // client-node 1.x refuses plain http unless TLS verification is explicitly skipped.
    clusters: [{ name: SIM_CONTEXT, cluster: { server: url, "insecure-skip-tls-verify": true } }],
    users: [{ name: "admin", user: { token: ADMIN_TOKEN } }],
    contexts: [{ name: SIM_CONTEXT, context: { cluster: SIM_CONTEXT, user: "admin", namespace } }],
    "current-context": SIM_CONTEXT,
  });
}

export async function writeKubeconfig(path: string, url: string): Promise<void> {
  await writeFile(path, kubeconfigYaml(url), { mode: 0o600 });
}
