/**
 * The real cluster of e2e/cluster/: a single-node Kubernetes built from upstream, with its local
 * registry and PostgreSQL. `npm run test:cluster` brings it up and sets E2E_CLUSTER=required, so a
 * cluster that is not there is an error; elsewhere the backend is skipped by name with the reason.
 * Scenario images are pushed through the forwarder (127.0.0.1) and named as the node pulls them
 * (localhost:5000); deleting one runs the registry's garbage collection, as retention does.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readInfo, type ClusterInfo } from "../cluster/state.ts";
import { prerequisites } from "../cluster/up.ts";
import { errorMessage, type Availability, type Backend, type OperatorMode } from "./backend.ts";
import { OciRegistry } from "./oci-registry.ts";

const exec = promisify(execFile);

export type ClusterMode = "off" | "required";

export const clusterMode = (env: Readonly<Record<string, string | undefined>>): ClusterMode =>
  env["E2E_CLUSTER"] === undefined || env["E2E_CLUSTER"] === "" ? "off" : "required";

async function reachable(info: ClusterInfo): Promise<void> {
  await exec(info.kubectl, ["--kubeconfig", info.kubeconfig, "get", "--raw", "/readyz"], {
    timeout: 15_000,
  });
}

export interface ClusterBackendOptions {
  readonly mode: ClusterMode;
  readonly operator: OperatorMode;
  /** checks.stableSeconds; default 5. */
  readonly stableSeconds?: number;
}

export function clusterBackend(options: ClusterBackendOptions): Backend {
  return {
    name: "cluster",
    async available(): Promise<Availability> {
      if (options.mode === "off") {
        const pre = await prerequisites();
        return {
          ok: false,
          reason: pre.ok
            ? "not asked for (`npm run test:cluster` starts the real cluster and runs the suite on it)"
            : `the real cluster needs ${pre.missing.join(", ")}`,
        };
      }
      const info = readInfo();
      if (info === undefined)
        throw new Error(
          "E2E_CLUSTER is set but no cluster is up (.tmp/cluster/cluster.json is missing): run `npm run cluster:up`",
        );
      try {
        await reachable(info);
      } catch (error) {
        throw new Error(
          `E2E_CLUSTER is set but the cluster's API server does not answer: ${errorMessage(error)}; see \`npm run cluster:status\``,
          { cause: error },
        );
      }
      return { ok: true };
    },
    start() {
      const info = readInfo();
      if (info === undefined) throw new Error("no cluster is up: run `npm run cluster:up`");
      const [gc = "", ...gcArgs] = info.registry.garbageCollect;
      const oci = new OciRegistry(`http://${info.registry.push}`, {
        garbageCollect: async () => {
          await exec(gc, gcArgs, { timeout: 60_000 });
        },
        database: info.postgres,
      });
      return Promise.resolve({
        kubeconfig: info.kubeconfig,
        operator: options.operator,
        registry: () => oci,
        imageRegistry: `${info.registry.pull}/shop`,
        capabilities: ["databases"],
        stableSeconds: options.stableSeconds ?? 5,
        timeoutMs: 180_000,
        stop: () => Promise.resolve(),
      });
    },
  };
}
