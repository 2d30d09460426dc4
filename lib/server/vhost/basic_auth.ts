/**
 * HTTP Basic authentication for http proxies (`httpUser` / `httpPassword`)
 * and for `routeByHTTPUser`: reading the user and password out of an
 * `Authorization` or `Proxy-Authorization` header, and checking them.
 *
 * @example
 * ```ts
 * import { basicAuthMatches, decodeBasicAuth } from "./basic_auth.ts";
 * const creds = decodeBasicAuth("Basic " + btoa("alice:pw"));
 * basicAuthMatches(creds, "alice", "pw"); // true
 * ```
 *
 * @module
 */

/** The realm sent in `WWW-Authenticate` / `Proxy-Authenticate`, as frp's. */
export const BASIC_REALM = "Restricted";

/** A decoded Basic credential. */
export interface BasicAuth {
  user: string;
  password: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Decodes `Basic <base64(user:password)>`; null if absent or not Basic.
 *
 * @example
 * ```ts
 * import { decodeBasicAuth } from "./basic_auth.ts";
 * decodeBasicAuth("Basic dTpw"); // { user: "u", password: "p" }
 * ```
 */
export function decodeBasicAuth(header: string | undefined): BasicAuth | null {
  if (!header) return null;
  const space = header.indexOf(" ");
  if (space < 0 || header.slice(0, space).toLowerCase() !== "basic") return null;
  let text: string;
  try {
    const raw = atob(header.slice(space + 1).trim());
    const bytes = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    text = decoder.decode(bytes);
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Whether `auth` carries exactly `user`/`password`, comparing in time that
 * does not reveal where a guess first went wrong.
 *
 * @example
 * ```ts
 * import { basicAuthMatches } from "./basic_auth.ts";
 * basicAuthMatches(null, "u", "p"); // false
 * ```
 */
export function basicAuthMatches(auth: BasicAuth | null, user: string, password: string): boolean {
  if (!auth) return false;
  // Both comparisons always run, so timing does not tell which one failed.
  const userOk = sameString(auth.user, user);
  const passwordOk = sameString(auth.password, password);
  return userOk && passwordOk;
}

function sameString(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) {
    diff |= (a.charCodeAt(i % (a.length || 1)) | 0) ^ b.charCodeAt(i);
  }
  return diff === 0;
}
