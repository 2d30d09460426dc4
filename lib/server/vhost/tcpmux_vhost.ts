/**
 * Server feature "tcpmux": the `tcpmuxHTTPConnectPort` listener. A client
 * sends `CONNECT host:port HTTP/1.1`; the host (without port) picks a
 * `tcpmux` proxy by its `customDomains` / `subdomain` (and `routeByHTTPUser`
 * from `Proxy-Authorization`), the listener answers
 * `HTTP/1.1 200 Connection established`, and raw bytes flow from then on.
 * With `tcpmuxPassthrough = true` the CONNECT request itself goes to the
 * backend and the listener answers nothing.
 *
 * Refusals, each answered and then closed: not CONNECT → 405, malformed →
 * 400, no proxy for the host → 404, wrong or missing credentials for a proxy
 * with `httpUser` → 407 with `Proxy-Authenticate`.
 *
 * @example
 * ```ts
 * import "./tcpmux_vhost.ts"; // registers the feature
 * // ssh -o 'ProxyCommand socat - PROXY:127.0.0.1:%h:%p,proxyport=5002' root@machine-a.example.com
 * ```
 *
 * @module
 */

import { writeAll } from "../../net/duplex.ts";
import { PrefixedConn } from "../../net/prefixed_conn.ts";
import type { TransportConn } from "../../transport/transport.ts";
import { type FeatureKey, registerServerFeature, type ServerFeature } from "../feature.ts";
import type { ConnEnds } from "../proxy/proxy.ts";
import type { VhostFeature, VhostTarget } from "../proxy/vhost_proxy.ts";
import type { ServerServices } from "../services.ts";
import { BadRequestError, readRequestHead } from "./connect_request.ts";
import { credentialsMatch, parseBasicAuth } from "./proxy_auth.ts";
import { normalizeHost, VhostRouter } from "./router.ts";
import { describeSrc, vhostGuard, VhostListener } from "./vhost_listener.ts";

const encoder = new TextEncoder();
const ESTABLISHED = encoder.encode("HTTP/1.1 200 Connection established\r\n\r\n");

function response(status: string, extra = ""): Uint8Array {
  const body = `${status}\n`;
  return encoder.encode(
    `HTTP/1.1 ${status}\r\n${extra}Content-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
  );
}

const BAD_REQUEST = response("400 Bad Request");
const NOT_FOUND = response("404 Not Found");
const METHOD_NOT_ALLOWED = response("405 Method Not Allowed", "Allow: CONNECT\r\n");
const PROXY_AUTH_REQUIRED = response(
  "407 Proxy Authentication Required",
  'Proxy-Authenticate: Basic realm="Restricted"\r\n',
);

/** The feature's name: the HTTP CONNECT listener on `tcpmuxHTTPConnectPort`. */
export const TCPMUX_VHOST: FeatureKey<VhostFeature & ServerFeature> = "tcpmux";

class TcpmuxVhost implements ServerFeature, VhostFeature {
  readonly router = new VhostRouter<VhostTarget>();
  #listener?: VhostListener;

  constructor(readonly services: ServerServices, readonly port: number) {}

  listen(): void {
    const { config } = this.services;
    this.#listener = VhostListener.open(
      config.proxyBindAddr,
      this.port,
      "tcpmuxHTTPConnectPort",
      vhostGuard(this.services),
      (conn, ends) => this.#route(conn, ends),
    );
    this.services.log.info(`tcpmux httpconnect listen on ${config.proxyBindAddr}:${this.port}`);
  }

  /** Reads the CONNECT head and routes; resolves to the routed connection's end. */
  async #route(conn: TransportConn, ends: ConnEnds): Promise<Promise<void> | void> {
    const log = this.services.log;
    const refuse = async (reply: Uint8Array, why: string) => {
      log.info(`tcpmux: ${why} from ${describeSrc(ends)}, connection closed`);
      await writeAll(conn, reply).catch(() => {});
      conn.close();
    };
    let req;
    try {
      // The listener closes `conn` past vhostHandshakeTimeout.
      req = await readRequestHead(conn, 0);
    } catch (err) {
      if (err instanceof BadRequestError) return refuse(BAD_REQUEST, `bad request: ${err.message}`);
      log.info(`tcpmux: connection from ${describeSrc(ends)} closed: ${(err as Error).message}`);
      conn.close();
      return;
    }
    if (req.method !== "CONNECT") {
      return refuse(METHOD_NOT_ALLOWED, `${req.method.slice(0, 16)} instead of CONNECT`);
    }
    const host = normalizeHost(req.target);
    const creds = parseBasicAuth(req.headers.get("proxy-authorization"));
    const target = this.router.find(host, "/", creds?.user ?? "");
    if (!target) return refuse(NOT_FOUND, `no proxy for host [${host}]`);
    if (
      (target.httpUser || target.httpPassword) &&
      !credentialsMatch(target.httpUser, target.httpPassword, creds)
    ) {
      return refuse(
        PROXY_AUTH_REQUIRED,
        `${creds ? "wrong" : "no"} credentials for [${target.name}]`,
      );
    }
    let rest: Uint8Array;
    if (this.services.config.tcpmuxPassthrough) {
      rest = req.bytes;
    } else {
      try {
        await writeAll(conn, ESTABLISHED);
      } catch {
        conn.close();
        return;
      }
      rest = req.bytes.subarray(req.bodyStart);
    }
    return target.serve(rest.length > 0 ? new PrefixedConn(conn, rest) : conn, ends);
  }

  close(): void {
    this.#listener?.close();
  }
}

registerServerFeature(TCPMUX_VHOST, (services) => {
  const port = services.config.tcpmuxHTTPConnectPort;
  if (!port) return Promise.resolve(null);
  const feature = new TcpmuxVhost(services, port);
  feature.listen();
  return Promise.resolve(feature);
});
