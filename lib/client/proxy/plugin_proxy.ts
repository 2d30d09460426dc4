/**
 * The client side of any proxy with `plugin.type` set: each work connection
 * goes to the plugin instead of to `localIP:localPort`.
 *
 * @example
 * ```ts
 * import { pluginProxyFactory } from "./plugin_proxy.ts";
 * import type { ProxyConfig } from "../../config/mod.ts";
 * import { log } from "../../log.ts";
 * declare const config: ProxyConfig; // with plugin = { type = "socks5" }
 * const proxy = pluginProxyFactory(config, { clientConfig: {} as never, log });
 * ```
 *
 * @module
 */

import type { ProxyConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import type { ClientPlugin } from "../plugin/plugin.ts";
import { pluginFactory } from "../plugin/registry.ts";
import "../plugin/mod.ts";
import type { ClientProxy, ClientProxyContext } from "./proxy.ts";
import { wrapClientWorkConn } from "./work_conn.ts";

/** Wraps one plugin instance as a {@linkcode ClientProxy}. */
export class PluginProxy implements ClientProxy {
  #plugin?: ClientPlugin;
  #error = "";

  /**
   * Never throws: a plugin that cannot start (unknown type, unreadable
   * certificate) is logged once and its work connections are closed, so one
   * bad proxy does not take the client's control loop down with it.
   *
   * @param config the proxy's config, `plugin` set
   * @param ctx client services
   */
  constructor(readonly config: ProxyConfig, readonly ctx: ClientProxyContext) {
    const options = config.plugin;
    const factory = options && pluginFactory(options.type);
    try {
      if (!options || !factory) throw new Error(`unknown plugin type "${options?.type ?? ""}"`);
      this.#plugin = factory(options, { proxy: config, log: ctx.log, client: ctx.clientConfig });
      ctx.log.info(`plugin ${options.type} started`);
    } catch (err) {
      this.#error = (err as Error).message;
      ctx.log.error(`plugin ${options?.type ?? ""} cannot start: ${this.#error}`);
    }
  }

  /** Hands `conn` to the plugin, or closes it if the plugin failed to start. */
  async handleWorkConn(conn: Duplex, start: StartWorkConn): Promise<void> {
    const plugin = this.#plugin;
    if (!plugin) {
      this.ctx.log.warn(`connection from ${start.srcAddr}:${start.srcPort} closed: ${this.#error}`);
      conn.close();
      return;
    }
    try {
      await plugin.handle(wrapClientWorkConn(conn, this.config, this.ctx), start);
    } catch (err) {
      // Plugins should not reject; if one does, the connection still must not leak.
      this.ctx.log.warn(`plugin error: ${(err as Error).message}`);
      conn.close();
    }
  }

  /** Stops the plugin's listeners. */
  close(): void {
    this.#plugin?.close();
  }
}

/**
 * The factory `client.ts` uses for proxies whose `plugin.type` is set.
 *
 * @example
 * ```ts
 * import { pluginProxyFactory } from "./plugin_proxy.ts";
 * import type { ClientProxyFactory } from "./proxy.ts";
 * const f: ClientProxyFactory = pluginProxyFactory;
 * ```
 */
export function pluginProxyFactory(config: ProxyConfig, ctx: ClientProxyContext): ClientProxy {
  return new PluginProxy(config, ctx);
}
