/**
 * Any cluster a kubeconfig names (E2E_KUBECONFIG), with the operator started here (default) or
 * already deployed from config/ (E2E_OPERATOR=deployed). The registry is the simulator's when the
 * cluster serves its API group (a `rollback-drill sim` in another process), otherwise a real one
 * named by E2E_REGISTRY that both this machine and the cluster reach.
 *
 * The in-process operator runs on the real clock, so a simulator behind E2E_KUBECONFIG must run
 * at time scale 1 (the default of `rollback-drill sim`): at another scale the operator's timers
 * and the cluster's timestamps would disagree.
 */
import { ApisApi, KubeConfig } from "@kubernetes/client-node";
import { SIM_GROUP } from "../../src/sim/contract.ts";
import { SimRegistry } from "../../src/scenarios/sim-registry.ts";
import { errorMessage, type Availability, type Backend, type OperatorMode } from "./backend.ts";
import { OciRegistry } from "./oci-registry.ts";

export interface KubeconfigBackendOptions {
  /** Kubeconfig path (or YAML); undefined: the backend is not available. */
  readonly kubeconfig: string | undefined;
  readonly operator: OperatorMode;
  /** host[:port] of a registry this machine pushes to, when the cluster is not a simulator. */
  readonly registry?: string;
  /** How the cluster names that registry, when it differs (e.g. a mirror); default registry. */
  readonly pullRegistry?: string;
  /** checks.stableSeconds; default 3. */
  readonly stableSeconds?: number;
}

/** The options from the environment: E2E_KUBECONFIG, E2E_OPERATOR, E2E_REGISTRY, E2E_PULL_REGISTRY, E2E_STABLE_SECONDS. */
export function kubeconfigOptionsFromEnv(
  env: Readonly<Record<string, string | undefined>>,
): KubeconfigBackendOptions {
  const stable = Number(env["E2E_STABLE_SECONDS"] ?? "3");
  return {
    kubeconfig: env["E2E_KUBECONFIG"],
    operator: env["E2E_OPERATOR"] === "deployed" ? "deployed" : "in-process",
    ...(env["E2E_REGISTRY"] === undefined ? {} : { registry: env["E2E_REGISTRY"] }),
    ...(env["E2E_PULL_REGISTRY"] === undefined ? {} : { pullRegistry: env["E2E_PULL_REGISTRY"] }),
    stableSeconds: Number.isInteger(stable) && stable >= 0 ? stable : 3,
  };
}

function loadConfig(kubeconfig: string): KubeConfig {
  const kc = new KubeConfig();
  if (kubeconfig.includes("apiVersion")) kc.loadFromString(kubeconfig);
  else kc.loadFromFile(kubeconfig);
  return kc;
}

/** Whether the cluster serves the simulator's registry API group. */
async function servesSimRegistry(kubeconfig: string): Promise<boolean> {
  const groups = await loadConfig(kubeconfig).makeApiClient(ApisApi).getAPIVersions();
  return groups.groups.some(g => g.name === SIM_GROUP);
}

export function kubeconfigBackend(options: KubeconfigBackendOptions): Backend {
  return {
    name: "kubeconfig",
    async available(): Promise<Availability> {
      if (options.kubeconfig === undefined || options.kubeconfig === "")
        return { ok: false, reason: "E2E_KUBECONFIG is not set" };
      try {
        if (!(await servesSimRegistry(options.kubeconfig)) && options.registry === undefined)
          return {
            ok: false,
            reason:
              "the cluster is not a simulator and E2E_REGISTRY names no registry to push scenario images to",
          };
        return { ok: true };
      } catch (error) {
        return { ok: false, reason: `cannot reach the cluster: ${errorMessage(error)}` };
      }
    },
    async start() {
      const kubeconfig = options.kubeconfig ?? "";
      const sim = await servesSimRegistry(kubeconfig);
      const registry = options.registry;
      const oci = sim || registry === undefined ? undefined : new OciRegistry(`http://${registry}`);
      await oci?.ensureBase();
      return {
        kubeconfig,
        operator: options.operator,
        registry: cluster =>
          oci ?? new SimRegistry(cluster.custom, (what, probe) => cluster.until(what, probe)),
        ...(oci === undefined
          ? {}
          : { imageRegistry: `${options.pullRegistry ?? registry ?? ""}/shop` }),
        capabilities: sim ? ["databases"] : [],
        stableSeconds: options.stableSeconds ?? 3,
        timeoutMs: 120_000,
        stop: () => Promise.resolve(),
      };
    },
  };
}
