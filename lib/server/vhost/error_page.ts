/**
 * The answers the HTTP vhost writes itself: the 404 page for an unknown
 * host (built in, or the server's `custom404Page`), 401/407 challenges, and
 * 400/431/502/504 pages. Each ends the connection.
 *
 * @example
 * ```ts
 * import { errorResponse } from "./error_page.ts";
 * const bytes = errorResponse(502, "the backend did not answer");
 * ```
 *
 * @module
 */

import { type Header, latin1Bytes } from "./http_parser.ts";

const REASONS: Record<number, string> = {
  400: "Bad Request",
  401: "Unauthorized",
  404: "Not Found",
  405: "Method Not Allowed",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  431: "Request Header Fields Too Large",
  501: "Not Implemented",
  502: "Bad Gateway",
  504: "Gateway Timeout",
};

/**
 * The reason phrase for `status`.
 *
 * @example
 * ```ts
 * import { reasonPhrase } from "./error_page.ts";
 * reasonPhrase(404); // "Not Found"
 * ```
 */
export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Error";
}

/** The built-in 404 page. */
export const NOT_FOUND_PAGE: Uint8Array = new TextEncoder().encode(`<!DOCTYPE html>
<html>
<head><title>404 Not Found</title></head>
<body>
<h1>404 Not Found</h1>
<p>No site is served under this name here right now. Please check the address or try again later.</p>
<hr><p><em>dfrp</em></p>
</body>
</html>
`);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/**
 * A complete response with `Connection: close`: `body` as given, or a small
 * page naming the status and `message`.
 *
 * @example
 * ```ts
 * import { errorResponse } from "./error_page.ts";
 * errorResponse(401, "", undefined, [["WWW-Authenticate", 'Basic realm="Restricted"']]);
 * ```
 */
export function errorResponse(
  status: number,
  message: string,
  body?: Uint8Array,
  headers: Header[] = [],
): Uint8Array {
  const reason = reasonPhrase(status);
  const page = body ?? new TextEncoder().encode(
    `<!DOCTYPE html>\n<html><head><title>${status} ${reason}</title></head><body>\n` +
      `<h1>${status} ${reason}</h1>\n${message ? `<p>${escapeHtml(message)}</p>\n` : ""}` +
      `<hr><p><em>dfrp</em></p></body></html>\n`,
  );
  let head = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += `Content-Type: text/html; charset=utf-8\r\nContent-Length: ${page.length}\r\n` +
    `Connection: close\r\n\r\n`;
  const headBytes = latin1Bytes(head);
  const out = new Uint8Array(headBytes.length + page.length);
  out.set(headBytes);
  out.set(page, headBytes.length);
  return out;
}
