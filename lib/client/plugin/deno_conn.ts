/**
 * A `Deno.Conn` (Unix, TLS, loopback TCP) as a {@linkcode Duplex} that may be
 * closed more than once, as `relay` does; a bare `Deno.Conn` throws on the
 * second close.
 *
 * @example
 * ```ts
 * import { asDuplex } from "./deno_conn.ts";
 * const conn = asDuplex(await Deno.connect({ transport: "unix", path: "/run/app.sock" }));
 * conn.close();
 * conn.close(); // no error
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";

/**
 * Wraps `conn`; Nagle is turned off on TCP so small replies are not held back.
 *
 * @example
 * ```ts
 * import { asDuplex } from "./deno_conn.ts";
 * const d = asDuplex(await Deno.connect({ port: 80 }));
 * ```
 */
export function asDuplex(conn: Deno.Conn): Duplex {
  if ("setNoDelay" in conn) {
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch {
      // The peer may already have gone; the first read will tell.
    }
  }
  let closed = false;
  return {
    read: (p) => conn.read(p),
    write: (p) => conn.write(p),
    async closeWrite() {
      // A TLS stream or a socket the peer already reset may refuse; the
      // other direction must still finish, so this is not an error.
      try {
        await conn.closeWrite();
      } catch { /* see above */ }
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch { /* already closed by Deno */ }
    },
  };
}
