/**
 * Serves one user connection: asks the client for a work connection and
 * relays between the two, counting traffic. Every proxy type that carries a
 * byte stream ends here.
 *
 * @example
 * ```ts
 * import { serveUserConn } from "./user_conn.ts";
 * import type { ProxyContext } from "./proxy.ts";
 * import type { NewProxy } from "../../protocol/messages.ts";
 * declare const ctx: ProxyContext;
 * declare const user: Deno.TcpConn;
 * declare const config: NewProxy; // the proxy's NewProxy, for its transport flags
 * await serveUserConn(
 *   ctx,
 *   user,
 *   { srcAddr: "1.2.3.4", srcPort: 5555, dstAddr: "0.0.0.0", dstPort: 6000 },
 *   config,
 * );
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import { parseBandwidth, RateLimiter } from "../../net/rate_limit.ts";
import { ReadAhead } from "../../net/read_ahead.ts";
import { relay, type RelayOptions } from "../../net/relay.ts";
import { INITIAL_BUFFER } from "../../net/relay_buffer.ts";
import { wrapWorkConn } from "../../net/work_conn_options.ts";
import { loginToken } from "../auth/users.ts";
import { checkUserConn } from "../plugin/ops.ts";
import { httpPluginsOf } from "../plugin/http_plugins.ts";
import type { ConnEnds, ProxyContext } from "./proxy.ts";

/** The part of a proxy's `NewProxy` (or its admin view) that work connections follow. */
export interface WorkConnSpec {
  readonly transport: {
    readonly useEncryption: boolean;
    readonly useCompression: boolean;
    readonly bandwidthLimit: string;
    readonly bandwidthLimitMode: string;
  };
}

// Keyed by the proxy's NewProxy record: one bucket per registered proxy,
// shared by all its connections, gone with the proxy.
const limiters = new WeakMap<object, RateLimiter | null>();

/**
 * The bucket `transport.bandwidthLimit` asks the server to apply
 * (`bandwidthLimitMode = "server"`) for the proxy whose `NewProxy` this is,
 * or null. The same record always gets the same bucket.
 *
 * @example
 * ```ts
 * import { serverRateLimiter } from "./user_conn.ts";
 * const limiter = serverRateLimiter({
 *   transport: {
 *     useEncryption: false,
 *     useCompression: false,
 *     bandwidthLimit: "1MB",
 *     bandwidthLimitMode: "server",
 *   },
 * });
 * ```
 */
export function serverRateLimiter(config: WorkConnSpec): RateLimiter | null {
  let limiter = limiters.get(config);
  if (limiter !== undefined) return limiter;
  limiter = null;
  const t = config.transport;
  if (t.bandwidthLimitMode === "server" && t.bandwidthLimit) {
    try {
      const rate = parseBandwidth(t.bandwidthLimit);
      if (rate > 0) limiter = new RateLimiter(rate);
    } catch {
      // The client validated it; a bad value from a foreign client means no limit.
    }
  }
  limiters.set(config, limiter);
  return limiter;
}

/**
 * The secret a proxy's `transport.useEncryption` keys from on the server:
 * the token its owner logged in with.
 *
 * @example
 * ```ts
 * import { serverSecret } from "./user_conn.ts";
 * import type { ProxyContext } from "./proxy.ts";
 * declare const ctx: ProxyContext;
 * const secret = serverSecret(ctx);
 * ```
 */
export function serverSecret(ctx: Pick<ProxyContext, "serverConfig" | "user">): string {
  return loginToken(ctx.serverConfig, ctx.user) ?? ctx.serverConfig.auth.token;
}

/**
 * See the module doc. `config` is the proxy's `NewProxy`; with
 * `bandwidthLimitMode = "server"` its limit paces both directions. Never
 * rejects; closes `user` when done.
 */
export async function serveUserConn(
  ctx: ProxyContext,
  user: Duplex,
  ends: ConnEnds,
  config?: WorkConnSpec,
): Promise<void> {
  const stats = ctx.stats;
  stats.curConns++;
  stats.totalConns++;
  try {
    // Most servers have no NewUserConn plugin: no address string and no
    // promise hops per connection then.
    if (httpPluginsOf(ctx.services).has("NewUserConn")) {
      const userAddr = `${ends.srcAddr}:${ends.srcPort}`;
      const denied = await checkUserConn(
        ctx.services,
        ctx.user,
        ctx.clientId,
        ctx.name,
        ctx.stats.type,
        userAddr,
        ctx.metas,
      )
        .catch((err) => `NewUserConn plugins failed: ${(err as Error).message}`);
      if (denied) {
        ctx.log.warn(`user connection from ${userAddr} rejected: ${denied}`);
        stats.noteError(`user connection from ${userAddr} rejected: ${denied}`);
        user.close();
        return;
      }
    }
    // The client keys from the token it logged in with: its user's entry token.
    // Callers without the config at hand (https, tcpmux, tcp groups): the registered one.
    config ??= ctx.services?.stats?.get(ctx.name)?.config as WorkConnSpec | undefined;
    const t = config?.transport;
    const wrapped = t && (t.useEncryption || t.useCompression);
    const limiter = config ? serverRateLimiter(config) : null;
    // The user's first bytes (a request, mostly) go with the StartWorkConn: one
    // frame, one write and one TLS record instead of two, and no second small
    // write held back by Nagle on the server's TLS socket until the first is
    // acknowledged. Bytes that are encrypted, compressed or paced cannot.
    let head: Uint8Array | null = null;
    if (ctx.openWorkConnWith && !wrapped && !limiter) {
      const ahead = new ReadAhead(user, INITIAL_BUFFER);
      await ahead.settle();
      head = ahead.takeHead();
      // Still pending (the server speaks first): the relay's first read takes it.
      if (!head) user = ahead;
    }
    let work: Duplex;
    try {
      work = head ? await ctx.openWorkConnWith!(ends, head) : await ctx.openWorkConn(ends);
    } catch (err) {
      const why = `no work connection for user ${ends.srcAddr}:${ends.srcPort}: ${
        (err as Error).message
      }`;
      ctx.log.warn(why);
      stats.noteError(why);
      user.close();
      return;
    }
    ctx.log.debug(`join connections, user ${ends.srcAddr}:${ends.srcPort}`);
    if (head) stats.trafficIn += head.length;
    // Most proxies neither encrypt nor compress: skip the token lookup and the
    // closure per connection then.
    if (wrapped) work = wrapWorkConn(work, config!, serverSecret(ctx), (r) => ctx.log.warn(r));
    const opts: RelayOptions = {
      onAToB: (n) => stats.trafficIn += n,
      onBToA: (n) => stats.trafficOut += n,
    };
    if (limiter) opts.limitAToB = opts.limitBToA = limiter;
    await relay(user, work, opts);
  } finally {
    stats.curConns--;
  }
}

/**
 * The ends of an accepted TCP user connection, as `StartWorkConn` carries them.
 *
 * @example
 * ```ts
 * import { connEnds } from "./user_conn.ts";
 * const listener = Deno.listen({ port: 0 });
 * const ends = connEnds(await listener.accept());
 * ```
 */
export function connEnds(conn: Deno.TcpConn): ConnEnds {
  const src = conn.remoteAddr as Deno.NetAddr;
  const dst = conn.localAddr as Deno.NetAddr;
  return { srcAddr: src.hostname, srcPort: src.port, dstAddr: dst.hostname, dstPort: dst.port };
}
