/**
 * `plugin.type = "virtual_net"` on an stcp visitor: the visitor's side of
 * frp's VirtualNet. It keeps one visitor connection to the owner's proxy
 * open (dialing again after a loss, backing off from 1 s to 10 s) and routes
 * packets for `destinationIP` over it (`lib/client/vnet/virtual_net.ts`).
 * `bindPort` is not used.
 *
 * @example
 * ```toml
 * virtualNet.address = "100.86.0.2/24"
 *
 * [[visitors]]
 * name = "vnet-visitor"
 * type = "stcp"
 * serverName = "vnet-server"
 * secretKey = "your-secret-key"
 * bindPort = -1
 * plugin.type = "virtual_net"
 * plugin.destinationIP = "100.86.0.1"
 * ```
 *
 * @module
 */

import type { VisitorConfig } from "../../config/mod.ts";
import { VirtualNet } from "../vnet/virtual_net.ts";
import { dialVisitor } from "./dial.ts";
import { registerVisitorPlugin } from "./registry.ts";
import { targetLabel } from "./stcp.ts";
import type { Visitor, VisitorContext } from "./visitor.ts";

const FIRST_RETRY_MS = 1_000;
const LAST_RETRY_MS = 10_000;

/** See the module doc. */
export class VirtualNetVisitor implements Visitor {
  #vnet?: VirtualNet;
  #closed = false;
  #wake?: () => void;

  /**
   * @param config the visitor's config, `plugin.type = "virtual_net"`
   * @param ctx client services
   */
  constructor(readonly config: VisitorConfig, readonly ctx: VisitorContext) {}

  /** The visitor's name. */
  get name(): string {
    return this.config.name;
  }

  /** Opens the virtual network and starts keeping the link up. */
  async start(): Promise<void> {
    if (this.config.type !== "stcp") {
      throw new Error(
        `the virtual_net visitor plugin works on stcp visitors, not ${this.config.type}`,
      );
    }
    const address = this.ctx.clientConfig.virtualNet.address;
    if (!address) throw new Error("the virtual_net visitor plugin needs virtualNet.address");
    const destination = this.config.plugin?.destinationIP ?? "";
    if (!destination) throw new Error("the virtual_net visitor plugin needs plugin.destinationIP");
    this.#vnet = VirtualNet.acquire(address, this.ctx.log);
    await this.#vnet.ready;
    this.#keepLinked(this.#vnet, destination);
  }

  async #keepLinked(vnet: VirtualNet, destination: string): Promise<void> {
    const target = targetLabel(this.config, this.ctx.clientConfig.user);
    let wait = FIRST_RETRY_MS;
    while (!this.#closed) {
      try {
        const conn = await dialVisitor(this.ctx, this.config);
        if (this.#closed) {
          conn.close();
          return;
        }
        this.ctx.log.info(`virtual net: ${destination} reached through [${target}]`);
        wait = FIRST_RETRY_MS;
        await vnet.serve(conn, { route: destination });
      } catch (err) {
        this.ctx.log.warn(`virtual net link to [${target}] failed: ${(err as Error).message}`);
      }
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wait = Math.min(LAST_RETRY_MS, wait * 2);
    }
  }

  /** Stops redialing and gives the virtual network back. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake?.();
    this.#vnet?.release();
  }
}

registerVisitorPlugin("virtual_net", (config, ctx) => new VirtualNetVisitor(config, ctx));
