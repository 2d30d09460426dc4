/**
 * What http2http, http2https, https2http and https2https have in common:
 * an internal HTTP server (plain or TLS) whose every request is forwarded to
 * `localAddr` (plain or TLS), with `hostHeaderRewrite`, `requestHeaders.set`
 * and `X-Forwarded-*` applied on the way.
 *
 * @example
 * ```ts
 * import { BridgePlugin } from "./bridge_plugin.ts";
 * import type { PluginContext } from "./plugin.ts";
 * declare const ctx: PluginContext;
 * const plugin = new BridgePlugin({ type: "http2http", localAddr: "127.0.0.1:80" }, ctx, {
 *   from: "http",
 *   to: "http",
 * });
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import type { StartWorkConn } from "../../protocol/messages.ts";
import { endToEnd, Forwarder } from "./forward.ts";
import { isWebSocketRequest, relayWebSocket } from "./websocket_relay.ts";
import { LoopbackHttpServer, readPemPair } from "./http_server.ts";
import {
  type ClientPlugin,
  type PluginContext,
  type PluginOptions,
  requireOption,
} from "./plugin.ts";

/** Which side speaks TLS. */
export interface BridgeSpec {
  /** "https": the user's bytes are TLS, terminated here with `crtPath`/`keyPath`. */
  from: "http" | "https";
  /** "https": `localAddr` is reached over TLS (its certificate is not checked, as in frp). */
  to: "http" | "https";
}

/**
 * Splits `host:port` (IPv6 in brackets); throws on anything else.
 *
 * @example
 * ```ts
 * import { parseHostPort } from "./bridge_plugin.ts";
 * parseHostPort("[::1]:8443"); // { host: "::1", port: 8443 }
 * ```
 */
export function parseHostPort(addr: string): { host: string; port: number } {
  const m = addr.match(/^(?:\[([^\]]+)\]|([^:\[\]]+)):(\d{1,5})$/);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) throw new Error(`"${addr}" is not a host:port address`);
  return { host: m[1] ?? m[2], port };
}

/**
 * Adds the visitor to `X-Forwarded-For` unless it is already the last hop:
 * behind an `http` proxy the server has appended it, and a second copy
 * would read as one more proxy in the chain.
 *
 * @example
 * ```ts
 * import { forwardedFor } from "./bridge_plugin.ts";
 * forwardedFor("10.0.0.1", "192.0.2.7"); // "10.0.0.1, 192.0.2.7"
 * forwardedFor("10.0.0.1, 192.0.2.7", "192.0.2.7"); // unchanged
 * ```
 */
export function forwardedFor(prior: string | null, visitor: string): string {
  if (!prior) return visitor;
  const hops = prior.split(",").map((s) => s.trim());
  return hops[hops.length - 1] === visitor ? prior : `${prior}, ${visitor}`;
}

/** See the module doc. */
export class BridgePlugin implements ClientPlugin {
  #server: LoopbackHttpServer;
  #forwarder: Forwarder;

  /**
   * @param options the plugin table (`localAddr`, `crtPath`, `keyPath`, ...)
   * @param ctx the proxy's logger
   * @param spec which sides speak TLS
   */
  constructor(options: PluginOptions, readonly ctx: PluginContext, readonly spec: BridgeSpec) {
    const target = parseHostPort(requireOption(options, "localAddr"));
    const tls = spec.from === "https"
      ? readPemPair(options.crtPath ?? "", options.keyPath ?? "")
      : undefined;
    const rewrite = options.hostHeaderRewrite ?? "";
    const set = Object.entries(options.requestHeaders?.set ?? {});
    this.#forwarder = new Forwarder(spec.to, ctx.log);
    this.#server = new LoopbackHttpServer(
      (req, visitor) => {
        const host = req.headers.get("host") ?? new URL(req.url).host;
        const edit = (headers: Headers) => {
          headers.set(
            "x-forwarded-for",
            forwardedFor(headers.get("x-forwarded-for"), visitor.srcAddr),
          );
          if (spec.from === "https") {
            headers.set("x-forwarded-host", host);
            headers.set("x-forwarded-proto", "https");
          }
          headers.set("host", rewrite || host);
          for (const [k, v] of set) headers.set(k, v);
        };
        if (isWebSocketRequest(req)) {
          const headers = endToEnd(req.headers);
          edit(headers);
          const url = new URL(req.url);
          const authority = target.host.includes(":") ? `[${target.host}]` : target.host;
          const scheme = spec.to === "https" ? "wss" : "ws";
          const wsUrl = `${scheme}://${authority}:${target.port}${url.pathname}${url.search}`;
          return relayWebSocket(req, wsUrl, headers, ctx.log);
        }
        return this.#forwarder.forward(req, { ...target, edit });
      },
      ctx.log,
      tls,
    );
  }

  /** Relays the user's bytes to the internal server. */
  handle(conn: Duplex, start: StartWorkConn): Promise<void> {
    return this.#server.bridge.bridge(conn, start);
  }

  /** Stops the internal server and drops idle backend connections. */
  close(): void {
    this.#server.close();
    this.#forwarder.close();
  }
}
