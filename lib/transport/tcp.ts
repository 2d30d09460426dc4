/**
 * Plain TCP transport.
 *
 * @example
 * ```ts
 * import { tcpTransport } from "./tcp.ts";
 * const listener = await tcpTransport.bind("0.0.0.0", 7000);
 * for (let conn; (conn = await listener.accept());) conn.close();
 * ```
 *
 * @module
 */

import { dialTcp, wrapTcp } from "../net/tcp_conn.ts";
import type { Transport, TransportConn, TransportListener } from "./transport.ts";

/**
 * Listens on TCP and yields wrapped connections; a transient accept error
 * (too many open files, a reset in the backlog) is survived, not fatal.
 *
 * @example
 * ```ts
 * import { listenTcp } from "./tcp.ts";
 * const listener = listenTcp("127.0.0.1", 0);
 * console.log(listener.port);
 * ```
 */
export function listenTcp(hostname: string, port: number): TransportListener {
  const listener = Deno.listen({ hostname, port, transport: "tcp" });
  let closed = false;
  return {
    port: listener.addr.port,
    async accept(): Promise<TransportConn | null> {
      while (!closed) {
        try {
          return wrapTcp(await listener.accept());
        } catch (err) {
          if (closed || err instanceof Deno.errors.BadResource) return null;
          // EMFILE and friends: back off briefly instead of spinning or dying.
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      return null;
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch {
        // Already closed.
      }
    },
  };
}

/** The plain TCP {@linkcode Transport}. */
export const tcpTransport: Transport = {
  name: "tcp",
  bind: (hostname, port) => Promise.resolve(listenTcp(hostname, port)),
  handshake: (conn) => Promise.resolve(conn),
  connect: (host, port, opts) => dialTcp(host, port, opts.timeoutMs),
};
