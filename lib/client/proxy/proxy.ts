/**
 * The client side of a proxy type: what to do with a work connection the
 * server hands over. One file per type behind this interface, found through
 * the registry in `registry.ts`.
 *
 * @example
 * ```ts
 * import type { ClientProxyFactory } from "./proxy.ts";
 * const factory: ClientProxyFactory = (_config, ctx) => ({
 *   handleWorkConn: (conn) => Promise.resolve(conn.close()),
 *   close: () => ctx.log.info("closed"),
 * });
 * ```
 *
 * @module
 */

import type { ClientConfig, ProxyConfig } from "../../config/mod.ts";
import type { Logger } from "../../log.ts";
import type { Duplex } from "../../net/duplex.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";

/** What a proxy gets from the client. */
export interface ClientProxyContext {
  readonly clientConfig: ClientConfig;
  /** Logger with the `[name]` prefix. */
  readonly log: Logger;
}

/** A proxy running on the client. */
export interface ClientProxy {
  /** Serves one user connection that arrived as `conn`; closes it when done. Never rejects. */
  handleWorkConn(conn: Duplex, start: StartWorkConn): Promise<void>;
  /** Stops the proxy's own activity (health checks, listeners); open connections may finish. */
  close(): void;
}

/** Builds a client proxy of one type from its config. */
export type ClientProxyFactory = (config: ProxyConfig, ctx: ClientProxyContext) => ClientProxy;
