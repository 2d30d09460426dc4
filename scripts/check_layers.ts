/**
 * Checks the layer rule of `docs/architecture.md`: every module under `lib/`
 * imports only from its own layer or the layers below it (type imports
 * included), and the server and the client never import each other. Prints
 * each import that runs upward and exits 1 if there is one.
 *
 * Run: `deno run --allow-read scripts/check_layers.ts` (part of `deno task check`).
 *
 * @example
 * ```ts
 * import { layerOf } from "./check_layers.ts";
 * console.log(layerOf("lib/mux/session.ts")); // "mux"
 * ```
 *
 * @module
 */

/** The layers, lowest first, as `docs/architecture.md` lists them. */
export const LAYERS = [
  "base", // lib/*.ts: the logger and the version, used everywhere
  "config",
  "net",
  "wire",
  "transport",
  "mux",
  "p2p",
  "server",
  "client",
  "cluster", // several servers sharing routes in Redis: uses the server, serves the admin layer
  "admin",
  "entry",
] as const;

/** One layer's name. */
export type Layer = typeof LAYERS[number];

/** Layers on one level: neither may import the other. */
const SIBLINGS: ReadonlyArray<readonly [Layer, Layer]> = [["server", "client"]];

const FOLDER_LAYER: Record<string, Layer> = {
  config: "config",
  protocol: "wire",
  net: "net",
  transport: "transport",
  mux: "mux",
  p2p: "p2p",
  server: "server",
  client: "client",
  cluster: "cluster",
  admin: "admin",
  cli: "entry",
  api: "entry",
};

/**
 * The layer of a path relative to the repository root, or `undefined` for
 * files outside `lib/` and the entry points (tests, benches, scripts).
 *
 * @example
 * ```ts
 * import { layerOf } from "./check_layers.ts";
 * console.log(layerOf("lib/protocol/codec.ts")); // "wire"
 * console.log(layerOf("server.ts")); // "entry"
 * ```
 */
export function layerOf(path: string): Layer | undefined {
  if (["server.ts", "client.ts", "mod.ts", "admin.ts"].includes(path)) return "entry";
  const parts = path.split("/");
  if (parts[0] !== "lib") return undefined;
  if (parts.length === 2) return "base";
  return FOLDER_LAYER[parts[1]];
}

/** The rank used to compare layers; siblings share one. */
function rank(layer: Layer): number {
  const sibling = SIBLINGS.find((pair) => pair[1] === layer);
  return LAYERS.indexOf(sibling ? sibling[0] : layer);
}

/**
 * Why importing `to` from `from` breaks the rule, or `undefined` when it is allowed.
 *
 * @example
 * ```ts
 * import { violation } from "./check_layers.ts";
 * console.log(violation("lib/net/tcp_conn.ts", "lib/transport/transport.ts"));
 * // "net imports transport"
 * ```
 */
export function violation(from: string, to: string): string | undefined {
  const a = layerOf(from);
  const b = layerOf(to);
  if (!a || !b || a === b) return undefined;
  const isSibling = SIBLINGS.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
  if (isSibling || rank(b) > rank(a)) return `${a} imports ${b}`;
  return undefined;
}

/**
 * Relative specifiers of every static import, re-export and dynamic import in
 * `source` (`import type` too), outside block comments (JSDoc examples may
 * show any import).
 */
function importsOf(text: string): string[] {
  const source = text.replace(/\/\*[\s\S]*?\*\//g, "");
  const specifiers: string[] = [];
  const pattern = /(?:^|\n)\s*(?:import|export)\b[^;'"]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of source.matchAll(pattern)) specifiers.push(match[1]);
  const bare = /(?:^|\n)\s*import\s*["'](\.{1,2}\/[^"']+)["']/g;
  for (const match of source.matchAll(bare)) specifiers.push(match[1]);
  const dynamic = /\bimport\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;
  for (const match of source.matchAll(dynamic)) specifiers.push(match[1]);
  return specifiers;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (entry.name.endsWith(".ts")) yield path;
  }
}

/** Joins a relative specifier to the importing file's folder, normalising `.` and `..`. */
function resolve(from: string, specifier: string): string {
  const parts = from.split("/").slice(0, -1);
  for (const part of specifier.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== ".") parts.push(part);
  }
  return parts.join("/");
}

if (import.meta.main) {
  const root = new URL("../", import.meta.url).pathname;
  Deno.chdir(root);
  const files = ["server.ts", "client.ts", "mod.ts"];
  try {
    await Deno.stat("admin.ts");
    files.push("admin.ts");
  } catch {
    // no serverless admin entry point in this checkout
  }
  for await (const file of sourceFiles("lib")) files.push(file);
  const problems: string[] = [];
  for (const file of files.sort()) {
    const source = await Deno.readTextFile(file);
    for (const specifier of importsOf(source)) {
      const target = resolve(file, specifier);
      const why = violation(file, target);
      if (why) problems.push(`${file} imports ${target} (${why})`);
    }
  }
  for (const line of problems) console.log(line);
  console.log(
    problems.length
      ? `${problems.length} upward imports in ${files.length} files`
      : `layers ok: ${files.length} files`,
  );
  if (problems.length) Deno.exit(1);
}
