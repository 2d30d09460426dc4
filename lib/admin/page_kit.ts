/**
 * What the server's dashboard and the client's web UI share, as strings to
 * inline into their pages (no build step, no CDN: the pages work offline and
 * `deno compile` keeps them): the stylesheet, and small DOM helpers. Pages
 * build their DOM with `textContent` only (`el()` below), so names sent by
 * clients can never inject markup.
 *
 * @example
 * ```ts
 * import { PAGE_CSS, PAGE_JS } from "./page_kit.ts";
 * const html = `<style>${PAGE_CSS}</style><script>${PAGE_JS}</script>`;
 * ```
 *
 * @module
 */

/**
 * A page's opening up to `<body>`: doctype, charset, viewport, `title` and
 * `css` inlined. Both pages start with it, so a change to the head (a meta
 * tag, say) reaches both.
 *
 * @example
 * ```ts
 * import { PAGE_CSS, pageHead } from "./page_kit.ts";
 * const html = `${pageHead("dfrps dashboard", PAGE_CSS)}<main></main></body></html>`;
 * ```
 */
export function pageHead(title: string, css: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<style>
${css}</style>
</head>
<body>
`;
}

/**
 * The stylesheet of both pages.
 *
 * @example
 * ```ts
 * import { PAGE_CSS } from "./page_kit.ts";
 * console.log(PAGE_CSS.includes("--accent"));
 * ```
 */
export const PAGE_CSS = `
  :root { --bg: #f5f6f8; --card: #fff; --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec;
          --ok: #1f9d55; --off: #a0a7b4; --accent: #2f6fde; --danger: #c0392b; --warn: #b7791f; }
  * { box-sizing: border-box; }
  [hidden] { display: none !important; }
  body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif;
         background: var(--bg); color: var(--ink); }
  header { display: flex; align-items: baseline; gap: 12px; padding: 14px 24px;
           background: #1d2330; color: #fff; }
  header h1 { margin: 0; font-size: 18px; font-weight: 600; }
  header .sub { color: #b8bfcc; font-size: 13px; }
  header .live { margin-left: auto; font-size: 12px; color: #b8bfcc; }
  main { padding: 20px 24px; max-width: 1200px; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px;
           margin-bottom: 20px; }
  .card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
  .card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
  .card .v { font-size: 22px; font-weight: 600; margin-top: 2px; }
  section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
            margin-bottom: 20px; overflow: hidden; }
  section h2 { display: flex; align-items: center; gap: 8px; margin: 0; padding: 10px 14px;
               font-size: 15px; border-bottom: 1px solid var(--line); }
  section h2 .count { color: var(--muted); font-weight: 400; }
  section h2 .right { margin-left: auto; }
  .pad { padding: 12px 14px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; padding: 7px 14px; border-bottom: 1px solid var(--line); white-space: nowrap; }
  th { font-size: 12px; color: var(--muted); font-weight: 500; background: #fafbfc; }
  tr:last-child td { border-bottom: 0; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  th.num { text-align: right; }
  td.wrap { white-space: normal; }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
  .status { display: inline-flex; align-items: center; gap: 6px; }
  .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--off); }
  .online .dot { background: var(--ok); }
  .failed .dot { background: var(--danger); }
  .empty { padding: 12px 14px; color: var(--muted); }
  button { font: inherit; font-size: 12px; padding: 3px 10px; border-radius: 5px; cursor: pointer;
           border: 1px solid var(--danger); color: var(--danger); background: #fff; }
  button:hover { background: var(--danger); color: #fff; }
  button.primary { border-color: var(--accent); color: var(--accent); }
  button.primary:hover { background: var(--accent); color: #fff; }
  button:disabled { border-color: var(--line); color: var(--off); background: #fff; cursor: default; }
  a.link { color: var(--accent); cursor: pointer; text-decoration: none; }
  a.link:hover { text-decoration: underline; }
  input, select, textarea { font: inherit; border: 1px solid var(--line); border-radius: 5px;
                            padding: 4px 8px; background: #fff; color: var(--ink); }
  textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; }
  .error { color: var(--danger); }
  .warning { color: var(--warn); }
  ul.problems { margin: 0; padding: 8px 14px 8px 32px; }
  ul.problems:empty { display: none; }
  ul.problems li { white-space: pre-wrap; }
`;

/**
 * The helpers both pages' scripts start with: `el(tag, attrs, ...children)`
 * (text children become text nodes), `bytes(n)`, `statusDot(text, cls)`,
 * `table(headers, rows)` and `api(path, init)`, a `fetch` that sends
 * `X-Requested-With` (the admin APIs refuse state changes without it, see
 * `request_guard.ts`) and returns the answer (parsed when its type is JSON,
 * text otherwise), or throws an
 * Error whose message is the server's reason.
 *
 * @example
 * ```ts
 * import { PAGE_JS } from "./page_kit.ts";
 * console.log(PAGE_JS.includes("X-Requested-With"));
 * ```
 */
export const PAGE_JS = `
"use strict";
function el(tag, attrs, ...children) {
  const svg = ["svg", "rect", "polyline", "line", "text", "g", "title"].includes(tag);
  const node = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag)
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.setAttribute("class", v);
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) node.append(c instanceof Node ? c : String(c ?? ""));
  return node;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function statusDot(text, cls) {
  return el("span", { class: "status " + cls }, el("span", { class: "dot" }), text);
}

function table(headers, rows) {
  const head = el("tr", {}, ...headers.map(([label, cls]) => el("th", cls ? { class: cls } : {}, label)));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...rows));
}

async function api(path, init) {
  const headers = { "X-Requested-With": "dfrp-page", ...(init && init.headers) };
  const res = await fetch(path, { credentials: "same-origin", ...init, headers });
  const text = await res.text();
  // Only a JSON answer is parsed: a config file written in JSON stays text.
  const json = /json/.test(res.headers.get("content-type") || "");
  const body = json && text ? JSON.parse(text) : text;
  if (!res.ok) {
    const msg = body && typeof body === "object" ? body.msg : text.trim();
    throw new Error(msg || res.status + " " + res.statusText);
  }
  return body;
}
`;
