/**
 * `type = "tcp"` on the client: each work connection is relayed to
 * `localIP:localPort`. The stream-carrying types whose client side is the
 * same (http, https, tcpmux, stcp) reuse {@linkcode LocalServiceProxy}.
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * import "./tcp.ts";
 * const factory = clientProxyFactory("tcp");
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import { dialTcp } from "../../net/tcp_conn.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import type { ClientProxy, ClientProxyContext } from "./proxy.ts";
import { registerClientProxy } from "./registry.ts";

/** How long dialing the local service may take. */
export const LOCAL_DIAL_TIMEOUT_MS = 10_000;

/** Relays each work connection to the configured local TCP service. */
export class LocalServiceProxy implements ClientProxy {
  /**
   * @param config the proxy's config (`localIP`, `localPort`)
   * @param ctx client services
   */
  constructor(readonly config: ProxyConfig, readonly ctx: ClientProxyContext) {}

  /** Dials the local service and relays; closes `conn` if the dial fails. */
  async handleWorkConn(conn: Duplex, start: StartWorkConn): Promise<void> {
    const host = this.config.localIP ?? "127.0.0.1";
    const port = Number(this.config.localPort ?? 0);
    let local: Duplex;
    try {
      local = await dialTcp(host, port, LOCAL_DIAL_TIMEOUT_MS);
    } catch (err) {
      this.ctx.log.warn(
        `connect to local service [${host}:${port}] error: ${(err as Error).message}`,
      );
      conn.close();
      return;
    }
    this.ctx.log.debug(
      `join connections, user ${start.srcAddr}:${start.srcPort} -> ${host}:${port}`,
    );
    await relay(conn, local);
  }

  /** Nothing of its own to stop. */
  close(): void {}
}

registerClientProxy("tcp", (config, ctx) => new LocalServiceProxy(config, ctx));
