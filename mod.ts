/**
 * dfrp as a library: expose a local port through a dfrp server, or run the
 * server, from a Deno program. The options are the config files' keys (frp v1
 * names), validated and completed the same way. The wire protocol is dfrp's
 * own: the other end must be dfrp too (frp's frps and frpc cannot talk to it).
 *
 * @example
 * ```ts
 * import { connect } from "./mod.ts";
 * Deno.serve({ port: 8000 }, () => new Response("hello from behind NAT"));
 * const tunnel = await connect({
 *   serverAddr: "tunnel.example.com",
 *   token: "secret",
 *   proxies: [{ name: "web", type: "tcp", localPort: 8000, remotePort: 18000 }],
 * });
 * console.log(tunnel.status()[0].remoteAddr); // ":18000"
 * ```
 *
 * @module
 */

export { connect, type Tunnel } from "./lib/api/connect.ts";
export { serve, type TunnelServer } from "./lib/api/serve.ts";
export type { ConnectOptions, DeepPartial, ProxyOptions, ServeOptions } from "./lib/api/options.ts";
export { DfrpServer } from "./lib/server/server.ts";
import "./lib/admin/server/feature.ts"; // a DfrpServer made here serves webServer too
import "./lib/cluster/register.ts"; // cluster mode, loaded only when [cluster] asks for it
export { DfrpClient, type ProxyStatus } from "./lib/client/client.ts";
export { LoginError } from "./lib/client/login.ts";
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
export { type LogLevel, setLogLevel } from "./lib/log.ts";
export { VERSION } from "./lib/version.ts";
