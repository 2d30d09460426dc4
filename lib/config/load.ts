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
  report.throwIfErrors();
  return { config: completeServer(value), warnings: report.warnings };
}

/**
 * Parses and validates frpc config text. `includes` are resolved (relative
 * to `baseDir`, synchronously) only when `baseDir` is given.
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
    value.includes.forEach((pattern, i) => {
      const files = globSync(joinPath(baseDir, pattern));
      if (files.length === 0) report.at(src, ["includes", i], `no file matches "${pattern}"`, true);
      for (const file of files) {
        let inc: { value: Infer<typeof includeSchema>; src: Source };
        try {
          inc = loadDoc<Infer<typeof includeSchema>>(includeSchema, readSync(file), file, report);
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
 * to the file's directory). Throws {@linkcode ConfigError}.
 *
 * @example
 * ```ts
 * import { loadClientConfig } from "./load.ts";
 * const { config } = await loadClientConfig("frpc.toml");
 * for (const p of config.proxies) console.log(p.name, p.type);
 * ```
 */
export async function loadClientConfig(path: string): Promise<LoadResult<ClientConfig>> {
  const result = parseClientConfig(await read(path), path, dirName(path));
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
