/**
 * dfrp configuration: frp v0.70 config files (TOML, YAML or JSON) for frps
 * and frpc, with `{{ .Envs.NAME }}` templates, frp's defaults, includes, and
 * errors that name the file, line and key.
 *
 * @example
 * ```ts
 * import { ConfigError, loadServerConfig } from "./mod.ts";
 * try {
 *   const { config, warnings } = await loadServerConfig("frps.toml");
 *   for (const w of warnings) console.warn(w);
 *   console.log(config.bindAddr, config.bindPort);
 * } catch (e) {
 *   if (e instanceof ConfigError) console.error(e.message);
 * }
 * ```
 *
 * @module
 */

export { ConfigError } from "./errors.ts";
export {
  defaultClientConfig,
  defaultServerConfig,
  includesRootOf,
  loadClientConfig,
  type LoadResult,
  loadServerConfig,
  parseClientConfig,
  parseServerConfig,
} from "./load.ts";
export { portAllowed, type PortRange } from "./ports.ts";
export type { ServerConfig } from "./server_schema.ts";
export type { ClientConfig, ProxyConfig, ProxyType, VisitorConfig } from "./client_schema.ts";
export { PROXY_TYPES } from "./client_schema.ts";
