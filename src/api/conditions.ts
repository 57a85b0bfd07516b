/**
 * Standard Kubernetes conditions on a drill (metav1.Condition semantics): one per type, order
 * kept, lastTransitionTime changes only when status flips, observedGeneration says which spec the
 * condition speaks for. Pure: `now` is an argument.
 */
import type { Condition } from "./types.ts";
import type { ConditionStatus, ConditionType } from "./vocabulary.ts";

/** Reasons of the drill's conditions, beside the run reasons (REASONS) the Ready condition reuses. */
export const CONDITION_REASONS = [
  "NeverRun",
  "Idle",
  "Suspended",
  "CleaningUp",
  "SandboxKept",
  "Rehearsed",
  "NotRehearsed",
  "LastRunFailed",
  "TargetNotFound",
] as const;
export type ConditionReason = (typeof CONDITION_REASONS)[number];

/** A condition to set: lastTransitionTime and observedGeneration are filled in by setCondition. */
export interface NewCondition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/**
 * Sets one condition: replaces the same type in place (or appends), keeping lastTransitionTime
 * when status is unchanged. `now` is an RFC 3339 timestamp.
 */
export function setCondition(
  conditions: readonly Condition[] | undefined,
  next: NewCondition,
  generation: number,
  now: string,
): Condition[] {
  const list = conditions ?? [];
  const previous = list.find(c => c.type === next.type);
  const lastTransitionTime =
    previous !== undefined && previous.status === next.status ? previous.lastTransitionTime : now;
  const updated: Condition = { ...next, observedGeneration: generation, lastTransitionTime };
  return previous === undefined
    ? [...list, updated]
    : list.map(c => (c.type === next.type ? updated : c));
}

/** Sets several conditions in order. */
export function setConditions(
  conditions: readonly Condition[] | undefined,
  next: readonly NewCondition[],
  generation: number,
  now: string,
): Condition[] {
  return next.reduce<Condition[]>(
    (acc, condition) => setCondition(acc, condition, generation, now),
    [...(conditions ?? [])],
  );
}

export function findCondition(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): Condition | undefined {
  return conditions?.find(c => c.type === type);
}

export function isConditionTrue(
  conditions: readonly Condition[] | undefined,
  type: ConditionType,
): boolean {
  return findCondition(conditions, type)?.status === "True";
}
