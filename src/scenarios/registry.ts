/**
 * What a scenario asks of a registry and its databases (RegistryOps) and what a simulated program
 * does (ImageBehaviour): the contract between cluster.ts, which drives a scenario, and the
 * backends that implement it (the simulator's sim-registry.ts, a real cluster's e2e backend).
 */
import type { V1Probe } from "@kubernetes/client-node";
import type { ImageBehaviour } from "../sim/contract.ts";

/** What a simulated program does: the simulator's contract defines it (ContainerImage entries). */
export type { ImageBehaviour } from "../sim/contract.ts";

/**
 * The registry and databases a scenario drives. The simulator's (SimRegistry) is the default; a
 * real cluster's e2e backend supplies one over a real registry.
 */
export interface RegistryOps {
  /** Pushes a build of `repository:tag`, moves the tag to it, and returns its digest. */
  pushImage(repository: string, tag: string, behaviour: ImageBehaviour): Promise<string>;
  /** Deletes an image by digest, as a retention policy would; its tags go with it. */
  deleteImage(repository: string, digest: string): Promise<void>;
  /** The digest a tag points at now; undefined when there is no such tag. */
  imageDigest(repository: string, tag: string): Promise<string | undefined>;
  createDatabase(name: string, schemaVersion: number): Promise<void>;
  databaseVersion(name: string): Promise<number | undefined>;
  /**
   * The URL a pod connects to database `name` by, where `host` is the name a scenario gives the
   * server (e.g. "db.shop.svc"); default `postgres://${host}:5432/${name}` (what the simulator reads).
   */
  databaseUrl?(name: string, host: string): string;
  /**
   * The readiness probe that reads whether an image's program says it is ready (readyAfterMs,
   * neverReady); default SIM_READINESS_PROBE (the simulator's kubelet reads the behaviour itself).
   */
  readinessProbe?(): V1Probe;
}
