/**
 * The accept loop a server-wide vhost port (https SNI, tcpmux) runs: accepts
 * on `proxyBindAddr:port`, hands every connection with its addresses to a
 * handler, and closes the connections still being sniffed when it stops.
 *
 * @example
 * ```ts
 * import { VhostListener } from "./vhost_listener.ts";
 * const vl = VhostListener.open("127.0.0.1", 0, "demo", async (conn) => conn.close());
 * console.log(vl.port);
 * vl.close();
 * ```
 *
 * @module
 */

import { formatAddr, wrapTcp } from "../../net/tcp_conn.ts";
import type { TransportConn } from "../../transport/transport.ts";
import type { ConnEnds } from "../proxy/proxy.ts";

/** Looks at a new connection and hands it on; resolves once it no longer owns it. */
export type VhostConnHandler = (conn: TransportConn, ends: ConnEnds) => Promise<void>;

/** See the module doc. */
export class VhostListener {
  #listener: Deno.TcpListener;
  #sniffing = new Set<TransportConn>();
  #closed = false;

  private constructor(listener: Deno.TcpListener, readonly handler: VhostConnHandler) {
    this.#listener = listener;
    this.#loop();
  }

  /**
   * Binds `hostname:port` and starts accepting; throws an Error naming
   * `what` (e.g. "vhostHTTPSPort") when the port cannot be bound.
   */
  static open(
    hostname: string,
    port: number,
    what: string,
    handler: VhostConnHandler,
  ): VhostListener {
    let listener: Deno.TcpListener;
    try {
      listener = Deno.listen({ hostname, port, transport: "tcp" });
    } catch (err) {
      throw new Error(`cannot listen on ${what} ${hostname}:${port}: ${(err as Error).message}`);
    }
    return new VhostListener(listener, handler);
  }

  /** The bound port. */
  get port(): number {
    return this.#listener.addr.port;
  }

  /** Runs `handler` on a connection that arrived elsewhere (e.g. on `bindPort`). */
  adopt(conn: TransportConn, ends: ConnEnds): void {
    this.#sniffing.add(conn);
    this.handler(conn, ends)
      .catch(() => conn.close())
      .finally(() => this.#sniffing.delete(conn));
  }

  async #loop(): Promise<void> {
    for (;;) {
      let raw: Deno.TcpConn;
      try {
        raw = await this.#listener.accept();
      } catch (err) {
        if (this.#closed || err instanceof Deno.errors.BadResource) return;
        // EMFILE and friends: back off instead of spinning.
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const src = raw.remoteAddr as Deno.NetAddr;
      const dst = raw.localAddr as Deno.NetAddr;
      this.adopt(wrapTcp(raw), {
        srcAddr: src.hostname,
        srcPort: src.port,
        dstAddr: dst.hostname,
        dstPort: dst.port,
      });
    }
  }

  /** Stops accepting and closes connections not yet handed to a proxy. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
    for (const conn of this.#sniffing) conn.close();
    this.#sniffing.clear();
  }
}

/**
 * Splits a "host:port" / "[v6]:port" peer address into a {@linkcode ConnEnds}
 * source, for connections that arrive as a `TransportConn` only.
 *
 * @example
 * ```ts
 * import { endsFromRemote } from "./vhost_listener.ts";
 * endsFromRemote("[::1]:5000", "0.0.0.0", 443).srcAddr; // "::1"
 * ```
 */
export function endsFromRemote(remote: string, dstAddr: string, dstPort: number): ConnEnds {
  const colon = remote.lastIndexOf(":");
  let host = colon >= 0 ? remote.slice(0, colon) : remote;
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  const port = colon >= 0 ? Number(remote.slice(colon + 1)) : 0;
  return { srcAddr: host, srcPort: Number.isFinite(port) ? port : 0, dstAddr, dstPort };
}

/** For log lines: "1.2.3.4:5678". */
export function describeSrc(ends: ConnEnds): string {
  return formatAddr({ transport: "tcp", hostname: ends.srcAddr, port: ends.srcPort });
}
