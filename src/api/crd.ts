/**
 * Builds the RollbackDrill CustomResourceDefinition from the schemas in schema.ts. Pure: the
 * generator script writes its YAML to crds/, and the tests compare the file with a fresh build.
 */
import { RollbackDrillSchema } from "./schema.ts";
import {
  CRD_NAME,
  GROUP,
  KIND,
  LIST_KIND,
  PLURAL,
  SHORT_NAMES,
  SINGULAR,
  VERSION,
} from "./vocabulary.ts";

export interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

/**
 * `kubectl get rollbackdrills`: the SRE's dashboard. Priority 1 columns show with `-o wide`.
 * PHASE is a default column so `kubectl get drill -w` shows a run step by step.
 * FROM is the broken (current) revision, TO the one rolled back to, RTO the measured seconds from
 * undo to all pods Ready.
 */
export const PRINTER_COLUMNS: readonly PrinterColumn[] = [
  {
    name: "Target",
    type: "string",
    jsonPath: ".spec.targetRef.name",
    description: "The Deployment rehearsed.",
  },
  {
    name: "Phase",
    type: "string",
    jsonPath: ".status.phase",
    description:
      "The step of the run in progress (Idle between runs), so kubectl get -w shows a run move.",
  },
  {
    name: "Verdict",
    type: "string",
    jsonPath: ".status.verdict",
    description: "Passed, Failed or Error.",
  },
  {
    name: "Reason",
    type: "string",
    jsonPath: ".status.reason",
    description: "Why, from a closed vocabulary.",
  },
  {
    name: "From",
    type: "integer",
    jsonPath: ".status.lastRun.fromRevision",
    description: "The revision rolled back from.",
  },
  {
    name: "To",
    type: "integer",
    jsonPath: ".status.lastRun.toRevision",
    description: "The revision rolled back to.",
  },
  {
    name: "RTO",
    type: "number",
    jsonPath: ".status.lastRun.rollbackSeconds",
    description: "Seconds from undo to all pods Ready.",
  },
  {
    name: "Last Run",
    type: "date",
    jsonPath: ".status.lastRun.completionTime",
    description: "When the last run finished.",
  },
  { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp", description: "" },
  {
    name: "From Digest",
    type: "string",
    jsonPath: ".status.lastRun.evidence[0].fromDigest",
    description: "What the broken revision ran (first container).",
    priority: 1,
  },
  {
    name: "To Digest",
    type: "string",
    jsonPath: ".status.lastRun.evidence[0].toDigest",
    description: "What the rollback ran (first container).",
    priority: 1,
  },
  {
    name: "Digest Check",
    type: "string",
    jsonPath: ".status.lastRun.evidence[0].digestCheck",
    description:
      "Verified, Failed, NotApplicable (a configuration-only rollback: equal digests are expected) or Ignored (first container).",
    priority: 1,
  },
  {
    // A string, not a date: kubectl prints a date column as the age since then, and a time to
    // come as <invalid>; the RFC 3339 time itself reads right.
    name: "Next Run",
    type: "string",
    jsonPath: ".status.nextRunTime",
    description: "When the schedule fires next (UTC).",
    priority: 1,
  },
];

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Drops TypeBox's bookkeeping so only structural-schema keywords remain, and leaves fields that
 * have a default out of `required`: the apiserver defaults before it validates, and users (and
 * `kubectl explain`) should not be told to write what the API fills in.
 */
function toOpenApi(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(toOpenApi);
  if (!isObject(schema)) return schema;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(schema)) out[key] = toOpenApi(value);
  const properties = out["properties"];
  const required = out["required"];
  if (isObject(properties) && Array.isArray(required)) {
    const stillRequired = required.filter(
      name =>
        typeof name === "string" && !(isObject(properties[name]) && "default" in properties[name]),
    );
    if (stillRequired.length > 0) out["required"] = stillRequired;
    else delete out["required"];
  }
  if (isObject(properties) && Object.keys(properties).length === 0) delete out["properties"];
  return out;
}

export function buildCrd(): JsonObject {
  const openAPIV3Schema = toOpenApi(JSON.parse(JSON.stringify(RollbackDrillSchema))) as JsonObject;
  openAPIV3Schema["description"] =
    "RollbackDrill rehearses a Deployment's rollback in an isolated sandbox and reports whether it would work.";
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: CRD_NAME,
      labels: {
        "app.kubernetes.io/name": "rollback-drill",
        "app.kubernetes.io/part-of": "rollback-drill",
      },
    },
    spec: {
      group: GROUP,
      names: {
        kind: KIND,
        listKind: LIST_KIND,
        plural: PLURAL,
        singular: SINGULAR,
        shortNames: [...SHORT_NAMES],
        categories: ["rollback-drill"],
      },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema },
          subresources: { status: {} },
          additionalPrinterColumns: PRINTER_COLUMNS.map(c => ({ ...c })),
        },
      ],
    },
  };
}
