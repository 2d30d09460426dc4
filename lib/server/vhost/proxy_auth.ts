/**
 * `Proxy-Authorization: Basic ...` for the tcpmux HTTP CONNECT listener:
 * decoding the header and comparing credentials without an early exit, so
 * response timing says nothing about how much of a password was right.
 *
 * @example
 * ```ts
 * import { credentialsMatch, parseBasicAuth } from "./proxy_auth.ts";
 * const creds = parseBasicAuth("Basic " + btoa("alice:secret"));
 * credentialsMatch("alice", "secret", creds); // true
 * ```
 *
 * @module
 */

/** A user name and password from a Basic credential. */
export interface BasicCredentials {
  user: string;
  password: string;
}

/**
 * Decodes a `Basic <base64(user:password)>` header value; null when it is
 * absent, another scheme, or not valid base64 / UTF-8.
 *
 * @example
 * ```ts
 * import { parseBasicAuth } from "./proxy_auth.ts";
 * parseBasicAuth("Basic YTpi"); // { user: "a", password: "b" }
 * parseBasicAuth("Bearer xyz"); // null
 * ```
 */
export function parseBasicAuth(value: string | undefined): BasicCredentials | null {
  if (!value) return null;
  const match = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (!match) return null;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/**
 * Whether `got` carries exactly `user` and `password`. Runs in time that
 * depends only on the lengths, never on where the first difference is.
 *
 * @example
 * ```ts
 * import { credentialsMatch } from "./proxy_auth.ts";
 * credentialsMatch("u", "p", { user: "u", password: "p" }); // true
 * credentialsMatch("u", "p", null); // false
 * ```
 */
export function credentialsMatch(
  user: string,
  password: string,
  got: BasicCredentials | null,
): boolean {
  if (!got) return false;
  // Both compared always: `&&` would reveal which of the two was wrong.
  const userOk = sameText(user, got.user);
  const passwordOk = sameText(password, got.password);
  return userOk && passwordOk;
}

const encoder = new TextEncoder();

function sameText(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ (y[i % Math.max(y.length, 1)] ?? 0);
  return diff === 0;
}
