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
 * exist, anyone else needs a non-empty `auth.token`, and a name inside an
 * entry's namespace (`alice.x` when `alice` has an entry) is refused. Under
 * OIDC everyone's proofs use `auth.token` (the token's claim picks the entry,
 * see `oidc.ts`).
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
  // "alice.x" with the shared token would name its proxy "y" like alice's "x.y" (scopedProxyName).
  if (config.auth.users.some((u) => u.user !== "" && user.startsWith(`${u.user}.`))) return null;
  return config.auth.token;
}

/**
 * The token a logged-in client's proofs use (work and visitor connections).
 *
 * @example
 * ```ts
 * import { clientToken } from "./users.ts";
 * import { defaultServerConfig } from "../../config/mod.ts";
 * clientToken({ config: defaultServerConfig() }, { login: { user: "alice" } }); // ""
 * ```
 */
export function clientToken(
  services: { readonly config: ServerConfig },
  client: { readonly login: { user: string } },
): string {
  return loginToken(services.config, client.login.user) ?? services.config.auth.token;
}

/**
 * The server-side name of a proxy: `user.name` for a logged-in user, as frp
 * names it, so users' proxy names never collide; the bare name without a
 * user. Visitors find a secret proxy the same way, from `serverUser` (or
 * their own user) and `serverName`.
 *
 * @example
 * ```ts
 * import { scopedProxyName } from "./users.ts";
 * scopedProxyName("alice", "web"); // "alice.web"
 * scopedProxyName("", "web"); // "web"
 * ```
 */
export function scopedProxyName(user: string, name: string): string {
  return user ? `${user}.${name}` : name;
}
