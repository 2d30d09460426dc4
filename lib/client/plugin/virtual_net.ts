/**
 * `plugin.type = "virtual_net"` on an stcp (or xtcp) proxy: the owner's side
 * of frp's VirtualNet. Every visitor connection becomes a link of the
 * client's virtual network (`virtualNet.address`, see
 * `lib/client/vnet/virtual_net.ts`); packets for a visitor's address go back
 * over the link its packets came from.
 *
 * @example
 * ```toml
 * virtualNet.address = "100.86.0.1/24"
 *
 * [[proxies]]
 * name = "vnet-server"
 * type = "stcp"
 * secretKey = "your-secret-key"
 * plugin.type = "virtual_net"
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { VirtualNet } from "../vnet/virtual_net.ts";
import type { ClientPlugin, PluginContext } from "./plugin.ts";
import { registerPlugin } from "./registry.ts";

/** See the module doc. */
export class VirtualNetPlugin implements ClientPlugin {
  readonly #vnet: VirtualNet;
  #closed = false;

  /**
   * @param address the client's `virtualNet.address`
   * @param ctx the proxy's config and logger
   */
  constructor(address: string, readonly ctx: PluginContext) {
    this.#vnet = VirtualNet.acquire(address, ctx.log);
  }

  /** Serves one visitor's link until it ends. */
  handle(conn: Duplex): Promise<void> {
    return this.#vnet.serve(conn);
  }

  /** Gives the virtual network back (the last user closes the device). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#vnet.release();
  }
}

registerPlugin("virtual_net", (_options, ctx) => {
  const address = ctx.client?.virtualNet.address;
  if (!address) throw new Error("plugin virtual_net needs virtualNet.address in the client config");
  return new VirtualNetPlugin(address, ctx);
});
