/**
 * The default backend: the simulator in this process, with its registry and databases reached
 * through its API group, and the operator in-process on the simulator's (scaled) clock.
 */
import { SimRegistry } from "../../src/scenarios/sim-registry.ts";
import { startSim } from "../../src/sim/index.ts";
import type { Backend } from "./backend.ts";

export interface SimBackendOptions {
  /** Simulated seconds per real second; default 20. */
  readonly timeScale?: number;
}

export function simBackend(options: SimBackendOptions = {}): Backend {
  const timeScale = options.timeScale ?? 20;
  return {
    name: "sim",
    available: () => Promise.resolve({ ok: true }),
    async start() {
      const sim = await startSim({ timeScale });
      return {
        kubeconfig: sim.kubeconfig,
        operator: "in-process",
        clock: sim.clock,
        registry: cluster =>
          new SimRegistry(cluster.custom, (what, probe) => cluster.until(what, probe)),
        capabilities: ["databases"],
        stableSeconds: 10,
        timeoutMs: 30_000,
        stop: () => sim.close(),
      };
    },
  };
}
