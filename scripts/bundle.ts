/**
 * Single-file JavaScript bundles of `server.ts` and `client.ts`
 * (`deno bundle`, npm packages inlined), runnable with plain `deno run` from
 * any folder, no `deno.json` needed:
 *
 *     deno run -A scripts/bundle.ts [OUT_DIR]       # default dist/
 *     deno run --allow-net --allow-read --allow-env --allow-write --unstable-net dist/dfrps.js -c frps.toml
 *
 * Each bundle starts with a `#!/usr/bin/env -S deno run ...` line carrying
 * its permission flags, so `./dfrps.js -c frps.toml` works too.
 *
 * @example
 * ```ts
 * import { bundleAll } from "./bundle.ts";
 * const files = await bundleAll("/tmp/out"); // ["/tmp/out/dfrps.js", "/tmp/out/dfrpc.js"]
 * ```
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { VERSION } from "../lib/version.ts";
import { CLIENT_FLAGS, SERVER_FLAGS } from "./permissions.ts";

/** The repository root (where `deno.json` resolves the npm imports). */
export const ROOT: string = new URL("../", import.meta.url).pathname;

/** One program dfrp ships: its name, its entry point and its permission flags. */
export interface Program {
  /** `dfrps` or `dfrpc`. */
  name: string;
  /** Entry point relative to the repository root. */
  entry: string;
  /** Permission flags from `permissions.ts`. */
  flags: readonly string[];
}

/**
 * The two programs.
 *
 * @example
 * ```ts
 * import { PROGRAMS } from "./bundle.ts";
 * for (const p of PROGRAMS) console.log(p.name, p.entry);
 * ```
 */
export const PROGRAMS: readonly Program[] = [
  { name: "dfrps", entry: "server.ts", flags: SERVER_FLAGS },
  { name: "dfrpc", entry: "client.ts", flags: CLIENT_FLAGS },
];

/**
 * Runs `deno` with `args` from the repository root; throws with its output
 * when it fails.
 *
 * @example
 * ```ts
 * import { deno } from "./bundle.ts";
 * await deno(["--version"]);
 * ```
 */
export async function deno(args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`deno ${args.join(" ")} failed:\n${text}`);
  return text;
}

/**
 * `path` made absolute against the current directory, because `deno` runs
 * from the repository root.
 *
 * @example
 * ```ts
 * import { absolute } from "./bundle.ts";
 * absolute("dist"); // "/home/me/dist" when run from /home/me
 * ```
 */
export function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(Deno.cwd(), path);
}

/**
 * Bundles `program` into `outDir/<name>.js` and returns that path.
 *
 * @example
 * ```ts
 * import { bundle, PROGRAMS } from "./bundle.ts";
 * await bundle(PROGRAMS[0], "dist"); // dist/dfrps.js
 * ```
 */
export async function bundle(program: Program, outDir: string): Promise<string> {
  outDir = absolute(outDir);
  await Deno.mkdir(outDir, { recursive: true });
  const out = `${outDir}/${program.name}.js`;
  // --packages=bundle inlines smol-toml and yaml, so the file needs no
  // deno.json or node_modules where it runs.
  await deno([
    "bundle",
    "--quiet",
    "--platform=deno",
    "--packages=bundle",
    // ssh2's optional native add-ons: it require()s them in a try and falls back to JS.
    "--external=*.node",
    "-o",
    out,
    program.entry,
  ]);
  const code = await Deno.readTextFile(out);
  const head = `#!/usr/bin/env -S deno run ${program.flags.join(" ")}\n` +
    `// ${program.name} ${VERSION}: single-file bundle of ${program.entry}\n` +
    // Inlined CommonJS (ssh2's wasm loader) reads these at load time.
    "var __dirname = import.meta.dirname, __filename = import.meta.filename;\n";
  await Deno.writeTextFile(out, head + code.replace(/^#!.*\n/, ""));
  if (Deno.build.os !== "windows") await Deno.chmod(out, 0o755);
  return out;
}

/**
 * Bundles both programs into `outDir`.
 *
 * @example
 * ```ts
 * import { bundleAll } from "./bundle.ts";
 * await bundleAll("dist");
 * ```
 */
export async function bundleAll(outDir: string): Promise<string[]> {
  const files = [];
  for (const p of PROGRAMS) files.push(await bundle(p, outDir));
  return files;
}

if (import.meta.main) {
  const outDir = Deno.args[0] ?? `${ROOT}dist`;
  for (const file of await bundleAll(outDir)) console.log(`bundled ${file}`);
}
