/**
 * QUIC transport (`transport.protocol = "quic"`, server `quicBindPort`), over
 * Deno's unstable `Deno.QuicEndpoint` / `Deno.connectQuic`. A client keeps
 * one QUIC connection per server and opens one bidirectional stream per dfrp
 * connection (control or work): streams have their own flow control, so no
 * head-of-line blocking between them, and a stream's FIN is a half-close.
 *
 * QUIC is always TLS 1.3, and Deno's QUIC client always verifies the server
 * (it has no per-connection switch to skip it), so unlike frp a QUIC client
 * needs `transport.tls.trustedCaFile`, and the server a real certificate.
 *
 * @example
 * ```ts
 * import { dialQuic } from "./quic.ts";
 * const conn = await dialQuic("127.0.0.1", 7001, { serverName: "localhost", ca: "..." }, 5000);
 * ```
 *
 * @module
 */

import { withTimeout } from "../net/timeout.ts";
import type { ClientTlsOptions, ServerTlsOptions } from "./tls.ts";
import type { TransportConn } from "./transport.ts";
import { QuicStreamConn } from "./quic_stream.ts";

export { QuicStreamConn };

/** ALPN protocol id both sides announce. */
export const QUIC_ALPN = "dfrp";

/** `transport.quic.*`, frp's names and units (seconds). */
export interface QuicTuning {
  keepalivePeriod: number;
  maxIdleTimeout: number;
  maxIncomingStreams: number;
}

/** frp's defaults. */
export const DEFAULT_QUIC: QuicTuning = {
  keepalivePeriod: 10,
  maxIdleTimeout: 30,
  maxIncomingStreams: 100000,
};

function transportOptions(q: QuicTuning): Deno.QuicTransportOptions {
  return {
    keepAliveInterval: q.keepalivePeriod > 0 ? q.keepalivePeriod * 1000 : undefined,
    maxIdleTimeout: q.maxIdleTimeout > 0 ? q.maxIdleTimeout * 1000 : undefined,
    maxConcurrentBidirectionalStreams: q.maxIncomingStreams,
  };
}

function addr(a: Deno.NetAddr): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** A running QUIC listener. */
export interface QuicServer {
  /** The UDP port bound. */
  readonly port: number;
  /** Stops listening and closes every QUIC connection. */
  close(): void;
}

/**
 * Listens for QUIC on `hostname:port` (UDP) and hands every incoming stream
 * to `onStream`, as the TCP listener hands connections.
 *
 * @example
 * ```ts
 * import { listenQuic } from "./quic.ts";
 * declare const cert: string, key: string;
 * const server = listenQuic("0.0.0.0", 7001, { cert, key }, (conn) => conn.close());
 * ```
 */
export function listenQuic(
  hostname: string,
  port: number,
  tlsOpts: ServerTlsOptions,
  onStream: (conn: QuicStreamConn) => void,
  tuning: QuicTuning = DEFAULT_QUIC,
): QuicServer {
  const endpoint = new Deno.QuicEndpoint({ hostname, port });
  const listener = endpoint.listen({
    cert: tlsOpts.cert,
    key: tlsOpts.key,
    alpnProtocols: [QUIC_ALPN],
    ...transportOptions(tuning),
  });
  const conns = new Set<Deno.QuicConn>();
  (async () => {
    for await (const incoming of listener) {
      (async () => {
        const conn = await incoming.accept();
        conns.add(conn);
        conn.closed.finally(() => conns.delete(conn)).catch(() => {});
        const remote = addr(conn.remoteAddr);
        for await (const stream of conn.incomingBidirectionalStreams) {
          onStream(new QuicStreamConn(stream, remote));
        }
      })().catch(() => {});
    }
  })().catch(() => {});
  return {
    port: endpoint.addr.port,
    close() {
      try {
        listener.stop();
      } catch { /* stopped */ }
      for (const c of conns) {
        try {
          c.close({ closeCode: 0, reason: "server closing" });
        } catch { /* closed */ }
      }
      try {
        endpoint.close();
      } catch { /* closed */ }
    },
  };
}

const clientConns = new Map<string, Promise<Deno.QuicConn>>();

/**
 * Opens a stream to the server's QUIC port, on the client's one QUIC
 * connection to it (made on first use, and again after it closed).
 *
 * @example
 * ```ts
 * import { dialQuic } from "./quic.ts";
 * const conn = await dialQuic("127.0.0.1", 7001, { serverName: "127.0.0.1", ca: "..." }, 5000);
 * ```
 */
export async function dialQuic(
  host: string,
  port: number,
  opts: ClientTlsOptions,
  timeoutMs: number,
  tuning: QuicTuning = DEFAULT_QUIC,
  localIP = "",
): Promise<TransportConn> {
  if (!opts.ca) {
    throw new Error(
      'transport.protocol = "quic" needs transport.tls.trustedCaFile: Deno\'s QUIC client ' +
        "always verifies the server's certificate",
    );
  }
  const key = localIP ? `${host}:${port} from ${localIP}` : `${host}:${port}`;
  let connecting = clientConns.get(key);
  if (!connecting) {
    connecting = (async () => {
      const conn = await withTimeout(
        Deno.connectQuic<false>({
          hostname: host,
          port,
          serverName: opts.serverName,
          caCerts: [opts.ca!],
          alpnProtocols: [QUIC_ALPN],
          ...transportOptions(tuning),
          // transport.connectServerLocalIP: a UDP endpoint bound to that address.
          ...(localIP ? { endpoint: new Deno.QuicEndpoint({ hostname: localIP, port: 0 }) } : {}),
        }) as Promise<Deno.QuicConn>,
        timeoutMs,
        `QUIC connection to ${key}`,
      );
      conn.closed.finally(() => clientConns.delete(key)).catch(() => {});
      return conn;
    })();
    clientConns.set(key, connecting);
    connecting.catch(() => clientConns.delete(key));
  }
  let conn: Deno.QuicConn;
  try {
    conn = await connecting;
  } catch (err) {
    throw new Error(`QUIC handshake with the server failed: ${(err as Error).message}`);
  }
  try {
    return new QuicStreamConn(await conn.createBidirectionalStream(), key);
  } catch (err) {
    // A connection that cannot open streams is dead: the next dial makes a new one.
    if (clientConns.get(key) === connecting) clientConns.delete(key);
    throw err;
  }
}
