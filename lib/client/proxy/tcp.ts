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
import { type Duplex, writeAll } from "../../net/duplex.ts";
import { encodeProxyHeader } from "../../net/proxy_protocol.ts";
import { parseBandwidth, RateLimiter } from "../../net/rate_limit.ts";
import { relay } from "../../net/relay.ts";
import { dialTcp } from "../../net/tcp_conn.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import type { ClientProxy, ClientProxyContext } from "./proxy.ts";
import { registerClientProxy } from "./registry.ts";
import { wrapClientWorkConn } from "./work_conn.ts";

/** How long dialing the local service may take. */
export const LOCAL_DIAL_TIMEOUT_MS = 10_000;

/**
 * The bucket `transport.bandwidthLimit` asks the client to apply
 * (`bandwidthLimitMode = "client"`), or undefined for none.
 *
 * @example
 * ```ts
 * import { clientRateLimiter } from "./tcp.ts";
 * import type { ProxyConfig } from "../../config/mod.ts";
 * declare const config: ProxyConfig;
 * const limiter = clientRateLimiter(config);
 * ```
 */
export function clientRateLimiter(config: ProxyConfig): RateLimiter | undefined {
  const t = config.transport;
  if (!t || t.bandwidthLimitMode === "server") return undefined;
  const rate = parseBandwidth(t.bandwidthLimit ?? "");
  return rate > 0 ? new RateLimiter(rate) : undefined;
}

/**
 * Relays each work connection to the configured local TCP service, after a
 * PROXY protocol header when `transport.proxyProtocolVersion` asks for one.
 */
export class LocalServiceProxy implements ClientProxy {
  // One bucket for all of this proxy's connections, both ways, as in frp.
  #limiter?: RateLimiter;

  /**
   * @param config the proxy's config (`localIP`, `localPort`, `transport`)
   * @param ctx client services
   */
  constructor(readonly config: ProxyConfig, readonly ctx: ClientProxyContext) {
    this.#limiter = clientRateLimiter(config);
  }

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
    const header = encodeProxyHeader(this.config.transport?.proxyProtocolVersion, start);
    if (header) {
      try {
        await writeAll(local, header);
      } catch (err) {
        this.ctx.log.warn(`write proxy protocol header: ${(err as Error).message}`);
        local.close();
        conn.close();
        return;
      }
    }
    const limit = this.#limiter;
    await relay(
      wrapClientWorkConn(conn, this.config, this.ctx),
      local,
      limit ? { limitAToB: limit, limitBToA: limit } : undefined,
    );
  }

  /** Nothing of its own to stop. */
  close(): void {}
}

registerClientProxy("tcp", (config, ctx) => new LocalServiceProxy(config, ctx));
