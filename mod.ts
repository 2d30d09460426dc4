/**
 * dfrp as a library: run the server or the client inside a Deno program.
 *
 * @example
 * ```ts
 * import { defaultServerConfig, DfrpServer } from "./mod.ts";
 * const server = new DfrpServer({ ...defaultServerConfig(), bindPort: 0 });
 * await server.start();
 * console.log(`dfrps on ${server.port}`);
 * await server.close();
 * ```
 *
 * @module
 */

export { DfrpServer } from "./lib/server/server.ts";
export { DfrpClient, type ProxyStatus } from "./lib/client/client.ts";
export {
  type ClientConfig,
  ConfigError,
  defaultClientConfig,
  defaultServerConfig,
  loadClientConfig,
  loadServerConfig,
  parseClientConfig,
  parseServerConfig,
  type ProxyConfig,
  type ServerConfig,
} from "./lib/config/mod.ts";
export { VERSION } from "./lib/version.ts";
