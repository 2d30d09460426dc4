/**
 * The servers a client talks to: the `[[servers]]` list, or the one
 * top-level `serverAddr`/`serverPort` when the list is empty. Each entry
 * becomes a whole {@linkcode ClientConfig} (the top-level one with that
 * entry's address, port, token and protocol), so dialing code stays
 * one-server code.
 *
 * @example
 * ```ts
 * import { serverEndpoints } from "./servers.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * const cfg = defaultClientConfig();
 * cfg.servers = [
 *   { serverAddr: "a.example", serverPort: 7000, auth: { token: "" }, transport: { protocol: "tcp", tls: { serverName: "" } } },
 * ];
 * serverEndpoints(cfg)[0].serverAddr; // "a.example"
 * ```
 *
 * @module
 */

import type { ClientConfig } from "../config/mod.ts";

/**
 * One config per server to reach, in the order they are tried; the
 * top-level config alone when `servers` is empty.
 *
 * @example
 * ```ts
 * import { serverEndpoints } from "./servers.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * serverEndpoints(defaultClientConfig()).length; // 1
 * ```
 */
export function serverEndpoints(config: ClientConfig): ClientConfig[] {
  const servers = config.servers ?? [];
  if (servers.length === 0) return [config];
  return servers.map((s) => ({
    ...config,
    serverAddr: s.serverAddr,
    serverPort: s.serverPort,
    servers: [],
    auth: { ...config.auth, token: s.auth.token || config.auth.token },
    transport: {
      ...config.transport,
      protocol: s.transport.protocol || config.transport.protocol,
      tls: {
        ...config.transport.tls,
        serverName: s.transport.tls.serverName || config.transport.tls.serverName,
      },
    },
  }));
}

/**
 * `host:port` of an endpoint, for logs and status.
 *
 * @example
 * ```ts
 * import { endpointName } from "./servers.ts";
 * import { defaultClientConfig } from "../config/mod.ts";
 * endpointName(defaultClientConfig()); // "0.0.0.0:7000"
 * ```
 */
export function endpointName(config: ClientConfig): string {
  const host = config.serverAddr.includes(":") ? `[${config.serverAddr}]` : config.serverAddr;
  return `${host}:${config.serverPort}`;
}
