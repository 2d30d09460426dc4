/**
 * `type = "stcp"` visitor: every connection to `bindAddr:bindPort` (or
 * handed over by another visitor) becomes one visitor connection to the
 * secret proxy `serverUser.serverName`, relayed byte for byte.
 *
 * @example
 * ```ts
 * import { visitorFactory } from "./registry.ts";
 * import "./stcp.ts";
 * const factory = visitorFactory("stcp");
 * ```
 *
 * @module
 */

import type { VisitorConfig } from "../../config/mod.ts";
import type { Duplex } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import { dialVisitor } from "./dial.ts";
import { listenVisitor } from "./listen.ts";
import { registerVisitor } from "./registry.ts";
import type { Visitor, VisitorContext } from "./visitor.ts";

/**
 * The name a visitor's target is known by in logs: `user.name`, or `name`.
 *
 * @example
 * ```ts
 * import { targetLabel } from "./stcp.ts";
 * import type { VisitorConfig } from "../../config/mod.ts";
 * declare const config: VisitorConfig; // serverUser "", serverName "ssh"
 * targetLabel(config, "bob"); // "bob.ssh"
 * ```
 */
export function targetLabel(config: VisitorConfig, ownUser: string): string {
  const user = config.serverUser || ownUser;
  return user ? `${user}.${config.serverName}` : config.serverName;
}

/** See the module doc. */
export class StcpVisitor implements Visitor {
  #listener?: Deno.TcpListener;
  #conns = new Set<Duplex>();
  #closed = false;

  /**
   * @param config the visitor's config
   * @param ctx client services
   */
  constructor(readonly config: VisitorConfig, readonly ctx: VisitorContext) {}

  /** The visitor's name. */
  get name(): string {
    return this.config.name;
  }

  /** The bound port, or 0 without a listener. */
  get port(): number {
    return this.#listener?.addr.port ?? 0;
  }

  /** Listens on `bindAddr:bindPort` when `bindPort` > 0. */
  start(): Promise<void> {
    const { bindPort } = this.config;
    if (bindPort > 0) {
      this.#listener = listenVisitor("stcp", this.config, this.ctx, (conn) => this.handOver(conn));
    } else {
      this.ctx.log.info("stcp visitor takes handed-over connections only");
    }
    return Promise.resolve();
  }

  /** Serves `conn` through a new visitor connection. */
  handOver(conn: Duplex): void {
    if (this.#closed) return conn.close();
    this.#conns.add(conn);
    this.#serve(conn).finally(() => this.#conns.delete(conn));
  }

  async #serve(user: Duplex): Promise<void> {
    let tunnel: Duplex;
    try {
      tunnel = await dialVisitor(this.ctx, this.config);
    } catch (err) {
      const target = targetLabel(this.config, this.ctx.clientConfig.user);
      this.ctx.log.warn(`visitor connection to [${target}] failed: ${(err as Error).message}`);
      user.close();
      return;
    }
    if (this.#closed) {
      tunnel.close();
      user.close();
      return;
    }
    this.#conns.add(tunnel);
    try {
      await relay(user, tunnel);
    } finally {
      this.#conns.delete(tunnel);
    }
  }

  /** Stops listening and closes every connection. */
  close(): void {
    this.#closed = true;
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
  }
}

registerVisitor("stcp", (config, ctx) => new StcpVisitor(config, ctx));
