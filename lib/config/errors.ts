/**
 * Configuration problems and their one-line text form,
 * `frpc.toml:7: proxies[0].remotPort: unknown key (did you mean remotePort?)`.
 *
 * @module
 */

/** One step of a key path: an object key or an array index. */
export type PathSeg = string | number;

/** A problem found at a key path, before it is tied to a file and line. */
export interface Issue {
  path: PathSeg[];
  message: string;
  /** Warnings do not stop loading. */
  warning?: boolean;
}

/**
 * Thrown when a configuration cannot be loaded; carries every problem found,
 * one formatted line each.
 *
 * @example
 * ```ts
 * import { ConfigError } from "./errors.ts";
 * try {
 *   throw new ConfigError(["frps.toml:1: bindPort: expected integer, got string"]);
 * } catch (e) {
 *   if (e instanceof ConfigError) console.error(e.errors.length);
 * }
 * ```
 */
export class ConfigError extends Error {
  /** Formatted problems, `file[:line]: path: message`. */
  errors: string[];
  constructor(errors: string[]) {
    super(errors.join("\n"));
    this.name = "ConfigError";
    this.errors = errors;
  }
}

/**
 * Renders a key path the way users write it in messages: `proxies[0].localIP`.
 *
 * @example
 * ```ts
 * import { formatPath } from "./errors.ts";
 * formatPath(["proxies", 0, "localIP"]); // "proxies[0].localIP"
 * ```
 */
export function formatPath(path: readonly PathSeg[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else out += out === "" ? seg : `.${seg}`;
  }
  return out;
}

/**
 * Formats a problem as `file[:line]: path: message`.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./errors.ts";
 * formatIssue("frpc.toml", 7, ["proxies", 0, "remotPort"], "unknown key");
 * // "frpc.toml:7: proxies[0].remotPort: unknown key"
 * ```
 */
export function formatIssue(
  file: string,
  line: number | undefined,
  path: readonly PathSeg[],
  message: string,
): string {
  const where = line === undefined ? file : `${file}:${line}`;
  const p = formatPath(path);
  return p === "" ? `${where}: ${message}` : `${where}: ${p}: ${message}`;
}
