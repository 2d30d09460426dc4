/**
 * TCP load-balancing groups: proxies (from one or several clients) with the
 * same `loadBalancer.group` share one public port, and user connections take
 * turns among them. The first member binds the port; the last one to leave
 * frees it. A group belongs to the user of its first member: another user's
 * proxy is refused (whatever its `groupKey`), and so is a member with another
 * `groupKey`, another port, or whose user's `allowPorts` exclude the port.
 *
 * @example
 * ```ts
 * import { TcpGroups } from "./tcp_group.ts";
 * import type { ProxyContext } from "../proxy/proxy.ts";
 * declare const groups: TcpGroups, ctx: ProxyContext;
 * const port = groups.join("web", "key", 6000, ctx);
 * groups.leave("web", ctx);
 * ```
 *
 * @module
 */

import { wrapTcp } from "../../net/tcp_conn.ts";
import { type FeatureKey, registerServerFeature, type ServerFeature } from "../feature.ts";
import type { ProxyContext } from "../proxy/proxy.ts";
import { connEnds, serveUserConn } from "../proxy/user_conn.ts";
import { acceptEach } from "../../net/accept_loop.ts";

interface TcpGroup {
  name: string;
  /** The login user of the member that created it. */
  user: string;
  key: string;
  port: number;
  listener: Deno.TcpListener;
  members: ProxyContext[];
  next: number;
}

/** The name under which the groups are found in `ServerServices.features`. */
export const TCP_GROUPS_FEATURE: FeatureKey<TcpGroups> = "tcpGroups";

/** Every TCP group of a server. */
export class TcpGroups implements ServerFeature {
  #groups = new Map<string, TcpGroup>();

  /**
   * Adds `ctx`'s proxy to `group`, binding the port for the first member.
   * Resolves the port users reach; throws an Error a client can show.
   */
  join(group: string, groupKey: string, remotePort: number, ctx: ProxyContext): number {
    const existing = this.#groups.get(group);
    if (existing) {
      if (existing.user !== ctx.user) {
        throw new Error(`group [${group}] belongs to another user`);
      }
      if (existing.key !== groupKey) throw new Error(`group [${group}] groupKey does not match`);
      if (remotePort !== 0 && remotePort !== existing.port) {
        throw new Error(`group [${group}] listens on port ${existing.port}, not ${remotePort}`);
      }
      // remotePort = 0 skipped admission's port check: the group's real port must pass it.
      if (!ctx.ports.allowed(existing.port)) {
        throw new Error(`port ${existing.port} of group [${group}] is not allowed (allowPorts)`);
      }
      existing.members.push(ctx);
      return existing.port;
    }
    const owner = `group:${group}`;
    const refusal = ctx.ports.check(owner, remotePort);
    if (refusal) throw new Error(refusal);
    const listener = ctx.ports.listenTcp(ctx.serverConfig.proxyBindAddr, remotePort);
    const created: TcpGroup = {
      name: group,
      user: ctx.user,
      key: groupKey,
      port: listener.addr.port,
      listener,
      members: [ctx],
      next: 0,
    };
    ctx.ports.claim(owner, created.port);
    this.#groups.set(group, created);
    this.#acceptLoop(created);
    return created.port;
  }

  /** Removes `ctx`'s proxy from `group`; the last member closes the port. */
  leave(group: string, ctx: ProxyContext): void {
    const g = this.#groups.get(group);
    if (!g) return;
    g.members = g.members.filter((m) => m !== ctx);
    if (g.members.length > 0) return;
    this.#groups.delete(group);
    try {
      g.listener.close();
    } catch {
      // Already closed.
    }
    ctx.ports.release(`group:${group}`, g.port);
  }

  #acceptLoop(g: TcpGroup): Promise<void> {
    return acceptEach(g.listener, (conn) => {
      const member = g.members[g.next++ % g.members.length];
      if (!member) return conn.close();
      serveUserConn(member, wrapTcp(conn), connEnds(conn));
    });
  }

  /** Closes every group's listener. */
  close(): void {
    for (const g of this.#groups.values()) {
      try {
        g.listener.close();
      } catch {
        // Already closed.
      }
    }
    this.#groups.clear();
  }
}

registerServerFeature(TCP_GROUPS_FEATURE, () => Promise.resolve(new TcpGroups()));
