/**
 * Per-client credentials (`[[auth.users]]`, beyond frp): each entry names a
 * user, the token its proofs must use, and what its proxies may claim.
 * Without entries every client uses `auth.token` and the server-wide limits.
 *
 * @example
 * ```ts
 * import { findUser, loginToken } from "./users.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * const config = defaultServerConfig();
 * config.auth.users = [{ ...config.auth.users[0], user: "alice", token: "a-secret" }];
 * loginToken(config, "alice"); // "a-secret"
 * findUser(config, "bob"); // undefined
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../../config/mod.ts";

/** One `[[auth.users]]` entry as loaded. */
export type UserEntry = ServerConfig["auth"]["users"][number];

/**
 * The entry of `user`, or undefined.
 *
 * @example
 * ```ts
 * import { findUser } from "./users.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * findUser(defaultServerConfig(), "alice"); // undefined
 * ```
 */
export function findUser(config: ServerConfig, user: string): UserEntry | undefined {
  return config.auth.users.find((u) => u.user === user);
}

/**
 * The token `user`'s proofs must be made with, or null when it may not log
 * in at all: a user with an entry uses the entry's token; once entries
 * exist, anyone else needs a non-empty `auth.token`. Under OIDC everyone's
 * proofs use `auth.token` (the token's claim picks the entry, see `oidc.ts`).
 *
 * @example
 * ```ts
 * import { loginToken } from "./users.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * loginToken(defaultServerConfig(), "anyone"); // "" (no entries: the shared token)
 * ```
 */
export function loginToken(config: ServerConfig, user: string): string | null {
  // OIDC proves who the client is; the HMAC proofs and encryption keys use the shared token.
  if (config.auth.method === "oidc") return config.auth.token;
  const entry = findUser(config, user);
  if (entry) return entry.token;
  if (config.auth.users.length > 0 && config.auth.token === "") return null;
  return config.auth.token;
}

/**
 * The token a logged-in client's proofs use (work and visitor connections).
 *
 * @example
 * ```ts
 * import { sessionToken } from "./users.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * sessionToken({ config: defaultServerConfig() }, { login: { user: "alice" } }); // ""
 * ```
 */
export function sessionToken(
  services: { readonly config: ServerConfig },
  session: { readonly login: { user?: unknown } },
): string {
  const user = typeof session.login.user === "string" ? session.login.user : "";
  return loginToken(services.config, user) ?? services.config.auth.token;
}
