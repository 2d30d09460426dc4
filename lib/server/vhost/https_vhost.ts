/**
 * Server feature "vhostHTTPS": the `vhostHTTPSPort` listener that routes TLS
 * connections by the SNI of their ClientHello to `https` proxies, passing the
 * TLS bytes through untouched (the backend holds the certificate). A
 * connection with an unknown or missing SNI, or that is not TLS, is logged
 * and closed. With `vhostHTTPSPort` equal to `bindPort` it takes the TLS
 * connections (first byte 0x16) that arrive there instead of listening.
 *
 * @example
 * ```ts
 * import "./https_vhost.ts"; // registers the feature
 * import type { VhostFeature } from "../proxy/vhost_proxy.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * const https = services.features.get("vhostHTTPS") as VhostFeature | undefined;
 * https?.router.find("app.example.com", "/", "");
 * ```
 *
 * @module
 */

import { PrefixedConn } from "../../net/prefixed_conn.ts";
import type { TransportConn } from "../../transport/transport.ts";
import { type FeatureKey, registerServerFeature, type ServerFeature } from "../feature.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import type { VhostFeature, VhostTarget } from "../proxy/vhost_proxy.ts";
import type { ServerServices } from "../services.ts";
import { VhostRouter } from "./router.ts";
import { readClientHello } from "./sni.ts";
import { describeSrc, endsFromRemote, vhostGuard, VhostListener } from "./vhost_listener.ts";

const TLS_HANDSHAKE_RECORD = 0x16;

/** The feature's name: the SNI-routing listener on `vhostHTTPSPort`. */
export const HTTPS_VHOST: FeatureKey<VhostFeature & ServerFeature> = "vhostHTTPS";

class HttpsVhost implements ServerFeature, VhostFeature {
  readonly router = new VhostRouter<VhostTarget>();
  #listener?: VhostListener;
  /** Connections taken from `bindPort` (when the port is shared). */
  #shared?: VhostListener;

  constructor(readonly services: ServerServices, readonly port: number) {}

  listen(): void {
    const { config } = this.services;
    this.#listener = VhostListener.open(
      config.proxyBindAddr,
      this.port,
      "vhostHTTPSPort",
      vhostGuard(this.services),
      (conn, ends) => this.#route(conn, ends),
    );
    this.services.log.info(`https vhost listen on ${config.proxyBindAddr}:${this.port}`);
  }

  /** Shared with `bindPort`: TLS is ours; dfrp clients never start with 0x16. */
  takeConnection(conn: TransportConn, head: Uint8Array): boolean {
    if (this.#listener || head[0] !== TLS_HANDSHAKE_RECORD) return false;
    const ends = endsFromRemote(conn.remoteAddr, this.services.config.bindAddr, this.port);
    this.#shared ??= VhostListener.detached(
      "vhostHTTPSPort",
      vhostGuard(this.services),
      (conn, ends) => this.#route(conn, ends),
    );
    this.#shared.adopt(conn, ends);
    return true;
  }

  /** Routes by SNI; resolves to the routed connection's end. */
  async #route(conn: TransportConn, ends: ConnEnds): Promise<Promise<void> | void> {
    const log = this.services.log;
    let hello;
    try {
      // The listener closes `conn` past vhostHandshakeTimeout.
      hello = await readClientHello(conn, 0);
    } catch (err) {
      log.info(
        `https vhost: connection from ${describeSrc(ends)} closed: ${(err as Error).message}`,
      );
      conn.close();
      return;
    }
    const name = hello.serverName;
    const target = name === null ? undefined : this.router.find(name, "/", "");
    if (!target) {
      log.info(
        `https vhost: ${name === null ? "no SNI" : `no proxy for SNI [${name}]`} from ${
          describeSrc(ends)
        }, connection closed`,
      );
      conn.close();
      return;
    }
    return target.serve(new PrefixedConn(conn, hello.head), ends);
  }

  close(): void {
    this.#listener?.close();
    this.#shared?.close();
  }
}

registerServerFeature(HTTPS_VHOST, (services) => {
  const { vhostHTTPSPort, bindPort } = services.config;
  if (!vhostHTTPSPort) return Promise.resolve(null);
  const feature = new HttpsVhost(services, vhostHTTPSPort);
  if (vhostHTTPSPort !== bindPort) feature.listen();
  return Promise.resolve(feature);
});
