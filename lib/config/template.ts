/**
 * The subset of Go's text/template that frp config files use, applied to the
 * raw text before parsing. Now: `{{ .Envs.NAME }}` and `{{/* comments *\/}}`,
 * with `{{-` / `-}}` whitespace trimming.
 *
 * The text is first split into text and action nodes ({@linkcode
 * parseTemplate}), then rendered; a block action such as frp's
 * `{{- range $_, $v := parseNumberRangePair "6000-6006" "7000-7006" }}` can
 * later be added by grouping nodes up to `{{ end }}` and giving
 * `renderTemplate` a scope for `$v`, without changing the parser.
 *
 * @module
 */

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
 * Evaluates one action expression; returns undefined when it does not
 * recognise the expression, so the next evaluator can try.
 */
export type Evaluator = (expr: string, ctx: TemplateContext) => string | undefined;

const ENV_REF = /^\.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/;

/**
 * Expression evaluators, tried in order. Add template functions here.
 *
 * @example
 * ```ts
 * import { evaluators } from "./template.ts";
 * evaluators.push((expr) => (expr === '"literal"' ? "literal" : undefined));
 * ```
 */
export const evaluators: Evaluator[] = [
  (expr, ctx) => {
    const m = ENV_REF.exec(expr);
    return m ? ctx.envs[m[1]] ?? "" : undefined;
  },
];

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
 * Renders template source. Throws {@linkcode TemplateError} for actions it
 * does not know.
 *
 * @example
 * ```ts
 * import { renderTemplate } from "./template.ts";
 * renderTemplate('token = "{{ .Envs.TOKEN }}"', { envs: { TOKEN: "abc" } }); // 'token = "abc"'
 * ```
 */
export function renderTemplate(src: string, ctx: TemplateContext): string {
  if (!src.includes("{{")) return src;
  let out = "";
  for (const node of parseTemplate(src)) {
    if (node.kind === "text") {
      out += node.text;
      continue;
    }
    let value: string | undefined;
    for (const ev of evaluators) {
      value = ev(node.expr, ctx);
      if (value !== undefined) break;
    }
    if (value === undefined) {
      throw new TemplateError(node.line, `template: unsupported action "{{ ${node.expr} }}"`);
    }
    out += value;
  }
  return out;
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

function countLines(s: string): number {
  let n = 0;
  for (let i = s.indexOf("\n"); i >= 0; i = s.indexOf("\n", i + 1)) n++;
  return n;
}
