/**
 * x-kubernetes-validations on custom resources, as the apiserver runs them
 * (staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel/validation.go: Validate,
 * validateExpressions, fieldErrorForReason, ruleMessageOrDefault; schema/cel/model for how
 * schema types map to CEL types): each rule sees `self` (the node it sits on, typed by the
 * schema: integer -> int, number -> double, string format date-time/date -> timestamp, duration
 * -> duration) and, for transition rules, `oldSelf`, evaluated only on update where the old value
 * can be correlated (object properties, map values, list-type=map items by key).
 *
 * The CEL language itself is @marcbachmann/cel-js; this module adds what Kubernetes puts on top
 * (staging/src/k8s.io/apiserver/pkg/cel/environment/base.go): the Kubernetes list library
 * (library/lists.go), the string extensions cel-js lacks (cel-go ext/strings.go), heterogeneous
 * numeric equality (cel-go's runtime default) and cel-go's wording of compile errors.
 */
import {
  type ASTNode,
  Environment,
  EvaluationError,
  Optional,
  ParseError,
  type ParseResult,
  TypeError as CelTypeError,
} from "@marcbachmann/cel-js";
import type { StatusCause } from "../errors.ts";
import { duplicate, forbidden, invalidValue, required } from "./field.ts";
import { childPath, isPlainObject, mapValues, type Schema, type ValidationRule } from "./schema.ts";

/** A CEL compile or evaluation error, worded as cel-go words it. */
export class CelError extends Error {
  /** 1-based line and column of a compile error, and the source line, when known. */
  readonly location: { line: number; column: number; source: string } | undefined;
  constructor(message: string, location?: CelError["location"]) {
    super(message);
    this.name = "CelError";
    this.location = location;
  }
}

/** A compiled (parsed and type-checked) expression and the type the checker inferred for it. */
export interface Program {
  readonly expression: string;
  readonly run: ParseResult;
  readonly type: string;
  readonly env: Environment;
}

/** The part of cel-js' Duration (not exported by the package) the list library needs. */
interface CelDuration {
  addDuration(other: CelDuration): CelDuration;
}

type Ordered = bigint | number | string | boolean | Date;

function compareOrdered(a: Ordered, b: Ordered): number {
  if (a instanceof Date || b instanceof Date) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

function extreme(list: Ordered[], sign: 1 | -1, name: string): Ordered {
  const [first, ...rest] = list;
  if (first === undefined) throw new Error(`${name} called on empty list`);
  return rest.reduce((best, v) => (compareOrdered(v, best) * sign > 0 ? v : best), first);
}

/** CEL equality for the list library's indexOf: numbers across int/double, lists and maps deeply. */
function celEquals(a: unknown, b: unknown): boolean {
  if ((typeof a === "bigint" || typeof a === "number") && typeof b !== typeof a)
    return (typeof b === "bigint" || typeof b === "number") && Number(a) === Number(b);
  if (Array.isArray(a))
    return Array.isArray(b) && a.length === b.length && a.every((v, i) => celEquals(v, b[i]));
  if (a instanceof Date) return b instanceof Date && a.getTime() === b.getTime();
  if (isPlainObject(a)) {
    if (!isPlainObject(b)) return false;
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every(k => Object.hasOwn(b, k) && celEquals(a[k], b[k]))
    );
  }
  return a === b;
}

/** CEL strings index by code point (cel-go ext/strings.go), not by UTF-16 unit. */
function codePoints(s: string): string[] {
  return Array.from(s);
}

/** lists.go comparableTypes, by cel-js' type names. */
const COMPARABLE = [
  "int",
  "uint",
  "double",
  "bool",
  "string",
  "google.protobuf.Duration",
  "google.protobuf.Timestamp",
] as const;

/**
 * The environment every rule compiles in: cel-js' standard library plus what Kubernetes'
 * base environment adds (environment/base.go: library.Lists, ext.Strings v2, optional types,
 * cross-type numeric comparisons; cel-js already orders int/uint/double across types, and
 * cel-go's runtime compares numbers across types for equality too).
 */
function baseEnvironment(): Environment {
  const env = new Environment({ enableOptionalTypes: true });
  for (const [left, right] of [
    ["int", "double"],
    ["int", "uint"],
    ["uint", "double"],
  ] as const) {
    // Registering == also registers != and the mirrored operand order.
    env.registerOperator(`${left} == ${right}`, (a, b) => Number(a) === Number(b));
  }
  // k8s.io/apiserver/pkg/cel/library/lists.go
  env.registerFunction("list<A>.isSorted(): bool", (list: Ordered[]) =>
    list.every((v, i) => i === 0 || compareOrdered(list[i - 1] as Ordered, v) <= 0),
  );
  env.registerFunction("list<int>.sum(): int", (list: bigint[]) =>
    list.reduce((a, b) => a + b, 0n),
  );
  env.registerFunction("list<double>.sum(): double", (list: number[]) =>
    list.reduce((a, b) => a + b, 0),
  );
  env.registerFunction(
    "list<google.protobuf.Duration>.sum(): google.protobuf.Duration",
    (list: CelDuration[]) => list.reduce((a, b) => a.addDuration(b), zeroDuration()),
  );
  // lists.go declares min and max once per comparable type (a generic `A` return type also
  // trips cel-js' checker once cross-type == overloads exist).
  for (const type of COMPARABLE) {
    env.registerFunction(`list<${type}>.min(): ${type}`, (list: Ordered[]) =>
      extreme(list, -1, "min"),
    );
    env.registerFunction(`list<${type}>.max(): ${type}`, (list: Ordered[]) =>
      extreme(list, 1, "max"),
    );
  }
  env.registerFunction("list<A>.indexOf(A): int", (list: unknown[], v: unknown) =>
    BigInt(list.findIndex(x => celEquals(x, v))),
  );
  env.registerFunction("list<A>.lastIndexOf(A): int", (list: unknown[], v: unknown) =>
    BigInt(list.findLastIndex(x => celEquals(x, v))),
  );
  // cel-go ext/strings.go (version 2) functions cel-js does not have.
  env.registerFunction("string.charAt(int): string", (s: string, i: bigint) => {
    const chars = codePoints(s);
    if (i < 0n || i > BigInt(chars.length)) throw new Error(`index out of range: ${String(i)}`);
    return chars[Number(i)] ?? "";
  });
  env.registerFunction(
    "string.replace(string, string): string",
    (s: string, a: string, b: string) => s.replaceAll(a, b),
  );
  env.registerFunction("string.reverse(): string", (s: string) => codePoints(s).reverse().join(""));
  return env;
}

const environments = new Map<string, Environment>();
let base: Environment | undefined;

function environmentFor(variables: readonly string[]): Environment {
  const key = [...variables].sort().join(",");
  let env = environments.get(key);
  if (env === undefined) {
    base ??= baseEnvironment();
    env = base.clone();
    for (const name of variables) env.registerVariable(name, "dyn");
    environments.set(key, env);
  }
  return env;
}

function functionNames(env: Environment): Set<string> {
  return new Set(env.getDefinitions().functions.map(f => f.name));
}

const macros = new Set(["has", "all", "exists", "exists_one", "map", "filter"]);

function locate(expression: string, offset: number | undefined): CelError["location"] {
  if (offset === undefined) return undefined;
  const before = expression.slice(0, offset).split("\n");
  const line = before.length;
  return {
    line,
    column: (before[line - 1] ?? "").length + 1,
    source: expression.split("\n")[line - 1] ?? "",
  };
}

/** cel-go's wording (checker/errors.go, parser/errors.go) for what cel-js reports. */
function celGoMessage(
  error: ParseError | CelTypeError | EvaluationError,
  env: Environment,
): string {
  const summary = error.summary;
  if (error instanceof ParseError) return `Syntax error: ${summary}`;
  switch (error.code) {
    case "unknown_variable":
      return summary.replace(
        /^Unknown variable: (.*)$/,
        "undeclared reference to '$1' (in container '')",
      );
    case "invalid_macro_argument":
      return summary.replace(/^(\w+)\(\) invalid argument$/, "invalid argument to $1() macro");
    case "no_such_key":
      return summary.replace(/^No such key/, "no such key");
    case "no_matching_overload": {
      const name = /^found no matching overload for '(?:[\w<>, .]+\.)?(\w+)\(/.exec(summary)?.[1];
      if (name !== undefined && !macros.has(name) && !functionNames(env).has(name))
        return `undeclared reference to '${name}' (in container '')`;
      return summary;
    }
    default:
      return summary;
  }
}

/** A CelError for what cel-js threw; compile errors carry their place, as cel-go's issues do. */
function toCelError(error: unknown, expression: string | undefined, env: Environment): unknown {
  if (
    error instanceof ParseError ||
    error instanceof CelTypeError ||
    error instanceof EvaluationError
  ) {
    const where = expression === undefined ? undefined : locate(expression, error.range?.start);
    return new CelError(celGoMessage(error, env), where);
  }
  return error;
}

/**
 * Parses and type-checks an expression with the given variables declared (as dyn: the schema
 * types are applied to the values when they are bound); throws CelError.
 */
export function compile(expression: string, variables: readonly string[]): Program {
  const env = environmentFor(variables);
  try {
    const run = env.parse(expression);
    const checked = run.check();
    if (!checked.valid) throw checked.error ?? new CelError("invalid expression");
    return { expression, run, type: checked.type ?? "dyn", env };
  } catch (error) {
    throw toCelError(error, expression, env);
  }
}

/** Evaluates a compiled expression; throws CelError for CEL errors. */
export function evaluate(program: Program, bindings: Record<string, unknown>): unknown {
  try {
    return program.run(bindings) as unknown;
  } catch (error) {
    // A function of the Kubernetes libraries above fails with a plain Error.
    if (error instanceof Error && error.constructor === Error) throw new CelError(error.message);
    throw toCelError(error, undefined, program.env);
  }
}

/** Whether an expression references `oldSelf` (a transition rule, validation.go). */
export function usesOldSelf(program: Program): boolean {
  const visit = (value: unknown): boolean => {
    if (Array.isArray(value)) return value.some(visit);
    if (typeof value !== "object" || value === null || !("op" in value)) return false;
    const node = value as ASTNode;
    if (node.op === "id") return node.args === "oldSelf";
    return visit(node.args);
  };
  return visit(program.run.ast);
}

interface CompiledRule {
  rule: ValidationRule;
  program: Program;
  message?: Program;
  transition: boolean;
}

/** What compiling a rule found wrong, as compile.go's CompilationResult details them. */
interface RuleProblems {
  rule?: string;
  messageExpression?: string;
}

const cache = new WeakMap<ValidationRule, CompiledRule | RuleProblems>();
const VARIABLES = ["self", "oldSelf"] as const;

/** cel-go's issue text: `ERROR: <input>:1:1: message`, then the source line and a caret. */
function issueText(error: CelError): string {
  const where = error.location;
  if (where === undefined) return `ERROR: <input>: ${error.message}`;
  const caret = `${".".repeat(where.column - 1)}^`;
  return `ERROR: <input>:${where.line}:${where.column}: ${error.message}\n | ${where.source}\n | ${caret}`;
}

function compileChecked(
  expression: string,
  type: "bool" | "string",
  prefix: string,
): Program | string {
  try {
    const program = compile(expression, VARIABLES);
    if (program.type === type || program.type === "dyn") return program;
    return type === "bool"
      ? "cel expression must evaluate to a bool"
      : "messageExpression must evaluate to a string";
  } catch (error) {
    if (!(error instanceof CelError)) throw error;
    return `${prefix}compilation failed: ${issueText(error)}`;
  }
}

/**
 * Compiles a rule and its messageExpression (cached per rule object), as compile.go
 * (compileRule) does: the rule must be a bool, the messageExpression a string.
 */
function compileRuleOrProblems(rule: ValidationRule): CompiledRule | RuleProblems {
  const cached = cache.get(rule);
  if (cached !== undefined) return cached;
  const program = compileChecked(rule.rule, "bool", "");
  const message =
    rule.messageExpression === undefined
      ? undefined
      : compileChecked(rule.messageExpression, "string", "messageExpression ");
  let result: CompiledRule | RuleProblems;
  if (typeof program === "string" || typeof message === "string") {
    result = {};
    if (typeof program === "string") result.rule = program;
    if (typeof message === "string") result.messageExpression = message;
  } else {
    result = { rule, program, transition: usesOldSelf(program) };
    if (message !== undefined) result.message = message;
  }
  cache.set(rule, result);
  return result;
}

/** Compiles a rule (cached per rule object); throws CelError with the compile error. */
export function compileRule(rule: ValidationRule): CompiledRule {
  const result = compileRuleOrProblems(rule);
  if ("program" in result) return result;
  throw new CelError(result.rule ?? result.messageExpression ?? "compilation failed");
}

let durationProgram: ParseResult | undefined;

/** A cel-js Duration from a Go duration string (the package exports no constructor for it). */
function duration(text: string): unknown {
  durationProgram ??= environmentFor(["s"]).parse("duration(s)");
  return durationProgram({ s: text });
}

function zeroDuration(): CelDuration {
  return duration("0s") as CelDuration;
}

/**
 * The JSON value as the CEL type the schema declares (schema/cel/values.go, UnstructuredToVal):
 * integers are int (BigInt) where the schema says integer or int-or-string, or says nothing
 * (preserved unknown fields decode JSON integers as int64); everything else numeric is double.
 */
export function toCel(value: unknown, schema: Schema | undefined): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "number") {
    const integral =
      schema === undefined ||
      schema.type === "integer" ||
      schema["x-kubernetes-int-or-string"] === true ||
      (schema.type === undefined && schema["x-kubernetes-preserve-unknown-fields"] === true);
    return integral && Number.isSafeInteger(value) ? BigInt(value) : value;
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
  if (schema?.format === "date-time" || schema?.format === "date") {
    const ms = Date.parse(value);
    return Number.isNaN(ms) ? value : new Date(ms);
  }
  if (schema?.format === "duration") {
    try {
      return duration(value);
    } catch {
      return value;
    }
  }
  return value;
}

/** The rule text, trimmed. */
function ruleText(rule: ValidationRule): string {
  return rule.rule.trim();
}

/** ruleErrorString (validation.go): the rule's message when it has one, else its text. */
function ruleErrorString(rule: ValidationRule): string {
  const message = rule.message?.trim() ?? "";
  return message === "" ? ruleText(rule) : message;
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

interface SchemaNode {
  path: string;
  schema: Schema;
  value: unknown;
  old: { value: unknown } | undefined;
}

function message(compiled: CompiledRule, env: Record<string, unknown>): string {
  if (compiled.message !== undefined) {
    try {
      const text = evaluate(compiled.message, env);
      if (typeof text === "string" && text.trim() !== "" && !text.includes("\n")) return text;
    } catch {
      // An erroring messageExpression falls back to message (validation.go).
    }
  }
  return compiled.rule.message ?? `failed rule: ${ruleText(compiled.rule)}`;
}

function runRules(node: SchemaNode, causes: StatusCause[]): void {
  for (const rule of node.schema["x-kubernetes-validations"] ?? []) {
    const compiled = compileRule(rule);
    const optionalOld = compiled.transition && rule.optionalOldSelf === true;
    if (compiled.transition && node.old === undefined && !optionalOld) continue;
    const env: Record<string, unknown> = { self: toCel(node.value, node.schema) };
    const old = node.old === undefined ? undefined : toCel(node.old.value, node.schema);
    // optionalOldSelf: the rule runs on create too, with oldSelf an optional (validation.go).
    if (optionalOld) env["oldSelf"] = node.old === undefined ? Optional.none() : Optional.of(old);
    else if (node.old !== undefined) env["oldSelf"] = old;
    const path = errorPath(node.path, rule.fieldPath);
    try {
      const result = evaluate(compiled.program, env);
      if (result === true) continue;
      if (result !== false) throw new CelError(`rule did not evaluate to a bool`);
      causes.push(fieldError(path, node.schema, message(compiled, env), rule.reason));
    } catch (error) {
      if (!(error instanceof CelError)) throw error;
      causes.push(
        // "no such key: x", "division by zero", ...: as validation.go words a runtime error.
        invalidValue(
          node.path,
          node.schema.type ?? "",
          `${error.message} evaluating rule: ${ruleErrorString(rule)}`,
        ),
      );
    }
  }
}

function oldChild(old: SchemaNode["old"], key: string): SchemaNode["old"] {
  if (old === undefined || !isPlainObject(old.value) || !Object.hasOwn(old.value, key))
    return undefined;
  return { value: old.value[key] };
}

function oldListItem(node: SchemaNode, item: unknown): SchemaNode["old"] {
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

function walk(node: SchemaNode, causes: StatusCause[]): void {
  if (node.value === null || node.value === undefined) return;
  runRules(node, causes);
  const { schema, value, path } = node;
  if (Array.isArray(value) && schema.items !== undefined) {
    const items = schema.items;
    value.forEach((item, i) => {
      walk(
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
      walk(childNode, causes);
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
  walk({ path, schema, value, old }, causes);
  return causes;
}

/** Compile errors of every rule in a schema, as the CRD's own validation reports them. */
export function celCompileErrors(schema: Schema, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  (schema["x-kubernetes-validations"] ?? []).forEach((rule, i) => {
    const rulePath = `${path}.x-kubernetes-validations[${i}]`;
    const result = compileRuleOrProblems(rule);
    if ("program" in result) return;
    if (result.rule !== undefined)
      causes.push(invalidValue(`${rulePath}.rule`, rule.rule, result.rule));
    if (result.messageExpression !== undefined) {
      const value = rule.messageExpression;
      causes.push(invalidValue(`${rulePath}.messageExpression`, value, result.messageExpression));
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

/**
 * The CEL rules of each node that has a default, run on that default as written (nested defaults
 * are not applied to it first), as the CRD's validation of defaults does (defaulting/validation.go).
 */
export function defaultCelErrors(schema: Schema, path: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (schema.default !== undefined)
    causes.push(...validateCel(`${path}.default`, schema, schema.default));
  for (const [key, child] of Object.entries(schema.properties ?? {}))
    causes.push(...defaultCelErrors(child, `${path}.properties[${key}]`));
  if (schema.items !== undefined) causes.push(...defaultCelErrors(schema.items, `${path}.items`));
  const values = schema.additionalProperties;
  if (typeof values === "object")
    causes.push(...defaultCelErrors(values, `${path}.additionalProperties`));
  return causes;
}
