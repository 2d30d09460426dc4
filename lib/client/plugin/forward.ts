/**
 * The reverse-proxy step the bridge plugins share (http2http, http2https,
 * https2http, https2https) and http_proxy's plain requests: send a
 * `Request` on to another HTTP server and stream the answer back.
 *
 * Built on `node:http` (with `node:tls` for https) rather than `fetch` because a proxy
 * must pass bodies through untouched (fetch decodes gzip), must not follow
 * redirects, and must reach TLS backends with self-signed certificates as
 * frp does (`InsecureSkipVerify`), which `fetch` cannot do per request.
 *
 * @example
 * ```ts
 * import { Forwarder } from "./forward.ts";
 * const forwarder = new Forwarder("http");
 * Deno.serve((req) => forwarder.forward(req, { host: "127.0.0.1", port: 8080 }));
 * ```
 *
 * @module
 */

import http from "node:http";
import type { IncomingMessage } from "node:http";
import tls from "node:tls";
import type { Logger } from "../../log.ts";

/** Where and how to send one request. */
export interface ForwardTarget {
  host: string;
  port: number;
  /** Path and query; defaults to the request's own. */
  path?: string;
  /** Header edits applied after hop-by-hop headers are removed. */
  edit?: (headers: Headers) => void;
}

// Headers that describe one connection, not the message (RFC 9110 §7.6.1),
// plus the proxy credentials meant for us.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/**
 * A copy of `headers` without hop-by-hop headers, including any named in
 * `Connection`.
 *
 * @example
 * ```ts
 * import { endToEnd } from "./forward.ts";
 * endToEnd(new Headers({ connection: "x-a", "x-a": "1", "x-b": "2" })).has("x-a"); // false
 * ```
 */
export function endToEnd(headers: Headers): Headers {
  const named = (headers.get("connection") ?? "").toLowerCase().split(",").map((s) => s.trim());
  const out = new Headers();
  for (const [k, v] of headers) {
    if (!HOP_BY_HOP.has(k) && !named.includes(k)) out.append(k, v);
  }
  return out;
}

/**
 * Appends the visitor to `X-Forwarded-For` the way Go's `SetXForwarded`
 * does: after what earlier proxies wrote.
 *
 * @example
 * ```ts
 * import { appendForwardedFor } from "./forward.ts";
 * const h = new Headers({ "x-forwarded-for": "10.0.0.1" });
 * appendForwardedFor(h, "192.0.2.7"); // "10.0.0.1, 192.0.2.7"
 * ```
 */
export function appendForwardedFor(headers: Headers, addr: string): void {
  const prior = headers.get("x-forwarded-for");
  headers.set("x-forwarded-for", prior ? `${prior}, ${addr}` : addr);
}

/** Sends requests to one scheme's servers over keep-alive connections. */
export class Forwarder {
  #agent: http.Agent;

  /**
   * @param scheme "https" skips certificate checks, as frp's plugins do
   * @param log where failed forwards are reported
   */
  constructor(readonly scheme: "http" | "https", readonly log?: Logger) {
    this.#agent = new http.Agent({ keepAlive: true });
    if (scheme === "https") {
      // Our own TLS dial instead of an https.Agent: Deno's https agent reads
      // the system CA store on every connection, which needs --allow-sys=ca
      // even when nothing is verified; tls.connect without checks does not.
      const agent = this.#agent as unknown as {
        createConnection(opts: { host?: string | null; port?: number | string | null }): unknown;
      };
      agent.createConnection = (opts) => {
        const host = String(opts.host ?? "");
        return tls.connect({
          host,
          port: Number(opts.port),
          rejectUnauthorized: false,
          // SNI names localAddr as Go's transport does; an IP literal gets none.
          ...(isIpLiteral(host) ? {} : { servername: host }),
        });
      };
    }
  }

  /** Forwards `req`; a failure becomes a 502 answer, never a rejection. */
  async forward(req: Request, target: ForwardTarget): Promise<Response> {
    const url = new URL(req.url);
    const headers = endToEnd(req.headers);
    target.edit?.(headers);
    const outHeaders: Record<string, string | string[]> = {};
    for (const [k, v] of headers) {
      // Headers joins repeated values with ", " except Set-Cookie; requests
      // carry no Set-Cookie, so one string per name is faithful.
      outHeaders[k] = v;
    }
    let response: IncomingMessage;
    try {
      response = await new Promise<IncomingMessage>((resolve, reject) => {
        const out = http.request({
          host: target.host,
          port: target.port,
          method: req.method,
          path: target.path ?? url.pathname + url.search,
          headers: outHeaders,
          agent: this.#agent,
        }, resolve);
        out.on("error", reject);
        sendBody(req.body, out).catch((err) => out.destroy(err));
      });
    } catch (err) {
      const message = `${target.host}:${target.port}: ${(err as Error).message}`;
      this.log?.warn(`forward ${req.method} ${url.pathname} to ${message}`);
      return new Response(`bad gateway: ${message}\n`, { status: 502 });
    }
    const status = response.statusCode ?? 502;
    const responseHeaders = new Headers();
    const raw = response.rawHeaders;
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (!HOP_BY_HOP.has(name)) responseHeaders.append(raw[i], raw[i + 1]);
    }
    const bodyless = req.method === "HEAD" || status === 204 || status === 304;
    if (bodyless) response.resume();
    return new Response(bodyless ? null : toStream(response), {
      status,
      statusText: response.statusMessage,
      headers: responseHeaders,
    });
  }

  /** Closes idle backend connections. */
  close(): void {
    this.#agent.destroy();
  }
}

function isIpLiteral(host: string): boolean {
  return /^[\d.]+$/.test(host) || host.includes(":");
}

async function sendBody(body: ReadableStream<Uint8Array> | null, out: http.ClientRequest) {
  if (!body) {
    out.end();
    return;
  }
  for await (const chunk of body) {
    // Respect the socket's backpressure instead of buffering the whole body.
    if (!out.write(chunk)) await new Promise((r) => out.once("drain", r));
  }
  out.end();
}

/** A node readable as a web stream that pauses the socket while the reader is behind. */
function toStream(res: IncomingMessage): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      res.on("data", (chunk: Uint8Array) => {
        controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        if ((controller.desiredSize ?? 1) <= 0) res.pause();
      });
      res.on("end", () => controller.close());
      res.on("error", (err) => controller.error(err));
    },
    pull() {
      res.resume();
    },
    cancel() {
      res.destroy();
    },
  });
}
