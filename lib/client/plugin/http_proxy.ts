/**
 * `plugin.type = "http_proxy"`: a forward HTTP proxy. `CONNECT host:port`
 * opens a tunnel; plain requests in absolute form (`GET http://host/path`)
 * are forwarded. With `httpUser`/`httpPassword` set, every request must
 * carry matching `Proxy-Authorization: Basic` credentials (407 otherwise).
 *
 * The first head of each connection is read here to tell CONNECT from a
 * plain request; plain requests then go through an internal `Deno.serve`
 * (see `http_server.ts`), keep-alive included. `Deno.serve` cannot tell an
 * absolute-form target from an origin-form one, so only a connection's
 * first request is refused for being origin-form; a later one on the same
 * connection goes to its `Host`, which grants nothing an absolute URL would
 * not (credentials are checked on every request).
 *
 * Destinations are checked by `destinations.ts` (no loopback, link-local
 * or own address unless `allowDestinations` says so): refused ones get 403.
 * The checked address is the one dialed; a plain request's `Host` header
 * goes through unchanged.
 *
 * @example
 * ```toml
 * [[proxies]]
 * name = "http_proxy"
 * type = "tcp"
 * remotePort = 6000
 * plugin.type = "http_proxy"
 * plugin.httpUser = "abc"
 * plugin.httpPassword = "abc"
 * ```
 *
 * @module
 */

import { type Duplex, writeAll } from "../../net/duplex.ts";
import { relay } from "../../net/relay.ts";
import { dialTcp } from "../../net/tcp_conn.ts";
import { withTimeout } from "../../net/timeout.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { LOCAL_DIAL_TIMEOUT_MS } from "../proxy/tcp.ts";
import { parseHostPort } from "./bridge_plugin.ts";
import { Credentials } from "./credentials.ts";
import { Destinations, warnOpen } from "./destinations.ts";
import { Forwarder } from "./forward.ts";
import { LoopbackHttpServer } from "./http_server.ts";
import type { ClientPlugin, PluginContext, PluginOptions } from "./plugin.ts";
import { registerPlugin } from "./registry.ts";
import { BadRequest, readRequestHead, type SniffedRequest } from "./request_head.ts";

/** How long a client may take to send its first request head. */
export const HEAD_TIMEOUT_MS = 60_000;

const REALM = 'Basic realm="dfrp http_proxy"';

/** See the module doc. */
export class HttpProxyPlugin implements ClientPlugin {
  #creds: Credentials;
  #server: LoopbackHttpServer;
  #forwarder: Forwarder;
  #destinations: Destinations;

  /**
   * @param options `httpUser`, `httpPassword`, `allowDestinations`, `denyDestinations`
   * @param ctx the proxy's logger
   */
  constructor(options: PluginOptions, readonly ctx: PluginContext) {
    this.#creds = new Credentials(options.httpUser ?? "", options.httpPassword ?? "");
    this.#destinations = new Destinations(
      options.allowDestinations ?? [],
      options.denyDestinations ?? [],
      "http_proxy",
    );
    if (!this.#creds.required) warnOpen(ctx, "http_proxy", "httpUser/httpPassword");
    this.#forwarder = new Forwarder("http", ctx.log);
    this.#server = new LoopbackHttpServer((req) => this.#plain(req), ctx.log);
  }

  /** Reads the first head, then tunnels (CONNECT) or hands over to the internal server. */
  async handle(conn: Duplex, start: StartWorkConn): Promise<void> {
    const who = `${start.srcAddr}:${start.srcPort}`;
    let head: SniffedRequest;
    try {
      head = await withTimeout(readRequestHead(conn), HEAD_TIMEOUT_MS, "request head");
    } catch (err) {
      this.ctx.log.warn(`http_proxy ${who}: ${(err as Error).message}`);
      const status = err instanceof BadRequest ? err.status : 0;
      if (status) await answer(conn, status, (err as Error).message).catch(() => {});
      conn.close();
      return;
    }
    if (!this.#creds.checkBasic(head.header("proxy-authorization"))) {
      this.ctx.log.warn(`http_proxy ${who}: proxy authentication failed`);
      await answer(conn, 407, "proxy authentication required", `Proxy-Authenticate: ${REALM}\r\n`)
        .catch(() => {});
      conn.close();
      return;
    }
    if (head.method === "CONNECT") return await this.#connect(conn, head, who);
    if (!/^http:\/\//i.test(head.target)) {
      const why = head.target.startsWith("/")
        ? "not a proxy request (the target must be an absolute http:// URL)"
        : `unsupported target "${head.target.slice(0, 80)}" (use CONNECT for https)`;
      this.ctx.log.warn(`http_proxy ${who}: ${why}`);
      await answer(conn, 400, why).catch(() => {});
      conn.close();
      return;
    }
    await this.#server.bridge.bridge(conn, start, head.bytes);
  }

  async #connect(conn: Duplex, head: SniffedRequest, who: string): Promise<void> {
    let target: { host: string; port: number };
    try {
      target = parseHostPort(head.target);
    } catch (err) {
      await answer(conn, 400, (err as Error).message).catch(() => {});
      conn.close();
      return;
    }
    const verdict = await this.#destinations.check(target.host, target.port);
    if (!verdict.ok) {
      this.ctx.log.warn(`http_proxy ${who}: CONNECT ${head.target}: ${verdict.reason}`);
      await answer(conn, verdict.refused ? 403 : 502, destinationMessage(verdict))
        .catch(() => {});
      conn.close();
      return;
    }
    let remote: Duplex;
    try {
      remote = await dialTcp(verdict.ip, target.port, LOCAL_DIAL_TIMEOUT_MS);
    } catch (err) {
      const message = `connect to ${head.target}: ${(err as Error).message}`;
      this.ctx.log.warn(`http_proxy ${who}: ${message}`);
      await answer(conn, 502, message).catch(() => {});
      conn.close();
      return;
    }
    try {
      await writeAll(
        conn,
        new TextEncoder().encode(`${head.version} 200 Connection established\r\n\r\n`),
      );
      // Bytes the client sent right behind the head (a TLS hello) belong to the tunnel.
      if (head.bytes.length > head.headEnd) {
        await writeAll(remote, head.bytes.subarray(head.headEnd));
      }
    } catch {
      remote.close();
      conn.close();
      return;
    }
    this.ctx.log.debug(`http_proxy ${who} -> ${head.target}`);
    await relay(conn, remote);
  }

  async #plain(req: Request): Promise<Response> {
    if (!this.#creds.checkBasic(req.headers.get("proxy-authorization"))) {
      return new Response("proxy authentication required\n", {
        status: 407,
        headers: { "proxy-authenticate": REALM },
      });
    }
    if (req.method === "CONNECT") {
      return new Response("CONNECT must open its own connection\n", { status: 405 });
    }
    const url = new URL(req.url);
    const host = url.hostname.replace(/^\[|\]$/g, "");
    const port = Number(url.port || 80);
    const verdict = await this.#destinations.check(host, port);
    if (!verdict.ok) {
      this.ctx.log.warn(`http_proxy: ${req.method} ${url.origin}: ${verdict.reason}`);
      return new Response(`${destinationMessage(verdict)}\n`, {
        status: verdict.refused ? 403 : 502,
      });
    }
    return await this.#forwarder.forward(req, { host: verdict.ip, port });
  }

  /** Stops the internal server. */
  close(): void {
    this.#server.close();
    this.#forwarder.close();
  }
}

/** The body of a refused destination's answer. */
function destinationMessage(verdict: { refused: boolean; reason: string }): string {
  return verdict.refused
    ? `destination refused: ${verdict.reason} (plugin.allowDestinations can allow it)`
    : verdict.reason;
}

/** Writes a short plain-text answer with `Connection: close`. */
async function answer(conn: Duplex, status: number, message: string, extra = ""): Promise<void> {
  const reasons: Record<number, string> = {
    400: "Bad Request",
    403: "Forbidden",
    407: "Proxy Authentication Required",
    431: "Request Header Fields Too Large",
    502: "Bad Gateway",
  };
  const body = `${message}\n`;
  const text = `HTTP/1.1 ${status} ${reasons[status] ?? "Error"}\r\n${extra}` +
    `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${
      new TextEncoder().encode(body).length
    }\r\n` +
    `Connection: close\r\n\r\n${body}`;
  await writeAll(conn, new TextEncoder().encode(text));
}

registerPlugin("http_proxy", (options, ctx) => new HttpProxyPlugin(options, ctx));
