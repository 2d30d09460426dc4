/**
 * Loading frps / frpc configs: template → parse → validate → frp's
 * computed defaults → client-level checks (includes, duplicate names, start).
 *
 * @module
 */

import {
  type ClientConfig,
  clientSchema,
  completeClient,
  includeSchema,
  type ProxyConfig,
  type VisitorConfig,
} from "./client_schema.ts";
import { ConfigError, formatIssue, type Issue, type PathSeg } from "./errors.ts";
import { globSync } from "./glob.ts";
import type { LineMap } from "./locate.ts";
import { parseConfigText } from "./parse.ts";
import { defaultOf, type Infer, type Node } from "./schema.ts";
import { completeServer, type ServerConfig, serverSchema } from "./server_schema.ts";
import { resolveTokenSource } from "./token_source.ts";
import { envContext, renderTemplate, TemplateError } from "./template.ts";
import { validate } from "./validate.ts";

/** A loaded config plus the warnings about keys dfrp ignores. */
export interface LoadResult<T> {
  config: T;
  /** Formatted like errors: `file[:line]: path: message`. */
  warnings: string[];
}

/** Where a document came from, to turn key paths into `file:line`. */
interface Source {
  fileName: string;
  lines?: LineMap;
}

/** Collects formatted errors and warnings across files. */
class Report {
  errors: string[] = [];
  warnings: string[] = [];

  add(src: Source, issues: Issue[]): void {
    // Schema order is not file order; users read messages top to bottom.
    const located = issues.map((i) => ({ i, line: src.lines?.lookup(i.path) ?? 0 }));
    located.sort((a, b) => a.line - b.line);
    for (const { i, line } of located) {
      const text = formatIssue(src.fileName, line || undefined, i.path, i.message);
      (i.warning ? this.warnings : this.errors).push(text);
    }
  }

  at(src: Source, path: PathSeg[], message: string, warning = false): void {
    this.add(src, [{ path, message, warning }]);
  }

  where(src: Source, path: PathSeg[]): string {
    const line = src.lines?.lookup(path);
    return line === undefined ? src.fileName : `${src.fileName}:${line}`;
  }

  throwIfErrors(): void {
    if (this.errors.length > 0) throw new ConfigError(this.errors);
  }
}

/**
 * Templates, parses and validates one document. Parse failures end loading
 * (nothing else can be checked), so they are thrown.
 */
function loadDoc<T>(
  schema: Node,
  text: string,
  fileName: string,
  report: Report,
): { value: T; src: Source } {
  let rendered: string;
  try {
    rendered = renderTemplate(text, envContext());
  } catch (e) {
    if (!(e instanceof TemplateError)) throw e;
    throw new ConfigError([formatIssue(fileName, e.line, [], e.message)]);
  }
  const doc = parseConfigText(rendered, fileName);
  const src = { fileName, lines: doc.lines };
  const { value, issues } = validate(schema, doc.data);
  report.add(src, issues);
  return { value: value as T, src };
}

/**
 * Parses and validates frps config text (TOML, YAML or JSON).
 * Throws {@linkcode ConfigError} listing every problem.
 *
 * @example
 * ```ts
 * import { parseServerConfig } from "./load.ts";
 * const { config } = parseServerConfig("bindPort = 7001", "frps.toml");
 * config.bindPort; // 7001
 * ```
 */
export function parseServerConfig(text: string, fileName: string): LoadResult<ServerConfig> {
  const report = new Report();
  const { value, src } = loadDoc<ServerConfig>(serverSchema, text, fileName, report);
  value.allowPorts.forEach((r, i) => {
    if (r.single === 0 && r.end !== 0 && r.start > r.end) {
      report.at(src, ["allowPorts", i], `start ${r.start} is greater than end ${r.end}`);
    }
  });
  if (value.auth.method === "oidc" && value.auth.oidc.issuer === "") {
    report.at(src, ["auth", "oidc", "issuer"], 'must be set when auth.method is "oidc"');
  }
  report.throwIfErrors();
  return { config: completeServer(value), warnings: report.warnings };
}

/**
 * Parses and validates frpc config text. `includes` are resolved (relative
 * to `baseDir`, synchronously) only when `baseDir` is given, and only files
 * inside `includesRoot` (default: the text's own `includesRoot` key, else
 * `baseDir`) are read; see {@linkcode includesRootOf}. Errors about
 * included files never quote them: a file that is no config with
 * `proxies`/`visitors` is refused as a whole.
 * Throws {@linkcode ConfigError} listing every problem.
 *
 * @example
 * ```ts
 * import { parseClientConfig } from "./load.ts";
 * const text = '[[proxies]]\nname = "ssh"\ntype = "tcp"\nlocalPort = 22\n';
 * const { config } = parseClientConfig(text, "frpc.toml");
 * config.proxies[0].localIP; // "127.0.0.1"
 * ```
 */
export function parseClientConfig(
  text: string,
  fileName: string,
  baseDir?: string,
  includesRoot?: string,
): LoadResult<ClientConfig> {
  const report = new Report();
  const { value, src } = loadDoc<ClientConfig>(clientSchema, text, fileName, report);
  const proxies: Owned<ProxyConfig>[] = value.proxies.map((item, i) => ({
    item,
    src,
    path: ["proxies", i],
  }));
  const visitors: Owned<VisitorConfig>[] = value.visitors.map((item, i) => ({
    item,
    src,
    path: ["visitors", i],
  }));

  if (baseDir !== undefined) {
    const root = includesRoot ?? includesRootOf(value, baseDir);
    const realRoot = realPath(root);
    value.includes.forEach((pattern, i) => {
      const full = normalizePath(joinPath(absolutePath(baseDir), pattern));
      if (realRoot === null || !inside(fixedPrefix(full), root)) {
        report.at(src, ["includes", i], outsideRoot(pattern, root));
        return;
      }
      const files = globSync(full);
      if (files.length === 0) report.at(src, ["includes", i], `no file matches "${pattern}"`, true);
      for (const file of files) {
        // A symlink inside the root may still point outside it.
        const real = realPath(file);
        if (real === null || !inside(real, realRoot)) {
          report.at(src, ["includes", i], outsideRoot(pattern, root));
          return;
        }
        let inc: { value: Infer<typeof includeSchema>; src: Source };
        try {
          inc = loadInclude(readSync(file), file, report);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          report.errors.push(...e.errors);
          continue;
        }
        inc.value.proxies.forEach((item, j) =>
          proxies.push({ item, src: inc.src, path: ["proxies", j] })
        );
        inc.value.visitors.forEach((item, j) =>
          visitors.push({ item, src: inc.src, path: ["visitors", j] })
        );
      }
    });
  }

  const oidc = value.auth.oidc;
  if (value.auth.method === "oidc" && oidc.tokenEndpointURL === "" && !oidc.tokenSource.type) {
    report.at(
      src,
      ["auth", "oidc", "tokenEndpointURL"],
      'must be set when auth.method is "oidc" (or set auth.oidc.tokenSource)',
    );
  }
  if (oidc.tokenSource.type && oidc.tokenSource.type !== "file") {
    report.at(
      src,
      ["auth", "oidc", "tokenSource", "type"],
      `"${oidc.tokenSource.type}" is not supported (only "file")`,
    );
  } else if (oidc.tokenSource.type === "file" && !oidc.tokenSource.file.path) {
    report.at(
      src,
      ["auth", "oidc", "tokenSource", "file", "path"],
      'must be set when type is "file"',
    );
  }
  for (const p of proxies) checkProxy(p, report);
  checkUniqueNames(proxies, "proxy", report);
  checkUniqueNames(visitors, "visitor", report);
  report.throwIfErrors();

  // `start` keeps only the listed proxies/visitors running (after validating all).
  const start = new Set(value.start);
  const names = new Set([...proxies, ...visitors].map((o) => o.item.name));
  value.start.forEach((name, i) => {
    if (!names.has(name)) {
      report.at(src, ["start", i], `no proxy or visitor named "${name}"`, true);
    }
  });
  const keep = <T extends { name: string }>(list: Owned<T>[]) =>
    list.map((o) => o.item).filter((it) => start.size === 0 || start.has(it.name));
  value.proxies = keep(proxies);
  value.visitors = keep(visitors);
  return { config: completeClient(value), warnings: report.warnings };
}

/**
 * The folder `includes` may reach: `includesRoot` (relative to the config's
 * folder) or, when empty, the config's folder itself; absolute.
 *
 * @example
 * ```ts
 * import { includesRootOf } from "./load.ts";
 * includesRootOf({ includesRoot: "" }, "/etc/frp"); // "/etc/frp"
 * ```
 */
export function includesRootOf(config: { includesRoot?: string }, baseDir: string): string {
  const root = config.includesRoot ?? "";
  return normalizePath(joinPath(absolutePath(baseDir), root === "" ? "." : root));
}

function outsideRoot(pattern: string, root: string): string {
  return `"${pattern}" reaches outside ${root} (includes stay inside the config's folder; ` +
    `set includesRoot in the file to allow more)`;
}

/**
 * An included file: templated and parsed like the main file, but no error
 * quotes it (an include pattern may have caught a file that is no config).
 */
function loadInclude(
  text: string,
  fileName: string,
  report: Report,
): { value: Infer<typeof includeSchema>; src: Source } {
  const unreadable = (line?: number) =>
    new ConfigError([
      formatIssue(fileName, line, [], "not a TOML, YAML or JSON config (contents not shown)"),
    ]);
  let rendered: string;
  let doc: ReturnType<typeof parseConfigText>;
  try {
    rendered = renderTemplate(text, envContext());
    doc = parseConfigText(rendered, fileName);
  } catch (e) {
    if (e instanceof TemplateError) throw unreadable(e.line);
    if (e instanceof ConfigError) {
      const line = /^[^:]*:(\d+):/.exec(e.errors[0] ?? "");
      throw unreadable(line ? Number(line[1]) : undefined);
    }
    throw e;
  }
  if (!("proxies" in doc.data) && !("visitors" in doc.data)) {
    throw new ConfigError([
      formatIssue(fileName, undefined, [], "no proxies or visitors in it (contents not shown)"),
    ]);
  }
  const src = { fileName, lines: doc.lines };
  const { value, issues } = validate(includeSchema, doc.data);
  report.add(src, issues);
  return { value: value as Infer<typeof includeSchema>, src };
}

/** A proxy/visitor with the file and path it was defined at. */
interface Owned<T> {
  item: T;
  src: Source;
  path: PathSeg[];
}

/** frp's per-type checks that need more than one key. */
function checkProxy({ item: p, src, path }: Owned<ProxyConfig>, report: Report): void {
  if (
    (p.type === "http" || p.type === "https" || p.type === "tcpmux") &&
    (p.subdomain ?? "") === "" && (p.customDomains ?? []).length === 0
  ) {
    report.at(src, path, "subdomain and customDomains must not both be empty");
  }
  if (p.healthCheck.type === "http" && p.healthCheck.path === "") {
    report.at(src, [...path, "healthCheck"], "path is required when healthCheck.type is http");
  }
}

function checkUniqueNames<T extends { name: string }>(
  list: Owned<T>[],
  noun: string,
  report: Report,
): void {
  const seen = new Map<string, Owned<T>>();
  for (const o of list) {
    if (o.item.name === "") continue;
    const first = seen.get(o.item.name);
    if (first) {
      const where = report.where(first.src, [...first.path, "name"]);
      report.at(
        o.src,
        [...o.path, "name"],
        `duplicate ${noun} name "${o.item.name}" (first at ${where})`,
      );
    } else seen.set(o.item.name, o);
  }
}

/**
 * Reads and loads an frps config file. Throws {@linkcode ConfigError}
 * (also for a missing file: `frps.toml: cannot read file: No such file or directory`).
 *
 * @example
 * ```ts
 * import { loadServerConfig } from "./load.ts";
 * const { config, warnings } = await loadServerConfig("frps.toml");
 * ```
 */
export async function loadServerConfig(path: string): Promise<LoadResult<ServerConfig>> {
  const result = parseServerConfig(await read(path), path);
  await resolveTokenSource(result.config.auth, path);
  return result;
}

/**
 * Reads and loads an frpc config file, with its `includes` (globs relative
 * to the file's directory, kept inside `includesRoot`: the argument, else
 * the file's key, else the file's folder). Throws {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import { loadClientConfig } from "./load.ts";
 * const { config } = await loadClientConfig("frpc.toml");
 * for (const p of config.proxies) console.log(p.name, p.type);
 * ```
 */
export async function loadClientConfig(
  path: string,
  includesRoot?: string,
): Promise<LoadResult<ClientConfig>> {
  const result = parseClientConfig(await read(path), path, dirName(path), includesRoot);
  await resolveTokenSource(result.config.auth, path);
  return result;
}

/**
 * frps config with every default, as frps runs without `-c`.
 *
 * @example
 * ```ts
 * import { defaultServerConfig } from "./load.ts";
 * defaultServerConfig().bindPort; // 7000
 * ```
 */
export function defaultServerConfig(): ServerConfig {
  return completeServer(defaultOf(serverSchema));
}

/**
 * frpc config with every default and no proxies.
 *
 * @example
 * ```ts
 * import { defaultClientConfig } from "./load.ts";
 * defaultClientConfig().serverPort; // 7000
 * ```
 */
export function defaultClientConfig(): ClientConfig {
  return completeClient(defaultOf(clientSchema));
}

async function read(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw readError(path, e);
  }
}

function readSync(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw readError(path, e);
  }
}

function readError(path: string, e: unknown): unknown {
  let why: string;
  if (e instanceof Deno.errors.NotFound) why = "No such file or directory";
  else if (e instanceof Deno.errors.PermissionDenied) why = "permission denied";
  else if (e instanceof Deno.errors.IsADirectory) why = "is a directory";
  else if (e instanceof Error) why = e.message.replace(/ \(os error \d+\).*$/, "");
  else return e;
  return new ConfigError([`${path}: cannot read file: ${why}`]);
}

function dirName(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** Joins like Go's filepath.Join for our needs: absolute wins, "./" dropped. */
function joinPath(base: string, rel: string): string {
  if (rel.startsWith("/")) return rel;
  const parts = (base === "." ? [] : [base]).concat(rel.split("/").filter((s) => s !== "."));
  return parts.join("/").replace(/\/{2,}/g, "/");
}

function absolutePath(p: string): string {
  return p.startsWith("/") ? p : `${Deno.cwd()}/${p}`;
}

/** Resolves `.` and `..` segments of an absolute path, without touching the disk. */
function normalizePath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return "/" + out.join("/");
}

/** The part of a glob pattern before its first wildcard segment. */
function fixedPrefix(pattern: string): string {
  const segs = pattern.split("/");
  const i = segs.findIndex((s) => /[*?[]/.test(s));
  return i < 0 ? pattern : segs.slice(0, i).join("/") || "/";
}

function inside(path: string, root: string): boolean {
  return root === "/" || path === root || path.startsWith(root + "/");
}

function realPath(p: string): string | null {
  try {
    return Deno.realPathSync(p);
  } catch {
    return null;
  }
}
