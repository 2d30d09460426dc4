/**
 * The local listener of a stream visitor (stcp, xtcp): it listens on the
 * visitor's `bindAddr:bindPort` (127.0.0.1 when `bindAddr` is empty) and
 * hands each accepted connection to the visitor.
 *
 * @example
 * ```ts
 * import { listenVisitor } from "./listen.ts";
 * import type { VisitorConfig } from "../../config/mod.ts";
 * import type { VisitorContext } from "./visitor.ts";
 * declare const config: VisitorConfig, ctx: VisitorContext;
 * const listener = listenVisitor("stcp", config, ctx, (conn) => conn.close());
 * listener.close();
 * ```
 *
 * @module
 */

import type { VisitorConfig } from "../../config/mod.ts";
import { acceptEach } from "../../net/accept_loop.ts";
import type { Duplex } from "../../net/duplex.ts";
import { formatAddr, wrapTcp } from "../../net/tcp_conn.ts";
import type { VisitorContext } from "./visitor.ts";

/** Listens for `config`'s visitor of type `kind` and hands every connection to `handOver`. */
export function listenVisitor(
  kind: string,
  config: VisitorConfig,
  ctx: VisitorContext,
  handOver: (conn: Duplex) => void,
): Deno.TcpListener {
  const listener = Deno.listen({ hostname: config.bindAddr || "127.0.0.1", port: config.bindPort });
  ctx.log.info(`${kind} visitor listen at ${formatAddr(listener.addr)}`);
  acceptEach(listener, (conn) => handOver(wrapTcp(conn)));
  return listener;
}
