/**
 * What the CRD schema cannot say, reported as InvalidSpec with the field named. (A toRevision
 * above the current revision is not a spec error: it is NoRevisionHistory, found when resolving.)
 */
import type { RollbackDrill } from "../api/types.ts";
import {
  LABEL_DRILL_NAME,
  LABEL_DRILL_NAMESPACE,
  LABEL_DRILL_UID,
  LABEL_MANAGED_BY,
  MANAGED_BY,
} from "../api/vocabulary.ts";
import type { Observed } from "./observed.ts";
import { isOwnedBy } from "./sandbox.ts";
import { parseSchedule } from "./schedule.ts";

export interface FieldError {
  field: string;
  message: string;
}

const SYSTEM_NAMESPACES = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

export function isSystemNamespace(name: string): boolean {
  return SYSTEM_NAMESPACES.has(name) || name.startsWith("kube-");
}

function sandboxErrors(drill: RollbackDrill, observed: Observed): FieldError[] {
  const fixed = drill.spec.sandbox.namespace;
  if (fixed === undefined) return [];
  const field = "spec.sandbox.namespace";
  if (fixed === drill.metadata.namespace)
    return [
      {
        field,
        message: `must differ from the drill's (and target's) namespace "${fixed}": the sandbox is deleted after each run`,
      },
    ];
  if (isSystemNamespace(fixed)) return [{ field, message: `"${fixed}" is a system namespace` }];
  const existing = observed.sandbox?.namespace;
  if (existing === undefined || existing.name !== fixed || isOwnedBy(existing.labels, drill))
    return [];
  const labels = existing.labels ?? {};
  if (labels[LABEL_MANAGED_BY] === MANAGED_BY && labels[LABEL_DRILL_UID] !== undefined)
    return [
      {
        field,
        message: `namespace "${fixed}" is the sandbox of drill ${labels[LABEL_DRILL_NAMESPACE] ?? "?"}/${labels[LABEL_DRILL_NAME] ?? "?"}: give each drill its own sandbox namespace, or leave it empty for a generated one`,
      },
    ];
  return [
    {
      field,
      message: `namespace "${fixed}" already exists and was not created by this drill; the operator deletes its sandbox after each run, so name a namespace that does not exist, or leave it empty for a generated one`,
    },
  ];
}

/** Semantic checks on the spec; empty when valid. */
export function validate(drill: RollbackDrill, observed: Observed, nowMs: number): FieldError[] {
  const errors = sandboxErrors(drill, observed);
  const schedule = drill.spec.schedule;
  if (schedule !== undefined) {
    const parsed = parseSchedule(schedule, drill.spec.timeZone, nowMs);
    if (!parsed.ok) errors.push({ field: parsed.field, message: parsed.message });
  } else if (drill.spec.timeZone !== undefined) {
    errors.push({ field: "spec.timeZone", message: "requires spec.schedule" });
  }
  const names = new Set<string>();
  for (const [i, env] of drill.spec.sandbox.env.entries()) {
    const key = `${env.container ?? ""}/${env.name}`;
    if (names.has(key))
      errors.push({
        field: `spec.sandbox.env[${i}].name`,
        message: `duplicate override of ${env.name}`,
      });
    names.add(key);
  }
  return errors;
}

/** The InvalidSpec message: every field and what is wrong with it. */
export function invalidSpecMessage(errors: readonly FieldError[]): string {
  return `Invalid spec: ${errors.map(e => `${e.field}: ${e.message}`).join("; ")}. Fix the drill; no run starts until it is valid.`;
}
