/**
 * The server's transports besides plain TCP: TLS and WebSocket on `bindPort`
 * (told apart by their first bytes), QUIC on `quicBindPort`, KCP on
 * `kcpBindPort` (UDP; TLS inside it is peeled like on `bindPort`).
 *
 * Sharing rule for `vhostHTTPSPort == bindPort`: a TLS connection whose SNI
 * routes to an `https` proxy goes to the https vhost; every other TLS
 * connection is a dfrp client.
 *
 * @example
 * ```ts
 * import { ServerTransports } from "./transports.ts";
 * import type { ServerServices } from "./services.ts";
import type { ServerConfig } from "../config/mod.ts";
 * declare const services: ServerServices;
 * const transports = new ServerTransports(services);
 * ```
 *
 * @module
 */

import { PrefixedConn } from "../net/prefixed_conn.ts";
import { kcpInput, type KcpServer, listenKcp } from "../transport/kcp.ts";
import { STUN_FEATURE } from "./nathole/stun_responder.ts";
import { listenQuic, type QuicServer } from "../transport/quic.ts";
import { readPem } from "../transport/select.ts";
import { serverIdentity } from "../transport/server_identity.ts";
import { type Unwrapped, unwrapServerConn } from "../transport/server_unwrap.ts";
import type { ServerTlsOptions } from "../transport/tls.ts";
import type { TransportConn } from "../transport/transport.ts";
import type { ServerServices } from "./services.ts";
import type { ServerConfig } from "../config/mod.ts";
import { readClientHello } from "./vhost/sni.ts";
import { featureOf } from "./feature.ts";
import { HTTPS_VHOST } from "./vhost/https_vhost.ts";

/** How long a TLS client may take to send its ClientHello. */
const CLIENT_HELLO_TIMEOUT_MS = 10_000;

/**
 * The server's certificate: `transport.tls.certFile`/`keyFile` read at once
 * (a bad path stops the server at start-up), else the self-signed identity
 * kept in `stateDir` (made there on first use). `trustedCaFile` turns on mutual TLS.
 *
 * @example
 * ```ts
 * import { serverTlsSource } from "./transports.ts";
 * import { defaultServerConfig } from "../config/mod.ts";
 * const tls = serverTlsSource(defaultServerConfig());
 * const { cert } = await tls();
 * ```
 */
export function serverTlsSource(cfg: ServerConfig): () => Promise<ServerTlsOptions> {
  const t = cfg.transport.tls;
  const ca = t.trustedCaFile ? readPem(t.trustedCaFile, "transport.tls.trustedCaFile") : undefined;
  if (t.certFile || t.keyFile) {
    if (!t.certFile || !t.keyFile) {
      throw new Error("transport.tls.certFile and keyFile must be set together");
    }
    const opts: ServerTlsOptions = {
      cert: readPem(t.certFile, "transport.tls.certFile"),
      key: readPem(t.keyFile, "transport.tls.keyFile"),
      ca,
    };
    return () => Promise.resolve(opts);
  }
  let made: Promise<ServerTlsOptions> | undefined;
  // Kept in stateDir across restarts (docs/auth.md, "Server identity").
  return () => made ??= serverIdentity(cfg.stateDir).then((pair) => ({ ...pair, ca }));
}

/** See the module doc. */
export class ServerTransports {
  readonly tls: () => Promise<ServerTlsOptions>;
  #quic?: QuicServer;
  #kcp?: KcpServer;

  /** Reads the certificate files now, so a bad path fails the start. */
  constructor(readonly services: ServerServices) {
    this.tls = serverTlsSource(services.config);
    // Make the self-signed certificate now, in the background, so the first
    // TLS client does not wait for it.
    this.tls().catch((err) => services.log.warn(`TLS certificate: ${(err as Error).message}`));
  }

  /**
   * Peels TLS / WebSocket off a connection accepted on `bindPort` (or a QUIC
   * stream, `outer = ["quic"]`).
   */
  unwrap(raw: TransportConn, outer: string[] = []): Promise<Unwrapped> {
    const { config } = this.services;
    const shared = config.vhostHTTPSPort !== 0 && config.vhostHTTPSPort === config.bindPort;
    return unwrapServerConn(raw, {
      tls: this.tls,
      force: config.transport.tls.force,
      outer,
      foreignTls: shared ? (conn) => this.#httpsOwns(conn) : undefined,
    });
  }

  async #httpsOwns(conn: TransportConn): Promise<{ conn: TransportConn; foreign: boolean }> {
    const https = featureOf(this.services.features, HTTPS_VHOST);
    if (!https?.router) return { conn, foreign: false };
    const hello = await readClientHello(conn, CLIENT_HELLO_TIMEOUT_MS);
    const owned = hello.serverName !== null &&
      https.router.find(hello.serverName, "/", "") !== undefined;
    return { conn: new PrefixedConn(conn, hello.head), foreign: owned };
  }

  /** Starts the QUIC listener when `quicBindPort` is set; streams go to `onStream`. */
  async startQuic(onStream: (conn: TransportConn) => void): Promise<void> {
    const { config, log } = this.services;
    if (!config.quicBindPort) return;
    this.#quic = listenQuic(
      config.bindAddr,
      config.quicBindPort,
      await this.tls(),
      onStream,
      config.transport.quic,
    );
    log.info(`dfrps quic listen on ${config.bindAddr}:${this.#quic.port}`);
  }

  /** Starts the KCP listener (UDP) when `kcpBindPort` is set; conversations go to `onConn`. */
  startKcp(onConn: (conn: TransportConn) => void): void {
    const { config, log } = this.services;
    if (!config.kcpBindPort) return;
    const stun = featureOf(this.services.features, STUN_FEATURE);
    if (config.kcpBindPort === config.bindPort && stun) {
      // UDP bindPort is the STUN responder's: KCP takes what is not STUN.
      const input = kcpInput(stun, onConn);
      stun.shared = (datagram, from) => input.take(datagram, from);
      this.#kcp = { port: config.kcpBindPort, close: () => input.close() };
    } else {
      this.#kcp = listenKcp(config.bindAddr, config.kcpBindPort, onConn);
    }
    log.info(`dfrps kcp listen on ${config.bindAddr}:${this.#kcp.port}`);
  }

  /** Stops the QUIC and KCP listeners. */
  close(): void {
    this.#quic?.close();
    this.#kcp?.close();
  }
}
