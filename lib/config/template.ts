/**
 * The subset of Go's text/template that frp config files use, applied to the
 * raw text before parsing:
 *
 * - `{{ .Envs.NAME }}` (also `$.Envs.NAME`), `{{/* comments *\/}}`, `{{-` / `-}}` trimming;
 * - `{{ range $i, $v := parseNumberRangePair "6000-6006" "7000-7006" }}` … `{{ else }}` …
 *   `{{ end }}`, nestable, with `$v.First` / `$v.Second`; `parseNumberRange` yields numbers;
 * - `$x := pipeline` declarations, `|` pipelines, `( ... )` sub-expressions, string and
 *   number literals.
 *
 * Three stages: {@linkcode parseTemplate} splits the text into text and action
 * nodes; `buildTree` compiles each action's expression once and groups
 * `range` … `end` into blocks (checking variables are declared, as Go does
 * at parse time); `renderTemplate` walks the tree with a scope chain. A new
 * template function is one entry in {@linkcode templateFunctions}.
 *
 * @module
 */

import {
  compileAction,
  EnvMap,
  evaluate,
  type Expr,
  formatValue,
  goType,
  Root,
  type Scope,
  setVar,
  type TemplateValue,
} from "./template_expr.ts";

export { templateFunctions } from "./template_expr.ts";

/** A piece of template source. */
export type TemplateNode =
  | { kind: "text"; text: string }
  | { kind: "action"; expr: string; line: number };

/** Values visible to template expressions. */
export interface TemplateContext {
  /** `.Envs.NAME`; a missing name renders as "". */
  envs: Record<string, string | undefined>;
}

/** A template problem at a 1-based line. */
export class TemplateError extends Error {
  line: number;
  constructor(line: number, message: string) {
    super(message);
    this.line = line;
  }
}

/**
 * Splits template source into nodes, applying `{{-` / `-}}` trimming to the
 * neighbouring text.
 *
 * @example
 * ```ts
 * import { parseTemplate } from "./template.ts";
 * parseTemplate("a = {{ .Envs.X }}");
 * // [{ kind: "text", text: "a = " }, { kind: "action", expr: ".Envs.X", line: 1 }]
 * ```
 */
export function parseTemplate(src: string): TemplateNode[] {
  const nodes: TemplateNode[] = [];
  let pos = 0;
  let line = 1;
  let trimNext = false;
  while (pos < src.length) {
    const open = src.indexOf("{{", pos);
    let text = src.slice(pos, open < 0 ? src.length : open);
    line += countLines(text);
    if (trimNext) text = text.trimStart();
    if (open < 0) {
      if (text) nodes.push({ kind: "text", text });
      break;
    }
    const close = src.indexOf("}}", open + 2);
    if (close < 0) throw new TemplateError(line, "template: unclosed action");
    let inner = src.slice(open + 2, close);
    // Go requires the space: `{{-3}}` is the number -3, `{{- 3}}` trims.
    if (/^-\s/.test(inner)) {
      text = text.trimEnd();
      inner = inner.slice(1);
    }
    trimNext = /\s-$/.test(inner);
    if (trimNext) inner = inner.slice(0, -1);
    if (text) nodes.push({ kind: "text", text });
    const expr = inner.trim();
    if (!(expr.startsWith("/*") && expr.endsWith("*/"))) {
      nodes.push({ kind: "action", expr, line });
    }
    line += countLines(inner);
    pos = close + 2;
  }
  return nodes;
}

/**
 * Renders template source. Throws {@linkcode TemplateError} (with the line
 * of the offending action) for unknown or failing actions.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "./template.ts";
 * renderTemplate('token = "{{ .Envs.TOKEN }}"', { envs: { TOKEN: "abc" } }); // 'token = "abc"'
 * renderTemplate('{{ range $_, $v := parseNumberRange "1-3" }}{{ $v }} {{ end }}', { envs: {} });
 * // "1 2 3 "
 * ```
 */
export function renderTemplate(src: string, ctx: TemplateContext): string {
  if (!src.includes("{{")) return src;
  const tree = buildTree(parseTemplate(src));
  const root = new Root(new EnvMap(ctx.envs));
  const out: string[] = [];
  renderBlock(tree, { vars: new Map([["$", root]]) }, root, out);
  return out.join("");
}

/**
 * A context whose `.Envs` reads the process environment (empty without
 * --allow-env, as unset variables would be).
 *
 * @example
 * ```ts
 * import { envContext, renderTemplate } from "./template.ts";
 * renderTemplate("{{ .Envs.HOME }}", envContext());
 * ```
 */
export function envContext(): TemplateContext {
  // Looked up one by one so that --allow-env=NAME,... is enough.
  const envs = new Proxy({} as Record<string, string | undefined>, {
    get(_, name) {
      if (typeof name !== "string") return undefined;
      try {
        return Deno.env.get(name);
      } catch {
        // Without permission for this variable it renders as unset.
        return undefined;
      }
    },
  });
  return { envs };
}

// ---------------------------------------------------------------------------
// The tree: text, output actions, declarations and range blocks.

type TreeNode =
  | { kind: "text"; text: string }
  | { kind: "output" | "declare" | "assign"; name: string; expr: Expr; src: string; line: number }
  | RangeNode;

interface RangeNode {
  kind: "range";
  vars: string[];
  expr: Expr;
  src: string;
  line: number;
  body: TreeNode[];
  elseBody: TreeNode[];
}

function buildTree(nodes: TemplateNode[]): TreeNode[] {
  const top: TreeNode[] = [];
  // Open ranges; each collects into body, then into elseBody after {{ else }}.
  const stack: { node: RangeNode; inElse: boolean; outer: Set<string> }[] = [];
  let declared = new Set<string>(["$"]);
  const target = (): TreeNode[] => {
    const f = stack.at(-1);
    return f ? (f.inElse ? f.node.elseBody : f.node.body) : top;
  };
  for (const n of nodes) {
    if (n.kind === "text") {
      target().push(n);
      continue;
    }
    const fail = (why: string): never => {
      throw new TemplateError(n.line, `template: unsupported action "{{ ${n.expr} }}": ${why}`);
    };
    let action;
    try {
      action = compileAction(n.expr, declared);
    } catch (e) {
      return fail((e as Error).message);
    }
    const { keyword, vars, expr } = action;
    const src = `{{ ${n.expr} }}`;
    if (keyword === "end" || keyword === "else") {
      const frame = stack.at(-1) ?? fail(`{{ ${keyword} }} outside range`);
      if (keyword === "else") {
        if (frame.inElse) fail("a range has at most one {{ else }}");
        frame.inElse = true;
        declared = new Set(frame.outer); // range variables are not visible in else
      } else {
        stack.pop();
        declared = frame.outer;
      }
    } else if (keyword === "range") {
      const node: RangeNode = {
        kind: "range",
        vars,
        expr: expr!,
        src,
        line: n.line,
        body: [],
        elseBody: [],
      };
      target().push(node);
      stack.push({ node, inElse: false, outer: declared });
      declared = new Set([...declared, ...vars]);
    } else {
      const kind = vars.length === 0 ? "output" : action.assign ? "assign" : "declare";
      target().push({ kind, name: vars[0] ?? "", expr: expr!, src, line: n.line });
      if (kind === "declare") declared.add(vars[0]);
    }
  }
  const open = stack.at(-1);
  if (open) {
    throw new TemplateError(
      open.node.line,
      `template: "${open.node.src}" has no matching {{ end }}`,
    );
  }
  return top;
}

// ---------------------------------------------------------------------------
// Rendering.

function renderBlock(nodes: TreeNode[], scope: Scope, dot: TemplateValue, out: string[]): void {
  for (const node of nodes) {
    if (node.kind === "text") {
      out.push(node.text);
      continue;
    }
    try {
      if (node.kind === "range") renderRange(node, scope, dot, out);
      else {
        const value = evaluate(node.expr, scope, dot);
        if (node.kind === "output") out.push(formatValue(value));
        else if (node.kind === "assign") setVar(scope, node.name, value);
        else scope.vars.set(node.name, value);
      }
    } catch (e) {
      if (e instanceof TemplateError) throw e;
      throw new TemplateError(node.line, `template: "${node.src}": ${(e as Error).message}`);
    }
  }
}

function renderRange(node: RangeNode, scope: Scope, dot: TemplateValue, out: string[]): void {
  const list = evaluate(node.expr, scope, dot);
  if (!Array.isArray(list)) {
    throw new Error(`range can't iterate over ${formatValue(list)} (${goType(list)})`);
  }
  if (list.length === 0) {
    renderBlock(node.elseBody, { vars: new Map(), parent: scope }, dot, out);
    return;
  }
  for (let i = 0; i < list.length; i++) {
    // Go binds one variable to the element, two to index and element; dot is the element.
    const vars = new Map<string, TemplateValue>();
    if (node.vars.length === 1) vars.set(node.vars[0], list[i]);
    else if (node.vars.length === 2) {
      vars.set(node.vars[0], i);
      vars.set(node.vars[1], list[i]);
    }
    renderBlock(node.body, { vars, parent: scope }, list[i], out);
  }
}

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}
