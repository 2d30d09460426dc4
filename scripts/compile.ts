/**
 * Release build (`deno task compile`): standalone `dfrps`/`dfrpc` binaries
 * for every platform, the single-file bundles, and SHA-256 checksums, all in
 * `dist/` (or the folder given with `--out`).
 *
 *     deno task compile                      # every target
 *     deno task compile --target x86_64-unknown-linux-gnu --out /tmp/rel
 *
 * Binaries are named `<program>-<version>-<target>[.exe]` and carry only the
 * flags from `permissions.ts`. `deno compile` downloads its runtime (denort)
 * from dl.deno.land; when that host is unreachable the script says so in one
 * line and still writes the bundles. With `DENORT_BIN` pointing at a local
 * denort, `deno compile` uses it instead, which only fits the host platform,
 * so only host binaries are built then. Every host binary is started with
 * `--version` and `verify -c` on the sample configs in `packaging/`.
 *
 * @example
 * ```ts
 * import { compileAll } from "./compile.ts";
 * const report = await compileAll({ outDir: "/tmp/rel", targets: [Deno.build.target] });
 * console.log(report.files);
 * ```
 *
 * @module
 */

import { parseArgs } from "node:util";
import { basename } from "node:path";
import { VERSION } from "../lib/version.ts";
import { absolute, bundleAll, deno, type Program, PROGRAMS, ROOT } from "./bundle.ts";

/**
 * Every platform released, as `deno compile --target` names them.
 *
 * @example
 * ```ts
 * import { TARGETS } from "./compile.ts";
 * console.log(TARGETS.includes("aarch64-apple-darwin")); // true
 * ```
 */
export const TARGETS: readonly string[] = [
  "x86_64-unknown-linux-gnu",
  "aarch64-unknown-linux-gnu",
  "x86_64-apple-darwin",
  "aarch64-apple-darwin",
  "x86_64-pc-windows-msvc",
];

/** What {@linkcode compileAll} should build. */
export interface CompileOptions {
  /** Output folder (created if missing). */
  outDir: string;
  /** Targets to compile; defaults to {@linkcode TARGETS}. */
  targets?: readonly string[];
}

/** What {@linkcode compileAll} produced. */
export interface CompileReport {
  /** Every file written (bundles and binaries), absolute paths. */
  files: string[];
  /** The binaries among them. */
  binaries: string[];
  /** Set when no binary could be built because the runtime download failed. */
  runtimeUnavailable?: string;
}

/**
 * The binary's file name for `program` on `target`.
 *
 * @example
 * ```ts
 * import { binaryName } from "./compile.ts";
 * binaryName("dfrps", "x86_64-pc-windows-msvc"); // "dfrps-0.1.0-x86_64-pc-windows-msvc.exe"
 * ```
 */
export function binaryName(program: string, target: string): string {
  return `${program}-${VERSION}-${target}${target.includes("windows") ? ".exe" : ""}`;
}

/** True when `deno compile` failed because it could not download denort. */
function isRuntimeDownloadError(message: string): boolean {
  return /error sending request for url \(\S*denort/.test(message) ||
    /dl\.deno\.land.*(dns error|Connect|timed out)/s.test(message);
}

async function compileOne(program: Program, target: string, outDir: string): Promise<string> {
  const out = `${outDir}/${binaryName(program.name, target)}`;
  // Types are checked by CI's `deno check`; a release build should not fail
  // on a type error in a file the program does not reach.
  await deno([
    "compile",
    "--quiet",
    "--no-check",
    ...program.flags,
    "--target",
    target,
    "-o",
    out,
    program.entry,
  ]);
  return out;
}

/**
 * Runs a host binary (or `deno run <flags> bundle.js`, given as `[command,
 * ...args]`) with `--version` and `verify -c` on its sample config, throwing
 * when either fails.
 *
 * @example
 * ```ts
 * import { smokeTest } from "./compile.ts";
 * await smokeTest("dist/dfrps-0.1.0-x86_64-unknown-linux-gnu", "dfrps");
 * ```
 */
export async function smokeTest(binary: string | string[], program: string): Promise<void> {
  const [command, ...prefix] = typeof binary === "string" ? [binary] : binary;
  const name = basename(prefix.at(-1) ?? command);
  const run = async (args: string[]) => {
    const out = await new Deno.Command(command, {
      args: [...prefix, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`${name} ${args.join(" ")} failed:\n${text}`);
    return text.trim();
  };
  const version = await run(["--version"]);
  if (version !== VERSION) throw new Error(`${name} --version printed "${version}"`);
  const sample = `${ROOT}packaging/${program === "dfrps" ? "frps" : "frpc"}.toml`;
  const verified = await run(["verify", "-c", sample]);
  if (!verified.includes("syntax is ok")) throw new Error(`verify printed: ${verified}`);
}

/**
 * Hex SHA-256 of the file at `path`.
 *
 * @example
 * ```ts
 * import { sha256File } from "./compile.ts";
 * console.log(await sha256File("dist/dfrps.js"));
 * ```
 */
export async function sha256File(path: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Writes `SHA256SUMS` (the `sha256sum -c` format) for `files` into `outDir`,
 * and a `<file>.sha256` beside each one.
 *
 * @example
 * ```ts
 * import { writeChecksums } from "./compile.ts";
 * await writeChecksums("dist", ["dist/dfrps.js"]);
 * ```
 */
export async function writeChecksums(outDir: string, files: string[]): Promise<string> {
  const lines = [];
  for (const file of files) {
    const line = `${await sha256File(file)}  ${basename(file)}\n`;
    await Deno.writeTextFile(`${file}.sha256`, line);
    lines.push(line);
  }
  const sums = `${outDir}/SHA256SUMS`;
  await Deno.writeTextFile(sums, lines.join(""));
  return sums;
}

/**
 * Bundles, compiles every target it can, smoke-tests host binaries, and
 * writes checksums.
 *
 * @example
 * ```ts
 * import { compileAll } from "./compile.ts";
 * await compileAll({ outDir: "dist" });
 * ```
 */
export async function compileAll(options: CompileOptions): Promise<CompileReport> {
  const outDir = absolute(options.outDir);
  let targets = options.targets ?? TARGETS;
  const files = await bundleAll(outDir);
  for (const [i, program] of PROGRAMS.entries()) {
    // --no-npm --no-remote: the bundle must hold every dependency itself.
    const run = [Deno.execPath(), "run", "--no-npm", "--no-remote", ...program.flags, files[i]];
    await smokeTest(run, program.name);
  }
  const report: CompileReport = { files, binaries: [] };
  if (Deno.env.get("DENORT_BIN")) {
    const skipped = targets.filter((t) => t !== Deno.build.target);
    if (skipped.length) {
      console.log(`DENORT_BIN is set and fits only ${Deno.build.target}; skipping ${skipped}`);
    }
    targets = targets.filter((t) => t === Deno.build.target);
  }
  outer: for (const target of targets) {
    for (const program of PROGRAMS) {
      let binary;
      try {
        binary = await compileOne(program, target, outDir);
      } catch (err) {
        const message = (err as Error).message;
        if (!isRuntimeDownloadError(message)) throw err;
        report.runtimeUnavailable = "deno compile cannot download its runtime (denort) from " +
          "dl.deno.land, so no binaries were built; set DENORT_BIN to a local denort " +
          `${Deno.version.deno} to build for this platform. The bundles are in ${outDir}.`;
        break outer;
      }
      if (target === Deno.build.target) await smokeTest(binary, program.name);
      report.binaries.push(binary);
      files.push(binary);
    }
  }
  await writeChecksums(outDir, files);
  return report;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: `${ROOT}dist` },
      target: { type: "string", multiple: true },
    },
  });
  const unknown = (values.target ?? []).filter((t) => !TARGETS.includes(t));
  if (unknown.length) {
    console.error(`unknown target ${unknown.join(", ")}; known: ${TARGETS.join(", ")}`);
    Deno.exit(1);
  }
  const report = await compileAll({ outDir: values.out, targets: values.target });
  if (report.runtimeUnavailable) console.log(report.runtimeUnavailable);
  for (const file of report.files) console.log(`wrote ${file}`);
  console.log(`wrote ${values.out}/SHA256SUMS`);
}
