/**
 * Objects the tests and the benchmarks create in the simulator: the resources' GVRs, the admin
 * who creates them, namespaces, Deployments and drills. One builder each; a test adds what it
 * needs through the options rather than writing its own.
 */
import { API_VERSION, GROUP, KIND, PLURAL, VERSION } from "../../src/api/vocabulary.ts";
import type { DrillManifest } from "../../src/scenarios/catalog.ts";
import {
  deploymentManifest,
  type DeploymentOptions as BuilderOptions,
} from "../../src/scenarios/deployment.ts";
import type { GVR, KubeObject } from "../../src/sim/types.ts";

const core = (resource: string): GVR => ({ group: "", version: "v1", resource });

export const DRILLS: GVR = { group: GROUP, version: VERSION, resource: PLURAL };
export const NAMESPACES: GVR = core("namespaces");
export const EVENTS: GVR = core("events");
export const PODS: GVR = core("pods");
export const CONFIGMAPS: GVR = core("configmaps");
export const SECRETS: GVR = core("secrets");
export const SERVICEACCOUNTS: GVR = core("serviceaccounts");
export const DEPLOYMENTS: GVR = { group: "apps", version: "v1", resource: "deployments" };
export const REPLICASETS: GVR = { group: "apps", version: "v1", resource: "replicasets" };
export const LEASES: GVR = { group: "coordination.k8s.io", version: "v1", resource: "leases" };
export const CRDS: GVR = {
  group: "apiextensions.k8s.io",
  version: "v1",
  resource: "customresourcedefinitions",
};

/** The cluster admin, as kubectl identifies itself. */
export const ADMIN = {
  user: "kubernetes-admin",
  userAgent: "kubectl/v1.32.4 (linux/amd64) kubernetes/test",
};

export function namespaceObject(name: string, labels?: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, ...(labels === undefined ? {} : { labels }) },
  };
}

/**
 * The options of the scenarios' Deployment builder, loosened to any JSON: a test may hand the
 * simulator what no typed client would send, and the simulator's admission must answer it.
 */
export interface DeploymentOptions {
  /** Default 1. */
  readonly replicas?: number;
  readonly revisionHistoryLimit?: number;
  readonly env?: readonly { name: string; value?: string; valueFrom?: unknown }[];
  /** The pod template's annotations. */
  readonly annotations?: Record<string, string>;
  /** The Deployment's own labels. */
  readonly labels?: Record<string, string>;
  /** The Deployment's own annotations. */
  readonly deploymentAnnotations?: Record<string, string>;
  /** More fields of the one container ("app"). */
  readonly container?: Record<string, unknown>;
  /** More fields of the pod spec (`containers` replaces the one container). */
  readonly pod?: Record<string, unknown>;
  /** More fields of the Deployment's spec, over the built ones. */
  readonly spec?: Record<string, unknown>;
}

/** The scenarios' Deployment builder (src/scenarios/deployment.ts), as the simulator's store takes it. */
export function deploymentObject(
  namespace: string,
  name: string,
  image: string,
  options: DeploymentOptions = {},
): KubeObject {
  return deploymentManifest(namespace, name, image, options as BuilderOptions);
}

/** What the kit's createDrill takes: a manifest of the catalogue, or any spec a test tries. */
export interface DrillObject {
  readonly metadata: DrillManifest["metadata"];
  readonly spec: DrillManifest["spec"] | Record<string, unknown>;
}

/**
 * A drill of `spec`. Unless the spec sets it, checks.timeoutSeconds is the schema's maximum: at
 * time scale 1000 the default 600 s is 0.6 s of real time, which a loaded host can spend in one
 * stall, and no test that uses this is about the run's time limit.
 */
export function drillObject(
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
): DrillObject & { apiVersion: string; kind: string } {
  const checks = {
    timeoutSeconds: 86_400,
    ...(spec["checks"] as Record<string, unknown> | undefined),
  };
  return {
    apiVersion: API_VERSION,
    kind: KIND,
    metadata: { name, namespace },
    spec: { ...spec, checks },
  };
}
