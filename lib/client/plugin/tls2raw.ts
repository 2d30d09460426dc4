/**
 * `plugin.type = "tls2raw"`: terminates the user's TLS with
 * `crtPath`/`keyPath` and relays the plain bytes to `localAddr`.
 *
 * TLS is terminated by an internal `Deno.listenTls` on 127.0.0.1 that the
 * work connection is bridged to (see `loopback.ts`); the PROXY protocol
 * header, when asked for, still names the real user.
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "tls-to-raw"
 * type = "tcp"
 * remotePort = 6443
 * plugin.type = "tls2raw"
 * plugin.localAddr = "127.0.0.1:6000"
 * plugin.crtPath = "./server.crt"
 * plugin.keyPath = "./server.key"
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../../net/duplex.ts";
import { encodeProxyHeader } from "../../net/proxy_protocol.ts";
import { relay } from "../../net/relay.ts";
import { dialTcp } from "../../net/tcp_conn.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { LOCAL_DIAL_TIMEOUT_MS } from "../proxy/tcp.ts";
import { parseHostPort } from "./bridge_plugin.ts";
import { asDuplex } from "./deno_conn.ts";
import { readPemPair } from "./http_server.ts";
import { LoopbackBridge } from "./loopback.ts";
import {
  type ClientPlugin,
  type PluginContext,
  type PluginOptions,
  requireOption,
} from "./plugin.ts";
import { registerPlugin } from "./registry.ts";

/** See the module doc. */
export class Tls2RawPlugin implements ClientPlugin {
  #listener: Deno.TlsListener;
  #bridge: LoopbackBridge;
  #target: { host: string; port: number };

  /**
   * @param options `localAddr`, `crtPath`, `keyPath`
   * @param ctx the proxy's config and logger
   */
  constructor(options: PluginOptions, readonly ctx: PluginContext) {
    this.#target = parseHostPort(requireOption(options, "localAddr"));
    const pem = readPemPair(options.crtPath ?? "", options.keyPath ?? "");
    this.#listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, ...pem });
    this.#bridge = new LoopbackBridge(this.#listener.addr.port);
    this.#accept();
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) this.#serve(conn);
    } catch {
      // The listener was closed.
    }
  }

  async #serve(tls: Deno.TlsConn): Promise<void> {
    const user = asDuplex(tls);
    // Looked up only once bytes have arrived: the bridge records the visitor
    // after its connect resolves, which may come after this accept.
    let start: StartWorkConn | undefined;
    try {
      await tls.handshake();
    } catch (err) {
      start = this.#bridge.visitorOf(tls.remoteAddr);
      const who = start ? `${start.srcAddr}:${start.srcPort}` : "a local process";
      this.ctx.log.warn(`tls handshake with ${who} error: ${(err as Error).message}`);
      return user.close();
    }
    start = this.#bridge.visitorOf(tls.remoteAddr);
    if (!start) return user.close();
    const { host, port } = this.#target;
    let local: Duplex;
    try {
      local = await dialTcp(host, port, LOCAL_DIAL_TIMEOUT_MS);
    } catch (err) {
      this.ctx.log.warn(`dial to local addr ${host}:${port} error: ${(err as Error).message}`);
      return user.close();
    }
    const header = encodeProxyHeader(this.ctx.proxy.transport?.proxyProtocolVersion, start);
    try {
      if (header) await writeAll(local, header);
    } catch (err) {
      this.ctx.log.warn(`write proxy protocol header: ${(err as Error).message}`);
      local.close();
      return user.close();
    }
    await relay(user, local);
  }

  /** Bridges the user's TLS bytes to the internal listener. */
  handle(conn: Duplex, start: StartWorkConn): Promise<void> {
    return this.#bridge.bridge(conn, start);
  }

  /** Stops the internal listener; open connections finish. */
  close(): void {
    try {
      this.#listener.close();
    } catch { /* already closed */ }
  }
}

registerPlugin("tls2raw", (options, ctx) => new Tls2RawPlugin(options, ctx));
