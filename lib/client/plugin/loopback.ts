/**
 * The bridge between a work connection and a plugin's internal listener on
 * 127.0.0.1: the work connection is relayed to the listener, and the
 * listener learns who the user is from the port the bridge dialed from.
 *
 * Why a loopback hop: `Deno.serve` and `Deno.listenTls` only accept from a
 * real socket, and they give HTTP/1.1, HTTP/2, TLS and compression for free.
 * The visitor address travels out of band (a map keyed by the bridge's
 * local port), so nothing in the user's bytes is trusted or rewritten.
 *
 * @example
 * ```ts
 * import { LoopbackBridge } from "./loopback.ts";
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const bridge = new LoopbackBridge(listener.addr.port);
 * const inner = await listener.accept();
 * bridge.visitorOf(inner.remoteAddr); // the StartWorkConn of the bridged user, if any
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { asDuplex } from "./deno_conn.ts";

/** See the module doc. */
export class LoopbackBridge {
  #visitors = new Map<number, StartWorkConn>();

  /** @param port the internal listener's port on 127.0.0.1 */
  constructor(readonly port: number) {}

  /**
   * Relays `conn` to the internal listener until both ends finish, after
   * writing `prefix` (bytes already read from `conn`) to it. Never rejects.
   */
  async bridge(conn: Duplex, start: StartWorkConn, prefix?: Uint8Array): Promise<void> {
    let inner: Deno.TcpConn;
    try {
      inner = await Deno.connect({ hostname: "127.0.0.1", port: this.port });
    } catch {
      conn.close();
      return;
    }
    const key = inner.localAddr.port;
    this.#visitors.set(key, start);
    const innerDuplex = asDuplex(inner);
    try {
      if (prefix?.length) await writeAll(innerDuplex, prefix);
      await relay(conn, innerDuplex);
    } catch {
      innerDuplex.close();
      conn.close();
    } finally {
      this.#visitors.delete(key);
    }
  }

  /**
   * The user behind an accepted internal connection, or undefined when the
   * connection did not come through {@linkcode bridge} (someone on this host
   * dialed the internal port directly: such connections are refused).
   * Ask only after the connection has delivered bytes: the visitor is
   * recorded when the bridge's connect resolves, which may be after accept.
   */
  visitorOf(remote: Deno.Addr): StartWorkConn | undefined {
    return remote.transport === "tcp" ? this.#visitors.get(remote.port) : undefined;
  }
}
