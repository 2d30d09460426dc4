/**
 * `detailedErrorsToClient` (frp's key, default true): what a refusal sent to
 * a client says. On, the client reads the reason the server logged
 * (`authorization failed: token mismatch`); off, only a summary
 * (`login refused`), so a stranger probing the server learns nothing about
 * users, ports or plugins. The server log always has the details.
 *
 * @example
 * ```ts
 * import { errorForClient } from "./client_errors.ts";
 * import { defaultServerConfig } from "../config/mod.ts";
 * const config = defaultServerConfig();
 * config.detailedErrorsToClient = false;
 * errorForClient(config, "login refused", "unknown user [bob]"); // "login refused"
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../config/mod.ts";

/** `detail` when `detailedErrorsToClient` is on (or `detail` is ""), else `summary`. */
export function errorForClient(
  config: Pick<ServerConfig, "detailedErrorsToClient">,
  summary: string,
  detail: string,
): string {
  return detail === "" || config.detailedErrorsToClient ? detail : summary;
}
