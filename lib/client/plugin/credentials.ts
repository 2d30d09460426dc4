/**
 * Username/password checks shared by the plugins that ask for them
 * (socks5, http_proxy, static_file). frp's rule: no check when both the
 * user and the password are empty.
 *
 * @example
 * ```ts
 * import { Credentials } from "./credentials.ts";
 * const creds = new Credentials("alice", "s3cret");
 * creds.checkBasic("Basic " + btoa("alice:s3cret")); // true
 * ```
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Compares without stopping at the first difference, so the time taken does
 * not tell an attacker how much of a guess was right.
 *
 * @example
 * ```ts
 * import { sameSecret } from "./credentials.ts";
 * sameSecret("a", "a"); // true
 * ```
 */
export function sameSecret(a: string, b: string): boolean {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ (y[i % (y.length || 1)] ?? 0);
  return diff === 0;
}

/** A configured user and password. */
export class Credentials {
  /**
   * @param user the expected user name
   * @param password the expected password
   */
  constructor(readonly user: string, readonly password: string) {}

  /** Whether any check is configured. */
  get required(): boolean {
    return this.user !== "" || this.password !== "";
  }

  /** Checks a user and password pair (always true when none is configured). */
  check(user: string, password: string): boolean {
    if (!this.required) return true;
    // Both are compared even when the first differs, for the same reason as sameSecret.
    const userOk = sameSecret(user, this.user);
    const passwordOk = sameSecret(password, this.password);
    return userOk && passwordOk;
  }

  /** Checks an `Authorization` / `Proxy-Authorization` value of the Basic scheme. */
  checkBasic(header: string | null | undefined): boolean {
    if (!this.required) return true;
    const match = header?.match(/^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i);
    if (!match) return false;
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(Uint8Array.from(atob(match[1]), (c) => c.charCodeAt(0)));
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) return false;
    return this.check(decoded.slice(0, colon), decoded.slice(colon + 1));
  }
}
