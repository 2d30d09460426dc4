/**
 * Wraps a `Deno.TcpConn` as a {@linkcode TransportConn}: Nagle off (small
 * mux and control frames would otherwise wait up to 40 ms), keepalive on,
 * and errors from closing twice swallowed.
 *
 * @example
 * ```ts
 * import { wrapTcp } from "./tcp_conn.ts";
 * const conn = wrapTcp(await Deno.connect({ hostname: "127.0.0.1", port: 22 }));
 * console.log(conn.remoteAddr);
 * ```
 *
 * @module
 */

import type { TransportConn } from "./duplex.ts";
import { WriteWatch } from "./timeout.ts";

/**
 * Formats a Deno address as "host:port" ("[::1]:80" for IPv6).
 *
 * @example
 * ```ts
 * import { formatAddr } from "./tcp_conn.ts";
 * formatAddr({ transport: "tcp", hostname: "::1", port: 80 }); // "[::1]:80"
 * ```
 */
export function formatAddr(addr: Deno.Addr): string {
  if (addr.transport === "tcp" || addr.transport === "udp") {
    return addr.hostname.includes(":")
      ? `[${addr.hostname}]:${addr.port}`
      : `${addr.hostname}:${addr.port}`;
  }
  return "path" in addr ? String(addr.path) : String(addr.transport);
}

/**
 * A Deno connection (TCP, TLS) as the upper layers see it: close is
 * idempotent, and a half-close of a connection already gone is not an error.
 */
export class DenoConn<C extends Deno.Conn = Deno.Conn> implements TransportConn {
  #closed = false;
  #remoteAddr: string | (() => string);

  /**
   * @param conn the connection to own
   * @param remoteAddr "host:port" of the peer, for logs and limits, or a
   *   function that makes it on first use (most connections never need it)
   */
  constructor(readonly conn: C, remoteAddr: string | (() => string)) {
    this.#remoteAddr = remoteAddr;
  }

  /** "host:port" of the peer. */
  get remoteAddr(): string {
    const a = this.#remoteAddr;
    return typeof a === "string" ? a : (this.#remoteAddr = a());
  }

  /** Reads into `p`. */
  read(p: Uint8Array): Promise<number | null> {
    return this.conn.read(p);
  }

  /** Writes some of `p`. */
  write(p: Uint8Array): Promise<number> {
    return this.conn.write(p);
  }

  /** Ends the writing half (FIN; close_notify first on TLS). */
  async closeWrite(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.conn.closeWrite();
    } catch {
      // Already shut down or reset by the peer: nothing left to end.
    }
  }

  /** Closes the connection once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // Closing twice from two relay directions is expected.
    }
  }
}

/** A TCP connection as the upper layers see it. */
export class TcpConn extends DenoConn<Deno.TcpConn> {
  /** @param conn the socket to own */
  constructor(conn: Deno.TcpConn) {
    // Formatted on first use: an accepted user connection that is only
    // relayed never needs the string (1% of a new connection's CPU).
    super(conn, () => formatAddr(conn.remoteAddr));
    try {
      conn.setNoDelay(true);
      conn.setKeepAlive(true);
    } catch {
      // The peer may already have gone; the first read will tell.
    }
  }
}

/**
 * Wraps an accepted or dialed TCP socket.
 *
 * @example
 * ```ts
 * import { wrapTcp } from "./tcp_conn.ts";
 * const listener = Deno.listen({ port: 0 });
 * const conn = wrapTcp(await listener.accept());
 * ```
 */
export function wrapTcp(conn: Deno.TcpConn): TcpConn {
  return new TcpConn(conn);
}

/**
 * Dials TCP with a timeout, and wraps the socket.
 *
 * @example
 * ```ts
 * import { dialTcp } from "./tcp_conn.ts";
 * const conn = await dialTcp("127.0.0.1", 22, 5000);
 * ```
 */
export async function dialTcp(hostname: string, port: number, timeoutMs: number): Promise<TcpConn> {
  if (timeoutMs <= 0) return wrapTcp(await Deno.connect({ hostname, port }));
  // The deadline rides on the process-wide sweep of lib/net/timeout.ts (within
  // its 0.5 s period): `AbortSignal.timeout` set a timer per dial that lived on
  // for the whole timeout after the connect, 2-3% of the client's CPU per
  // tunneled connection.
  const abort = new AbortController();
  const deadline = new WriteWatch(timeoutMs, () => abort.abort()).start();
  deadline.pending = true;
  try {
    return wrapTcp(await Deno.connect({ hostname, port, signal: abort.signal }));
  } catch (err) {
    if (abort.signal.aborted) {
      throw new Deno.errors.TimedOut(`dial ${hostname}:${port} timed out after ${timeoutMs} ms`);
    }
    throw err;
  } finally {
    deadline.stop();
  }
}
