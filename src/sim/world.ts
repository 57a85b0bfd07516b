/**
 * The simulated world (controllers, kubelet, registry) attached to a store. Placeholder until the
 * world lands: it starts nothing, so a simulator started with it serves the API only.
 */
import type { SimClock, Store } from "./types.ts";

export interface WorldOptions {
  /** Node names for the simulated kubelet; default ["node-1", "node-2", "node-3"]. */
  nodes?: string[];
}

export interface World {
  stop(): void;
}

export function startWorld(_store: Store, _clock: SimClock, _options: WorldOptions): World {
  return { stop: () => undefined };
}
