/**
 * The client's half of `transport.useEncryption` / `useCompression` for the
 * types whose server side wraps the work connection too (tcp, https and
 * tcpmux end in `serveUserConn`, udp in its work loop). Secret types (stcp,
 * sudp) wrap end to end with their `secretKey` instead, after the visitor
 * verdict; http connections are parsed by the server's vhost and are not
 * wrapped.
 *
 * @example
 * ```ts
 * import { wrapClientWorkConn } from "./work_conn.ts";
 * import type { ClientProxyContext } from "./proxy.ts";
 * import type { ProxyConfig } from "../../config/mod.ts";
 * import type { Duplex } from "../../net/duplex.ts";
 * declare const conn: Duplex, config: ProxyConfig, ctx: ClientProxyContext;
 * const work = wrapClientWorkConn(conn, config, ctx);
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import { wrapWorkConn } from "../../net/work_conn_options.ts";
import type { ClientProxyContext } from "./proxy.ts";

const WRAPPED_BY_SERVER = new Set(["tcp", "udp", "https", "tcpmux"]);

/**
 * `conn` wrapped as the proxy's `transport` asks when the server wraps its
 * end too, keyed from the client's token; otherwise `conn`.
 */
export function wrapClientWorkConn(
  conn: Duplex,
  config: ProxyConfig,
  ctx: ClientProxyContext,
): Duplex {
  if (!WRAPPED_BY_SERVER.has(config.type)) return conn;
  return wrapWorkConn(conn, config, ctx.clientConfig.auth.token, (r) => ctx.log.warn(r));
}
