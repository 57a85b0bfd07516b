/**
 * Field errors worded as k8s.io/apimachinery/pkg/util/validation/field (errors.go: ErrorBody,
 * Invalid, Required, NotSupported, Duplicate, Forbidden, TooLong, TooMany, TypeInvalid) and the
 * message helpers of k8s.io/apimachinery/pkg/util/validation (validation.go).
 */
import type { StatusCause } from "../errors.ts";

export type FieldErrorType =
  | "FieldValueInvalid"
  | "FieldValueRequired"
  | "FieldValueNotSupported"
  | "FieldValueDuplicate"
  | "FieldValueForbidden"
  | "FieldValueTooLong"
  | "FieldValueTooMany"
  | "FieldValueTypeInvalid"
  | "InternalError";

/**
 * Go's %#v of a decoded JSON value (what 1.32's ErrorBody prints for maps and slices):
 * `map[string]interface {}{"a":1, "b":"x"}`, `[]interface {}{"a", "b"}`; `goMapType` names a
 * typed map such as labels (`map[string]string{"app":"web"}`).
 */
export function goSyntax(value: unknown, goMapType = "map[string]interface {}"): string {
  if (value === null || value === undefined) return "interface {}(nil)";
  if (typeof value === "string") return JSON.stringify(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return `[]interface {}{${value.map(v => goSyntax(v)).join(", ")}}`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `${goMapType}{${entries.map(([k, v]) => `${JSON.stringify(k)}:${goSyntax(v)}`).join(", ")}}`;
  }
  return JSON.stringify(value);
}

/** What 1.32's errors.go ErrorBody prints for a bad value: %v for numbers and booleans, %q for strings, else %#v. */
export function formatValue(value: unknown, goMapType?: string): string {
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (typeof value === "string") return JSON.stringify(value);
  if (value === null || value === undefined) return "null";
  return goSyntax(value, goMapType);
}

function cause(reason: FieldErrorType, field: string, message: string): StatusCause {
  return { reason, message, field };
}

export function invalidValue(
  field: string,
  value: unknown,
  detail: string,
  goMapType?: string,
): StatusCause {
  const body = `Invalid value: ${formatValue(value, goMapType)}`;
  return cause("FieldValueInvalid", field, detail === "" ? body : `${body}: ${detail}`);
}

/** TypeInvalid: worded like Invalid, with its own reason. */
export function typeInvalid(field: string, value: unknown, detail: string): StatusCause {
  return {
    ...invalidValue(field, value, detail),
    reason: "FieldValueTypeInvalid",
  };
}

export function required(field: string, detail = ""): StatusCause {
  return cause(
    "FieldValueRequired",
    field,
    detail === "" ? "Required value" : `Required value: ${detail}`,
  );
}

export function forbidden(field: string, detail: string): StatusCause {
  return cause("FieldValueForbidden", field, `Forbidden: ${detail}`);
}

export function notSupported(
  field: string,
  value: unknown,
  supported: readonly unknown[],
): StatusCause {
  const list = supported.map(v => JSON.stringify(typeof v === "string" ? v : JSON.stringify(v)));
  const body = `Unsupported value: ${formatValue(value)}`;
  return cause(
    "FieldValueNotSupported",
    field,
    list.length === 0 ? body : `${body}: supported values: ${list.join(", ")}`,
  );
}

export function duplicate(field: string, value: unknown): StatusCause {
  return cause("FieldValueDuplicate", field, `Duplicate value: ${formatValue(value)}`);
}

export function tooLong(field: string, max: number): StatusCause {
  return cause(
    "FieldValueTooLong",
    field,
    `Too long: may not be more than ${max} ${max === 1 ? "byte" : "bytes"}`,
  );
}

export function tooMany(field: string, actual: number, max: number): StatusCause {
  return cause(
    "FieldValueTooMany",
    field,
    `Too many: ${actual}: must have at most ${max} ${max === 1 ? "item" : "items"}`,
  );
}

export function internalError(field: string, detail: string): StatusCause {
  return cause("InternalError", field, `Internal error: ${detail}`);
}

/** validation.go RegexError. */
export function regexError(message: string, format: string, ...examples: string[]): string {
  if (examples.length === 0) return `${message} (regex used for validation is '${format}')`;
  const shown = examples.map(e => `'${e}', `).join("or ");
  return `${message} (e.g. ${shown}regex used for validation is '${format}')`;
}

export function maxLenError(length: number): string {
  return `must be no more than ${length} characters`;
}
