/**
 * A parser for the subset of CEL (https://github.com/google/cel-spec, langdef.md) that CRD
 * `x-kubernetes-validations` rules use: literals, identifiers, field selection, indexing,
 * function and method calls, unary/binary operators with CEL's precedence, the ternary, list and
 * map literals. Macros (has, all, exists, exists_one, map, filter) are calls the evaluator expands.
 */

export type Node =
  | { kind: "lit"; value: unknown }
  | { kind: "ident"; name: string }
  | { kind: "select"; target: Node; field: string }
  | { kind: "index"; target: Node; index: Node }
  | { kind: "call"; name: string; target?: Node; args: Node[] }
  | { kind: "unary"; op: "!" | "-"; operand: Node }
  | { kind: "binary"; op: string; left: Node; right: Node }
  | { kind: "cond"; test: Node; then: Node; else: Node }
  | { kind: "list"; items: Node[] }
  | { kind: "map"; entries: [Node, Node][] };

export class CelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CelError";
  }
}

interface Token {
  type: "num" | "str" | "ident" | "op" | "eof";
  text: string;
  value?: unknown;
  pos: number;
}

const operators = [
  "&&",
  "||",
  "==",
  "!=",
  "<=",
  ">=",
  "<",
  ">",
  "+",
  "-",
  "*",
  "/",
  "%",
  "!",
  "?",
  ":",
  ".",
  ",",
  "(",
  ")",
  "[",
  "]",
  "{",
  "}",
];

const escapes: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "\\": "\\",
  "'": "'",
  '"': '"',
  "`": "`",
  "?": "?",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
};

function readString(src: string, start: number): { value: string; end: number } {
  let pos = start;
  let raw = false;
  if (src[pos] === "r" || src[pos] === "R") {
    raw = true;
    pos++;
  }
  const q = src[pos] ?? "";
  const quote = src.startsWith(q.repeat(3), pos) ? q.repeat(3) : q;
  pos += quote.length;
  let value = "";
  while (pos < src.length && !src.startsWith(quote, pos)) {
    const ch = src[pos] ?? "";
    if (ch === "\\" && !raw) {
      const next = src[pos + 1] ?? "";
      if (next === "u" || next === "x") {
        const digits = next === "u" ? 4 : 2;
        value += String.fromCodePoint(parseInt(src.slice(pos + 2, pos + 2 + digits), 16));
        pos += 2 + digits;
        continue;
      }
      const escaped = escapes[next];
      if (escaped === undefined) throw new CelError(`invalid escape sequence \\${next}`);
      value += escaped;
      pos += 2;
      continue;
    }
    if (quote.length === 1 && ch === "\n") throw new CelError("unterminated string literal");
    value += ch;
    pos++;
  }
  if (pos >= src.length) throw new CelError("unterminated string literal");
  return { value, end: pos + quote.length };
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  while (pos < src.length) {
    const rest = src.slice(pos);
    const space = /^\s+/.exec(rest);
    if (space) {
      pos += space[0].length;
      continue;
    }
    if (rest.startsWith("//")) {
      const newline = rest.indexOf("\n");
      pos += newline < 0 ? rest.length : newline;
      continue;
    }
    if (/^[rR]?["']/.test(rest)) {
      const { value, end } = readString(src, pos);
      tokens.push({ type: "str", text: src.slice(pos, end), value, pos });
      pos = end;
      continue;
    }
    const number =
      /^(0x[0-9a-fA-F]+|\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\d+)(u|U)?/.exec(
        rest,
      );
    if (number) {
      const text = number[1] ?? "";
      const isDouble = /[.eE]/.test(text) && !text.startsWith("0x");
      tokens.push({
        type: "num",
        text: number[0],
        value: isDouble ? Number(text) : BigInt(text),
        pos,
      });
      pos += number[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest);
    if (ident) {
      tokens.push({ type: "ident", text: ident[0], pos });
      pos += ident[0].length;
      continue;
    }
    const op = operators.find(o => rest.startsWith(o));
    if (op === undefined)
      throw new CelError(`Syntax error: token recognition error at: '${rest[0] ?? ""}'`);
    tokens.push({ type: "op", text: op, pos });
    pos += op.length;
  }
  tokens.push({ type: "eof", text: "<EOF>", pos });
  return tokens;
}

const reserved = new Set([
  "as",
  "break",
  "const",
  "continue",
  "else",
  "for",
  "function",
  "if",
  "import",
  "let",
  "loop",
  "package",
  "namespace",
  "return",
  "var",
  "void",
  "while",
]);

class Parser {
  private pos = 0;
  private readonly tokens: Token[];

  constructor(tokens: Token[]) {
    this.tokens = tokens;
  }

  private peek(): Token {
    return this.tokens[this.pos] ?? { type: "eof", text: "<EOF>", pos: 0 };
  }

  private next(): Token {
    const token = this.peek();
    this.pos++;
    return token;
  }

  private accept(text: string): boolean {
    const token = this.peek();
    if (token.type === "op" && token.text === text) {
      this.pos++;
      return true;
    }
    return false;
  }

  private expect(text: string): void {
    if (!this.accept(text)) {
      throw new CelError(
        `Syntax error: mismatched input '${this.peek().text}' expecting '${text}'`,
      );
    }
  }

  parse(): Node {
    const node = this.expr();
    if (this.peek().type !== "eof") {
      throw new CelError(`Syntax error: extraneous input '${this.peek().text}'`);
    }
    return node;
  }

  expr(): Node {
    const test = this.binary(0);
    if (!this.accept("?")) return test;
    const then = this.binary(0);
    this.expect(":");
    return { kind: "cond", test, then, else: this.expr() };
  }

  private static readonly levels: string[][] = [
    ["||"],
    ["&&"],
    ["<", "<=", ">", ">=", "==", "!=", "in"],
    ["+", "-"],
    ["*", "/", "%"],
  ];

  private binary(level: number): Node {
    if (level >= Parser.levels.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const token = this.peek();
      const ops = Parser.levels[level] ?? [];
      const isOp =
        (token.type === "op" || (token.type === "ident" && token.text === "in")) &&
        ops.includes(token.text);
      if (!isOp) return left;
      this.pos++;
      left = { kind: "binary", op: token.text, left, right: this.binary(level + 1) };
    }
  }

  private unary(): Node {
    if (this.accept("!")) return { kind: "unary", op: "!", operand: this.unary() };
    if (this.accept("-")) {
      const operand = this.unary();
      if (
        operand.kind === "lit" &&
        (typeof operand.value === "bigint" || typeof operand.value === "number")
      ) {
        return { kind: "lit", value: -operand.value };
      }
      return { kind: "unary", op: "-", operand };
    }
    return this.member();
  }

  private args(close: string): Node[] {
    const args: Node[] = [];
    if (this.accept(close)) return args;
    do {
      if (this.peek().text === close) break;
      args.push(this.expr());
    } while (this.accept(","));
    this.expect(close);
    return args;
  }

  private member(): Node {
    let node = this.primary();
    for (;;) {
      if (this.accept(".")) {
        const name = this.next();
        if (name.type !== "ident")
          throw new CelError(`Syntax error: mismatched input '${name.text}' expecting IDENTIFIER`);
        node = this.accept("(")
          ? { kind: "call", name: name.text, target: node, args: this.args(")") }
          : { kind: "select", target: node, field: name.text };
      } else if (this.accept("[")) {
        const index = this.expr();
        this.expect("]");
        node = { kind: "index", target: node, index };
      } else return node;
    }
  }

  private primary(): Node {
    const token = this.next();
    if (token.type === "num" || token.type === "str") return { kind: "lit", value: token.value };
    if (token.type === "ident") return this.identifier(token.text);
    if (token.type === "op" && token.text === "(") {
      const node = this.expr();
      this.expect(")");
      return node;
    }
    if (token.type === "op" && token.text === "[") return { kind: "list", items: this.args("]") };
    if (token.type === "op" && token.text === "{") return this.mapLiteral();
    throw new CelError(`Syntax error: mismatched input '${token.text}'`);
  }

  private identifier(name: string): Node {
    if (name === "true" || name === "false") return { kind: "lit", value: name === "true" };
    if (name === "null") return { kind: "lit", value: null };
    if (reserved.has(name)) throw new CelError(`Syntax error: reserved identifier: ${name}`);
    if (this.accept("(")) return { kind: "call", name, args: this.args(")") };
    return { kind: "ident", name };
  }

  private mapLiteral(): Node {
    const entries: [Node, Node][] = [];
    if (this.accept("}")) return { kind: "map", entries };
    do {
      if (this.peek().text === "}") break;
      const key = this.expr();
      this.expect(":");
      entries.push([key, this.expr()]);
    } while (this.accept(","));
    this.expect("}");
    return { kind: "map", entries };
  }
}

const macros = new Set(["all", "exists", "exists_one", "map", "filter"]);
const functions = new Set([
  "has",
  "size",
  "int",
  "uint",
  "double",
  "string",
  "bool",
  "duration",
  "timestamp",
  "type",
  "dyn",
  "matches",
  "startsWith",
  "endsWith",
  "contains",
  "lowerAscii",
  "upperAscii",
  "trim",
  "split",
  "join",
  "indexOf",
  "lastIndexOf",
  "replace",
  "substring",
  "isSorted",
  "sum",
  "min",
  "max",
  "getHours",
  "getMinutes",
  "getSeconds",
  "getFullYear",
  "getMonth",
  "getDayOfMonth",
  "getDayOfWeek",
  "getDayOfYear",
  "getMilliseconds",
  "format",
]);

/** Compile-time checks: known functions, declared variables, macro shapes. */
function check(node: Node, scope: Set<string>): void {
  switch (node.kind) {
    case "lit":
      return;
    case "ident":
      if (!scope.has(node.name))
        throw new CelError(`undeclared reference to '${node.name}' (in container '')`);
      return;
    case "select":
      check(node.target, scope);
      return;
    case "index":
      check(node.target, scope);
      check(node.index, scope);
      return;
    case "unary":
      check(node.operand, scope);
      return;
    case "binary":
      check(node.left, scope);
      check(node.right, scope);
      return;
    case "cond":
      check(node.test, scope);
      check(node.then, scope);
      check(node.else, scope);
      return;
    case "list":
      node.items.forEach(item => {
        check(item, scope);
      });
      return;
    case "map":
      node.entries.forEach(([k, v]) => {
        check(k, scope);
        check(v, scope);
      });
      return;
    case "call":
      checkCall(node, scope);
      return;
  }
}

function checkCall(node: Extract<Node, { kind: "call" }>, scope: Set<string>): void {
  if (node.name === "has") {
    const arg = node.args[0];
    if (node.args.length !== 1 || arg?.kind !== "select")
      throw new CelError("invalid argument to has() macro");
    check(arg.target, scope);
    return;
  }
  if (node.target !== undefined && macros.has(node.name)) {
    check(node.target, scope);
    const variable = node.args[0];
    if (variable?.kind !== "ident" || node.args.length < 2)
      throw new CelError(`invalid argument to ${node.name} macro`);
    const inner = new Set(scope).add(variable.name);
    node.args.slice(1).forEach(arg => {
      check(arg, inner);
    });
    return;
  }
  if (!functions.has(node.name))
    throw new CelError(`undeclared reference to '${node.name}' (in container '')`);
  if (node.target !== undefined) check(node.target, scope);
  node.args.forEach(arg => {
    check(arg, scope);
  });
}

/** Parses and checks a rule; throws CelError with a compile error message. */
export function compile(source: string, variables: readonly string[]): Node {
  const node = new Parser(tokenize(source)).parse();
  check(node, new Set(variables));
  return node;
}

/** Whether an expression mentions `oldSelf` (a transition rule). */
export function usesOldSelf(node: Node): boolean {
  switch (node.kind) {
    case "lit":
      return false;
    case "ident":
      return node.name === "oldSelf";
    case "select":
      return usesOldSelf(node.target);
    case "index":
      return usesOldSelf(node.target) || usesOldSelf(node.index);
    case "unary":
      return usesOldSelf(node.operand);
    case "binary":
      return usesOldSelf(node.left) || usesOldSelf(node.right);
    case "cond":
      return usesOldSelf(node.test) || usesOldSelf(node.then) || usesOldSelf(node.else);
    case "list":
      return node.items.some(usesOldSelf);
    case "map":
      return node.entries.some(([k, v]) => usesOldSelf(k) || usesOldSelf(v));
    case "call":
      return (node.target !== undefined && usesOldSelf(node.target)) || node.args.some(usesOldSelf);
  }
}
