/**
 * A custom resource checked against its CRD's structural schema the way the apiserver does it:
 * prune unknown fields (and non-nullable nulls), apply defaults top-down, then validate with the
 * OpenAPI keywords. Sources (kubernetes/kubernetes, staging/src/k8s.io/apiextensions-apiserver):
 * pkg/apiserver/schema/pruning/algorithm.go (Prune), pkg/apiserver/schema/defaulting/algorithm.go
 * (Default, PruneNonNullableNullsWithoutDefaults), pkg/apiserver/validation/validation.go
 * (kubeOpenAPIResultToFieldErrors: how each kube-openapi error becomes a field error), and
 * kube-openapi pkg/validation/errors/schema.go (the message texts).
 */
import type { StatusCause } from "../errors.ts";
import {
  duplicate,
  invalidValue,
  notSupported,
  required,
  tooLong,
  tooMany,
  typeInvalid,
} from "./field.ts";
import { childPath, isPlainObject, jsonTypeOf, mapValues, type Schema } from "./schema.ts";

const embeddedKeys = new Set(["apiVersion", "kind", "metadata"]);

/** Removes fields the schema does not know, and nulls where the schema does not allow them. */
export function prune(value: unknown, schema: Schema, isRoot = false): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    return items === undefined ? value : value.map(item => prune(item, items));
  }
  if (!isPlainObject(value)) return value;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const embedded = schema["x-kubernetes-embedded-resource"] === true || isRoot;
  const values = mapValues(schema);
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties?.[key] ?? values;
    // ObjectMeta is pruned to its own fields by the apiserver, never by the CRD's schema.
    if (child === undefined) continue;
    if (embedded && embeddedKeys.has(key)) out[key] = child;
    else if (child === null && childSchema !== undefined && childSchema.nullable !== true) continue;
    else if (childSchema !== undefined) out[key] = prune(child, childSchema);
    else if (preserve) out[key] = child;
  }
  return out;
}

/** Applies `default`s: a property's default only where its parent object exists. */
export function applyDefaults(value: unknown, schema: Schema): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    return items === undefined ? value : value.map(item => applyDefaults(item, items));
  }
  if (!isPlainObject(value)) return value;
  const out: Record<string, unknown> = { ...value };
  for (const [key, childSchema] of Object.entries(schema.properties ?? {})) {
    if (out[key] === undefined && childSchema.default !== undefined) {
      out[key] = structuredClone(childSchema.default);
    }
  }
  const values = mapValues(schema);
  for (const [key, child] of Object.entries(out)) {
    const childSchema = schema.properties?.[key] ?? values;
    if (childSchema !== undefined) out[key] = applyDefaults(child, childSchema);
  }
  return out;
}

/** Go's %v of a float64 bound, as the messages print it. */
function bound(value: number): string {
  return String(value);
}

function typeError(path: string, expected: string, value: unknown): StatusCause {
  const actual = jsonTypeOf(value);
  return typeInvalid(path, actual, `${path} in body must be of type ${expected}: "${actual}"`);
}

function typeMatches(schema: Schema, value: unknown): boolean {
  if (value === null) return schema.nullable === true;
  if (schema["x-kubernetes-int-or-string"] === true) {
    return typeof value === "string" || (typeof value === "number" && Number.isInteger(value));
  }
  switch (schema.type) {
    case "object":
      return isPlainObject(value);
    case "array":
      return Array.isArray(value);
    case "string":
      return typeof value === "string";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    default:
      return true;
  }
}

const formats: Record<string, (v: string) => boolean> = {
  "date-time": v =>
    /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(v) &&
    !Number.isNaN(Date.parse(v.replace(" ", "T"))),
  date: v => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)),
  duration: v => /^((\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+)$/.test(v),
  byte: v => /^[A-Za-z0-9+/]*={0,2}$/.test(v) && v.length % 4 === 0,
  uuid: v => /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i.test(v),
  email: v => /^[^@\s]+@[^@\s]+$/.test(v),
  hostname: v =>
    v.length <= 255 &&
    /^[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([-a-zA-Z0-9]{0,61}[a-zA-Z0-9])?)*$/.test(
      v,
    ),
  ipv4: v => /^((25[0-5]|2[0-4]\d|1?\d?\d)\.){3}(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(v),
  ipv6: v => v.includes(":") && /^[0-9a-fA-F:.]+$/.test(v),
  cidr: v => /^[0-9a-fA-F:.]+\/\d{1,3}$/.test(v),
  mac: v => /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(v),
};

function validateString(path: string, schema: Schema, value: string): StatusCause[] {
  const causes: StatusCause[] = [];
  const length = Array.from(value).length;
  if (schema.maxLength !== undefined && length > schema.maxLength)
    causes.push(tooLong(path, schema.maxLength));
  if (schema.minLength !== undefined && length < schema.minLength) {
    causes.push(
      invalidValue(
        path,
        value,
        `${path} in body should be at least ${schema.minLength} chars long`,
      ),
    );
  }
  if (schema.pattern !== undefined && !new RegExp(schema.pattern).test(value)) {
    causes.push(invalidValue(path, value, `${path} in body should match '${schema.pattern}'`));
  }
  const check = schema.format === undefined ? undefined : formats[schema.format];
  if (check !== undefined && !check(value)) {
    causes.push(
      typeInvalid(
        path,
        value,
        `${path} in body must be of type ${schema.format ?? ""}: ${JSON.stringify(value)}`,
      ),
    );
  }
  return causes;
}

function validateNumber(path: string, schema: Schema, value: number): StatusCause[] {
  const causes: StatusCause[] = [];
  const { maximum, minimum, multipleOf } = schema;
  if (maximum !== undefined) {
    const exclusive = schema.exclusiveMaximum === true;
    if (exclusive ? value >= maximum : value > maximum) {
      const words = exclusive ? "less than" : "less than or equal to";
      causes.push(
        invalidValue(path, value, `${path} in body should be ${words} ${bound(maximum)}`),
      );
    }
  }
  if (minimum !== undefined) {
    const exclusive = schema.exclusiveMinimum === true;
    if (exclusive ? value <= minimum : value < minimum) {
      const words = exclusive ? "greater than" : "greater than or equal to";
      causes.push(
        invalidValue(path, value, `${path} in body should be ${words} ${bound(minimum)}`),
      );
    }
  }
  if (multipleOf !== undefined && multipleOf > 0 && !Number.isInteger(value / multipleOf)) {
    causes.push(
      invalidValue(path, value, `${path} in body should be a multiple of ${bound(multipleOf)}`),
    );
  }
  return causes;
}

function listKey(item: unknown, keys: string[]): string {
  const record = isPlainObject(item) ? item : {};
  return JSON.stringify(keys.map(k => record[k] ?? null));
}

/**
 * x-kubernetes-list-type set/map uniqueness (apiserver/schema/listtype/validation.go): a set's
 * (or a map's key) duplicate is reported once per value, at its second occurrence.
 */
function validateListType(path: string, schema: Schema, items: unknown[]): StatusCause[] {
  const type = schema["x-kubernetes-list-type"];
  const causes: StatusCause[] = [];
  const seen = new Set<string>();
  const reported = new Set<string>();
  items.forEach((item, i) => {
    let key: string;
    let shown: unknown = item;
    if (type === "set") key = JSON.stringify(item);
    else if (type === "map") {
      const keys = schema["x-kubernetes-list-map-keys"] ?? [];
      key = listKey(item, keys);
      const record = isPlainObject(item) ? item : {};
      shown = Object.fromEntries(
        keys.filter(k => record[k] !== undefined).map(k => [k, record[k]]),
      );
    } else return;
    if (seen.has(key) && !reported.has(key)) {
      causes.push(duplicate(`${path}[${i}]`, shown));
      reported.add(key);
    }
    seen.add(key);
  });
  return causes;
}

function validateArray(path: string, schema: Schema, value: unknown[]): StatusCause[] {
  const causes: StatusCause[] = [];
  if (schema.maxItems !== undefined && value.length > schema.maxItems) {
    causes.push(tooMany(path, value.length, schema.maxItems));
  }
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    causes.push(
      invalidValue(
        path,
        value.length,
        `${path} in body should have at least ${schema.minItems} items`,
      ),
    );
  }
  causes.push(...validateListType(path, schema, value));
  const items = schema.items;
  if (items !== undefined)
    value.forEach((item, i) => causes.push(...validateValue(`${path}[${i}]`, items, item)));
  return causes;
}

function validateObject(
  path: string,
  schema: Schema,
  value: Record<string, unknown>,
): StatusCause[] {
  const causes: StatusCause[] = [];
  for (const name of schema.required ?? []) {
    if (value[name] === undefined) causes.push(required(childPath(path, name)));
  }
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) {
    causes.push(tooMany(path, count, schema.maxProperties));
  }
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    causes.push(
      invalidValue(
        path,
        count,
        `${path} in body should have at least ${schema.minProperties} properties`,
      ),
    );
  }
  const values = mapValues(schema);
  for (const [key, child] of Object.entries(value)) {
    const childSchema = schema.properties?.[key] ?? values;
    if (childSchema !== undefined)
      causes.push(...validateValue(childPath(path, key), childSchema, child));
  }
  return causes;
}

function expectedType(schema: Schema): string {
  return schema["x-kubernetes-int-or-string"] === true ? "integer,string" : (schema.type ?? "");
}

/** Every OpenAPI error of one value against its schema, as field errors. */
export function validateValue(path: string, schema: Schema, value: unknown): StatusCause[] {
  if (value === null && schema.nullable === true) return [];
  if (!typeMatches(schema, value)) return [typeError(path, expectedType(schema), value)];
  const causes: StatusCause[] = [];
  if (
    schema.enum !== undefined &&
    !schema.enum.some(e => JSON.stringify(e) === JSON.stringify(value))
  ) {
    causes.push(
      notSupported(
        path,
        value,
        schema.enum.map(e => (typeof e === "string" ? e : JSON.stringify(e))),
      ),
    );
  }
  if (typeof value === "string") causes.push(...validateString(path, schema, value));
  else if (typeof value === "number") causes.push(...validateNumber(path, schema, value));
  else if (Array.isArray(value)) causes.push(...validateArray(path, schema, value));
  else if (isPlainObject(value)) causes.push(...validateObject(path, schema, value));
  return causes;
}

/** hasBlockingErr (customresource/strategy.go): errors after which CEL rules are not run. */
export function hasBlockingError(causes: StatusCause[]): boolean {
  const blocking = [
    "FieldValueNotSupported",
    "FieldValueRequired",
    "FieldValueTooLong",
    "FieldValueTooMany",
    "FieldValueTypeInvalid",
  ];
  return causes.some(c => c.reason !== undefined && blocking.includes(c.reason));
}
