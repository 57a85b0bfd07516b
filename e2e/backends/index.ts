/** The e2e backends, in the order the suite runs them. */
import type { Backend } from "./backend.ts";
import { k3sBackend } from "./k3s.ts";
import { kubeconfigBackend, kubeconfigOptionsFromEnv } from "./kubeconfig.ts";
import { simBackend } from "./sim.ts";

export function allBackends(env: Readonly<Record<string, string | undefined>>): Backend[] {
  return [simBackend(), kubeconfigBackend(kubeconfigOptionsFromEnv(env)), k3sBackend(env)];
}
