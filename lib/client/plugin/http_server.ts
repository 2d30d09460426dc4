/**
 * An internal `Deno.serve` on 127.0.0.1 (plain or TLS) behind a
 * {@linkcode LoopbackBridge}: the base of every HTTP-speaking plugin. The
 * handler gets each request with the user it came from.
 *
 * @example
 * ```ts
 * import { LoopbackHttpServer } from "./http_server.ts";
 * import { log } from "../../log.ts";
 * const server = new LoopbackHttpServer(
 *   (_req, visitor) => new Response(`hello ${visitor.srcAddr}`),
 *   log,
 * );
 * // in a plugin's handle(conn, start): await server.bridge.bridge(conn, start);
 * server.close();
 * ```
 *
 * @module
 */

import type { Logger } from "../../log.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { LoopbackBridge } from "./loopback.ts";

/** Answers one request; `visitor` is the work connection's StartWorkConn. */
export type PluginHandler = (
  req: Request,
  visitor: StartWorkConn,
) => Response | Promise<Response>;

/** PEM text of a certificate and its key. */
export interface PemPair {
  cert: string;
  key: string;
}

/**
 * Reads `crtPath` / `keyPath`; throws a message naming the file that failed.
 *
 * @example
 * ```ts
 * import { readPemPair } from "./http_server.ts";
 * const pair = readPemPair("/etc/dfrp/server.crt", "/etc/dfrp/server.key");
 * ```
 */
export function readPemPair(crtPath: string, keyPath: string): PemPair {
  const read = (what: string, path: string) => {
    if (!path) throw new Error(`${what} is required`);
    try {
      return Deno.readTextFileSync(path);
    } catch (err) {
      throw new Error(`read ${what} ${path}: ${(err as Error).message}`);
    }
  };
  return { cert: read("crtPath", crtPath), key: read("keyPath", keyPath) };
}

/** See the module doc. */
export class LoopbackHttpServer {
  readonly bridge: LoopbackBridge;
  #server: Deno.HttpServer<Deno.NetAddr>;

  /**
   * Starts listening at once (throws if the certificate is unusable).
   *
   * @param handler answers requests that came through the bridge
   * @param log where handler errors go
   * @param tls certificate and key to terminate TLS with, if any
   */
  constructor(handler: PluginHandler, readonly log: Logger, tls?: PemPair) {
    this.#server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      onError: (err) => {
        log.warn(`plugin http handler error: ${(err as Error).message}`);
        return new Response("internal error\n", { status: 500 });
      },
      ...(tls ?? {}),
    }, (req, info) => {
      const visitor = this.bridge.visitorOf(info.remoteAddr);
      if (!visitor) return new Response("forbidden\n", { status: 403 });
      return handler(req, visitor);
    });
    this.bridge = new LoopbackBridge(this.#server.addr.port);
  }

  /** Stops accepting; requests in flight finish. */
  close(): void {
    this.#server.shutdown().catch(() => {});
  }
}
