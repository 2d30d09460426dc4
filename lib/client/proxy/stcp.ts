/**
 * `type = "stcp"` and `type = "sudp"` on the client that owns the proxy:
 * each work connection is one visitor. Before any byte reaches the local
 * service the visitor's proof (relayed by the server in `StartWorkConn`) is
 * checked against this proxy's own `secretKey`, and its user against
 * `allowUsers`; the verdict goes back as a `NewVisitorConnResp` frame. Then
 * stcp relays to `localIP:localPort` like tcp, and sudp carries framed
 * datagrams like udp (one set of flows per visitor).
 *
 * @example
 * ```ts
 * import { clientProxyFactory } from "./registry.ts";
 * import "./stcp.ts";
 * const factory = clientProxyFactory("stcp");
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import { wrapWorkConn } from "../../net/work_conn_options.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { admittedService, answerVisitor } from "./visitor_check.ts";
import type { ClientProxy, ClientProxyContext } from "./proxy.ts";
import { registerClientProxy } from "./registry.ts";
import { UdpClientProxy } from "./udp.ts";

/** See the module doc. */
export class SecretServiceProxy implements ClientProxy {
  #tcp?: ClientProxy;
  #udp = new Set<UdpClientProxy>();

  /**
   * @param type "stcp" or "sudp"
   * @param config the proxy's config (`secretKey`, `allowUsers`, local service)
   * @param ctx client services
   */
  constructor(
    readonly type: string,
    readonly config: ProxyConfig,
    readonly ctx: ClientProxyContext,
  ) {
    if (type === "stcp") this.#tcp = admittedService(config, ctx);
  }

  /** Checks the visitor, answers the verdict, then serves it. Never rejects. */
  async handleWorkConn(conn: Duplex, start: StartWorkConn): Promise<void> {
    const error = await answerVisitor(this.config, this.ctx.clientConfig.user, conn, start);
    if (error === null) return;
    if (error) {
      this.ctx.log.warn(
        `visitor from user [${start.visitorUser ?? ""}] (${start.srcAddr}) refused: ${error}`,
      );
      conn.close();
      return;
    }
    this.ctx.log.debug(`visitor from user [${start.visitorUser}] accepted`);
    // End to end with the visitor, keyed from the secret both hold; the server relays opaque bytes.
    conn = wrapWorkConn(
      conn,
      this.config,
      this.config.secretKey ?? "",
      (r) => this.ctx.log.warn(r),
    );
    if (this.#tcp) return await this.#tcp.handleWorkConn(conn, start);
    // One UDP proxy per visitor: its flows are that visitor's senders.
    const udp = new UdpClientProxy(this.config, this.ctx);
    this.#udp.add(udp);
    try {
      await udp.handleWorkConn(conn, start);
    } finally {
      udp.close();
      this.#udp.delete(udp);
    }
  }

  /** Ends the sudp visitors' flows and stops a plugin; stcp connections may finish. */
  close(): void {
    this.#tcp?.close();
    for (const udp of this.#udp) udp.close();
    this.#udp.clear();
  }
}

for (const type of ["stcp", "sudp"]) {
  registerClientProxy(type, (config, ctx) => new SecretServiceProxy(type, config, ctx));
}
