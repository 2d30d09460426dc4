/**
 * What `client.ts` and `server.ts` do alike before they run: parse the
 * command line (a bad flag, `--help` and `--version` end there with an exit
 * code), load a config file, printing its warnings, or its errors (each
 * naming key, file and line) for exit code 1, and then set up logging and
 * the state directory from the config.
 *
 * @example
 * ```ts
 * import { loadConfigReported, parseMainArgs } from "./main_args.ts";
 * import { loadClientConfig } from "../config/mod.ts";
 * const parsed = parseMainArgs(["-c", "frpc.toml"], {
 *   config: { type: "string", short: "c", default: "./frpc.toml" },
 * }, "usage: client.ts [-c FILE]");
 * if (typeof parsed !== "number") {
 *   const config = await loadConfigReported(() => loadClientConfig(parsed.values.config));
 *   if (config === null) Deno.exit(1);
 * }
 * ```
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import { ConfigError } from "../config/mod.ts";
import { log, type LogLevel, setLogLevel } from "../log.ts";
import { logTo } from "../log_file.ts";
import { VERSION } from "../version.ts";
import { defaultStateDir } from "./state_dir.ts";

const COMMON = {
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "v" },
} as const;

/**
 * Parses `args` with `options` plus `-h/--help` and `-v/--version`. Returns
 * the parsed flags and positionals, or the exit code after a bad flag (the
 * error and `help` on stderr), `--help` (`help`) or `--version`.
 */
export function parseMainArgs<O extends ParseArgsOptionsConfig>(
  args: string[],
  options: O,
  help: string,
) {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { ...options, ...COMMON } });
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${help}`);
    return 1;
  }
  const common = parsed.values as { help?: boolean; version?: boolean };
  if (common.help) return console.log(help), 0;
  if (common.version) return console.log(VERSION), 0;
  return parsed;
}

/**
 * Runs `load` and logs its warnings; a {@linkcode ConfigError}'s lines go
 * to stderr and give null (exit code 1). Other errors propagate.
 */
export async function loadConfigReported<T>(
  load: () => Promise<{ config: T; warnings: string[] }>,
): Promise<T | null> {
  try {
    const { config, warnings } = await load();
    for (const w of warnings) log.warn(w);
    return config;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    for (const line of err.errors) console.error(line);
    return null;
  }
}

/**
 * Sets the log level and log file from `config.log`, and `stateDir` (when
 * unset) beside `configPath`. False, with the reason on stderr, when the
 * log file cannot be opened.
 */
export function applyLogAndStateDir(
  config: { log: { level: string; to: string; maxDays: number }; stateDir: string },
  configPath: string | null,
): boolean {
  setLogLevel(config.log.level as LogLevel);
  try {
    logTo(config.log);
  } catch (err) {
    console.error((err as Error).message);
    return false;
  }
  config.stateDir ||= defaultStateDir(configPath);
  return true;
}
