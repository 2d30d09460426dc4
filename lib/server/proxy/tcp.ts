/**
 * `type = "tcp"`: a public TCP port (`remotePort`, 0 = any free one) whose
 * connections reach the client's `localIP:localPort`.
 *
 * @example
 * ```ts
 * import { serverProxyFactory } from "./registry.ts";
 * import "./tcp.ts";
 * const factory = serverProxyFactory("tcp");
 * ```
 *
 * @module
 */

import { wrapTcp } from "../../net/tcp_conn.ts";
import type { ProxyContext, ServerProxy } from "./proxy.ts";
import { registerServerProxy } from "./registry.ts";
import { listenTcpSettled } from "../ports.ts";
import { TCP_GROUPS_FEATURE } from "../group/tcp_group.ts";
import { connEnds, serveUserConn } from "./user_conn.ts";
import { acceptEach } from "../../net/accept_loop.ts";
import type { NewProxy } from "../../protocol/messages.ts";
import type { RouteHandle } from "../placement.ts";
import { featureOf } from "../feature.ts";

class TcpProxy implements ServerProxy {
  #listener?: Deno.TcpListener;
  #port = 0;
  #conns = new Set<Deno.Conn>();
  #group = "";
  #route?: RouteHandle;

  constructor(readonly config: NewProxy, readonly ctx: ProxyContext) {}

  start(): Promise<string> {
    const { ctx } = this;
    const wanted = this.config.remotePort;
    const balance = this.config.loadBalancer;
    if (balance.group && ctx.services.placement) {
      return this.#joinClusterGroup(balance.group, balance.groupKey, wanted);
    }
    if (balance.group) {
      const groups = featureOf(ctx.services.features, TCP_GROUPS_FEATURE)!;
      this.#group = balance.group;
      // groupKey is the client's proof of the key (lib/protocol/new_proxy.ts), compared as is.
      const port = groups.join(balance.group, balance.groupKey, wanted, ctx);
      return Promise.resolve(`:${port}`);
    }
    return this.#listen(wanted);
  }

  /** Cluster mode: the group's members may sit on several nodes. */
  async #joinClusterGroup(group: string, groupKey: string, wanted: number): Promise<string> {
    const { ctx } = this;
    if (wanted === 0) throw new Error("in cluster mode a tcp group needs a fixed remotePort");
    const refusal = ctx.ports.check(ctx.clientId, wanted);
    if (refusal) throw new Error(refusal);
    const owner = { proxyName: ctx.name, clientId: ctx.clientId, user: String(ctx.user ?? "") };
    this.#route = await ctx.services.placement!.joinTcpGroup(
      owner,
      group,
      groupKey,
      wanted,
      (user, ends) => serveUserConn(ctx, user, ends, this.config),
    );
    this.#port = this.#route.port;
    ctx.ports.claim(ctx.clientId, this.#port);
    return `:${this.#port}`;
  }

  async #listen(wanted: number): Promise<string> {
    const { ctx } = this;
    const refusal = ctx.ports.check(ctx.clientId, wanted);
    if (refusal) throw new Error(refusal);
    const placement = ctx.services.placement;
    if (placement) {
      // Cluster mode: every node listens on the port and forwards to this one.
      const owner = { proxyName: ctx.name, clientId: ctx.clientId, user: String(ctx.user ?? "") };
      this.#route = await placement.claimTcp(
        owner,
        wanted,
        (user, ends) => serveUserConn(ctx, user, ends, this.config),
        // remotePort = 0 picks within the user's allowPorts, as on one node.
        () => ctx.ports.listenTcp(ctx.serverConfig.proxyBindAddr, 0),
      );
      this.#port = this.#route.port;
      ctx.ports.claim(ctx.clientId, this.#port);
      return `:${this.#port}`;
    }
    const listener = await listenTcpSettled(ctx.ports, ctx.serverConfig.proxyBindAddr, wanted);
    this.#listener = listener;
    this.#port = listener.addr.port;
    ctx.ports.claim(ctx.clientId, this.#port);
    this.#acceptLoop(listener);
    return `:${this.#port}`;
  }

  #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    return acceptEach(listener, (conn) => {
      this.#conns.add(conn);
      const ends = connEnds(conn);
      // From `ends`: formatting the address again per connection was 1% of the CPU.
      this.ctx.log.trace(`user connection from ${ends.srcAddr}:${ends.srcPort}`);
      serveUserConn(this.ctx, wrapTcp(conn), ends, this.config)
        .finally(() => this.#conns.delete(conn));
    });
  }

  close(): void {
    if (this.#group) {
      featureOf(this.ctx.services.features, TCP_GROUPS_FEATURE)!.leave(
        this.#group,
        this.ctx,
      );
      this.#group = "";
    }
    if (this.#route) {
      this.#route.release();
      this.#route = undefined;
      this.ctx.ports.release(this.ctx.clientId, this.#port);
    }
    if (!this.#listener) return;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    this.#listener = undefined;
    this.ctx.ports.release(this.ctx.clientId, this.#port);
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // The relay closed it first.
      }
    }
  }
}

registerServerProxy("tcp", (config, ctx) => new TcpProxy(config, ctx));
