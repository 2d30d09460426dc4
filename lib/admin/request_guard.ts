/**
 * Keeps web pages away from an admin API (Hono middleware, used by the
 * client's and the server's). A browser visiting any site can send requests
 * to `127.0.0.1`, and resends basic-auth credentials it remembers, so:
 *
 * - **Host**: while the API listens on a loopback address (or when
 *   `allowedHosts` is set), the `Host` header must be an IP literal, a
 *   loopback name (`localhost`, `*.localhost`), the listen address itself or
 *   one of `allowedHosts`. A page whose DNS name was rebound to 127.0.0.1
 *   sends its own name and is refused (421), so it cannot read the API.
 * - **State changes** (every method but GET/HEAD/OPTIONS, plus GET and HEAD
 *   of the listed state-changing paths such as frp's `/api/reload`) are refused (403)
 *   when `Origin` names another origin (or is `null`) or `Sec-Fetch-Site` is
 *   `cross-site`/`same-site`. A POST or such a GET must also be a request a
 *   page cannot send without the server's CORS consent: it needs
 *   `Content-Type: application/json` (POST) or an `X-Requested-With` header.
 *   PUT and DELETE already need that consent; dfrp never gives it.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { requestGuard } from "./request_guard.ts";
 * const app = new Hono();
 * app.use("*", requestGuard({ addr: "127.0.0.1", allowedHosts: [], stateChangingGets: ["/api/reload"] }));
 * ```
 *
 * @module
 */

import type { Context, MiddlewareHandler } from "hono";

/** The header that makes a POST or a state-changing GET non-simple. */
export const CSRF_HEADER = "X-Requested-With";

/** What the guard needs to know about the API. */
export interface GuardOptions {
  /** `webServer.addr`: the address the API listens on. */
  addr: string;
  /** `webServer.allowedHosts`: extra `Host` names (`name` or `name:port`). */
  allowedHosts: readonly string[];
  /** Paths whose GET changes state (frp's `/api/reload`). */
  stateChangingGets?: readonly string[];
  /** Answers a refusal; plain text by default. */
  refuse?: (c: Context, status: 403 | 421, msg: string) => Response;
}

/**
 * Builds the middleware; see the module doc.
 *
 * @example
 * ```ts
 * import { requestGuard } from "./request_guard.ts";
 * const guard = requestGuard({ addr: "0.0.0.0", allowedHosts: ["admin.example.com"] });
 * ```
 */
export function requestGuard(opts: GuardOptions): MiddlewareHandler {
  const allowed = new Set(opts.allowedHosts.map((h) => h.toLowerCase()));
  const checkHost = isLoopbackName(opts.addr) || allowed.size > 0;
  const own = opts.addr.toLowerCase().replace(/^\[|\]$/g, "");
  const gets = new Set(opts.stateChangingGets ?? []);
  const refuse = opts.refuse ?? ((c, status, msg) => c.text(`${msg}\n`, status));
  const hostAllowed = (hostPort: string): boolean => {
    const { host } = splitHostPort(hostPort);
    return isIpLiteral(host) || isLoopbackName(host) || host === own ||
      allowed.has(host) || allowed.has(hostPort);
  };
  return async (c, next) => {
    const hostHeader = (c.req.header("host") ?? "").toLowerCase();
    if (checkHost && !hostAllowed(hostHeader)) {
      return refuse(
        c,
        421,
        `Host "${hostHeader.slice(0, 100)}" is not this admin API's address ` +
          `(add it to webServer.allowedHosts if it is yours)`,
      );
    }
    const method = c.req.method;
    const safe = method === "GET" || method === "HEAD" || method === "OPTIONS";
    if (safe && !gets.has(c.req.path)) return await next();

    const origin = c.req.header("origin");
    if (origin !== undefined && !sameOrigin(origin, hostHeader, allowed)) {
      return refuse(c, 403, `cross-origin request refused (Origin ${origin.slice(0, 100)})`);
    }
    const site = c.req.header("sec-fetch-site");
    if (site === "cross-site" || site === "same-site") {
      return refuse(c, 403, `cross-site request refused (Sec-Fetch-Site: ${site})`);
    }
    // HEAD runs the GET handler in Hono, so it is as state-changing.
    if (method === "POST" || method === "GET" || method === "HEAD") {
      const json = /^application\/(.+\+)?json\b/i.test(c.req.header("content-type") ?? "");
      if (!(method === "POST" && json) && c.req.header(CSRF_HEADER) === undefined) {
        return refuse(
          c,
          403,
          `${method} ${c.req.path} changes state: send it with an ${CSRF_HEADER} header` +
            (method === "POST" ? " or a JSON body" : ""),
        );
      }
    }
    await next();
  };
}

/** Same origin: the Origin's `host[:port]` is the request's Host, or allowed. */
function sameOrigin(origin: string, hostHeader: string, allowed: Set<string>): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file://) and garbage
  }
  const host = url.host.toLowerCase();
  return host === hostHeader || allowed.has(host) || allowed.has(url.hostname.toLowerCase());
}

/**
 * `localhost`, `*.localhost` and loopback IPs (127/8, ::1).
 *
 * @example
 * ```ts
 * import { isLoopbackName } from "./request_guard.ts";
 * isLoopbackName("127.0.0.1"); // true
 * ```
 */
export function isLoopbackName(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  return h === "localhost" || h.endsWith(".localhost") || /^127\.\d+\.\d+\.\d+$/.test(h) ||
    h === "::1" || h === "0:0:0:0:0:0:0:1" || h === "::ffff:127.0.0.1";
}

function isIpLiteral(host: string): boolean {
  return /^\d+\.\d+\.\d+\.\d+$/.test(host) || (host.includes(":") && /^[0-9a-f:.]+$/.test(host));
}

function splitHostPort(hostPort: string): { host: string; port: string } {
  const m = /^\[([^\]]*)\](?::(\d*))?$/.exec(hostPort);
  if (m) return { host: m[1], port: m[2] ?? "" };
  const colon = hostPort.lastIndexOf(":");
  if (colon < 0) return { host: hostPort, port: "" };
  return { host: hostPort.slice(0, colon), port: hostPort.slice(colon + 1) };
}
