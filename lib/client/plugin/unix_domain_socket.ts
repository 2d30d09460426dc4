/**
 * `plugin.type = "unix_domain_socket"`: each user connection is relayed to
 * the Unix socket at `unixPath` (after a PROXY protocol header when the
 * proxy asks for one).
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "docker"
 * type = "tcp"
 * remotePort = 6000
 * plugin.type = "unix_domain_socket"
 * plugin.unixPath = "/var/run/docker.sock"
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../../net/duplex.ts";
import { encodeProxyHeader } from "../../net/proxy_protocol.ts";
import { relay } from "../../net/relay.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { type ClientPlugin, type PluginContext, requireOption } from "./plugin.ts";
import { registerPlugin } from "./registry.ts";
import { asDuplex } from "./deno_conn.ts";

/** See the module doc. */
export class UnixDomainSocketPlugin implements ClientPlugin {
  /**
   * @param path the socket to dial for every connection
   * @param ctx the proxy's config and logger
   */
  constructor(readonly path: string, readonly ctx: PluginContext) {}

  /** Dials the socket and relays; closes `conn` if the dial fails. */
  async handle(conn: Duplex, start: StartWorkConn): Promise<void> {
    let local: Duplex;
    try {
      local = asDuplex(await Deno.connect({ transport: "unix", path: this.path }));
    } catch (err) {
      this.ctx.log.warn(`dial to uds ${this.path} error: ${(err as Error).message}`);
      conn.close();
      return;
    }
    const header = encodeProxyHeader(this.ctx.proxy.transport?.proxyProtocolVersion, start);
    try {
      if (header) await writeAll(local, header);
    } catch (err) {
      this.ctx.log.warn(`write proxy protocol header to uds: ${(err as Error).message}`);
      local.close();
      conn.close();
      return;
    }
    await relay(conn, local);
  }

  /** Nothing of its own to stop. */
  close(): void {}
}

registerPlugin(
  "unix_domain_socket",
  (options, ctx) => new UnixDomainSocketPlugin(requireOption(options, "unixPath"), ctx),
);
