/**
 * What the HTTP vhost routes a request by: the host (from the one `Host`
 * header, or from the URL of a proxy-form request) and the path, normalised
 * so that spellings a backend reads as the same path reach the same
 * `locations` route. The request line itself is forwarded unchanged.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./request_target.ts";
 * normalizePath("//x/../%2e/admin/"); // "/admin/"
 * ```
 *
 * @module
 */

import { getHeader, HttpError, type RequestHead } from "./http_parser.ts";

/** Host and path to route by. */
export interface RequestTarget {
  /** The `Host` header, or the authority of a proxy-form target. */
  host: string;
  /** The path (no query), normalised by {@linkcode normalizePath}. */
  path: string;
  /**
   * The path read the other way where it holds an encoded or back slash
   * (`%2F`, `%5C`, `\`), which backends split differently; else `path`.
   */
  loosePath: string;
  /** Whether the target was absolute (`GET http://host/path`, as `curl -x` sends). */
  proxyForm: boolean;
}

const PROXY_FORM = /^https?:\/\//i;

/**
 * The routing target of `req`. Throws {@linkcode HttpError} 400 for a
 * request without a `Host` header, with more than one (RFC 9112 §3.2), or
 * with a malformed absolute target.
 *
 * @example
 * ```ts
 * import { requestTarget } from "./request_target.ts";
 * const t = requestTarget({
 *   method: "GET",
 *   target: "http://a.example/x",
 *   version: "HTTP/1.1",
 *   headers: [["Host", "b.example"]],
 * });
 * t.host; // "a.example"
 * ```
 */
export function requestTarget(req: RequestHead): RequestTarget {
  let hosts = 0;
  for (const [name] of req.headers) {
    if (name.length === 4 && name.toLowerCase() === "host") hosts++;
  }
  if (hosts > 1) throw new HttpError(400, "more than one Host header");
  const target = req.target;
  const proxyForm = PROXY_FORM.test(target);
  let host: string;
  let rawPath: string;
  if (proxyForm) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new HttpError(400, `malformed request target "${target.slice(0, 80)}"`);
    }
    if (!url.host) throw new HttpError(400, "request target without a host");
    host = url.host;
    // The raw path, not url.pathname: the URL parser resolves some dot
    // segments already, and the normalisation below must see what was sent.
    const afterScheme = target.indexOf("//") + 2;
    const slash = target.indexOf("/", afterScheme);
    rawPath = slash < 0 ? "/" : target.slice(slash);
  } else {
    host = getHeader(req.headers, "host") ?? "";
    if (host === "") throw new HttpError(400, "request without a Host header");
    rawPath = target;
  }
  const q = rawPath.search(/[?#]/);
  if (q >= 0) rawPath = rawPath.slice(0, q);
  const path = normalizePath(rawPath);
  const loosePath = hasSlashLookalike(rawPath) ? normalizePath(rawPath, true) : path;
  return { host, path, loosePath, proxyForm };
}

function hasSlashLookalike(path: string): boolean {
  return path.includes("\\") || /%2f|%5c/i.test(path);
}

const HEX = /^[0-9a-fA-F]{2}$/;
const utf8 = new TextDecoder();

/**
 * `path` as a backend reads it, for matching `locations`: percent-escapes
 * decoded (as UTF-8), repeated slashes collapsed, and `.` / `..` segments
 * removed as RFC 3986 §5.2.4 says. An encoded slash or backslash (`%2F`,
 * `%5C`) stays encoded, since it is not a separator to most backends; with
 * `loose`, it and a raw `\` separate segments, as some backends read them.
 * A path that does not start with `/` (e.g. `*`) is returned unchanged.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./request_target.ts";
 * normalizePath("/a//b/./c/../d"); // "/a/b/d"
 * normalizePath("/%61dmin"); // "/admin"
 * normalizePath("/x%2F..%2Fadmin"); // "/x%2F..%2Fadmin"
 * normalizePath("/x%2F..%2Fadmin", true); // "/admin"
 * ```
 */
export function normalizePath(path: string, loose = false): string {
  if (!path.startsWith("/")) return path;
  if (
    !path.includes("%") && !path.includes("/.") && !path.includes("//") && !path.includes("\\")
  ) {
    return path;
  }
  let text = path.includes("%") ? percentDecode(path, loose) : path;
  if (loose) text = text.replaceAll("\\", "/");
  const segments = text.split("/");
  const out: string[] = [];
  // The last segment decides whether the result ends in "/" ("/a/.." → "/").
  let trailing = false;
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i];
    const last = i === segments.length - 1;
    if (seg === "" || seg === ".") {
      trailing = last;
      continue;
    }
    if (seg === "..") {
      out.pop();
      trailing = last;
      continue;
    }
    out.push(seg);
    trailing = false;
  }
  if (out.length === 0) return "/";
  return "/" + out.join("/") + (trailing ? "/" : "");
}

/** Decodes `%XX` escapes as UTF-8; malformed ones stay as they are. */
function percentDecode(path: string, loose: boolean): string {
  const bytes: number[] = [];
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === 0x25 && HEX.test(path.slice(i + 1, i + 3))) {
      const b = parseInt(path.slice(i + 1, i + 3), 16);
      if (!loose && (b === 0x2f || b === 0x5c)) {
        // Kept as one literal so it cannot become a separator below.
        for (const ch of b === 0x2f ? "%2F" : "%5C") bytes.push(ch.charCodeAt(0));
      } else {
        bytes.push(b);
      }
      i += 2;
      continue;
    }
    if (c < 0x80) {
      bytes.push(c);
    } else {
      // A raw non-ASCII char (the head is Latin-1 text: one byte per char).
      bytes.push(c & 0xff);
    }
  }
  return utf8.decode(new Uint8Array(bytes));
}
