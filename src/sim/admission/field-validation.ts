/**
 * Server-side field validation for custom resources, as the apiserver does it: the request's
 * `fieldValidation` parameter says what happens to fields the CRD's structural schema does not
 * know (what pruning would drop). `Strict` (kubectl's default for create, apply, replace and
 * patch) refuses the write with 400 BadRequest naming each field (`strict decoding error: unknown
 * field "spec.checks.stableSecond"`); `Warn` (the server's default when the parameter is absent)
 * accepts it, pruned, with one `Warning` header per field; `Ignore` drops them silently.
 *
 * Only custom resources are checked: the simulator has no schema of the built-in types' fields.
 * Duplicate fields (Strict's other half) are not detected: the body is parsed before this runs.
 */
import { ApiError } from "../errors.ts";
import type { KubeObject } from "../types.ts";
import { versionSchema } from "./crd.ts";
import { isPlainObject, mapValues, type Schema } from "./schema.ts";

export const FIELD_VALIDATIONS = ["Strict", "Warn", "Ignore"] as const;
export type FieldValidation = (typeof FIELD_VALIDATIONS)[number];

/** The request's directive; an unknown one is refused as the apiserver does. */
export function fieldValidationOf(url: URL): FieldValidation {
  const value = url.searchParams.get("fieldValidation");
  if (value === null || value === "") return "Warn";
  if ((FIELD_VALIDATIONS as readonly string[]).includes(value)) return value as FieldValidation;
  throw new ApiError(
    400,
    "BadRequest",
    `fieldValidation: Unsupported value: "${value}": supported values: "Ignore", "Strict", "Warn"`,
  );
}

const embeddedKeys = new Set(["apiVersion", "kind", "metadata"]);

/**
 * The paths of fields the schema does not know, in the apiserver's notation (`spec.a.b`,
 * `spec.list[0].c`), in document order. The same walk as pruning: preserve-unknown-fields and
 * additionalProperties keep a field known; metadata is ObjectMeta's, not the schema's.
 */
export function unknownFields(value: unknown, schema: Schema, path = "", isRoot = true): string[] {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (items === undefined) return [];
    return value.flatMap((item, i) => unknownFields(item, items, `${path}[${String(i)}]`, false));
  }
  if (!isPlainObject(value)) return [];
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = schema["x-kubernetes-embedded-resource"] === true || isRoot;
  const values = mapValues(schema);
  const found: string[] = [];
  for (const [key, child] of Object.entries(value)) {
    if (child === undefined || (embedded && embeddedKeys.has(key))) continue;
    const at = path === "" ? key : `${path}.${key}`;
    const childSchema = schema.properties?.[key] ?? values;
    if (childSchema !== undefined) found.push(...unknownFields(child, childSchema, at, false));
    else if (!preserve) found.push(at);
  }
  return found;
}

/**
 * Applies the directive to a write's body. Strict: throws 400 naming the fields; Warn: returns
 * the Warning header values to send; Ignore (or nothing unknown): none. `handledAs` prefixes a
 * create's or update's message as the apiserver's decoder does ("RollbackDrill in version
 * \"v1alpha1\" cannot be handled as a RollbackDrill: ...").
 */
export function validateFields(
  directive: FieldValidation,
  body: unknown,
  schema: Schema,
  handledAs?: { kind: string; version: string },
): string[] {
  if (directive === "Ignore") return [];
  const fields = unknownFields(body, schema);
  if (fields.length === 0) return [];
  const named = fields.map(f => `unknown field "${f}"`);
  if (directive === "Warn") return named.map(n => `299 - ${JSON.stringify(n)}`);
  const message = `strict decoding error: ${named.join(", ")}`;
  throw new ApiError(
    400,
    "BadRequest",
    handledAs === undefined
      ? message
      : `${handledAs.kind} in version ${JSON.stringify(handledAs.version)} cannot be handled as a ${handledAs.kind}: ${message}`,
  );
}

/**
 * The hook for a write's handler: nothing for a built-in type; for a custom resource, its CRD's
 * schema of that version checked under the request's directive. Returns Warning header values.
 */
export function checkWriteFields(
  crd: KubeObject | undefined,
  version: string,
  url: URL,
  body: unknown,
  handledAs?: { kind: string; version: string },
): string[] {
  const directive = fieldValidationOf(url);
  if (crd === undefined) return [];
  const schema = versionSchema(crd, version);
  if (schema === undefined) return [];
  return validateFields(directive, body, schema, handledAs);
}
