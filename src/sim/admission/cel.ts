/**
 * x-kubernetes-validations on custom resources, as the apiserver runs them
 * (staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go: Validate,
 * validateExpressions, fieldErrorForReason, ruleMessageOrDefault; schema/cel/model for how
 * schema types map to CEL types): each rule sees `self` (the node it sits on, typed by the
 * schema: integer -> int, number -> double, string format date-time/date -> timestamp, duration
 * -> duration) and, for transition rules, `oldSelf`, evaluated only on update where the old value
 * can be correlated (object properties, map values, list-type=map items by key).
 */
import type { StatusCause } from "../errors.ts";
import { Evaluator, parseDuration, Timestamp } from "./cel-eval.ts";
import { CelError, compile, type Node, usesOldSelf } from "./cel-parse.ts";
import { duplicate, forbidden, invalidValue, required } from "./field.ts";
import { childPath, isPlainObject, mapValues, type Schema, type ValidationRule } from "./schema.ts";

interface CompiledRule {
  rule: ValidationRule;
  program: Node;
  message?: Node;
  transition: boolean;
}

const cache = new WeakMap<ValidationRule, CompiledRule>();

/** Compiles a rule (cached per rule object); throws CelError with the compile error. */
export function compileRule(rule: ValidationRule): CompiledRule {
  const cached = cache.get(rule);
  if (cached !== undefined) return cached;
  const program = compile(rule.rule, ["self", "oldSelf"]);
  const compiled: CompiledRule = { rule, program, transition: usesOldSelf(program) };
  if (rule.messageExpression !== undefined) {
    compiled.message = compile(rule.messageExpression, ["self", "oldSelf"]);
  }
  cache.set(rule, compiled);
  return compiled;
}

/** The JSON value as the CEL type the schema declares. */
export function toCel(value: unknown, schema: Schema | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") {
    const integral = schema?.type === "integer" || schema?.["x-kubernetes-int-or-string"] === true;
    return integral && Number.isInteger(value) ? BigInt(value) : value;
  }
  if (typeof value === "string") return stringToCel(value, schema);
  if (Array.isArray(value)) return value.map(item => toCel(item, schema?.items));
  if (isPlainObject(value)) {
    const values = schema === undefined ? undefined : mapValues(schema);
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, toCel(v, schema?.properties?.[k] ?? values)]),
    );
  }
  return value;
}

function stringToCel(value: string, schema: Schema | undefined): unknown {
  try {
    if (schema?.format === "date-time" || schema?.format === "date") {
      const ms = Date.parse(value);
      return Number.isNaN(ms) ? value : new Timestamp(ms);
    }
    if (schema?.format === "duration") return parseDuration(value);
  } catch {
    return value;
  }
  return value;
}

/** ruleErrorString: the rule text, trimmed. */
function ruleText(rule: ValidationRule): string {
  return rule.rule.trim();
}

/** The field a rule's error names: the node, plus the rule's fieldPath (".a.b", "['k']"). */
function errorPath(path: string, fieldPath: string | undefined): string {
  if (fieldPath === undefined || fieldPath === "") return path;
  const relative = fieldPath.startsWith(".") ? fieldPath.slice(1) : fieldPath;
  return relative.startsWith("[") ? `${path}${relative}` : childPath(path, relative);
}

function fieldError(
  path: string,
  schema: Schema,
  detail: string,
  reason: ValidationRule["reason"],
): StatusCause {
  switch (reason) {
    case "FieldValueRequired":
      return required(path, detail);
    case "FieldValueForbidden":
      return forbidden(path, detail);
    case "FieldValueDuplicate":
      return duplicate(path, detail);
    default:
      return invalidValue(path, schema.type ?? "", detail);
  }
}

interface Node2 {
  path: string;
  schema: Schema;
  value: unknown;
  old: { value: unknown } | undefined;
}

function message(
  evaluator: Evaluator,
  compiled: CompiledRule,
  env: Record<string, unknown>,
): string {
  if (compiled.message !== undefined) {
    try {
      const text = evaluator.eval(compiled.message, env);
      if (typeof text === "string" && text.trim() !== "" && !text.includes("\n")) return text;
    } catch {
      // An erroring messageExpression falls back to message (validation.go).
    }
  }
  return compiled.rule.message ?? `failed rule: ${ruleText(compiled.rule)}`;
}

function runRules(evaluator: Evaluator, node: Node2, causes: StatusCause[]): void {
  for (const rule of node.schema["x-kubernetes-validations"] ?? []) {
    const compiled = compileRule(rule);
    if (compiled.transition && node.old === undefined) continue;
    const env: Record<string, unknown> = { self: toCel(node.value, node.schema) };
    if (node.old !== undefined) env["oldSelf"] = toCel(node.old.value, node.schema);
    const path = errorPath(node.path, rule.fieldPath);
    try {
      const result = evaluator.eval(compiled.program, env);
      if (result === true) continue;
      if (result !== false) throw new CelError(`rule did not evaluate to a bool`);
      causes.push(fieldError(path, node.schema, message(evaluator, compiled, env), rule.reason));
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      causes.push(
        invalidValue(node.path, node.schema.type ?? "", `${ruleText(rule)}: ${error.message}`),
      );
    }
  }
}

function oldChild(old: Node2["old"], key: string): Node2["old"] {
  if (old === undefined || !isPlainObject(old.value) || !Object.hasOwn(old.value, key))
    return undefined;
  return { value: old.value[key] };
}

function oldListItem(node: Node2, item: unknown): Node2["old"] {
  const keys = node.schema["x-kubernetes-list-map-keys"];
  if (node.schema["x-kubernetes-list-type"] !== "map" || keys === undefined) return undefined;
  if (node.old === undefined || !Array.isArray(node.old.value) || !isPlainObject(item))
    return undefined;
  const oldItems: unknown[] = node.old.value;
  const match = oldItems.find(
    o => isPlainObject(o) && keys.every(k => JSON.stringify(o[k]) === JSON.stringify(item[k])),
  );
  return match === undefined ? undefined : { value: match };
}

function walk(evaluator: Evaluator, node: Node2, causes: StatusCause[]): void {
  if (node.value === null || node.value === undefined) return;
  runRules(evaluator, node, causes);
  const { schema, value, path } = node;
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    value.forEach((item, i) => {
      walk(
        evaluator,
        { path: `${path}[${i}]`, schema: items, value: item, old: oldListItem(node, item) },
        causes,
      );
    });
  } else if (isPlainObject(value)) {
    const values = mapValues(schema);
    for (const [key, child] of Object.entries(value)) {
      const childSchema = schema.properties?.[key] ?? values;
      if (childSchema === undefined) continue;
      const childNode = {
        path:
          values !== undefined && schema.properties?.[key] === undefined
            ? `${path}[${key}]`
            : childPath(path, key),
        schema: childSchema,
        value: child,
        old: oldChild(node.old, key),
      };
      walk(evaluator, childNode, causes);
    }
  }
}

/** Runs every rule in the schema over `value` (and `old` on update); returns the failures. */
export function validateCel(
  path: string,
  schema: Schema,
  value: unknown,
  old?: { value: unknown },
): StatusCause[] {
  const causes: StatusCause[] = [];
  walk(new Evaluator(), { path, schema, value, old }, causes);
  return causes;
}

/** Compile errors of every rule in a schema, as the CRD's own validation reports them. */
export function celCompileErrors(schema: Schema, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  (schema["x-kubernetes-validations"] ?? []).forEach((rule, i) => {
    const rulePath = `${path}.x-kubernetes-validations[${i}]`;
    try {
      compileRule(rule);
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      causes.push(
        invalidValue(
          `${rulePath}.rule`,
          rule.rule,
          `compilation failed: ERROR: <input>: ${error.message}`,
        ),
      );
    }
  });
  for (const [key, child] of Object.entries(schema.properties ?? {})) {
    causes.push(...celCompileErrors(child, `${path}.properties[${key}]`));
  }
  if (schema.items !== undefined) causes.push(...celCompileErrors(schema.items, `${path}.items`));
  const values = schema.additionalProperties;
  if (typeof values === "object")
    causes.push(...celCompileErrors(values, `${path}.additionalProperties`));
  return causes;
}
