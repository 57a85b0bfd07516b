/**
 * The CEL subset our CRDs use, evaluated per the CEL language definition
 * (github.com/google/cel-spec doc/langdef.md: int/double arithmetic, heterogeneous numeric
 * equality, commutative && and ||, macros has/all/exists/exists_one/map/filter, string functions,
 * duration/timestamp) and the Kubernetes CEL library's list functions (isSorted, sum, min, max).
 */
import { describe, expect, it } from "vitest";
import { Evaluator } from "../../../src/sim/admission/cel-eval.ts";
import { CelError, compile } from "../../../src/sim/admission/cel-parse.ts";

const run = (rule: string, self: unknown = {}) =>
  new Evaluator().eval(compile(rule, ["self", "oldSelf"]), { self });

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
