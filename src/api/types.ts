/**
 * The RollbackDrill API's TypeScript types, derived from the schemas in schema.ts (the source of
 * truth) with TypeBox's Static, so the types and the CRD cannot drift apart.
 */
import type { Static } from "@sinclair/typebox";
import type {
  ChecksSchema,
  ConditionSchema,
  ContainerEvidenceSchema,
  CurrentRunSchema,
  EnvOverrideSchema,
  LedgerEntrySchema,
  RunRecordSchema,
  RunSummarySchema,
  SandboxSchema,
  SpecSchema,
  StatusSchema,
  TargetRefSchema,
  WarningSchema,
} from "./schema.ts";

export type TargetRef = Static<typeof TargetRefSchema>;
export type EnvOverride = Static<typeof EnvOverrideSchema>;
export type SandboxSpec = Static<typeof SandboxSchema>;
export type ChecksSpec = Static<typeof ChecksSchema>;
export type DrillSpec = Static<typeof SpecSchema>;
export type Condition = Static<typeof ConditionSchema>;
export type ContainerEvidence = Static<typeof ContainerEvidenceSchema>;
export type RunRecord = Static<typeof RunRecordSchema>;
export type RunSummary = Static<typeof RunSummarySchema>;
export type DrillWarning = Static<typeof WarningSchema>;
export type LedgerEntry = Static<typeof LedgerEntrySchema>;
export type CurrentRun = Static<typeof CurrentRunSchema>;
export type DrillStatus = Static<typeof StatusSchema>;

/** Object metadata as the operator reads it from the apiserver. */
export interface DrillMetadata {
  name: string;
  namespace: string;
  uid: string;
  generation: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

/** A RollbackDrill as served by the apiserver: defaults applied, so the spec is complete. */
export interface RollbackDrill {
  apiVersion: string;
  kind: string;
  metadata: DrillMetadata;
  spec: DrillSpec;
  status?: DrillStatus;
}
