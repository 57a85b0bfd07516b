/**
 * The kubeconfig a client uses to reach the simulator: cluster and context "rollback-drill-sim",
 * user "admin" with a static bearer token (or a ServiceAccount's token), plain http on 127.0.0.1.
 */
import { writeFile } from "node:fs/promises";
import { stringify } from "yaml";

export const SIM_CONTEXT = "rollback-drill-sim";
/** The admin's static bearer token (user kubernetes-admin, group system:masters). */
export const ADMIN_TOKEN = "rollback-drill-sim-admin-token";

/** The kubeconfig user: "admin" with ADMIN_TOKEN unless another user and token are given. */
export interface KubeconfigUser {
  name: string;
  token: string;
}

export function kubeconfigYaml(
  url: string,
  namespace = "default",
  user: KubeconfigUser = { name: "admin", token: ADMIN_TOKEN },
  /** PEM of the CA that signs an https server's certificate; plain http skips verification. */
  caPem?: string,
): string {
  const cluster =
    caPem === undefined
      ? // client-node 1.x refuses plain http unless TLS verification is explicitly skipped.
        { server: url, "insecure-skip-tls-verify": true }
      : { server: url, "certificate-authority-data": Buffer.from(caPem).toString("base64") };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    preferences: {},
    clusters: [{ name: SIM_CONTEXT, cluster }],
    users: [{ name: user.name, user: { token: user.token } }],
    contexts: [
      { name: SIM_CONTEXT, context: { cluster: SIM_CONTEXT, user: user.name, namespace } },
    ],
    "current-context": SIM_CONTEXT,
  });
}

export async function writeKubeconfig(path: string, url: string): Promise<void> {
  await writeFile(path, kubeconfigYaml(url), { mode: 0o600 });
}
