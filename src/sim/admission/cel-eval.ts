/**
 * Evaluates parsed CEL (cel-parse.ts) with CEL's semantics: int (bigint) and double kept apart
 * for arithmetic, heterogeneous numeric comparison, errors for missing keys and bad overloads,
 * commutative short-circuit && and || (an error on one side is absorbed by a decisive other
 * side), and the macros. Values: bigint, number, string, boolean, null, arrays, plain objects
 * (maps and objects), Duration, Timestamp.
 */
import { CelError, type Node } from "./cel-parse.ts";

export class Duration {
  /** Nanoseconds. */
  readonly ns: bigint;
  constructor(ns: bigint) {
    this.ns = ns;
  }
}

export class Timestamp {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
  }
}

export type Env = Record<string, unknown>;

function isMap(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === "object" &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Duration) &&
    !(value instanceof Timestamp)
  );
}

function typeName(value: unknown): string {
  if (value === null) return "null_type";
  if (typeof value === "bigint") return "int";
  if (typeof value === "number") return "double";
  if (typeof value === "string") return "string";
  if (typeof value === "boolean") return "bool";
  if (Array.isArray(value)) return "list";
  if (value instanceof Duration) return "google.protobuf.Duration";
  if (value instanceof Timestamp) return "google.protobuf.Timestamp";
  return "map";
}

function noOverload(name: string, ...args: unknown[]): CelError {
  return new CelError(`no such overload: ${name}(${args.map(typeName).join(", ")})`);
}

export function celEquals(a: unknown, b: unknown): boolean {
  if (
    (typeof a === "bigint" || typeof a === "number") &&
    (typeof b === "bigint" || typeof b === "number")
  ) {
    return Number(a) === Number(b);
  }
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => celEquals(x, b[i]));
  if (a instanceof Duration && b instanceof Duration) return a.ns === b.ns;
  if (a instanceof Timestamp && b instanceof Timestamp) return a.ms === b.ms;
  if (isMap(a) && isMap(b)) {
    const keys = Object.keys(a);
    return (
      keys.length === Object.keys(b).length &&
      keys.every(k => Object.hasOwn(b, k) && celEquals(a[k], b[k]))
    );
  }
  return a === b;
}

function compare(a: unknown, b: unknown): number {
  if (
    (typeof a === "bigint" || typeof a === "number") &&
    (typeof b === "bigint" || typeof b === "number")
  ) {
    return typeof a === "bigint" && typeof b === "bigint" ? Number(a - b) : Number(a) - Number(b);
  }
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "boolean" && typeof b === "boolean") return Number(a) - Number(b);
  if (a instanceof Duration && b instanceof Duration) return Number(a.ns - b.ns);
  if (a instanceof Timestamp && b instanceof Timestamp) return a.ms - b.ms;
  throw noOverload("_<_", a, b);
}

function intArithmetic(op: string, a: bigint, b: bigint): bigint {
  if ((op === "/" || op === "%") && b === 0n) {
    throw new CelError(op === "/" ? "division by zero" : "modulus by zero");
  }
  const result =
    op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : op === "/" ? a / b : a % b;
  if (result > 2n ** 63n - 1n || result < -(2n ** 63n)) throw new CelError("integer overflow");
  return result;
}

function temporalArithmetic(op: string, a: unknown, b: unknown): unknown {
  if (a instanceof Duration && b instanceof Duration && (op === "+" || op === "-")) {
    return new Duration(op === "+" ? a.ns + b.ns : a.ns - b.ns);
  }
  if (a instanceof Timestamp && b instanceof Duration && (op === "+" || op === "-")) {
    const ms = Number(b.ns / 1_000_000n);
    return new Timestamp(op === "+" ? a.ms + ms : a.ms - ms);
  }
  if (a instanceof Timestamp && b instanceof Timestamp && op === "-") {
    return new Duration(BigInt(a.ms - b.ms) * 1_000_000n);
  }
  throw noOverload(`_${op}_`, a, b);
}

function arithmetic(op: string, a: unknown, b: unknown): unknown {
  if (typeof a === "bigint" && typeof b === "bigint") return intArithmetic(op, a, b);
  if (typeof a === "number" && typeof b === "number" && op !== "%") {
    return op === "+" ? a + b : op === "-" ? a - b : op === "*" ? a * b : a / b;
  }
  if (op === "+" && typeof a === "string" && typeof b === "string") return a + b;
  if (op === "+" && Array.isArray(a) && Array.isArray(b)) {
    return (a as unknown[]).concat(b as unknown[]);
  }
  return temporalArithmetic(op, a, b);
}

function contains(container: unknown, item: unknown): boolean {
  if (Array.isArray(container)) return container.some(x => celEquals(x, item));
  if (isMap(container)) return typeof item === "string" && Object.hasOwn(container, item);
  throw noOverload("@in", item, container);
}

const durationUnits: Record<string, bigint> = {
  h: 3_600_000_000_000n,
  m: 60_000_000_000n,
  s: 1_000_000_000n,
  ms: 1_000_000n,
  us: 1_000n,
  µs: 1_000n,
  ns: 1n,
};

export function parseDuration(text: string): Duration {
  const match = /^(-?)((?:\d+(?:\.\d+)?(?:h|ms|m|s|us|µs|ns))+)$/.exec(text);
  if (match === null) throw new CelError(`invalid duration: ${JSON.stringify(text)}`);
  let ns = 0n;
  for (const part of (match[2] ?? "").matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) {
    const unit = durationUnits[part[2] ?? "s"] ?? 1n;
    ns += BigInt(Math.round(Number(part[1]) * Number(unit)));
  }
  return new Duration(match[1] === "-" ? -ns : ns);
}

function parseTimestamp(text: string): Timestamp {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text)) {
    throw new CelError(`invalid timestamp: ${JSON.stringify(text)}`);
  }
  return new Timestamp(Date.parse(text));
}

function formatDuration(d: Duration): string {
  const seconds = Number(d.ns) / 1e9;
  return `${seconds}s`;
}

function toStringValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "boolean") return String(value);
  if (typeof value === "number") return Number.isInteger(value) ? `${value}` : String(value);
  if (value instanceof Duration) return formatDuration(value);
  if (value instanceof Timestamp) return new Date(value.ms).toISOString().replace(".000Z", "Z");
  throw noOverload("string", value);
}

function toInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new CelError("double out of range for int conversion");
    return BigInt(Math.trunc(value));
  }
  if (typeof value === "string") {
    if (!/^[+-]?\d+$/.test(value))
      throw new CelError(`cannot convert ${JSON.stringify(value)} to int`);
    return BigInt(value);
  }
  if (value instanceof Timestamp) return BigInt(Math.floor(value.ms / 1000));
  throw noOverload("int", value);
}

function size(value: unknown): bigint {
  if (typeof value === "string") return BigInt(Array.from(value).length);
  if (Array.isArray(value)) return BigInt(value.length);
  if (isMap(value)) return BigInt(Object.keys(value).length);
  throw noOverload("size", value);
}

function str(value: unknown, name: string): string {
  if (typeof value !== "string") throw noOverload(name, value);
  return value;
}

function list(value: unknown, name: string): unknown[] {
  if (!Array.isArray(value)) throw noOverload(name, value);
  return value;
}

function numbers(value: unknown, name: string): (bigint | number)[] {
  return list(value, name).map(x => {
    if (typeof x !== "bigint" && typeof x !== "number") throw noOverload(name, value);
    return x;
  });
}

type Fn = (target: unknown, args: unknown[]) => unknown;

const methods: Record<string, Fn> = {
  size: t => size(t),
  matches: (t, [re]) => new RegExp(str(re, "matches")).test(str(t, "matches")),
  startsWith: (t, [p]) => str(t, "startsWith").startsWith(str(p, "startsWith")),
  endsWith: (t, [p]) => str(t, "endsWith").endsWith(str(p, "endsWith")),
  contains: (t, [p]) => str(t, "contains").includes(str(p, "contains")),
  lowerAscii: t => str(t, "lowerAscii").replace(/[A-Z]/g, c => c.toLowerCase()),
  upperAscii: t => str(t, "upperAscii").replace(/[a-z]/g, c => c.toUpperCase()),
  trim: t => str(t, "trim").trim(),
  split: (t, [sep]) => str(t, "split").split(str(sep, "split")),
  join: (t, [sep]) =>
    list(t, "join")
      .map(x => str(x, "join"))
      .join(sep === undefined ? "" : str(sep, "join")),
  indexOf: (t, [p]) => BigInt(str(t, "indexOf").indexOf(str(p, "indexOf"))),
  lastIndexOf: (t, [p]) => BigInt(str(t, "lastIndexOf").lastIndexOf(str(p, "lastIndexOf"))),
  replace: (t, [a, b]) => str(t, "replace").split(str(a, "replace")).join(str(b, "replace")),
  substring: (t, [a, b]) =>
    str(t, "substring").slice(Number(toInt(a)), b === undefined ? undefined : Number(toInt(b))),
  isSorted: t => list(t, "isSorted").every((x, i, all) => i === 0 || compare(all[i - 1], x) <= 0),
  sum: t =>
    numbers(t, "sum").reduce<bigint | number>(
      (acc, x) => arithmetic("+", acc, x) as bigint | number,
      0n,
    ),
  min: t => numbers(t, "min").reduce((a, b) => (compare(a, b) <= 0 ? a : b)),
  max: t => numbers(t, "max").reduce((a, b) => (compare(a, b) >= 0 ? a : b)),
  getHours: t => timestampPart(t, d => d.getUTCHours()),
  getMinutes: t => timestampPart(t, d => d.getUTCMinutes()),
  getSeconds: t => timestampPart(t, d => d.getUTCSeconds()),
  getFullYear: t => timestampPart(t, d => d.getUTCFullYear()),
  getMonth: t => timestampPart(t, d => d.getUTCMonth()),
  getDayOfMonth: t => timestampPart(t, d => d.getUTCDate() - 1),
  getDayOfWeek: t => timestampPart(t, d => d.getUTCDay()),
};

function timestampPart(target: unknown, part: (d: Date) => number): bigint {
  if (target instanceof Duration) {
    return target.ns / 1_000_000_000n;
  }
  if (!(target instanceof Timestamp)) throw noOverload("getPart", target);
  return BigInt(part(new Date(target.ms)));
}

const globals: Record<string, (args: unknown[]) => unknown> = {
  size: ([x]) => size(x),
  int: ([x]) => toInt(x),
  uint: ([x]) => toInt(x),
  double: ([x]) => {
    if (typeof x === "bigint" || typeof x === "number") return Number(x);
    if (typeof x === "string" && x.trim() !== "" && !Number.isNaN(Number(x))) return Number(x);
    throw noOverload("double", x);
  },
  string: ([x]) => toStringValue(x),
  bool: ([x]) => {
    if (typeof x === "boolean") return x;
    if (x === "true" || x === "false") return x === "true";
    throw noOverload("bool", x);
  },
  duration: ([x]) => (x instanceof Duration ? x : parseDuration(str(x, "duration"))),
  timestamp: ([x]) => (x instanceof Timestamp ? x : parseTimestamp(str(x, "timestamp"))),
  dyn: ([x]) => x,
  type: ([x]) => typeName(x),
};

function rethrow(error: unknown): never {
  if (error instanceof Error) throw error;
  throw new CelError(String(error));
}

export class Evaluator {
  eval(node: Node, env: Env): unknown {
    switch (node.kind) {
      case "lit":
        return node.value;
      case "ident":
        if (!Object.hasOwn(env, node.name))
          throw new CelError(`undeclared reference to '${node.name}'`);
        return env[node.name];
      case "select":
        return this.select(this.eval(node.target, env), node.field);
      case "index":
        return this.index(this.eval(node.target, env), this.eval(node.index, env));
      case "unary":
        return this.unary(node.op, this.eval(node.operand, env));
      case "binary":
        return this.binary(node, env);
      case "cond": {
        const test = this.eval(node.test, env);
        if (typeof test !== "boolean") throw noOverload("_?_:_", test);
        return this.eval(test ? node.then : node.else, env);
      }
      case "list":
        return node.items.map(item => this.eval(item, env));
      case "map":
        return Object.fromEntries(
          node.entries.map(([k, v]) => [String(this.eval(k, env)), this.eval(v, env)]),
        );
      case "call":
        return this.call(node, env);
    }
  }

  private select(target: unknown, field: string): unknown {
    if (!isMap(target)) throw new CelError(`no such key: ${field}`);
    if (!Object.hasOwn(target, field)) throw new CelError(`no such key: ${field}`);
    return target[field];
  }

  private index(target: unknown, key: unknown): unknown {
    if (Array.isArray(target)) {
      if (typeof key !== "bigint" && !(typeof key === "number" && Number.isInteger(key)))
        throw noOverload("_[_]", target, key);
      const i = Number(key);
      if (i < 0 || i >= target.length) throw new CelError(`index out of bounds: ${i}`);
      return target[i];
    }
    if (isMap(target) && typeof key === "string") {
      if (!Object.hasOwn(target, key)) throw new CelError(`no such key: ${key}`);
      return target[key];
    }
    throw noOverload("_[_]", target, key);
  }

  private unary(op: "!" | "-", value: unknown): unknown {
    if (op === "!") {
      if (typeof value !== "boolean") throw noOverload("!_", value);
      return !value;
    }
    if (typeof value === "bigint") return -value;
    if (typeof value === "number") return -value;
    if (value instanceof Duration) return new Duration(-value.ns);
    throw noOverload("-_", value);
  }

  /** && and || are commutative in CEL: an error on one side loses to a decisive value on the other. */
  private logical(op: "&&" | "||", left: Node, right: Node, env: Env): boolean {
    const decisive = op === "||";
    let firstError: unknown;
    for (const side of [left, right]) {
      try {
        const value = this.eval(side, env);
        if (typeof value !== "boolean") throw noOverload(`_${op}_`, value);
        if (value === decisive) return decisive;
      } catch (error) {
        firstError ??= error;
      }
    }
    if (firstError !== undefined) rethrow(firstError);
    return !decisive;
  }

  private binary(node: Extract<Node, { kind: "binary" }>, env: Env): unknown {
    const { op } = node;
    if (op === "&&" || op === "||") return this.logical(op, node.left, node.right, env);
    const left = this.eval(node.left, env);
    const right = this.eval(node.right, env);
    switch (op) {
      case "==":
        return celEquals(left, right);
      case "!=":
        return !celEquals(left, right);
      case "<":
        return compare(left, right) < 0;
      case "<=":
        return compare(left, right) <= 0;
      case ">":
        return compare(left, right) > 0;
      case ">=":
        return compare(left, right) >= 0;
      case "in":
        return contains(right, left);
      default:
        return arithmetic(op, left, right);
    }
  }

  private call(node: Extract<Node, { kind: "call" }>, env: Env): unknown {
    if (node.name === "has") return this.has(node, env);
    if (
      node.target !== undefined &&
      ["all", "exists", "exists_one", "map", "filter"].includes(node.name)
    ) {
      return this.macro(node, env);
    }
    const args = node.args.map(arg => this.eval(arg, env));
    if (node.target !== undefined) {
      const method = methods[node.name];
      if (method === undefined) throw new CelError(`undeclared reference to '${node.name}'`);
      return method(this.eval(node.target, env), args);
    }
    const fn = globals[node.name];
    if (fn === undefined) throw new CelError(`undeclared reference to '${node.name}'`);
    return fn(args);
  }

  private has(node: Extract<Node, { kind: "call" }>, env: Env): boolean {
    const arg = node.args[0];
    if (arg?.kind !== "select") throw new CelError("invalid argument to has() macro");
    const target = this.eval(arg.target, env);
    if (!isMap(target)) throw noOverload("has", target);
    return Object.hasOwn(target, arg.field);
  }

  private macro(node: Extract<Node, { kind: "call" }>, env: Env): unknown {
    const range = this.eval(node.target as Node, env);
    const items = Array.isArray(range) ? range : isMap(range) ? Object.keys(range) : undefined;
    if (items === undefined) throw noOverload(node.name, range);
    const variable = node.args[0];
    const name = variable?.kind === "ident" ? variable.name : "";
    const run = (arg: Node | undefined, item: unknown): unknown =>
      this.eval(arg as Node, { ...env, [name]: item });
    const predicate = (item: unknown): boolean => {
      const value = run(node.args[1], item);
      if (typeof value !== "boolean") throw noOverload(node.name, value);
      return value;
    };
    switch (node.name) {
      case "all":
        return this.quantified(items, predicate, false);
      case "exists":
        return this.quantified(items, predicate, true);
      case "exists_one":
        return items.filter(predicate).length === 1;
      case "filter":
        return items.filter(predicate);
      default:
        return node.args.length === 3
          ? items.filter(predicate).map(item => run(node.args[2], item))
          : items.map(item => run(node.args[1], item));
    }
  }

  /** all/exists with CEL's error absorption: a decisive element wins over an erroring one. */
  private quantified(
    items: unknown[],
    predicate: (item: unknown) => boolean,
    decisive: boolean,
  ): boolean {
    let firstError: unknown;
    for (const item of items) {
      try {
        if (predicate(item) === decisive) return decisive;
      } catch (error) {
        firstError ??= error;
      }
    }
    if (firstError !== undefined) rethrow(firstError);
    return !decisive;
  }
}
