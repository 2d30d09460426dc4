/**
 * The server-wide HTTP vhost (`vhostHTTPPort`): one listener whose requests
 * `type = "http"` proxies share, routed by Host, path and user through a
 * {@linkcode VhostRouter}. When `vhostHTTPPort` equals `bindPort`, the
 * server offers it every connection that does not start with dfrp's magic,
 * and it takes those that start like an HTTP request.
 *
 * @example
 * ```ts
 * import { HTTP_VHOST, HttpVhost } from "./http_vhost.ts";
 * import type { ServerServices } from "../services.ts";
 * declare const services: ServerServices;
 * const vhost = services.features.get(HTTP_VHOST);
 * if (vhost instanceof HttpVhost) console.log(vhost.port);
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import { wrapTcp } from "../../net/tcp_conn.ts";
import type { TransportConn } from "../../transport/transport.ts";
import { type FeatureKey, registerServerFeature, type ServerFeature } from "../feature.ts";
import type { ServerServices } from "../services.ts";
import { NOT_FOUND_PAGE } from "./error_page.ts";
import { ConnLimiter } from "./conn_limit.ts";
import { DeadlineSweeper } from "./deadline_sweeper.ts";
import { type HttpConnOptions, type HttpRoute, serveHttpConn } from "./http_conn.ts";
import { VhostRouter } from "./router.ts";

/** The feature's name in `ServerServices.features`. */
export const HTTP_VHOST: FeatureKey<HttpVhost> = "vhostHTTP";

/** See the module doc. */
export class HttpVhost implements ServerFeature {
  /** Routes of every http proxy on this server. */
  readonly router: VhostRouter<HttpRoute> = new VhostRouter<HttpRoute>();
  #listener?: Deno.TcpListener;
  #conns = new Set<{ close(): void }>();
  #opts: HttpConnOptions;
  #log: Logger;
  /** One deadline checker for every connection on this port. */
  #sweeper = new DeadlineSweeper();
  #limiter: ConnLimiter;

  /**
   * @param services the server's shared state
   * @param port the public port (`vhostHTTPPort`)
   * @param sharesBindPort whether HTTP arrives on `bindPort` alongside clients
   */
  constructor(
    readonly services: ServerServices,
    readonly port: number,
    readonly sharesBindPort: boolean,
  ) {
    const config = services.config;
    this.#log = services.log.with("vhost http");
    this.#opts = {
      router: this.router,
      // A negative setting (-1) turns a limit off, which is 0 here.
      timeoutMs: Math.max(0, config.vhostHTTPTimeout) * 1000,
      headerTimeoutMs: Math.max(0, config.vhostHTTPHeaderTimeout) * 1000,
      idleTimeoutMs: Math.max(0, config.vhostHTTPIdleTimeout) * 1000,
      sweeper: this.#sweeper,
      notFoundPage: () => this.#notFoundPage(),
      log: this.#log,
    };
    this.#limiter = new ConnLimiter(
      Math.max(0, config.vhostMaxConns),
      Math.max(0, config.vhostMaxConnsPerIP),
      this.#log,
      "http vhost",
    );
  }

  /** Binds `proxyBindAddr:vhostHTTPPort` unless HTTP shares `bindPort`. */
  listen(): void {
    if (this.sharesBindPort) {
      this.#log.info(`http vhost shares bindPort ${this.port}`);
      return;
    }
    const hostname = this.services.config.proxyBindAddr;
    try {
      this.#listener = Deno.listen({ hostname, port: this.port });
    } catch (err) {
      throw new Error(`vhostHTTPPort ${hostname}:${this.port}: ${(err as Error).message}`);
    }
    this.#log.info(`http vhost listen on ${hostname}:${this.port}`);
    this.#acceptLoop(this.#listener);
  }

  async #acceptLoop(listener: Deno.TcpListener): Promise<void> {
    for (;;) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (err) {
        if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) {
          return;
        }
        this.#log.warn(`accept: ${(err as Error).message}`);
        await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      const src = conn.remoteAddr as Deno.NetAddr;
      const dst = conn.localAddr as Deno.NetAddr;
      this.#serve(wrapTcp(conn), src.hostname, src.port, dst.hostname);
    }
  }

  /** Takes connections on `bindPort` that open like an HTTP request. */
  takeConnection(conn: TransportConn, head: Uint8Array): boolean {
    if (!this.sharesBindPort || !looksLikeHttp(head)) return false;
    const { host, port } = splitHostPort(conn.remoteAddr);
    this.#serve(conn, host, port, this.services.config.bindAddr);
    return true;
  }

  #serve(
    conn: TransportConn,
    srcAddr: string,
    srcPort: number,
    dstAddr: string,
  ): void {
    if (!this.#limiter.tryAcquire(srcAddr)) return conn.close();
    this.#conns.add(conn);
    serveHttpConn(this.#opts, conn, { srcAddr, srcPort, dstAddr, dstPort: this.port })
      .finally(() => {
        this.#conns.delete(conn);
        this.#limiter.release(srcAddr);
      });
  }

  async #notFoundPage(): Promise<Uint8Array> {
    const path = this.services.config.custom404Page;
    if (!path) return NOT_FOUND_PAGE;
    try {
      // Read on every use, as frp does, so the page can be edited live.
      return await Deno.readFile(path);
    } catch (err) {
      this.#log.warn(`custom404Page ${path}: ${(err as Error).message}; using the built-in page`);
      return NOT_FOUND_PAGE;
    }
  }

  /** Stops listening and closes every open user connection. */
  close(): void {
    try {
      this.#listener?.close();
    } catch {
      // Already closed.
    }
    this.#listener = undefined;
    for (const conn of this.#conns) conn.close();
    this.#conns.clear();
    this.#sweeper.close();
  }
}

/** Whether the first bytes look like an HTTP method and a space ("GET ", "POST"...). */
function looksLikeHttp(head: Uint8Array): boolean {
  if (head.length === 0) return false;
  for (const b of head) {
    if (!((b >= 0x41 && b <= 0x5a) || b === 0x20)) return false;
  }
  return head[0] !== 0x20;
}

function splitHostPort(addr: string): { host: string; port: number } {
  const colon = addr.lastIndexOf(":");
  if (colon < 0) return { host: addr, port: 0 };
  const host = addr.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port: Number(addr.slice(colon + 1)) || 0 };
}

registerServerFeature(HTTP_VHOST, (services) => {
  const { vhostHTTPPort, bindPort } = services.config;
  if (!vhostHTTPPort) return Promise.resolve(null);
  const vhost = new HttpVhost(services, vhostHTTPPort, vhostHTTPPort === bindPort);
  vhost.listen();
  return Promise.resolve(vhost);
});
