/**
 * The simulated world attached to a store: the controllers (deployment, replicaset, statefulset, daemonset,
 * garbage collector, namespace), the nodes with their kubelets and scheduler, and the image registry with
 * its API objects. Everything runs on the given clock and talks to the store only.
 */
import { startDaemonSetController } from "./controllers/daemonset.ts";
import { startDeploymentController } from "./controllers/deployment.ts";
import { startGarbageCollector } from "./controllers/gc.ts";
import { startNamespaceController } from "./controllers/namespace.ts";
import { startReplicaSetController } from "./controllers/replicaset.ts";
import { startServiceAccountController } from "./controllers/serviceaccount.ts";
import { startStatefulSetController } from "./controllers/statefulset.ts";
import { createImageRegistry, type ImageRegistry } from "./images.ts";
import { startRegistrySync } from "./images/sync.ts";
import { startKubelets, type LogOptions } from "./kubelet.ts";
import type { SimClock, SimComponent, Store } from "./types.ts";
import { WORLD_RESOURCES } from "./world-resources.ts";

export interface WorldOptions {
  /** Node names for the simulated kubelet; default ["node-1", "node-2", "node-3"]. */
  nodes?: string[];
  /** A registry to use (e.g. one prepared by a test); default a new, empty one. */
  images?: ImageRegistry;
}

export interface World {
  images: ImageRegistry;
  /** A container's log as GET .../pods/NAME/log returns it; throws ApiError like the apiserver. */
  logs(namespace: string, pod: string, container?: string, options?: LogOptions): string;
  /** The images present on a node (normalised reference or repo@digest -> digest). */
  nodeImages(node: string): ReadonlyMap<string, string> | undefined;
  stop(): void;
}

export function startWorld(store: Store, clock: SimClock, options: WorldOptions): World {
  for (const info of WORLD_RESOURCES) store.resources.register(structuredClone(info));
  const images = options.images ?? createImageRegistry();
  const kubelets = startKubelets(
    store,
    clock,
    images,
    options.nodes ?? ["node-1", "node-2", "node-3"],
  );
  const components: SimComponent[] = [
    startRegistrySync(store, clock, images),
    startGarbageCollector(store, clock),
    startNamespaceController(store, clock),
    startServiceAccountController(store, clock),
    startDeploymentController(store, clock),
    startReplicaSetController(store, clock),
    startStatefulSetController(store, clock),
    startDaemonSetController(store, clock),
    kubelets,
  ];
  for (const c of components) c.start();
  return {
    images,
    logs: (namespace, pod, container, opts) => kubelets.logs(namespace, pod, container, opts),
    nodeImages: node => kubelets.imageCache(node),
    stop() {
      for (const c of [...components].reverse()) c.stop();
    },
  };
}
