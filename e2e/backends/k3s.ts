/**
 * A real Kubernetes: K3s in a container (@testcontainers/k3s), with a registry container beside it
 * on one Docker network. K3s resolves the catalogue's registry host through a mirror to that
 * registry, so the scenarios' image names stay as they are; this machine pushes, moves and
 * deletes images over the registry's mapped port. The operator runs in-process on the real clock.
 * Skipped, by name and with the reason, where no Docker engine answers.
 */
import { existsSync } from "node:fs";
import { K3sContainer, type StartedK3sContainer } from "@testcontainers/k3s";
import {
  GenericContainer,
  getContainerRuntimeClient,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
} from "testcontainers";
import { REGISTRY } from "../../src/scenarios/catalog.ts";
import { errorMessage, type Availability, type Backend } from "./backend.ts";
import { OciRegistry } from "./oci-registry.ts";

export const K3S_IMAGE = "rancher/k3s:v1.31.2-k3s1";
export const REGISTRY_IMAGE = "registry:2.8.3";
const REGISTRY_ALIAS = "registry";
const DOCKER_SOCKET = "/var/run/docker.sock";

/** K3s's registries.yaml: the catalogue's registry host is served by the registry container. */
function registriesYaml(): string {
  const host = REGISTRY.split("/")[0] ?? REGISTRY;
  return [
    "mirrors:",
    `  "${host}":`,
    "    endpoint:",
    `      - "http://${REGISTRY_ALIAS}:5000"`,
    "",
  ].join("\n");
}

/**
 * Whether a container runtime answers: first the cheap check (DOCKER_HOST or the default
 * socket), then testcontainers' own discovery.
 */
export async function dockerAvailability(
  env: Readonly<Record<string, string | undefined>>,
): Promise<Availability> {
  const host = env["DOCKER_HOST"];
  if ((host === undefined || host === "") && !existsSync(DOCKER_SOCKET))
    return {
      ok: false,
      reason: `no Docker engine at ${DOCKER_SOCKET} (and DOCKER_HOST is not set)`,
    };
  try {
    await getContainerRuntimeClient();
    return { ok: true };
  } catch (error) {
    return { ok: false, reason: `no Docker engine: ${errorMessage(error)}` };
  }
}

export function k3sBackend(env: Readonly<Record<string, string | undefined>>): Backend {
  return {
    name: "k3s",
    available: () => dockerAvailability(env),
    async start() {
      const network: StartedNetwork = await new Network().start();
      const started: StartedTestContainer[] = [];
      try {
        const registry = await new GenericContainer(REGISTRY_IMAGE)
          .withNetwork(network)
          .withNetworkAliases(REGISTRY_ALIAS)
          .withEnvironment({ REGISTRY_STORAGE_DELETE_ENABLED: "true" })
          .withExposedPorts(5000)
          .start();
        started.push(registry);
        const k3s: StartedK3sContainer = await new K3sContainer(K3S_IMAGE)
          .withNetwork(network)
          .withCopyContentToContainer([
            { content: registriesYaml(), target: "/etc/rancher/k3s/registries.yaml" },
          ])
          .start();
        started.push(k3s);
        const oci = new OciRegistry(
          `http://${registry.getHost()}:${String(registry.getMappedPort(5000))}`,
        );
        await oci.ensureBase();
        return {
          kubeconfig: k3s.getKubeConfig(),
          operator: "in-process",
          registry: () => oci,
          capabilities: [],
          stableSeconds: 5,
          timeoutMs: 180_000,
          async stop() {
            for (const c of started.reverse()) await c.stop();
            await network.stop();
          },
        };
      } catch (error) {
        for (const c of started.reverse()) await c.stop();
        await network.stop();
        throw error;
      }
    },
  };
}
