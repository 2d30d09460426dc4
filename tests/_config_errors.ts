/**
 * The lines of a `ConfigError`, for tests that check what the loader says
 * about a bad config: the test fails if the config loads, or if it fails
 * with anything else.
 *
 * @example
 * ```ts
 * import { errorsOf } from "./_config_errors.ts";
 * import { parseServerConfig } from "../lib/config/load.ts";
 * console.log(errorsOf(() => parseServerConfig(`bindPort = "x"`, "frps.toml")));
 * ```
 *
 * @module
 */

import { ConfigError } from "../lib/config/errors.ts";

/**
 * Runs `fn`, expects it to throw a `ConfigError` and returns its lines; any other error is
 * rethrown, and no error at all fails.
 *
 * @example
 * ```ts
 * import { errorsOf } from "./_config_errors.ts";
 * import { parseClientConfig } from "../lib/config/load.ts";
 * const lines = errorsOf(() => parseClientConfig(`serverPort = -1`, "frpc.toml"));
 * console.log(lines.join("\n"));
 * ```
 */
export function errorsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.errors;
    throw e;
  }
  throw new Error("expected a ConfigError");
}

/**
 * {@linkcode errorsOf} for a promise: awaits `p` and returns the `ConfigError`'s lines.
 *
 * @example
 * ```ts
 * import { errorsOfAsync } from "./_config_errors.ts";
 * import { loadServerConfig } from "../lib/config/load.ts";
 * console.log(await errorsOfAsync(loadServerConfig("/nonexistent/frps.toml")));
 * ```
 */
export async function errorsOfAsync(p: Promise<unknown>): Promise<string[]> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ConfigError) return e.errors;
    throw e;
  }
  throw new Error("expected a ConfigError");
}
