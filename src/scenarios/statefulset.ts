/**
 * The StatefulSet and DaemonSet builders of the catalogue's sets, the counterparts of
 * deployment.ts: one container "app" whose pods are labelled app=<name>, selected by that label,
 * ordered pod management and a RollingUpdate strategy unless the caller's spec says otherwise.
 */
import type {
  V1Container,
  V1DaemonSet,
  V1DaemonSetSpec,
  V1StatefulSet,
  V1StatefulSetSpec,
} from "@kubernetes/client-node";

export interface StatefulSetOptions {
  /** Default 2. */
  readonly replicas?: number;
  readonly env?: V1Container["env"];
  /** More fields of the one container ("app"). */
  readonly container?: Partial<V1Container>;
  /** More fields of the StatefulSet's spec, over the built ones. */
  readonly spec?: Partial<V1StatefulSetSpec>;
}

export function statefulSetManifest(
  namespace: string,
  name: string,
  image: string,
  options: StatefulSetOptions = {},
): V1StatefulSet & { metadata: { name: string; namespace: string } } {
  const container: V1Container = { name: "app", image, ...options.container };
  if (options.env !== undefined) container.env = options.env;
  return {
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      replicas: options.replicas ?? 2,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [container] } },
      ...options.spec,
    },
  };
}

/** A DaemonSet: one pod of container "app" on every node. */
export function daemonSetManifest(
  namespace: string,
  name: string,
  image: string,
  spec: Partial<V1DaemonSetSpec> = {},
): V1DaemonSet & { metadata: { name: string; namespace: string } } {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image }] },
      },
      ...spec,
    },
  };
}
