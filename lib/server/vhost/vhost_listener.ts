/**
 * The accept loop a server-wide vhost port (https SNI, tcpmux) runs: accepts
 * on `proxyBindAddr:port`, hands every connection with its addresses to a
 * handler, and closes the connections still being sniffed when it stops.
 * It also guards the port: a connection over `vhostMaxConns` /
 * `vhostMaxConnsPerIP` is closed at once (it counts until it ends, also
 * after it was handed to a proxy), and one that has not been routed within
 * the handshake timeout is closed, checked by one sweeper per listener.
 *
 * @example
 * ```ts
 * import { VhostListener } from "./vhost_listener.ts";
 * import { Logger } from "../../log.ts";
 * const guard = { maxConns: 100, maxConnsPerIP: 10, handshakeMs: 10_000, log: new Logger() };
 * const vl = VhostListener.open("127.0.0.1", 0, "demo", guard, async (conn) => conn.close());
 * console.log(vl.port);
 * vl.close();
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { formatAddr, wrapTcp } from "../../net/tcp_conn.ts";
import type { TransportConn } from "../../transport/transport.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import type { ServerServices } from "../services.ts";
import { ConnLimiter } from "./conn_limit.ts";
import { DeadlineSweeper } from "./deadline_sweeper.ts";

/**
 * Looks at a new connection and hands it on. Resolves once routed (or
 * closed), to a promise of the routed connection's end when there is one.
 */
export type VhostConnHandler = (
  conn: TransportConn,
  ends: ConnEnds,
) => Promise<Promise<void> | void>;

/** The limits of a vhost port. */
export interface VhostGuard {
  /** `vhostMaxConns`; 0 = no cap. */
  maxConns: number;
  /** `vhostMaxConnsPerIP`; 0 = no cap. */
  maxConnsPerIP: number;
  /** Time to be routed (`vhostHandshakeTimeout`, in ms); 0 = forever. */
  handshakeMs: number;
  log: Logger;
}

/**
 * The guard of a vhost port from the server config (`vhostMaxConns`,
 * `vhostMaxConnsPerIP`, `vhostHandshakeTimeout`).
 *
 * @example
 * ```ts
 * import { vhostGuard } from "./vhost_listener.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * vhostGuard(services).handshakeMs; // 10000 by default
 * ```
 */
export function vhostGuard(services: Pick<ServerServices, "config" | "log">): VhostGuard {
  const { config, log } = services;
  return {
    // A negative setting (-1) turns a limit off, which is 0 here.
    maxConns: Math.max(0, config.vhostMaxConns),
    maxConnsPerIP: Math.max(0, config.vhostMaxConnsPerIP),
    handshakeMs: Math.max(0, config.vhostHandshakeTimeout) * 1000,
    log,
  };
}

/** A connection not yet routed, with its deadline. */
class Sniffing {
  constructor(readonly conn: TransportConn, readonly deadline: number) {}
  checkDeadline(now: number): void {
    if (now >= this.deadline) this.conn.close();
  }
}

/** See the module doc. */
export class VhostListener {
  #listener: Deno.TcpListener | null;
  #sniffing = new Set<Sniffing>();
  #sweeper = new DeadlineSweeper(500);
  #limiter: ConnLimiter;
  #closed = false;

  private constructor(
    listener: Deno.TcpListener | null,
    readonly what: string,
    readonly guard: VhostGuard,
    readonly handler: VhostConnHandler,
  ) {
    this.#listener = listener;
    this.#limiter = new ConnLimiter(guard.maxConns, guard.maxConnsPerIP, guard.log, what);
    if (listener) this.#loop(listener);
  }

  /**
   * A guard for connections that arrive elsewhere (e.g. on `bindPort`),
   * without a listening socket of its own; feed it with {@linkcode adopt}.
   */
  static detached(what: string, guard: VhostGuard, handler: VhostConnHandler): VhostListener {
    return new VhostListener(null, what, guard, handler);
  }

  /**
   * Binds `hostname:port` and starts accepting; throws an Error naming
   * `what` (e.g. "vhostHTTPSPort") when the port cannot be bound.
   */
  static open(
    hostname: string,
    port: number,
    what: string,
    guard: VhostGuard,
    handler: VhostConnHandler,
  ): VhostListener {
    let listener: Deno.TcpListener;
    try {
      listener = Deno.listen({ hostname, port, transport: "tcp" });
    } catch (err) {
      throw new Error(`cannot listen on ${what} ${hostname}:${port}: ${(err as Error).message}`);
    }
    return new VhostListener(listener, what, guard, handler);
  }

  /** The bound port (0 when detached). */
  get port(): number {
    return this.#listener?.addr.port ?? 0;
  }

  /** Runs `handler` on a connection, within the caps and the handshake deadline. */
  adopt(conn: TransportConn, ends: ConnEnds): void {
    if (this.#closed) return conn.close();
    const addr = ends.srcAddr;
    if (!this.#limiter.tryAcquire(addr)) return conn.close();
    const ms = this.guard.handshakeMs;
    const sniffing = new Sniffing(conn, ms > 0 ? Date.now() + ms : Infinity);
    this.#sniffing.add(sniffing);
    if (ms > 0) this.#sweeper.add(sniffing);
    const routed = () => {
      this.#sniffing.delete(sniffing);
      this.#sweeper.delete(sniffing);
    };
    this.handler(conn, ends)
      .then((served) => {
        routed();
        return served;
      }, () => conn.close())
      .catch(() => conn.close())
      .finally(() => {
        routed();
        this.#limiter.release(addr);
      });
  }

  async #loop(listener: Deno.TcpListener): Promise<void> {
    for (;;) {
      let raw: Deno.TcpConn;
      try {
        raw = await listener.accept();
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
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    for (const s of this.#sniffing) s.conn.close();
    this.#sniffing.clear();
    this.#sweeper.close();
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
