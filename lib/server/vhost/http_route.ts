/**
 * Routing and auth of one HTTP vhost request: which http proxy serves it
 * (by host, normalised path and Basic-auth user), whether its credentials
 * pass the proxy's `httpUser`/`httpPassword`, and the head rewrite it gets
 * on its way to the backend (`X-Forwarded-*`, `hostHeaderRewrite`,
 * `requestHeaders.set`).
 *
 * @example
 * ```ts
 * import { routeRequest } from "./http_route.ts";
 * import type { HttpRoute } from "./http_route.ts";
 * import type { VhostRouter } from "./router.ts";
 * import { parseRequestHead } from "./http_parser.ts";
 * declare const router: VhostRouter<HttpRoute>;
 * const req = parseRequestHead(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * const routed = routeRequest(router, req);
 * if (routed.route) console.log(routed.route.ctx.name);
 * ```
 *
 * @module
 */

import type { Duplex } from "../../net/duplex.ts";
import type { ProxyContext } from "../proxy/proxy.ts";
import { BASIC_REALM, type BasicAuth, basicAuthMatches, decodeBasicAuth } from "./basic_auth.ts";
import { errorResponse } from "./error_page.ts";
import {
  getHeader,
  getHeaderList,
  type Header,
  HttpError,
  type RequestHead,
  setHeader,
} from "./http_parser.ts";
import { requestTarget } from "./request_target.ts";
import type { VhostRouter } from "./router.ts";

/** What one http proxy put into the router, for each of its domains and locations. */
export interface HttpRoute {
  /** The proxy's context: work connections, counters, logger. */
  ctx: ProxyContext;
  httpUser: string;
  httpPassword: string;
  hostHeaderRewrite: string;
  /** `requestHeaders.set`. */
  requestHeaders: Header[];
  /** `responseHeaders.set`. */
  responseHeaders: Header[];
  /** Work connections open for this proxy; closed when it goes away. */
  conns: Set<Duplex>;
}

/** Where a request goes: `route` undefined when no proxy serves it. */
export interface RoutedRequest {
  route: HttpRoute | undefined;
  /** The host it was routed by. */
  host: string;
  /** The normalised path it was routed by. */
  path: string;
  /** Whether the target was absolute (`GET http://host/path`). */
  proxyForm: boolean;
  /** The Basic credentials for this hop (`Proxy-Authorization` in proxy form). */
  creds: BasicAuth | null;
  /** The user it was routed by (a route may belong to one `httpUser`). */
  routeUser: string;
}

/**
 * Finds the proxy for `req`. Throws {@linkcode HttpError} 400 for a request
 * the router cannot route safely (see `request_target.ts`), and 405 for
 * CONNECT.
 *
 * @example
 * ```ts
 * import { routeRequest } from "./http_route.ts";
 * import type { HttpRoute } from "./http_route.ts";
 * import { VhostRouter } from "./router.ts";
 * import { parseRequestHead } from "./http_parser.ts";
 * const req = parseRequestHead(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * routeRequest(new VhostRouter<HttpRoute>(), req).route; // undefined
 * ```
 */
export function routeRequest(router: VhostRouter<HttpRoute>, req: RequestHead): RoutedRequest {
  if (req.method === "CONNECT") {
    throw new HttpError(405, "CONNECT is not supported on the HTTP vhost port");
  }
  const { host, path, loosePath, proxyForm } = requestTarget(req);
  const authHeader = proxyForm ? "proxy-authorization" : "authorization";
  const creds = decodeBasicAuth(getHeader(req.headers, authHeader));
  // Proxy-form clients that only send Authorization still route by that user (as frp).
  const routeUser = creds?.user ??
    (proxyForm ? decodeBasicAuth(getHeader(req.headers, "authorization"))?.user : "") ?? "";
  if (loosePath !== path && !router.sameRoute(host, path, loosePath, routeUser)) {
    // Backends split "%2F" and "\" differently; either reading must reach one proxy.
    throw new HttpError(400, "the path reaches different locations depending on how it is read");
  }
  const route = router.find(host, path, routeUser);
  return { route, host, path, proxyForm, creds, routeUser };
}

/**
 * The 401 (407 in proxy form) answer when `route` demands credentials
 * that `routed` lacks, else null.
 *
 * @example
 * ```ts
 * import { authChallenge } from "./http_route.ts";
 * import type { HttpRoute, RoutedRequest } from "./http_route.ts";
 * declare const route: HttpRoute, routed: RoutedRequest;
 * const answer = authChallenge(route, routed);
 * ```
 */
export function authChallenge(route: HttpRoute, routed: RoutedRequest): Uint8Array | null {
  if (!route.httpUser && !route.httpPassword) return null;
  if (basicAuthMatches(routed.creds, route.httpUser, route.httpPassword)) return null;
  route.ctx.log.info(`http request for [${routed.host}] without valid credentials`);
  const proxyForm = routed.proxyForm;
  const challenge: Header = [
    proxyForm ? "Proxy-Authenticate" : "WWW-Authenticate",
    `Basic realm="${BASIC_REALM}"`,
  ];
  return errorResponse(proxyForm ? 407 : 401, "", undefined, [challenge]);
}

/**
 * Rewrites `req`'s headers for the backend of `route`: `X-Forwarded-*` and
 * `X-Real-IP` from `srcAddr`, `Host` (`hostHeaderRewrite`, or the host of a
 * proxy-form target), `requestHeaders.set`, and no `Proxy-Authorization`
 * meant for this hop.
 *
 * @example
 * ```ts
 * import { rewriteRequest } from "./http_route.ts";
 * import type { HttpRoute } from "./http_route.ts";
 * import { parseRequestHead } from "./http_parser.ts";
 * declare const route: HttpRoute;
 * const req = parseRequestHead(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\n"));
 * rewriteRequest(req, route, "a", false, "192.0.2.1");
 * ```
 */
export function rewriteRequest(
  req: RequestHead,
  route: HttpRoute,
  host: string,
  proxyForm: boolean,
  srcAddr: string,
): void {
  const h = req.headers;
  const forwarded = getHeaderList(h, "x-forwarded-for");
  setHeader(h, "X-Forwarded-For", forwarded ? `${forwarded}, ${srcAddr}` : srcAddr);
  setHeader(h, "X-Forwarded-Host", host);
  setHeader(h, "X-Forwarded-Proto", "http");
  setHeader(h, "X-Real-IP", srcAddr);
  if (proxyForm && (route.httpUser || route.httpPassword)) {
    // The credential was meant for this hop, not for the backend.
    const i = h.findIndex(([n]) => n.toLowerCase() === "proxy-authorization");
    if (i >= 0) h.splice(i, 1);
  }
  if (route.hostHeaderRewrite) setHeader(h, "Host", route.hostHeaderRewrite);
  // RFC 9112 §3.2.2: the target's authority replaces whatever Host said.
  else if (proxyForm && getHeader(h, "host") !== host) setHeader(h, "Host", host);
  for (const [name, value] of route.requestHeaders) setHeader(h, name, value);
}
