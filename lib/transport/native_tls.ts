/**
 * TLS through Deno's own (rustls) implementation, which moves bulk data
 * several times faster than `node:tls` here (see docs/performance.md). Deno
 * can only start a server-side TLS session on a listener it made, so the
 * server hands each TLS connection it sniffed on `bindPort` to an internal
 * `Deno.listenTls` on loopback (one per connection, for a moment), and the client pins the certificate it saw
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

import { copy } from "../net/relay.ts";
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
   * @param onClose called once after `close()` (closes the layers below)
   */
  constructor(
    conn: Deno.TlsConn,
    remoteAddr: string,
    readonly silentPeerError?: () => Error,
    onClose?: () => void,
  ) {
    super(conn, remoteAddr);
    this.#onClose = onClose;
  }

  #onClose?: () => void;

  override close(): void {
    super.close();
    const done = this.#onClose;
    this.#onClose = undefined;
    done?.();
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

/** How long the internal listener waits for the server's own dial. */
const HANDOFF_TIMEOUT_MS = 5_000;

function closeQuietly(conn: { close(): void } | undefined): void {
  try {
    conn?.close();
  } catch {
    // Already closed.
  }
}

/**
 * The TLS side of the internal connection dialed from 127.0.0.1:`port`:
 * anything else the listener accepts meanwhile is a stray and is closed.
 */
async function acceptFrom(listener: Deno.TlsListener, port: number): Promise<Deno.TlsConn> {
  for (;;) {
    const conn = await listener.accept();
    const from = conn.remoteAddr as Deno.NetAddr;
    if (from.hostname === "127.0.0.1" && from.port === port) return conn;
    closeQuietly(conn);
  }
}

/**
 * Ciphertext both ways between the peer and the internal listener. The peer
 * learns of our half-close from TLS close_notify, not from a TCP FIN:
 * proxies on the way (tinyproxy) end both directions on a FIN. Once the TLS
 * side is closed for good (`closed()` true) and its last bytes are passed
 * on, the peer is closed too, so no layer outlives the others.
 */
function pipeCiphertext(peer: TransportConn, inner: TransportConn, closed: () => boolean) {
  let downDone = false;
  const closeAll = () => {
    inner.close();
    peer.close();
  };
  copy(peer, inner).catch(closeAll);
  const peerKeepsOpen = {
    read: (p: Uint8Array) => peer.read(p),
    write: (p: Uint8Array) => peer.write(p),
    closeWrite: () => Promise.resolve(),
    close: () => peer.close(),
  };
  copy(inner, peerKeepsOpen).then(() => {
    downDone = true;
    if (closed()) closeAll();
  }, closeAll);
  return {
    /** The TLS side was closed: end the peer once the last bytes went out. */
    tlsClosed: () => {
      if (downDone) closeAll();
    },
    closeAll,
  };
}

/**
 * Server side: completes TLS on `conn` (whose first bytes, the ClientHello,
 * it replays) with Deno's TLS, through an internal loopback listener.
 * Rejects with a user-facing reason when the handshake fails, having closed
 * `conn`. Closing the returned connection closes `conn` as well.
 */
export async function nativeServerTls(
  conn: TransportConn,
  opts: ServerTlsOptions,
): Promise<TransportConn> {
  // One listener per connection, closed as soon as the server's own dial is
  // accepted: there is no standing port for other local processes to
  // connect to. (Deno cannot drop a TLS connection accepted before its
  // handshake; a stray on a shared listener would hold a descriptor for as
  // long as its owner likes.) Costs about 0.5 ms of set-up per connection.
  let listener: Deno.TlsListener | undefined;
  let inner: DenoConn<Deno.TcpConn> | undefined;
  let tlsConn: Deno.TlsConn | undefined;
  let pipe: ReturnType<typeof pipeCiphertext> | undefined;
  let tlsClosed = false;
  try {
    listener = Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert: opts.cert, key: opts.key });
    inner = wrapTcp(await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }));
    const port = (inner.conn.localAddr as Deno.NetAddr).port;
    pipe = pipeCiphertext(conn, inner, () => tlsClosed);
    tlsConn = await withTimeout(acceptFrom(listener, port), HANDOFF_TIMEOUT_MS, "TLS accept");
    listener.close();
    await withTimeout(tlsConn.handshake(), HANDSHAKE_TIMEOUT_MS, "TLS handshake");
  } catch (err) {
    closeQuietly(listener);
    closeQuietly(tlsConn);
    inner?.close();
    conn.close();
    throw new Error(`TLS handshake failed: ${describeTlsError(err)}`);
  }
  return new NativeTlsConn(tlsConn, conn.remoteAddr, undefined, () => {
    tlsClosed = true;
    pipe?.tlsClosed();
  });
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
