/**
 * What the e2e scenarios need from a place to run: a cluster (a kubeconfig), a registry the
 * cluster pulls from (to push, move and delete images), and an operator, either started here
 * in-process or already deployed. The scenarios are written once against this interface.
 */
import type { Clock } from "../../src/controller/clock.ts";
import type { Capability } from "../../src/scenarios/catalog.ts";
import type { Cluster, RegistryOps } from "../../src/scenarios/cluster.ts";

export type Availability = { ok: true } | { ok: false; reason: string };

/** in-process: the suite starts the operator; deployed: one already runs against the cluster. */
export type OperatorMode = "in-process" | "deployed";

export interface StartedBackend {
  /** Kubeconfig YAML, or a path to one. */
  readonly kubeconfig: string;
  readonly operator: OperatorMode;
  /** The clock an in-process operator must use (a simulator's scaled clock); default the system's. */
  readonly clock?: Clock;
  /** The registry (and databases) the scenarios drive; called once per Cluster. */
  registry(cluster: Cluster): RegistryOps;
  /** Where scenario images are named from (the cluster pulls them there); default the catalogue's. */
  readonly imageRegistry?: string;
  /** What the backend offers beyond a registry; a scenario needing more is skipped by name. */
  readonly capabilities: readonly Capability[];
  /** checks.stableSeconds for the drills, in the cluster's seconds. */
  readonly stableSeconds: number;
  /** Real milliseconds to wait for a set-up step or a verdict. */
  readonly timeoutMs: number;
  stop(): Promise<void>;
}

export interface Backend {
  readonly name: string;
  /** Whether this backend can run here; when not, why (reported in the skipped suite's name). */
  available(): Promise<Availability>;
  start(): Promise<StartedBackend>;
}

export const errorMessage = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
