/**
 * TLS through Deno's own (rustls) implementation, which moves bulk data
 * several times faster than `node:tls` here (see docs/performance.md). Deno
 * can only start a server-side TLS session on a listener it made, so the
 * server hands each TLS connection it sniffed on `bindPort` to an internal
 * `Deno.listenTls` on loopback, and the client pins the certificate it saw
 * on a first `node:tls` handshake when it has no CA to verify against.
 * Mutual TLS stays on `node:tls` (`tls.ts`): only it checks client certificates.
 *
 * @example
 * ```ts
 * import { nativeServerTls } from "./native_tls.ts";
 * import type { TransportConn } from "./transport.ts";
 * declare const sniffed: TransportConn;
 * declare const cert: string, key: string;
 * const conn = await nativeServerTls(sniffed, { cert, key });
 * ```
 *
 * @module
 */

import { relay } from "../net/relay.ts";
import { DenoConn, wrapTcp } from "../net/tcp_conn.ts";
import { withTimeout } from "../net/timeout.ts";
import { describeTlsError, type ServerTlsOptions } from "./tls.ts";
import type { TransportConn } from "./transport.ts";

/** How long a TLS handshake may take. */
const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * A `Deno.TlsConn` as the upper layers see it: a TCP end of stream without
 * TLS close_notify reads as end of stream, as node:tls and Go take it (peers
 * such as node:tls over a proxy half-close without one, and what the stream
 * carries has its own framing).
 */
class NativeTlsConn extends DenoConn<Deno.TlsConn> {
  #heard = false;

  /**
   * @param conn the TLS connection to own
   * @param remoteAddr the peer, for logs
   * @param silentPeerError what a peer that closes before its first byte
   *   means (with TLS 1.3 a server refuses a client certificate only then)
   */
  constructor(
    conn: Deno.TlsConn,
    remoteAddr: string,
    readonly silentPeerError?: () => Error,
  ) {
    super(conn, remoteAddr);
  }

  override async read(p: Uint8Array): Promise<number | null> {
    if (this.#heard || !this.silentPeerError) return await this.#readLenient(p);
    let n: number | null;
    try {
      n = await this.#readLenient(p);
    } catch {
      throw this.silentPeerError();
    }
    if (n === null) throw this.silentPeerError();
    this.#heard = true;
    return n;
  }

  async #readLenient(p: Uint8Array): Promise<number | null> {
    try {
      return await this.conn.read(p);
    } catch (err) {
      if (err instanceof Deno.errors.UnexpectedEof || /close_notify/.test(String(err))) return null;
      throw err;
    }
  }
}

/** An internal TLS listener on loopback, and the sniffed connections waiting for their TLS side. */
class Terminator {
  readonly listener: Deno.TlsListener;
  /** Internal connections accepted before their dialer asked, by the dialer's local port. */
  #accepted = new Map<number, Deno.TlsConn>();
  /** Dialers waiting for their accepted side, by their local port. */
  #waiting = new Map<number, (conn: Deno.TlsConn) => void>();

  constructor(opts: ServerTlsOptions) {
    this.listener = Deno.listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert: opts.cert,
      key: opts.key,
    });
    this.#acceptLoop();
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.TlsConn;
      try {
        conn = await this.listener.accept();
      } catch (err) {
        if (err instanceof Deno.errors.BadResource) return;
        continue;
      }
      const port = (conn.remoteAddr as Deno.NetAddr).port;
      const waiter = this.#waiting.get(port);
      if (waiter) {
        this.#waiting.delete(port);
        waiter(conn);
      } else {
        this.#accepted.set(port, conn);
      }
    }
  }

  /** The accepted TLS side of the internal connection dialed from `port`. */
  take(port: number): Promise<Deno.TlsConn> {
    const ready = this.#accepted.get(port);
    if (ready) {
      this.#accepted.delete(port);
      return Promise.resolve(ready);
    }
    return new Promise((resolve) => this.#waiting.set(port, resolve));
  }

  /** Stops waiting for `port` (its dialer gave up). */
  forget(port: number): void {
    this.#waiting.delete(port);
    const stray = this.#accepted.get(port);
    this.#accepted.delete(port);
    try {
      stray?.close();
    } catch {
      // Already closed.
    }
  }
}

const terminators = new Map<string, Terminator>();

function terminatorFor(opts: ServerTlsOptions): Terminator {
  const id = `${opts.cert}\n${opts.key}`;
  let t = terminators.get(id);
  if (!t) terminators.set(id, t = new Terminator(opts));
  return t;
}

/**
 * Server side: completes TLS on `conn` (whose first bytes, the ClientHello,
 * it replays) with Deno's TLS, through an internal loopback listener.
 * Rejects with a user-facing reason when the handshake fails.
 */
export async function nativeServerTls(
  conn: TransportConn,
  opts: ServerTlsOptions,
): Promise<TransportConn> {
  const terminator = terminatorFor(opts);
  const inner = wrapTcp(
    await Deno.connect({ hostname: "127.0.0.1", port: terminator.listener.addr.port }),
  );
  const port = (inner.conn.localAddr as Deno.NetAddr).port;
  // Ciphertext both ways between the peer and the internal listener. The
  // peer learns of our half-close from TLS close_notify, not from a TCP FIN:
  // proxies on the way (tinyproxy) end both directions on a FIN.
  const peerKeepsOpen = {
    read: (p: Uint8Array) => conn.read(p),
    write: (p: Uint8Array) => conn.write(p),
    closeWrite: () => Promise.resolve(),
    close: () => conn.close(),
  };
  relay(peerKeepsOpen, inner);
  let tlsConn: Deno.TlsConn | undefined;
  try {
    tlsConn = await withTimeout(terminator.take(port), HANDSHAKE_TIMEOUT_MS, "TLS accept");
    await withTimeout(tlsConn.handshake(), HANDSHAKE_TIMEOUT_MS, "TLS handshake");
  } catch (err) {
    terminator.forget(port);
    try {
      tlsConn?.close();
    } catch {
      // Already closed.
    }
    inner.close();
    conn.close();
    throw new Error(`TLS handshake failed: ${describeTlsError(err)}`);
  }
  return new NativeTlsConn(tlsConn, conn.remoteAddr);
}

/**
 * Client side: TLS with Deno's implementation over a plain TCP connection,
 * verifying the server against `caCerts` (a CA bundle, or the server's own
 * pinned certificate with host name checks off).
 */
export async function nativeClientTls(
  tcp: Deno.TcpConn,
  remoteAddr: string,
  opts: { serverName: string; caCerts: string[]; pinned: boolean },
): Promise<TransportConn> {
  const tlsConn = await Deno.startTls(tcp, {
    hostname: opts.serverName,
    caCerts: opts.caCerts,
    unsafelyDisableHostnameVerification: opts.pinned,
  });
  try {
    await withTimeout(tlsConn.handshake(), HANDSHAKE_TIMEOUT_MS, "TLS handshake");
  } catch (err) {
    try {
      tlsConn.close();
    } catch {
      // Already closed.
    }
    throw new Error(`TLS handshake with the server failed: ${describeTlsError(err)}`);
  }
  return new NativeTlsConn(
    tlsConn,
    remoteAddr,
    () =>
      new Error(
        "TLS handshake with the server failed: the server closed the connection; it requires a " +
          "client certificate signed by its CA (transport.tls.certFile / keyFile)",
      ),
  );
}
