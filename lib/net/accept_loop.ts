/**
 * Accepts connections until the listener is closed, surviving transient
 * accept errors (out of descriptors, a reset in the backlog) with a short
 * pause instead of spinning or dying.
 *
 * @example
 * ```ts
 * import { acceptEach } from "./accept_loop.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * acceptEach(listener, (conn) => conn.close());
 * listener.close();
 * ```
 *
 * @module
 */

/** Calls `onConn` for each accepted connection; resolves once `listener` is closed. */
export async function acceptEach(
  listener: Deno.TcpListener,
  onConn: (conn: Deno.TcpConn) => void,
): Promise<void> {
  for (;;) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    onConn(conn);
  }
}
