/**
 * The corpus of malformed and hostile drills (issue 7): wrong types, huge and unicode strings,
 * out-of-range numbers, hostile sandbox namespaces, cron that never fires, unknown time zones,
 * cross-field CEL rules, duplicate env overrides, revisions that do not exist, fields naming
 * other namespaces, bad names. Shared by the simulator's reliability test and the real cluster's.
 */
import type { Reason } from "../../src/api/vocabulary.ts";
import { GROUP, VERSION } from "../../src/api/vocabulary.ts";

/** The namespace the drills are created in. */
export const NS = "hostile-0";
export const FOREIGN = "payments";
export const OTHER_SANDBOX = "rbd-other-7f3a2c-1";

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export interface Case {
  id: string;
  /** The field a rejection must name. */
  field: string;
  /** What an admitted drill may end with. */
  admitted: readonly Reason[];
  body: Record<string, Json>;
}

const BASE_SPEC = (): Record<string, Json> => ({
  targetRef: { kind: "Deployment", name: "pinned-web" },
  checks: { stableSeconds: 5, timeoutSeconds: 7200 },
  sandbox: { keepOnFailure: false },
});

function setPath(obj: Record<string, Json>, path: readonly string[], value: Json): void {
  let at: Record<string, Json> = obj;
  for (const key of path.slice(0, -1)) {
    const next = at[key];
    if (typeof next !== "object" || next === null || Array.isArray(next)) at[key] = {};
    at = at[key] as Record<string, Json>;
  }
  at[path.at(-1) ?? ""] = value;
}

const HUGE = "a".repeat(20_000);
const UNICODE = "ⓡⓞⓛⓛⓑⓐⓒⓚ-💥";
const BAD_PATTERNED: Json[] = [
  123,
  true,
  {},
  [],
  "",
  UNICODE,
  HUGE,
  "has space",
  "UPPER",
  "../etc",
];
const BAD_ENUM: Json[] = [123, "", UNICODE, "Bogus", HUGE];
const BAD_INT: Json[] = ["1", 1.5, -1, 1e13, true, {}, [], UNICODE];
const BAD_BOOL: Json[] = ["true", 1, {}, [], UNICODE];
const BAD_ARRAY: Json[] = ["x", 5, {}, [5], [UNICODE], Array.from({ length: 100 }, () => "a")];

const TYPED_FIELDS: [string, Json[]][] = [
  ["targetRef.name", BAD_PATTERNED],
  ["schedule", BAD_PATTERNED],
  ["sandbox.namespace", BAD_PATTERNED],
  ["timeZone", BAD_PATTERNED],
  ["targetRef.kind", BAD_ENUM],
  ["targetRef.apiVersion", BAD_ENUM],
  ["sandbox.networkIsolation", BAD_ENUM],
  ["checks.digestPolicy", BAD_ENUM],
  ["checks.pinnedImages", BAD_ENUM],
  ["toRevision", BAD_INT],
  ["historyLimit", BAD_INT],
  ["sandbox.replicas", BAD_INT],
  ["sandbox.ttlSecondsAfterFinished", BAD_INT],
  ["checks.stableSeconds", BAD_INT],
  ["checks.timeoutSeconds", BAD_INT],
  ["checks.maxRollbackSeconds", BAD_INT],
  ["suspend", BAD_BOOL],
  ["rerunOnNewRevision", BAD_BOOL],
  ["sandbox.keepOnFailure", BAD_BOOL],
  ["sandbox.copyReferencedConfigMaps", BAD_BOOL],
  ["sandbox.copySecrets", BAD_ARRAY],
  ["sandbox.env", BAD_ARRAY],
];

function drillBody(name: string, spec: Record<string, Json>): Record<string, Json> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: "RollbackDrill",
    metadata: { name, namespace: NS },
    spec,
  };
}

/** A spec with one field changed; `field` is relative to spec. */
function withField(field: string, value: Json, base = BASE_SPEC()): Record<string, Json> {
  setPath(base, field.split("."), value);
  return base;
}

export function generate(): Case[] {
  const cases: Case[] = [];
  let n = 0;
  const add = (field: string, admitted: readonly Reason[], spec: Record<string, Json>): void => {
    const id = `bad-${String(n++).padStart(3, "0")}`;
    cases.push({ id, field, admitted, body: drillBody(id, spec) });
  };
  // Wrong types, huge and unicode strings, out-of-range numbers: the schema's to reject.
  for (const [field, values] of TYPED_FIELDS)
    for (const value of values) add(`spec.${field}`, [], withField(field, value));
  // Hostile sandbox namespaces.
  for (const ns of ["kube-system", "default", "kube-public", "kube-node-lease", "kube-anything"])
    add("spec.sandbox.namespace", [], withField("sandbox.namespace", ns));
  add("spec.sandbox.namespace", [], withField("sandbox.namespace", "a".repeat(64)));
  for (const ns of [NS, FOREIGN, OTHER_SANDBOX])
    add("spec.sandbox.namespace", ["InvalidSpec"], withField("sandbox.namespace", ns));
  // Cron that never fires (or cannot be parsed), and unknown time zones.
  for (const day of ["30", "31"])
    for (const minute of ["0", "5", "15", "30", "45"])
      add("spec.schedule", ["InvalidSpec"], withField("schedule", `${minute} 0 ${day} 2 *`));
  for (const month of ["4", "6", "9", "11"])
    add("spec.schedule", ["InvalidSpec"], withField("schedule", `0 0 31 ${month} *`));
  for (const cron of ["61 * * * *", "0 25 * * *", "0 0 0 * *", "0 0 * 13 *", "0 0 * * 9"])
    add("spec.schedule", ["InvalidSpec"], withField("schedule", cron));
  for (const tz of ["Mars/Olympus_Mons", "Etc/Nowhere", "Europe/Atlantis"]) {
    const spec = withField("schedule", "0 3 * * *");
    add("spec.timeZone", ["InvalidSpec"], withField("timeZone", tz, spec));
  }
  // Cross-field rules the CRD carries as CEL.
  add("spec.timeZone", [], withField("timeZone", "UTC"));
  for (const stable of [7200, 9000])
    add("spec.checks.stableSeconds", [], withField("checks.stableSeconds", stable));
  add("spec.checks.maxRollbackSeconds", [], withField("checks.maxRollbackSeconds", 8000));
  // Duplicate env overrides.
  for (const container of ["", "app"]) {
    const env = [
      { container, name: "DATABASE_URL", value: "a" },
      { container, name: "DATABASE_URL", value: "b" },
    ];
    add("spec.sandbox.env", ["InvalidSpec"], withField("sandbox.env", env));
  }
  // Revisions that do not exist.
  for (const revision of [3, 99, 2147483647])
    add("spec.toRevision", ["NoRevisionHistory"], withField("toRevision", revision));
  // Fields naming other namespaces: not in the schema, pruned; the target stays in NS.
  for (const path of ["targetRef.namespace", "namespace", "sandbox.targetNamespace"]) {
    const spec = withField("targetRef.name", "coredns");
    add("spec", ["TargetNotFound"], withField(path, "kube-system", spec));
  }
  return cases;
}

/** Bad names, sent with a valid spec. */
export function badNames(): Case[] {
  return ["a".repeat(254), "Bad_Name", "名前", "-lead", "trail-", "a.b..c", ""].map((name, i) => ({
    id: `name-${i}`,
    field: "metadata.name",
    admitted: [],
    body: drillBody(name, BASE_SPEC()),
  }));
}
