/**
 * One-line warnings the server prints at start-up about its own identity and
 * credentials (docs/auth.md): no token at all (every client is accepted),
 * and tokens short enough to crack offline from one sniffed plain login.
 *
 * @example
 * ```ts
 * import { tokenWarnings } from "./startup_warnings.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * tokenWarnings(defaultServerConfig()); // ["auth.token is empty: ..."]
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";

/** Tokens shorter than this fall to an offline guess (docs/auth.md). */
export const MIN_TOKEN_LENGTH = 16;

/**
 * The warnings `config`'s tokens deserve, one line each.
 *
 * @example
 * ```ts
 * import { tokenWarnings } from "./startup_warnings.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * const c = defaultServerConfig();
 * c.auth.token = "0123456789abcdef0123";
 * tokenWarnings(c); // []
 * ```
 */
export function tokenWarnings(config: ServerConfig): string[] {
  const out: string[] = [];
  const { token, users } = config.auth;
  const howTo = "set one with auth.token in the config, -t TOKEN, or [[auth.users]] (docs/auth.md)";
  if (token === "" && users.length === 0) {
    out.push(`auth.token is empty: this server accepts every client; ${howTo}`);
  }
  for (const u of users) {
    if (u.token === "") {
      out.push(`[[auth.users]] ${u.user} has no token: anyone can log in as ${u.user}; ${howTo}`);
    }
  }
  const short = (name: string, t: string) => {
    if (t !== "" && t.length < MIN_TOKEN_LENGTH) {
      out.push(
        `${name} has only ${t.length} characters: one login sniffed over plain TCP ` +
          `(tls.enable = false) lets anyone guess it offline; use at least ${MIN_TOKEN_LENGTH} ` +
          "random characters (e.g. openssl rand -hex 16)",
      );
    }
  };
  short("auth.token", token);
  for (const u of users) short(`the token of [[auth.users]] ${u.user}`, u.token);
  return out;
}
