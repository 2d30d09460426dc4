/**
 * Format detection from the content (files may have no extension) and
 * parsing, with a line map for error messages.
 *
 * @module
 */

import { parse as parseToml, TomlError } from "smol-toml";
import { parse as parseYaml } from "yaml";
import { ConfigError, formatIssue } from "./errors.ts";
import { jsonLines, type LineMap, yamlLines } from "./locate.ts";
import { tomlLines } from "./locate_toml.ts";

/** The three formats frp accepts. */
export type ConfigFormat = "toml" | "yaml" | "json";

/** A parsed document and where its keys are. */
export interface ParsedDoc {
  format: ConfigFormat;
  data: Record<string, unknown>;
  lines: LineMap;
}

/**
 * Parses config text: JSON when it starts with `{`, else TOML, else YAML if
 * that yields a mapping. Throws {@linkcode ConfigError} naming `fileName`
 * and the line (the TOML error when nothing fits, as TOML is the default).
 *
 * @example
 * ```ts
 * import { parseConfigText } from "./parse.ts";
 * parseConfigText("bindPort: 7000\n", "frps").format; // "yaml"
 * ```
 */
export function parseConfigText(text: string, fileName: string): ParsedDoc {
  text = text.replace(/^\uFEFF/, "");
  if (text.trimStart().startsWith("{")) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      const msg = (e as Error).message;
      const m = /line (\d+)/.exec(msg) ?? undefined;
      const pos = /position (\d+)/.exec(msg);
      const line = m ? Number(m[1]) : pos ? lineOfOffset(text, Number(pos[1])) : undefined;
      throw new ConfigError([formatIssue(fileName, line, [], `JSON parse error: ${msg}`)]);
    }
    return { format: "json", data: asTable(data, fileName), lines: jsonLines(text) };
  }
  let tomlError: unknown;
  try {
    return { format: "toml", data: parseToml(text), lines: tomlLines(text) };
  } catch (e) {
    tomlError = e;
  }
  try {
    const data = parseYaml(text);
    if (typeof data === "object" && data !== null && !Array.isArray(data)) {
      return { format: "yaml", data: data as Record<string, unknown>, lines: yamlLines(text) };
    }
  } catch {
    // Reported as the TOML error below.
  }
  const te = tomlError as Error;
  const line = te instanceof TomlError ? te.line : undefined;
  const first = te.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
  throw new ConfigError([
    formatIssue(fileName, line, [], `TOML parse error: ${first} (YAML and JSON were tried too)`),
  ]);
}

function asTable(data: unknown, fileName: string): Record<string, unknown> {
  if (typeof data === "object" && data !== null && !Array.isArray(data)) {
    return data as Record<string, unknown>;
  }
  throw new ConfigError([formatIssue(fileName, 1, [], "expected a table at the top level")]);
}

function lineOfOffset(text: string, offset: number): number {
  let line = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text[i] === "\n") line++;
  return line;
}
