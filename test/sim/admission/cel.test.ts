/**
 * The CEL subset our CRDs use, evaluated per the CEL language definition
 * (github.com/google/cel-spec doc/langdef.md: int/double arithmetic, heterogeneous numeric
 * equality, commutative && and ||, macros has/all/exists/exists_one/map/filter, string functions,
 * duration/timestamp) and the Kubernetes CEL library's list functions (isSorted, sum, min, max).
 */
import { describe, expect, it } from "vitest";
import {
  CelError,
  celCompileErrors,
  compile,
  evaluate,
  validateCel,
} from "../../../src/sim/admission/cel.ts";
import type { Schema, ValidationRule } from "../../../src/sim/admission/schema.ts";

const run = (rule: string, self: unknown = {}) =>
  evaluate(compile(rule, ["self", "oldSelf"]), { self });

describe("CEL evaluation", () => {
  it.each([
    ["1 + 2 * 3 == 7", true],
    ["7 / 2 == 3 && 7 % 2 == 1", true],
    ["1 == 1.0", true],
    ["'ab' + 'c' == 'abc'", true],
    ["size('héllo') == 5", true],
    ["'kube-x'.startsWith('kube-') && 'a.b'.endsWith('.b') && 'abc'.contains('b')", true],
    ["'abc123'.matches('^[a-z]+[0-9]+$')", true],
    ["!('default' in ['default', 'kube-system'])", false],
    ["[1, 2, 3].all(x, x > 0) && [1, 2].exists(x, x == 2) && [1, 1].exists_one(x, x == 1)", false],
    ["[1, 2, 3].map(x, x * 2) == [2, 4, 6] && [1, 2, 3].filter(x, x > 1) == [2, 3]", true],
    ["{'a': 1}.all(k, k == 'a') && 'a' in {'a': 1}", true],
    ["true ? 'y' : 'n'", "y"],
    ["int('42') + 1 == 43 && string(5) == '5' && double(1) == 1.0", true],
    [
      "duration('1h30m') > duration('90s') && timestamp('2026-01-02T00:00:00Z') < timestamp('2026-01-03T00:00:00Z')",
      true,
    ],
    [
      "timestamp('2026-01-02T00:00:00Z') + duration('24h') == timestamp('2026-01-03T00:00:00Z')",
      true,
    ],
    ["[1, 2, 3].isSorted() && [1, 2, 3].sum() == 6 && [3, 1].min() == 1", true],
    ["'a,b'.split(',').join('-') == 'a-b' && 'ABC'.lowerAscii() == 'abc'", true],
    [`r'\\d' == '\\\\d' && "x" == 'x'`, true],
  ])("%s", (rule, expected) => {
    expect(run(rule)).toBe(expected);
  });

  it("selects fields, tests presence with has() and errors on missing keys", () => {
    expect(run("has(self.a) && !has(self.b) && self.a.c == 2", { a: { c: 2n } })).toBe(true);
    expect(() => run("self.b == 1", { a: 1n })).toThrow(new CelError("no such key: b"));
  });

  it("absorbs an error in || and && when the other side decides", () => {
    expect(run("!has(self.x) || self.x.y == 1", {})).toBe(true);
    expect(run("self.missing == 1 || true", {})).toBe(true);
    expect(run("self.missing == 1 && false", {})).toBe(false);
  });

  it("keeps int and double apart in arithmetic, as CEL does", () => {
    expect(() => run("1 + 1.0 == 2.0")).toThrow(/no such overload/);
    expect(() => run("1 / 0 == 0")).toThrow(/division by zero/);
  });

  it("fails to compile undeclared names, unknown functions and bad syntax", () => {
    expect(() => compile("foo.bar", ["self"])).toThrow(/undeclared reference to 'foo'/);
    expect(() => compile("self.frob()", ["self"])).toThrow(/undeclared reference to 'frob'/);
    expect(() => compile("self.a ==", ["self"])).toThrow(CelError);
    expect(() => compile("has(self)", ["self"])).toThrow(/invalid argument to has\(\) macro/);
  });
});

/**
 * What Kubernetes adds to CEL: the list library (staging/src/k8s.io/apiserver/pkg/cel/library/
 * lists.go: isSorted, sum, min, max, indexOf, lastIndexOf; cmp's "called on empty list"), the
 * ext.Strings v2 functions (cel-go ext/strings.go: charAt, replace, reverse) and cel-go's
 * runtime heterogeneous numeric equality (cel-go common/types: Int.Equal on a Double).
 */
describe("Kubernetes CEL libraries", () => {
  it.each([
    ["[1.5, 2.5].sum() == 4.0 && [2, 9, 4].max() == 9 && ['b', 'a'].min() == 'a'", true],
    ["[1, 2, 1].indexOf(1) == 0 && [1, 2, 1].lastIndexOf(1) == 2 && [1].indexOf(5) == -1", true],
    ["[[1], [2]].indexOf([2]) == 1 && ['b', 'a'].isSorted() == false", true],
    ["[duration('1m'), duration('30s')].sum() == duration('90s')", true],
    [
      "'héllo'.charAt(1) == 'é' && 'a-b-c'.replace('-', '+') == 'a+b+c' && 'abc'.reverse() == 'cba'",
      true,
    ],
  ])("%s", (rule, expected) => {
    expect(run(rule)).toBe(expected);
  });

  it("fails min and max on an empty list at run time", () => {
    expect(() => run("self.l.min() == 0", { l: [] })).toThrow(
      new CelError("min called on empty list"),
    );
  });

  it("compares an int from the object with a double", () => {
    expect(run("self.i == 2.0 && self.i < 2.5 && self.d > self.i", { i: 2n, d: 2.5 })).toBe(true);
  });
});

/**
 * Binding `self` by the schema: staging/src/k8s.io/apiextensions-apiserver/pkg/apiserver/schema/
 * cel/model/schemas.go (SchemaDeclType: integer -> int, number -> double, format date-time ->
 * timestamp, duration -> duration) and k8s.io/apiserver/pkg/cel/common/values.go
 * (UnstructuredToVal: a JSON integer under a number schema is a double).
 */
describe("validateCel binds self by the schema", () => {
  const checks: Schema = {
    type: "object",
    "x-kubernetes-validations": [
      {
        rule: "!has(self.maxRollbackSeconds) || self.maxRollbackSeconds <= self.timeoutSeconds",
        message: "maxRollbackSeconds must not exceed timeoutSeconds",
        fieldPath: ".maxRollbackSeconds",
      },
      { rule: "self.ratio == 1 && self.ratio / 2.0 == 0.5", message: "ratio" },
      { rule: "self.every > duration('1m') && self.at < timestamp('2030-01-01T00:00:00Z')" },
      { rule: "self.extra.count + 1 == 3", message: "extra" },
    ],
    properties: {
      maxRollbackSeconds: { type: "integer" },
      timeoutSeconds: { type: "integer" },
      ratio: { type: "number" },
      every: { type: "string", format: "duration" },
      at: { type: "string", format: "date-time" },
      extra: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
    },
  };
  const value = {
    maxRollbackSeconds: 300,
    timeoutSeconds: 600,
    ratio: 1,
    every: "5m",
    at: "2026-01-02T03:04:05Z",
    extra: { count: 2 },
  };

  it("accepts a value every rule holds for", () => {
    expect(validateCel("spec.checks", checks, value)).toEqual([]);
  });

  it("reports the failing rule at its fieldPath", () => {
    expect(
      validateCel("spec.checks", checks, { ...value, maxRollbackSeconds: 900 }).map(
        c => `${c.field ?? ""}: ${c.message}`,
      ),
    ).toEqual([
      'spec.checks.maxRollbackSeconds: Invalid value: "object": maxRollbackSeconds must not exceed timeoutSeconds',
    ]);
  });

  it("names a failing rule's message, not its text, when it has one", () => {
    const schema: Schema = {
      type: "object",
      "x-kubernetes-validations": [{ rule: "self.nope == 1", message: "nope must be 1" }],
    };
    expect(validateCel("spec", schema, {}).map(c => c.message)).toEqual([
      'Invalid value: "object": no such key: nope evaluating rule: nope must be 1',
    ]);
  });

  it("reports a rule that errors at run time with the rule and the error", () => {
    const schema: Schema = {
      type: "object",
      "x-kubernetes-validations": [{ rule: "self.nope == 1" }],
    };
    expect(validateCel("spec", schema, {}).map(c => `${c.field ?? ""}: ${c.message}`)).toEqual([
      // validation.go: "<error> evaluating rule: <ruleErrorString>" (the message, else the rule).
      'spec: Invalid value: "object": no such key: nope evaluating rule: self.nope == 1',
    ]);
  });
});

/**
 * CRD-time compilation (apiextensions-apiserver pkg/apiserver/schema/cel/compilation.go
 * compileRule; pkg/apis/apiextensions/validation/validation.go puts rule errors at .rule and
 * messageExpression errors at .messageExpression) with cel-go's issue text
 * (common/errors.go ToDisplayString: "ERROR: <input>:line:col: msg", source line, dotted caret).
 */
describe("celCompileErrors", () => {
  const errors = (rules: ValidationRule[]) =>
    celCompileErrors({ type: "object", "x-kubernetes-validations": rules }, "schema").map(
      c => `${c.field ?? ""}: ${c.message}`,
    );

  it("words an undeclared reference as cel-go does, with its place", () => {
    expect(errors([{ rule: "self.a == foo" }])).toEqual([
      "schema.x-kubernetes-validations[0].rule: Invalid value: \"self.a == foo\": compilation failed: ERROR: <input>:1:11: undeclared reference to 'foo' (in container '')\n | self.a == foo\n | ..........^",
    ]);
  });

  it("requires a bool rule and a string messageExpression", () => {
    expect(errors([{ rule: "1 + 2" }, { rule: "true", messageExpression: "1" }])).toEqual([
      'schema.x-kubernetes-validations[0].rule: Invalid value: "1 + 2": cel expression must evaluate to a bool',
      'schema.x-kubernetes-validations[1].messageExpression: Invalid value: "1": messageExpression must evaluate to a string',
    ]);
  });

  it("reports a messageExpression that does not compile at its own field", () => {
    const [cause] = errors([{ rule: "true", messageExpression: "'a' +" }]);
    expect(cause).toMatch(
      /^schema\.x-kubernetes-validations\[0\]\.messageExpression: .*messageExpression compilation failed: ERROR: <input>:1:6: Syntax error/,
    );
  });
});

/**
 * Transition rules (apiextensions-apiserver schema/cel/validation.go validateExpressions): a
 * rule naming oldSelf runs only when an old value correlates, unless optionalOldSelf makes
 * oldSelf an optional that is none on create (types.go ValidationRule.OptionalOldSelf).
 */
describe("transition rules", () => {
  const schema = (optionalOldSelf: boolean): Schema => ({
    type: "string",
    "x-kubernetes-validations": [
      {
        rule: optionalOldSelf
          ? "oldSelf.hasValue() ? self == oldSelf.value() : self.startsWith('a')"
          : "self == oldSelf",
        message: "immutable",
        optionalOldSelf,
      },
    ],
  });
  const failures = (s: Schema, value: string, old?: { value: unknown }) =>
    validateCel("spec.name", s, value, old).map(c => c.message);

  it("skips a plain transition rule on create and runs it on update", () => {
    expect(failures(schema(false), "b")).toEqual([]);
    expect(failures(schema(false), "b", { value: "c" })).toEqual([
      'Invalid value: "string": immutable',
    ]);
  });

  it("runs an optionalOldSelf rule on create with oldSelf none", () => {
    expect(failures(schema(true), "abc")).toEqual([]);
    expect(failures(schema(true), "b")).toEqual(['Invalid value: "string": immutable']);
    expect(failures(schema(true), "b", { value: "b" })).toEqual([]);
    expect(failures(schema(true), "b", { value: "c" })).toHaveLength(1);
  });
});
