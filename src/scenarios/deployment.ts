/**
 * The one Deployment builder: the catalogue's apps, the tests' targets (test/kit wraps it as
 * deploymentObject) and the fidelity suite's objects on the real cluster. A Deployment of one
 * container "app" whose pods are labelled app=<name>, selected by that label; every other field
 * is the caller's option, laid over the built ones.
 */
import type { V1Container, V1DeploymentSpec, V1PodSpec } from "@kubernetes/client-node";

export interface DeploymentOptions {
  /** Default 1. */
  readonly replicas?: number;
  readonly revisionHistoryLimit?: number;
  /** The container's env. */
  readonly env?: V1Container["env"];
  /** The Deployment's own labels. */
  readonly labels?: Record<string, string>;
  /** The Deployment's own annotations. */
  readonly deploymentAnnotations?: Record<string, string>;
  /** The pod template's annotations. */
  readonly annotations?: Record<string, string>;
  /** More fields of the one container ("app"). */
  readonly container?: Partial<V1Container>;
  /** More fields of the pod spec, over the built ones (`containers` replaces the one container). */
  readonly pod?: Partial<V1PodSpec>;
  /** More fields of the Deployment's spec, over the built ones. */
  readonly spec?: Partial<V1DeploymentSpec>;
}

/** A Deployment as JSON: what the API takes from client-node, kubectl or the simulator's store. */
export type DeploymentManifest = {
  apiVersion: "apps/v1";
  kind: "Deployment";
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec: V1DeploymentSpec;
};

const when = <K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> =>
  value === undefined ? {} : ({ [key]: value } as Record<K, V>);

export function deploymentManifest(
  namespace: string,
  name: string,
  image: string,
  options: DeploymentOptions = {},
): DeploymentManifest {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name,
      namespace,
      ...when("labels", options.labels),
      ...when("annotations", options.deploymentAnnotations),
    },
    spec: {
      replicas: options.replicas ?? 1,
      ...when("revisionHistoryLimit", options.revisionHistoryLimit),
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, ...when("annotations", options.annotations) },
        spec: {
          containers: [{ name: "app", image, ...when("env", options.env), ...options.container }],
          ...options.pod,
        },
      },
      ...options.spec,
    },
  };
}
