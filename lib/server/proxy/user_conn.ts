/**
 * Serves one user connection: asks the client for a work connection and
 * relays between the two, counting traffic. Every proxy type that carries a
 * byte stream ends here.
 *
 * @example
 * ```ts
 * import { serveUserConn } from "./user_conn.ts";
 * import type { ProxyContext } from "./proxy.ts";
 * declare const ctx: ProxyContext;
 * declare const user: Deno.TcpConn;
 * await serveUserConn(ctx, user, { srcAddr: "1.2.3.4", srcPort: 5555, dstAddr: "0.0.0.0", dstPort: 6000 });
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import type { ConnEnds, ProxyContext } from "./proxy.ts";

/** See the module doc. Never rejects; closes `user` when done. */
export async function serveUserConn(
  ctx: ProxyContext,
  user: Duplex,
  ends: ConnEnds,
): Promise<void> {
  const stats = ctx.stats;
  stats.curConns++;
  stats.totalConns++;
  try {
    let work: Duplex;
    try {
      work = await ctx.openWorkConn(ends);
    } catch (err) {
      ctx.log.warn(
        `no work connection for user ${ends.srcAddr}:${ends.srcPort}: ${(err as Error).message}`,
      );
      user.close();
      return;
    }
    ctx.log.debug(`join connections, user ${ends.srcAddr}:${ends.srcPort}`);
    await relay(user, work, {
      onAToB: (n) => stats.trafficIn += n,
      onBToA: (n) => stats.trafficOut += n,
    });
  } finally {
    stats.curConns--;
  }
}
