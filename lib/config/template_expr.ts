/**
 * Expressions inside template actions: Go text/template's pipelines
 * (`parseNumberRange .Envs.PORTS`, `$v.First`, `"1-3" | parseNumberRange`,
 * `( ... )`), compiled once by {@linkcode compileExpr} and evaluated per use
 * by {@linkcode evaluate}; the values they compute; the function registry.
 *
 * @module
 */

import { NumberPair, parseNumberRange, parseNumberRangePair } from "./number_range.ts";

/** What template expressions compute. `undefined` is a missing env variable. */
export type TemplateValue =
  | string
  | number
  | boolean
  | NumberPair
  | EnvMap
  | Root
  | TemplateValue[]
  | undefined;

/** `.Envs`: a map whose missing keys read as undefined (rendered ""). */
export class EnvMap {
  constructor(readonly envs: Record<string, string | undefined>) {}
}

/** `$`, the data the template runs on: frp's `Values` with its one field. */
export class Root {
  constructor(readonly Envs: EnvMap) {}
}

/**
 * Functions callable from templates, by name. Arguments arrive evaluated;
 * throw an Error to fail rendering (its message is reported with the line).
 *
 * @example
 * ```ts
 * import { templateFunctions } from "./template_expr.ts";
 * templateFunctions.set("upper", (s) => String(s).toUpperCase());
 * ```
 */
export const templateFunctions = new Map<string, (...args: TemplateValue[]) => TemplateValue>([
  ["parseNumberRange", (...args) => {
    const [s] = stringArgs("parseNumberRange", args, 1);
    return parseNumberRange(s);
  }],
  ["parseNumberRangePair", (...args) => {
    const [a, b] = stringArgs("parseNumberRangePair", args, 2);
    return parseNumberRangePair(a, b);
  }],
]);

function stringArgs(fn: string, args: TemplateValue[], want: number): string[] {
  if (args.length !== want) {
    throw new Error(`wrong number of args for ${fn}: want ${want} got ${args.length}`);
  }
  return args.map((a, i) => {
    if (typeof a === "string") return a;
    if (a === undefined) return ""; // an unset env variable reads as ""
    throw new Error(`wrong type for argument ${i + 1} of ${fn}: expected string; got ${goType(a)}`);
  });
}

// ---------------------------------------------------------------------------
// Expressions: tokens → compiled operands, commands and pipelines.

/** `sp`: preceded by white space, which separates `$v .First` (two operands) from `$v.First`. */
type Token = {
  t: "str" | "num" | "ident" | "var" | "field" | "dot" | "punct";
  v: string;
  sp?: boolean;
};

const TOKEN =
  /\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|([+-]?\d+)(?![\w.])|(\$[A-Za-z0-9_]*)|((?:\.[A-Za-z_][A-Za-z0-9_]*)+)|(\.)|([A-Za-z_][A-Za-z0-9_]*)|(:=|[=,|()]))/y;

function tokenize(expr: string): Token[] {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    if (/^\s*$/.test(expr.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(expr);
    if (!m) throw new Error(`unexpected "${expr.slice(at).trim()[0]}" in "${expr}"`);
    const sp = /^\s/.test(m[0]);
    if (m[1] !== undefined) tokens.push({ t: "str", v: unquote(m[1]) });
    else if (m[2] !== undefined) tokens.push({ t: "str", v: m[2].slice(1, -1) });
    else if (m[3] !== undefined) tokens.push({ t: "num", v: m[3] });
    else if (m[4] !== undefined) tokens.push({ t: "var", v: m[4], sp });
    else if (m[5] !== undefined) tokens.push({ t: "field", v: m[5], sp });
    else if (m[6] !== undefined) tokens.push({ t: "dot", v: "." });
    else if (m[7] !== undefined) tokens.push({ t: "ident", v: m[7] });
    else tokens.push({ t: "punct", v: m[8] });
  }
  return tokens;
}

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  '"': '"',
  "\\": "\\",
  "'": "'",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
};

function unquote(lit: string): string {
  return lit.slice(1, -1).replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.length > 1) return String.fromCharCode(parseInt(e.slice(1), 16));
    const c = ESCAPES[e];
    if (c === undefined) throw new Error(`invalid escape "\\${e}" in ${lit}`);
    return c;
  });
}

/** A cursor over one action's tokens. */
class Tokens {
  i = 0;
  constructor(readonly list: Token[]) {}
  peek(): Token | undefined {
    return this.list[this.i];
  }
  next(): Token | undefined {
    return this.list[this.i++];
  }
  isPunct(v: string): boolean {
    const t = this.peek();
    return t?.t === "punct" && t.v === v;
  }
}

/** pipeline := command ('|' command)* ; stops at ')' or the end. */
function parsePipeline(ts: Tokens, declared: ReadonlySet<string>): Expr {
  const cmds: Expr[] = [parseCommand(ts, declared)];
  while (ts.isPunct("|")) {
    ts.next();
    const cmd = parseCommand(ts, declared);
    if (cmd.k !== "call") throw new Error(`cannot pipe a value into a non-function`);
    cmds.push(cmd);
  }
  return cmds.length === 1 ? cmds[0] : { k: "pipe", cmds };
}

function parseCommand(ts: Tokens, declared: ReadonlySet<string>): Expr {
  const first = ts.peek();
  if (first === undefined || first.t === "punct" && first.v !== "(") {
    throw new Error(first ? `unexpected "${first.v}"` : "missing value");
  }
  if (first.t === "ident" && !["true", "false", "nil"].includes(first.v)) {
    ts.next();
    if (!templateFunctions.has(first.v)) throw new Error(`function "${first.v}" not defined`);
    const args: Expr[] = [];
    while (!atCommandEnd(ts)) args.push(parseOperand(ts, declared));
    return { k: "call", fn: first.v, args };
  }
  const operand = parseOperand(ts, declared);
  if (!atCommandEnd(ts)) throw new Error(`can't give argument to non-function`);
  return operand;
}

function atCommandEnd(ts: Tokens): boolean {
  return ts.peek() === undefined || ts.isPunct("|") || ts.isPunct(")");
}

function parseOperand(ts: Tokens, declared: ReadonlySet<string>): Expr {
  const tok = ts.next()!;
  let expr: Expr;
  switch (tok.t) {
    case "str":
      expr = { k: "lit", v: tok.v };
      break;
    case "num":
      expr = { k: "lit", v: Number(tok.v) };
      break;
    case "dot":
      expr = { k: "field", base: "dot", fields: [] };
      break;
    case "field":
      return { k: "field", base: "dot", fields: tok.v.slice(1).split(".") };
    case "var":
      if (!declared.has(tok.v)) throw new Error(`undefined variable "${tok.v}"`);
      expr = { k: "field", base: tok.v, fields: [] };
      break;
    case "ident":
      if (tok.v === "nil") throw new Error(`nil is not a command`);
      expr = { k: "lit", v: tok.v === "true" };
      break;
    default:
      if (tok.v !== "(") throw new Error(`unexpected "${tok.v}"`);
      expr = parsePipeline(ts, declared);
      if (!ts.isPunct(")")) throw new Error(`unclosed left paren`);
      ts.next();
  }
  // `$v.First`, `(...).First`
  const after = ts.peek();
  if (after?.t === "field" && !after.sp) {
    ts.next();
    const fields = after.v.slice(1).split(".");
    if (expr.k === "field") expr = { ...expr, fields: [...expr.fields, ...fields] };
    else expr = { k: "call", fn: ".", args: [expr, { k: "lit", v: fields.join(".") }] };
  }
  return expr;
}

function parseRest(ts: Tokens, declared: ReadonlySet<string>): Expr {
  const expr = parsePipeline(ts, declared);
  const left = ts.peek();
  if (left) throw new Error(`unexpected "${left.v}"`);
  return expr;
}

/** A compiled expression; opaque outside this module. */
export type Expr =
  | { k: "lit"; v: TemplateValue }
  | { k: "field"; base: "dot" | string; fields: string[] }
  | { k: "call"; fn: string; args: Expr[] }
  | { k: "pipe"; cmds: Expr[] };

/** One action's meaning: a block keyword, a declaration, or a value to print. */
export interface Action {
  keyword?: "range" | "else" | "end";
  /** Declared variables: `$x :=` (one), or a range's `$i, $v :=` (one or two). */
  vars: string[];
  /** `$x = ...` assigns an existing variable instead of declaring one. */
  assign: boolean;
  /** Absent for `else` / `end`. */
  expr?: Expr;
}

const UNSUPPORTED_KEYWORDS = new Set([
  "if",
  "with",
  "define",
  "template",
  "block",
  "break",
  "continue",
]);

/**
 * Compiles the text inside `{{ }}`. `declared` are the variables in scope
 * (Go rejects an undeclared `$x` when parsing). Throws an Error saying why.
 *
 * @example
 * ```ts
 * import { compileAction } from "./template_expr.ts";
 * const a = compileAction('range $_, $v := parseNumberRange "1-3"', new Set(["$"]));
 * a.keyword; // "range"
 * a.vars; // ["$_", "$v"]
 * ```
 */
export function compileAction(src: string, declared: ReadonlySet<string>): Action {
  const ts = new Tokens(tokenize(src));
  const head = ts.peek();
  if (head === undefined) throw new Error("missing value");
  const keyword = head.t === "ident" ? head.v : undefined;
  if (keyword === "end" || keyword === "else") {
    if (ts.list.length > 1) throw new Error(`unexpected "${ts.list[1].v}" after ${keyword}`);
    return { keyword, vars: [], assign: false };
  }
  if (keyword && UNSUPPORTED_KEYWORDS.has(keyword)) {
    throw new Error(`{{ ${keyword} }} is not supported (only range, else, end)`);
  }
  if (keyword === "range") {
    ts.next();
    const vars = parseDeclaration(ts, false);
    return { keyword, vars, assign: false, expr: parseRest(ts, declared) };
  }
  const vars = parseDeclaration(ts, true);
  const assign = vars.length === 1 && ts.list[1].v === "=";
  if (assign && !declared.has(vars[0])) throw new Error(`undefined variable "${vars[0]}"`);
  return { vars, assign, expr: parseRest(ts, declared) };
}

/**
 * Reads `$v :=`, `$i, $v :=` (range only) or `$x =` when present, leaving
 * the cursor on the pipeline.
 */
function parseDeclaration(ts: Tokens, single: boolean): string[] {
  const l = ts.list;
  const at = ts.i;
  const isOp = (t: Token | undefined) => t?.t === "punct" && (t.v === ":=" || t.v === "=");
  if (l[at]?.t === "var" && isOp(l[at + 1])) {
    ts.i += 2;
    return [l[at].v];
  }
  if (
    !single && l[at]?.t === "var" && l[at + 1]?.v === "," && l[at + 2]?.t === "var" &&
    l[at + 3]?.v === ":="
  ) {
    ts.i += 4;
    return [l[at].v, l[at + 2].v];
  }
  return [];
}

// ---------------------------------------------------------------------------
// Evaluation.

/**
 * Variables visible at a point of rendering; a range iteration adds a frame.
 *
 * @example
 * ```ts
 * import type { Scope } from "./template_expr.ts";
 * const outer: Scope = { vars: new Map([["$x", "a"]]) };
 * const inner: Scope = { vars: new Map([["$v", 1]]), parent: outer };
 * ```
 */
export interface Scope {
  vars: Map<string, TemplateValue>;
  parent?: Scope;
}

function lookupVar(scope: Scope, name: string): TemplateValue {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    if (s.vars.has(name)) return s.vars.get(name);
  }
  return undefined; // unreachable: buildTree checked the declaration
}

/**
 * `$x = value`: assigns where `$x` was declared.
 *
 * @example
 * ```ts
 * import { setVar } from "./template_expr.ts";
 * const scope = { vars: new Map([["$x", "a"]]) };
 * setVar({ vars: new Map(), parent: scope }, "$x", "b");
 * scope.vars.get("$x"); // "b"
 * ```
 */
export function setVar(scope: Scope, name: string, value: TemplateValue): void {
  for (let s: Scope | undefined = scope; s; s = s.parent) {
    if (s.vars.has(name)) {
      s.vars.set(name, value);
      return;
    }
  }
}

/**
 * Evaluates a compiled expression with `dot` as `.`; `piped` is the value a
 * `|` passes on as the last argument. Throws an Error saying why it failed.
 *
 * @example
 * ```ts
 * import { compileAction, evaluate } from "./template_expr.ts";
 * const { expr } = compileAction('parseNumberRange "1-2"', new Set(["$"]));
 * evaluate(expr!, { vars: new Map() }, undefined); // [1, 2]
 * ```
 */
export function evaluate(
  expr: Expr,
  scope: Scope,
  dot: TemplateValue,
  piped?: TemplateValue[],
): TemplateValue {
  switch (expr.k) {
    case "lit":
      return expr.v;
    case "field": {
      let v = expr.base === "dot" ? dot : lookupVar(scope, expr.base);
      for (const f of expr.fields) v = field(v, f, expr.base === "dot");
      return v;
    }
    case "call": {
      const args = expr.args.map((a) => evaluate(a, scope, dot));
      if (piped) args.push(...piped);
      if (expr.fn === ".") {
        let v = args[0];
        for (const f of String(args[1]).split(".")) v = field(v, f, false);
        return v;
      }
      const fn = templateFunctions.get(expr.fn)!;
      try {
        return fn(...args);
      } catch (e) {
        throw new Error(`error calling ${expr.fn}: ${(e as Error).message}`);
      }
    }
    case "pipe": {
      let v = evaluate(expr.cmds[0], scope, dot);
      for (const cmd of expr.cmds.slice(1)) v = evaluate(cmd, scope, dot, [v]);
      return v;
    }
  }
}

function field(v: TemplateValue, name: string, fromDot: boolean): TemplateValue {
  if (v instanceof Root && name === "Envs") return v.Envs;
  if (v instanceof EnvMap) return v.envs[name];
  if (v instanceof NumberPair && (name === "First" || name === "Second")) return v[name];
  // Inside a range dot is the element, so `.Envs` no longer reaches the root (as in Go).
  const hint = fromDot && name === "Envs" ? " (inside range use $.Envs)" : "";
  throw new Error(`can't evaluate field ${name} in type ${goType(v)}${hint}`);
}

/**
 * Go's `%v`, as text/template prints values.
 *
 * @example
 * ```ts
 * import { formatValue } from "./template_expr.ts";
 * formatValue([1, 2]); // "[1 2]"
 * ```
 */
export function formatValue(v: TemplateValue): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (v instanceof NumberPair) return `{${v.First} ${v.Second}}`;
  if (Array.isArray(v)) return `[${v.map(formatValue).join(" ")}]`;
  if (v instanceof EnvMap) return "map[...]";
  return "{...}";
}

/**
 * The Go type frp would report for a value, for error messages.
 *
 * @example
 * ```ts
 * import { goType } from "./template_expr.ts";
 * goType(6000); // "int64"
 * ```
 */
export function goType(v: TemplateValue): string {
  if (v === undefined) return "string";
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "int64";
  if (typeof v === "boolean") return "bool";
  if (v instanceof NumberPair) return "config.NumberPair";
  if (Array.isArray(v)) return v[0] instanceof NumberPair ? "[]config.NumberPair" : "[]int64";
  if (v instanceof EnvMap) return "map[string]string";
  return "*config.Values";
}
